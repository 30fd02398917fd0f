"""Lesson 8 (course 2): batch normalization lets a deep net train at a learning rate where the
plain net fails, on badly scaled inputs as on rescaled ones."""

from __future__ import annotations

import numpy as np

from ..datasets import make_moons
from ..estimators import DeepNet
from . import _common

SCALES = np.array([30.0, 1.0]), np.array([0.0, 50.0])  # the raw features: spread x30, offset +50


def data():
    """Moons (500 points, noise 0.2) as raw features of very different scales and offsets, and
    the same rescaled to zero mean and unit variance (the course's input normalisation)."""
    X, y = make_moons(500, noise=0.2, random_state=0)
    raw = X * SCALES[0] + SCALES[1]
    return {"raw": raw, "rescaled": (raw - raw.mean(axis=0)) / raw.std(axis=0)}, y


def run(*, backend=None, out="lessons", quick=False):
    inputs, y = data()
    n_iter = 600 if quick else 2000
    models, accuracy = {}, {}
    for name, X in inputs.items():
        for batch_norm in (False, True):
            model = DeepNet((20, 7, 5), learning_rate=1.0, n_iter=n_iter, init="he", batch_norm=batch_norm,
                            cost_every=max(1, n_iter // 100), on_divergence="warn", random_state=0,
                            backend=backend).fit(X, y)
            models[name, batch_norm] = model
            accuracy[name, batch_norm] = 100 * model.score(X, y)
    _common.report_backend(model)
    print(f"moons, 500 points; layers [2, 20, 7, 5, 1], He init, learning rate 1.0, full batch, "
          f"{n_iter} iterations")
    _common.table([(name, "batch norm" if bn else "plain", f"{accuracy[name, bn]:.2f}",
                    f"{models[name, bn].costs_[-1]:.4f}") for name in inputs for bn in (False, True)],
                  ("inputs", "net", "train accuracy %", "last cost"))
    fig, axes = _common.figure(2, 3, size=(3.0, 2.6))
    for row, name in enumerate(inputs):
        ax = axes[3 * row]
        for batch_norm, style in ((False, "-"), (True, "--")):
            model = models[name, batch_norm]
            ax.plot(range(0, model.cost_every * len(model.costs_), model.cost_every), model.costs_, style,
                    label="batch norm" if batch_norm else "plain")
        ax.set(xlabel="iteration", ylabel="cost", yscale="log", title=f"{name} inputs, learning rate 1.0")
        ax.legend(fontsize=7)
        for ax, batch_norm in zip(axes[3 * row + 1:3 * row + 3], (False, True)):
            label = "batch norm" if batch_norm else "plain"
            _common.plot_boundary(ax, models[name, batch_norm], inputs[name], y,
                                  f"{name}, {label}: {accuracy[name, batch_norm]:.1f}%")
    _common.save(fig, out, "batch-norm.png")
    return {"accuracy": accuracy}
