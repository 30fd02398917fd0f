"""The fitted state of an estimator: one schema for what ``fit`` publishes and what a model file
stores (:mod:`xpnn.persistence` reads and writes it without knowing any estimator), and whether
a new fit can continue from it."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from .heads import HEADS
from .network import n_layers
from .normalization import is_normalized, normalized_layers


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


def check_state(state, dtype, shapes, rules, name):
    """Raise ValueError (saying what does not fit) unless ``state`` makes one consistent model of
    the estimator ``name`` with parameters ``shapes`` in ``dtype``, of the family whose ``rules``
    (:class:`xpnn._driver.Rules`) say which fitted scalars it keeps and whether its costs span
    several fits. The targets (classes, y's rank) are the estimator's to check."""
    if state.head not in HEADS:
        raise ValueError(f"head must be one of {sorted(HEADS)}; got {state.head!r:.40}")
    got = {k: tuple(v.shape) for k, v in state.params.items()}
    if got != shapes or any(v.dtype != np.dtype(dtype) for v in state.params.values()):
        dtypes = [str(v.dtype) for v in state.params.values()]
        raise ValueError(f"parameter shapes {got} (dtype {dtypes}), expected {shapes} ({dtype})")
    if not all(np.all(np.isfinite(v)) for v in state.params.values()):
        raise ValueError("its parameters hold NaN or infinity")
    if any(np.any(state.params[f"var{l}"] <= 0) for l in normalized_layers(state.params)):
        raise ValueError("a batch-norm running variance is negative or zero")
    names = state.feature_names
    if names is not None and (len(names) != state.n_features_in or len(set(names)) != len(names)):
        raise ValueError(f"feature_names must be {state.n_features_in} distinct names, one per feature; "
                         f"got {len(names)} ({len(set(names))} distinct)")
    if state.costs.ndim != 1 or state.costs.dtype.kind != "f":
        raise ValueError("'costs' must be a 1-D float array")
    spans = rules.COSTS_SPAN_FITS  # warm-started MLPs keep their whole curve
    if not 0 <= state.n_iter <= 2**40 or state.costs.shape[0] > (2**40 if spans else state.n_iter + 1):
        raise ValueError(f"{state.costs.shape[0]} costs for {state.n_iter} iterations")
    scores = state.validation_scores
    if scores is not None and not (isinstance(scores, list) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in scores)):
        raise ValueError("'validation_scores' must be a list of numbers")
    best, last = state.best_iteration, max(state.n_iter, len(state.costs) if spans else 0)
    if best is not None and (type(best) is not int or not 0 <= best <= last):
        raise ValueError(f"best_iteration {best!r:.40} is not an iteration of this model")
    if state.extras is not None and not isinstance(state.extras, dict):
        raise ValueError("'extras' must be a mapping of fitted attributes; got "
                         f"{type(state.extras).__name__}")
    for key, value in (state.extras or {}).items():
        if key not in rules.EXTRAS or not isinstance(value, rules.EXTRAS[key]) or (
                isinstance(value, float) and not math.isfinite(value) and value != -math.inf):
            raise ValueError(f"fitted attribute {key!r}: {value!r:.40} is not one {name} keeps")


def fitted_extras(model, extras):
    """The fitted scalars named in ``extras`` (:attr:`xpnn._driver.Rules.EXTRAS`) that ``model``
    has, as plain numbers; None when it has none."""
    out = {}
    for key in extras:
        if key in model.__dict__:
            value = model.__dict__[key]
            out[key] = None if value is None else bool(value) if isinstance(value, bool) else (
                int(value) if isinstance(value, (int, np.integer)) else float(value))
    return out or None
