"""The course's models trained on the course's data: what ``xpnn course`` runs."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

from ._text import aligned_table
from .datasets import load_catvnoncat, make_planar
from .estimators import DeepNet, LogisticRegression, ShallowNet
from .preprocessing import flatten_images, scale_pixels


@dataclass
class ModelRuns:
    """One model's runs (one per seed): scores, final costs, wall times and the backend used."""

    name: str
    data: str
    backend: str = ""
    n_iter: int = 0
    costs: list = field(default_factory=list)       # cost curve per seed
    train: list = field(default_factory=list)
    test: list = field(default_factory=list)
    seconds: list = field(default_factory=list)


def cat_data(dtype="float64"):
    """Cat images flattened to rows and scaled to [0, 1]: (X_train, y_train, X_test, y_test)."""
    X_train, y_train, X_test, y_test, _ = load_catvnoncat()
    return (scale_pixels(flatten_images(X_train), dtype), y_train,
            scale_pixels(flatten_images(X_test), dtype), y_test)


def planar_data():
    """The flower, 400 points, fixed seed; the course trains and scores on the same points."""
    X, y = make_planar(400, random_state=1)
    return X, y, X, y


def course_models(quick=False):
    """(name, data, estimator factory(seed), uses seeds) for the course's five results."""
    short = dict(n_iter=300) if quick else {}
    return [
        ("LogisticRegression", "cat", lambda s: LogisticRegression(**short), False),
        ("LogisticRegression", "planar", lambda s: LogisticRegression(**short), False),
        ("ShallowNet(4, tanh)", "planar", lambda s: ShallowNet(random_state=s, **short), True),
        ("DeepNet([7])", "cat", lambda s: DeepNet((7,), random_state=s, **short), True),
        ("DeepNet([20, 7, 5])", "cat", lambda s: DeepNet(random_state=s, **short), True),
    ]


def run_course(*, backend=None, dtype="float64", seeds=1, quick=False, progress=None):
    """Train every course model (``seeds`` runs of the random-init ones) and return Results.

    ``progress(n)`` is called with the number of iterations done since its last call.
    """
    data = {"cat": cat_data(), "planar": planar_data()}
    results = []
    for name, key, make, seeded in course_models(quick):
        X_train, y_train, X_test, y_test = data[key]
        result = ModelRuns(name, key)
        for seed in range(seeds if seeded else 1):
            model = make(seed).set_params(backend=backend, dtype=dtype)
            start = time.perf_counter()
            _fit_with_progress(model, X_train, y_train, progress)
            result.seconds.append(time.perf_counter() - start)
            result.train.append(model.score(X_train, y_train))
            result.test.append(model.score(X_test, y_test))
            result.costs.append(model.costs_)
            result.backend, result.n_iter = describe_backend(model.backend_), model.n_iter_
        results.append(result)
    return results


def _fit_with_progress(model, X, y, progress):
    """Fit, telling ``progress(n)`` about the iterations done (at each recorded cost, then the rest)."""
    if progress is None:
        return model.fit(X, y)
    done = 0

    def callback(i, cost):
        nonlocal done
        progress(i - done)
        done = i
    model.fit(X, y, callback=callback)
    progress(model.n_iter_ - done)
    return model


def total_iterations(seeds=1, quick=False):
    """Iterations run_course will do (for a progress bar)."""
    return sum(make(0).n_iter * (seeds if seeded else 1) for _, _, make, seeded in course_models(quick))


def describe_backend(backend):
    """What actually ran, e.g. 'numpy (cpu)' or 'numpy (cpu; fallback from "gpu")'."""
    text = f"{backend.name} ({'gpu' if backend.is_gpu else 'cpu'}"
    if backend.fallback_reason:
        text += f"; fallback from {backend.requested!r}"
    return text + ")"


def _mean_sd(values, fmt=".2f", scale=1.0):
    """'x' for one value, 'mean ± sd' for several."""
    values = [scale * v for v in values]
    if len(values) == 1:
        return format(values[0], fmt)
    return f"{statistics.mean(values):{fmt}} ± {statistics.stdev(values):{fmt}}"


def format_results(results):
    """A plain-text table: model, data, backend, iterations, final cost, train/test %, seconds."""
    header = ("model", "data", "backend", "iters", "last cost", "train %", "test %", "seconds", "runs")
    rows = [header]
    for r in results:
        final = [c[-1] for c in r.costs]
        rows.append((r.name, r.data, r.backend, str(r.n_iter), _mean_sd(final, ".6f"),
                     _mean_sd(r.train, scale=100), _mean_sd(r.test, scale=100),
                     _mean_sd(r.seconds), str(len(r.train))))
    return aligned_table(rows)
