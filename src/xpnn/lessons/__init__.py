"""The course's lessons as runnable, plotted examples: ``xpnn lesson NAME``.

Every lesson prints its figures next to the course's, reports the backend it actually ran on,
and writes its picture(s) as PNG into ``out``. ``quick=True`` runs for seconds with few
iterations and small sizes (the figures then differ from the course's; the full run is what the
documentation's lessons gallery shows, with the pictures).
"""

from __future__ import annotations

import importlib
import warnings

LESSONS = ("vectorisation", "broadcasting", "learning-rates", "hidden-sizes", "initialisation",
           "cat-classifier", "optimizers", "batch-norm", "tuning")


def run(name, *, backend=None, out="lessons", quick=False):
    """Run lesson ``name``; returns its figures as a dict (also printed)."""
    if name not in LESSONS:
        raise ValueError(f"unknown lesson {name!r}; choose from {list(LESSONS)}")
    from ..exceptions import ConvergenceWarning

    module = importlib.import_module(f".{name.replace('-', '_')}", __name__)
    if quick:
        print("quick run: few iterations and small sizes, so the figures below are not the "
              "course's; its columns (and the lessons gallery of the documentation) are full runs")
    with warnings.catch_warnings():  # lessons show nets that do not learn on purpose (zero init,
        warnings.simplefilter("ignore", ConvergenceWarning)  # tiny rates) and say so themselves
        return module.run(backend=backend, out=out, quick=quick)


def show(name, out="lessons"):
    """Draw the picture lesson ``name`` wrote into ``out`` as a matplotlib figure (for the
    documentation's gallery, which collects open figures)."""
    import matplotlib.pyplot as plt

    plt.figure(figsize=(9, 6))
    plt.imshow(plt.imread(f"{out}/{name}.png"))
    plt.axis("off")
