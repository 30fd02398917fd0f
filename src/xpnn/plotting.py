"""Figures (matplotlib, the ``plot`` extra): imported only when a plot is asked for."""

from __future__ import annotations

from matplotlib.figure import Figure  # an explicit figure: the user's backend is never switched


def plot_course_costs(results, path):
    """One panel per course model: the cost curve of each seed against the iteration."""
    fig = Figure(figsize=(4 * len(results), 3.2))
    axes = fig.subplots(1, len(results), squeeze=False)
    for ax, result in zip(axes[0], results):
        for costs in result.costs:
            step = result.n_iter / max(len(costs), 1)
            ax.plot([i * step for i in range(len(costs))], costs, alpha=0.8)
        ax.set(title=f"{result.name}\n{result.data}", xlabel="iteration", ylabel="cost")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
