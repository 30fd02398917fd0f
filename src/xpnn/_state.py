"""The fitted state of an estimator: one schema for what ``fit`` publishes and what a model file
stores (:mod:`xpnn.persistence` reads and writes it without knowing any estimator), and whether
a new fit can continue from it."""

from __future__ import annotations

from typing import Any, NamedTuple

from .network import n_layers
from .normalization import is_normalized


class FittedState(NamedTuple):
    """What a fitted estimator holds beyond its hyperparameters: what ``fit`` publishes and a
    model file stores (:mod:`xpnn.persistence`), checked by the same code on both ways in."""
    params: dict                 # {"W1": (n1, n_x), "b1": (n1, 1), ...}, host arrays (batch norm:
                                 # "gamma1", "beta1", "mean1", "var1" in place of "b1")
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
    extras: dict | None = None   # a class's own fitted scalars ({name: number or None}, JSON-able)


def continuation_problem(state, dims, head, dtype, classes=None, batch_norm=False):
    """Why a fit with layer sizes ``dims``, ``head``, ``dtype``, ``classes`` and ``batch_norm``
    cannot continue from ``state`` (a sentence), or None when it can."""
    L = n_layers(state.params)
    fitted = [state.params["W1"].shape[1]] + [state.params[f"W{l}"].shape[0] for l in range(1, L + 1)]
    if list(dims) != fitted:
        return f"its layer sizes changed from {fitted} to {list(dims)}"
    normalized = is_normalized(state.params, 1)
    if L > 1 and normalized != batch_norm:
        return f"batch_norm changed from {normalized} to {batch_norm}"
    if head != state.head:
        return f"its output changed from {state.head!r} to {head!r}"
    if str(state.params["W1"].dtype) != dtype:
        return f"its dtype changed from {state.params['W1'].dtype} to {dtype}"
    if classes is not None and state.classes is not None and (
            len(classes) != len(state.classes) or any(a != b for a, b in zip(classes, state.classes))):
        return f"the classes changed from {list(state.classes)[:10]} to {list(classes)[:10]}"
    return None
