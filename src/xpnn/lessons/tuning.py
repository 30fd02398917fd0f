"""Lesson 9 (course 2): hyperparameter search as the course advises it: random search, not a
grid; the learning rate and the L2 strength on a log scale; coarse, then fine around the best."""

from __future__ import annotations

import time

import numpy as np

from ..backend import gpu_available
from ..datasets import make_moons
from ..estimators import DeepNet
from . import _common

COARSE = {"learning_rate": (1e-4, 1.0), "alpha": (1e-4, 10.0)}  # log-uniform ranges


def search(X, y, ranges, n_candidates, *, n_iter, backend=None, seed=0):
    """scikit-learn's RandomizedSearchCV over a DeepNet, ``ranges`` drawn log-uniformly; returns
    (the fitted search, its wall time in seconds)."""
    from scipy.stats import loguniform
    from sklearn.model_selection import RandomizedSearchCV

    model = DeepNet((16, 8), n_iter=n_iter, optimizer="adam", batch_norm=True, on_divergence="warn",
                    random_state=0, backend=backend)
    distributions = {name: loguniform(*bounds) for name, bounds in ranges.items()}
    started = time.perf_counter()
    found = RandomizedSearchCV(model, distributions, n_iter=n_candidates, cv=3, random_state=seed).fit(X, y)
    return found, time.perf_counter() - started


def finer(best, factor=10.0):
    """Ranges ``factor`` times narrower around the best values, on the log scale."""
    return {name: (value / np.sqrt(factor), value * np.sqrt(factor)) for name, value in best.items()}


def run(*, backend=None, out="lessons", quick=False):
    X, y = make_moons(400, noise=0.3, random_state=1)
    n_iter, n_candidates = (50, 6) if quick else (500, 30)
    coarse, seconds = search(X, y, COARSE, n_candidates, n_iter=n_iter, backend=backend)
    fine, fine_seconds = search(X, y, finer(coarse.best_params_), n_candidates, n_iter=n_iter,
                                backend=backend, seed=1)
    _common.report_backend(fine.best_estimator_)
    print(f"moons, 400 points (noise 0.3); DeepNet [2, 16, 8, 1] with batch norm and Adam, {n_iter} epochs "
          f"(full batch), 3-fold cross-validation, {n_candidates} random candidates per stage")
    rows = [(stage, f"{s.best_params_['learning_rate']:.3g}", f"{s.best_params_['alpha']:.3g}",
             f"{100 * s.best_score_:.2f}", f"{t:.1f}")
            for stage, s, t in (("coarse", coarse, seconds), ("fine", fine, fine_seconds))]
    timings = {"this backend": seconds + fine_seconds}
    if backend is None and gpu_available():  # the same search on the GPU, timed side by side
        _, gpu_seconds = search(X, y, COARSE, n_candidates, n_iter=n_iter, backend="gpu")
        timings["gpu (coarse stage)"] = gpu_seconds
        print(f"the coarse stage on the GPU: {gpu_seconds:.1f} s (here: {seconds:.1f} s)")
    _common.table(rows, ("stage", "best learning_rate", "best alpha", "CV accuracy %", "seconds"))
    fig, axes = _common.figure(1, 2, size=(4.2, 3.4))
    for ax, (stage, found) in zip(axes, (("coarse", coarse), ("fine", fine))):
        results = found.cv_results_
        points = ax.scatter(np.asarray(results["param_learning_rate"], dtype=float),
                            np.asarray(results["param_alpha"], dtype=float),
                            c=100 * np.asarray(results["mean_test_score"]), cmap="viridis", vmin=50, vmax=100)
        ax.scatter([found.best_params_["learning_rate"]], [found.best_params_["alpha"]], marker="*", s=160,
                   facecolors="none", edgecolors="red", label="best")
        ax.set(xscale="log", yscale="log", xlabel="learning_rate", ylabel="alpha (L2)",
               title=f"{stage} random search: CV accuracy %")
        ax.legend(fontsize=7)
        fig.colorbar(points, ax=ax)
    _common.save(fig, out, "tuning.png")
    return {"best": {"coarse": coarse.best_params_, "fine": fine.best_params_},
            "score": {"coarse": coarse.best_score_, "fine": fine.best_score_}, "seconds": timings}
