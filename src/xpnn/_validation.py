"""Checks at the door: every estimator input is validated once, with errors that name the
argument, what was expected and what arrived. Host inputs are inspected with NumPy; device
arrays are checked on their device with one reduction."""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .backend import _DTYPES, Backend, is_host_array, namespace, to_numpy


class DataConversionWarning(UserWarning):
    """Input was converted to the form xpnn expects (e.g. a column-vector y raveled)."""


def _kind(x):
    """'float', 'int', 'bool', 'complex' or 'other' for the dtype of any supported array."""
    if is_host_array(x):
        return {"f": "float", "i": "int", "u": "int", "b": "bool", "c": "complex"}.get(x.dtype.kind, "other")
    xp = namespace(x)
    for kind, test in (("bool", "bool"), ("float", "real floating"), ("int", "integral"),
                       ("complex", "complex floating")):
        if xp.isdtype(x.dtype, test):
            return kind
    return "other"


def _host(x, name):
    if hasattr(x, "tocsr") or hasattr(x, "toarray"):
        raise TypeError(f"{name} is a sparse matrix; xpnn needs dense input: pass {name}.toarray()")
    if not is_host_array(x):
        return x
    try:
        return np.asarray(x)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} cannot be read as an array: {exc}") from None


def check_X(X, backend: Backend, dtype, *, n_features=None, estimator="estimator"):
    """X (n_samples, n_features) as a finite float array of ``backend``; int X is converted.

    Raises TypeError for object, string, bool and complex data; ValueError for a rank other
    than 2, no samples, no features, NaN/inf, or a feature count different from fit's.
    """
    X = _host(X, "X")
    if is_host_array(X) and X.dtype.kind == "O":
        try:
            X = X.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError("X must hold real numbers; its object array holds other values "
                            f"({exc})") from None
    kind = _kind(X)
    if kind == "complex":
        raise ValueError(f"Complex data not supported: X has dtype {X.dtype}; pass real numbers")
    if kind in {"bool", "other"}:
        raise TypeError(f"X must hold real numbers (float or int); got dtype {X.dtype}")
    if X.ndim != 2:
        hint = (" (images? flatten them first with xpnn.preprocessing.flatten_images)"
                if X.ndim > 2 else ". Reshape your data with X.reshape(-1, 1) if it has a single "
                "feature or X.reshape(1, -1) if it is a single sample")
        raise ValueError(f"X must be 2-D (n_samples, n_features); got shape {tuple(X.shape)}{hint}")
    m, n = X.shape
    if m < 1:
        raise ValueError(f"X has 0 samples (shape={tuple(X.shape)}); at least 1 is required")
    if n < 1:
        raise ValueError(f"Found array with 0 feature(s) (shape={tuple(X.shape)}) while a minimum "
                         "of 1 is required.")
    if n_features is not None and n != n_features:
        raise ValueError(f"X has {n} features, but {estimator} is expecting {n_features} features "
                         f"as input; got X of shape {tuple(X.shape)}")
    Xb = backend.asarray(X, dtype=dtype)
    xp = backend.xp
    if not bool(xp.all(xp.isfinite(Xb))):
        raise ValueError(f"X contains NaN or infinity (shape {tuple(X.shape)}); "
                         "remove or impute those values first")
    return Xb


def check_y(y, n_samples):
    """y as host labels of shape (n_samples,): (classes (2,), y01 (n_samples,) of 0/1 floats).

    Raises ValueError for NaN, continuous floats, a length other than n_samples, one class
    or more than two; a column vector (n, 1) is raveled with a DataConversionWarning.
    """
    if y is None:
        raise ValueError("this estimator requires y to be passed, but the target y is None; "
                         "call fit(X, y) with y of shape (n_samples,)")
    y = to_numpy(_host(y, "y"))  # labels are small: classes are found on the host
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn("A column-vector y was passed when a 1d array was expected. Please change "
                      "the shape of y to (n_samples,), for example using ravel().",
                      DataConversionWarning, stacklevel=3)
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (n_samples,); got shape {tuple(y.shape)}")
    if y.shape[0] != n_samples:
        raise ValueError(f"X and y have different numbers of samples: X has {n_samples}, "
                         f"y has {y.shape[0]} (shape {tuple(y.shape)})")
    if y.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: y has dtype {y.dtype}")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)):
            raise ValueError("y contains NaN or infinity; every sample needs a class label")
        if np.any(y != np.round(y)):
            raise ValueError("Unknown label type: continuous. y holds floats that are not class "
                             "labels; xpnn classifies two classes (pass e.g. 0/1 or strings)")
    if y.dtype.kind == "O" and any(isinstance(v, float) and math.isnan(v) for v in y):
        raise ValueError("y contains NaN; every sample needs a class label")
    classes = np.unique(y)
    if classes.shape[0] != 2:
        what = "only one class" if classes.shape[0] == 1 else f"{classes.shape[0]} classes"
        raise ValueError(f"Only binary classification is supported. y has {what} "
                         f"({classes[:5].tolist()}{'...' if classes.shape[0] > 5 else ''}); "
                         "xpnn needs exactly two distinct labels")
    return classes, (y == classes[1]).astype(np.float64)


def check_positive_float(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0; got {value!r}")
    return float(value)


def check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1; got {value!r}")
    return int(value)


def check_choice(value, name, choices):
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose from {sorted(choices)}")
    return value


def check_dtype(value):
    name = value if isinstance(value, str) else getattr(value, "__name__", str(value))
    return check_choice(name, "dtype", _DTYPES)


def check_network_inputs(X, Y, params):
    """Shapes and finiteness for :func:`xpnn.network.train`: X (n_x, m), Y (1, m), and
    W[l] (n[l], n[l-1]), b[l] (n[l], 1) chained from n_x to a single output unit."""
    if getattr(X, "ndim", None) != 2:
        raise ValueError(f"X must be 2-D (n_x, m) in course notation; got shape {getattr(X, 'shape', None)}")
    n_x, m = X.shape
    if m < 1 or n_x < 1:
        raise ValueError(f"X must have at least one feature and one example; got shape {tuple(X.shape)}")
    if tuple(getattr(Y, "shape", ())) != (1, m):
        raise ValueError(f"Y must be (1, {m}) to match X {tuple(X.shape)}; got {getattr(Y, 'shape', None)}")
    L, n_prev = len(params) // 2, n_x
    if L < 1 or set(params) != {f"{p}{l}" for l in range(1, L + 1) for p in "Wb"}:
        raise ValueError(f"params must hold W1, b1, ..., WL, bL; got keys {sorted(params)}")
    for l in range(1, L + 1):
        W, b = params[f"W{l}"], params[f"b{l}"]
        if W.ndim != 2 or W.shape[1] != n_prev or tuple(b.shape) != (W.shape[0], 1):
            raise ValueError(f"W{l} must be (n{l}, {n_prev}) and b{l} (n{l}, 1); got "
                             f"W{l} {tuple(W.shape)}, b{l} {tuple(b.shape)}")
        n_prev = W.shape[0]
    if n_prev != 1:
        raise ValueError(f"the output layer W{L} must have 1 unit; got {tuple(params[f'W{L}'].shape)}")
    xp = namespace(X, Y)
    if not bool(xp.all(xp.isfinite(X)) & xp.all(xp.isfinite(Y))):
        raise ValueError("X or Y contains NaN or infinity")
