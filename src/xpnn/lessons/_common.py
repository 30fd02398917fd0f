"""Helpers shared by the lessons: output files, figures, decision boundaries, reporting."""

from __future__ import annotations

import contextlib
import contextvars
import math
import os

import numpy as np

from .._text import aligned_table
from ..course import describe_backend


def figure(nrows=1, ncols=1, size=(4.0, 3.2)):
    """A matplotlib ``Figure`` and a flat list of axes (matplotlib: the ``plot`` extra): an
    explicit figure, outside pyplot's state, so the user's matplotlib backend (a notebook's
    inline figures) is never switched."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("the lessons draw with matplotlib: pip install 'xpnn[plot]'") from None
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows))
    return fig, list(fig.subplots(nrows, ncols, squeeze=False).ravel())


def grid(n, ncols=4, size=(2.4, 2.4)):
    """A figure with one panel for each of ``n`` things, at most ``ncols`` a row (no blank
    panels beyond the last row's)."""
    cols = min(n, ncols)
    fig, axes = figure(math.ceil(n / cols), cols, size=size)
    for ax in axes[n:]:
        ax.axis("off")
    return fig, axes[:n]


QUICK_MARK = "quick run: few iterations, small sizes — not the course's figures"
_RUN = contextvars.ContextVar("lesson_run", default=None)  # (figures saved, quick) of the running lesson


@contextlib.contextmanager
def recording(quick):
    """Collect the figures the lesson saves (:func:`save`), quick-run marked when ``quick``."""
    figures = []
    token = _RUN.set((figures, quick))
    try:
        yield figures
    finally:
        _RUN.reset(token)


def save(fig, out, name):
    """Write ``fig`` to out/name (PNG, 100 dpi) and print where; a quick run's picture says so
    on its face."""
    figures, quick = _RUN.get() or ([], False)
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, name)
    fig.tight_layout()
    if quick:
        fig.subplots_adjust(bottom=fig.subplotpars.bottom + 0.3 / fig.get_figheight())
        fig.text(0.5, 0.01, QUICK_MARK, ha="center", va="bottom", fontsize=9, color="firebrick")
    fig.savefig(path, dpi=100)
    figures.append(fig)
    print(f"picture: {path}")
    return path


def report_backend(model_or_backend):
    backend = getattr(model_or_backend, "backend_", model_or_backend)
    print(f"backend: {describe_backend(backend)}")
    return describe_backend(backend)


def plot_boundary(ax, model, X, y, title):
    """Decision regions of ``model`` on a grid around X, with the points on top."""
    pad = 0.5
    xs = np.linspace(X[:, 0].min() - pad, X[:, 0].max() + pad, 120)
    ys = np.linspace(X[:, 1].min() - pad, X[:, 1].max() + pad, 120)
    gx, gy = np.meshgrid(xs, ys)
    proba = model.predict_proba(np.c_[gx.ravel(), gy.ravel()])[:, 1].reshape(gx.shape)
    ax.contourf(gx, gy, proba > 0.5, alpha=0.35, cmap="coolwarm")
    ax.scatter(X[:, 0], X[:, 1], c=y, s=6, cmap="coolwarm", edgecolors="none")
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])


def table(rows, header):
    """Print rows as an aligned plain-text table."""
    print(aligned_table([header, *rows]))
