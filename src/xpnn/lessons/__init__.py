"""The course's lessons as runnable, plotted examples: ``xpnn lesson NAME``.

Every lesson prints its figures next to the course's, reports the backend it actually ran on,
and writes its picture(s) as PNG into ``out``. ``quick=True`` runs for seconds with few
iterations and small sizes (the figures then differ from the course's; the full run is what the
documentation's lessons gallery shows, with the pictures).
"""

from __future__ import annotations

import importlib
import warnings

from . import _common

__all__ = ["run", "show", "LessonResult", "LESSONS"]

LESSONS = ("vectorisation", "broadcasting", "learning-rates", "hidden-sizes", "initialisation",
           "cat-classifier", "optimizers", "batch-norm", "tuning")


class LessonResult(dict):
    """What a lesson returns: its numbers (this dict, as printed) and its pictures, ``figures``
    (matplotlib Figures drawn outside pyplot: ``fig.savefig(...)`` anywhere). In a notebook a
    lesson's result shows its pictures inline, whatever matplotlib backend is active."""

    def __init__(self, numbers, figures):
        super().__init__(numbers)
        self.figures = list(figures)

    def _repr_html_(self):
        import base64
        import html
        import io

        images = []
        for fig in self.figures:
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=100)
            images.append('<img src="data:image/png;base64,'
                          f'{base64.b64encode(buffer.getvalue()).decode()}"/>')
        return "".join(images) + f"<pre>{html.escape(repr(dict(self)))}</pre>"


def run(name, *, backend=None, out="lessons", quick=False):
    """Run lesson ``name``; returns a :class:`LessonResult`: its numbers (a dict, also printed)
    and its ``figures``."""
    if name not in LESSONS:
        raise ValueError(f"unknown lesson {name!r}; choose from {list(LESSONS)}")
    from ..exceptions import ConvergenceWarning

    module = importlib.import_module(f".{name.replace('-', '_')}", __name__)
    if quick:
        print("quick run: few iterations and small sizes, so the figures below are not the "
              "course's; its columns (and the lessons gallery of the documentation) are full runs")
    with warnings.catch_warnings():  # lessons show nets that do not learn on purpose (zero init,
        warnings.simplefilter("ignore", ConvergenceWarning)  # tiny rates) and say so themselves
        with _common.recording(quick) as figures:
            numbers = module.run(backend=backend, out=out, quick=quick)
    return LessonResult(numbers, figures)


def show(name, out="lessons"):
    """Draw the picture lesson ``name`` wrote into ``out`` as a pyplot figure (for the
    documentation's gallery, which collects pyplot's open figures), pixel for pixel: a figure
    of the picture's size at its 100 dpi, one axes filling it, so nothing is rescaled."""
    import matplotlib.pyplot as plt

    image = plt.imread(f"{out}/{name}.png")
    height, width = image.shape[:2]
    fig = plt.figure(figsize=(width / 100, height / 100), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(image, interpolation="none")
    ax.axis("off")
    return fig
