"""The course's lessons as runnable, plotted examples: ``xpnn lesson NAME``.

Every lesson prints its figures next to the course's, reports the backend it actually ran on,
and writes its picture(s) as PNG into ``out``. ``quick=True`` runs for seconds with few
iterations and small sizes (the figures then differ from the course's; the full run is what
docs/lessons.md shows).
"""

from __future__ import annotations

import importlib

LESSONS = ("vectorisation", "broadcasting", "learning-rates", "hidden-sizes", "initialisation",
           "cat-classifier")


def run(name, *, backend=None, out="lessons", quick=False):
    """Run lesson ``name``; returns its figures as a dict (also printed)."""
    if name not in LESSONS:
        raise ValueError(f"unknown lesson {name!r}; choose from {list(LESSONS)}")
    module = importlib.import_module(f".{name.replace('-', '_')}", __name__)
    return module.run(backend=backend, out=out, quick=quick)
