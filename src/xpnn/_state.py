"""The fitted state of an estimator: one schema for what ``fit`` publishes and what a model file
stores (:mod:`xpnn.persistence` reads and writes it without knowing any estimator)."""

from __future__ import annotations

from typing import Any, NamedTuple


class FittedState(NamedTuple):
    """What a fitted estimator holds beyond its hyperparameters: what ``fit`` publishes and a
    model file stores (:mod:`xpnn.persistence`), checked by the same code on both ways in."""
    params: dict                 # {"W1": (n1, n_x), "b1": (n1, 1), ...}, host arrays
    costs: Any                   # 1-D float64, the recorded costs
    n_features_in: int
    n_iter: int                  # iterations (epochs with mini-batches) run
    head: str                    # a name of xpnn.heads.HEADS
    n_outputs: int               # units of the output layer
    classes: Any = None          # classifiers: the labels, 1-D
    y_ndim: int | None = None    # regressors: the rank of y at fit
    validation_scores: list | None = None
    best_iteration: int | None = None
    feature_names: Any = None    # the column names of a DataFrame X at fit (strings), or None
