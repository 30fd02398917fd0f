"""Checks at the door: every estimator input is validated once, with errors that name the
argument, what was expected and what arrived. Host inputs are inspected with NumPy; device
arrays are checked on their device with one reduction."""

from __future__ import annotations

import math
import numbers

import numpy as np

from .backend import Backend, is_host_array, namespace, to_numpy, warn
from ._transfer import is_sparse_tensor
from .exceptions import data_conversion_warning


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


def _host(x, name, accept_sparse=False):
    if isinstance(x, np.ma.MaskedArray) and np.ma.is_masked(x):
        raise ValueError(f"{name} is a masked array with masked entries; fill them (e.g. "
                         f"{name}.filled(...)) or drop those rows first")
    if hasattr(x, "tocsr") or hasattr(x, "toarray"):
        if accept_sparse:
            return np.asarray(x.toarray())
        raise TypeError(f"{name} is a sparse matrix; xpnn needs dense input: pass {name}.toarray()")
    if is_sparse_tensor(x):  # densified on its own device, as a SciPy sparse X is on the host
        if accept_sparse:
            return x.to_dense()
        raise TypeError(f"{name} is a sparse tensor; xpnn needs dense input: pass {name}.to_dense()")
    if not is_host_array(x):
        return x
    try:
        return np.asarray(x)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} cannot be read as an array: {exc}") from None


def check_X(X, backend: Backend, dtype, *, n_features=None, estimator="estimator", accept_sparse=False):
    """X (n_samples, n_features) as a finite float array of ``backend``; int X is converted
    (a scipy.sparse X is densified with ``accept_sparse``, else refused).

    Raises TypeError for object, string, bool and complex data; ValueError for a rank other
    than 2, no samples, no features, NaN/inf, or a feature count different from fit's.
    """
    X = _host(X, "X", accept_sparse)
    if any(not isinstance(n, numbers.Integral) for n in X.shape):
        raise ValueError(f"X has unknown dimensions (shape {tuple(X.shape)}): a Dask array with "
                         "unknown chunk sizes; call X.compute_chunk_sizes() first")
    if is_host_array(X) and X.dtype.kind == "O":
        try:
            X = X.astype(np.float64)
        except OverflowError as exc:
            raise ValueError(f"X holds an integer too large for float64 ({exc})") from None
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
    with backend.on_device():  # a second GPU's arrays are checked there
        finite = bool(xp.all(xp.isfinite(Xb)))
    if not finite:
        if is_host_array(X) and np.all(np.isfinite(X)):
            biggest = float(np.max(np.abs(X)))
            raise ValueError(f"X has values too large for {dtype} (up to {biggest:.3g}; {dtype} "
                             f"holds at most {np.finfo(dtype).max:.3g}): use dtype='float64' or "
                             "rescale X")
        raise ValueError(f"X contains NaN or infinity (shape {tuple(X.shape)}); "
                         "remove or impute those values first")
    return Xb


def feature_names(X):
    """The column names of a DataFrame-like X when they are all strings (scikit-learn's rule),
    as a list; else None."""
    columns = getattr(X, "columns", None)
    if columns is None:
        return None
    names = list(columns)
    if not names or not all(isinstance(name, str) for name in names):
        return None
    return names


def check_feature_names(estimator, X):
    """scikit-learn's check of X's column names against those seen at fit: ValueError when they
    differ (another order included), a UserWarning when only one side has names."""
    fitted = getattr(estimator, "feature_names_in_", None)
    names = feature_names(X)
    kind = type(estimator).__name__
    if fitted is None and names is None:
        return
    if fitted is None:
        warn(f"X has feature names, but {kind} was fitted without feature names", UserWarning)
        return
    if names is None:
        warn(f"X does not have valid feature names, but {kind} was fitted with feature names",
             UserWarning)
        return
    if list(fitted) != names:
        unseen = [n for n in names if n not in set(fitted)]
        missing = [n for n in fitted if n not in set(names)]
        message = "The feature names should match those that were passed during fit.\n"
        if unseen:
            message += "Feature names unseen at fit time:\n" + "".join(f"- {n}\n" for n in unseen[:5])
        if missing:
            message += "Feature names seen at fit time, yet now missing:\n" + "".join(
                f"- {n}\n" for n in missing[:5])
        if not unseen and not missing:
            message += "Feature names must be in the same order as they were in fit.\n"
        raise ValueError(message)


def _host_y(y, n_samples):
    if y is None:
        raise ValueError("this estimator requires y to be passed, but the target y is None; "
                         "call fit(X, y) with y of shape (n_samples,)")
    y = to_numpy(_host(y, "y"))  # targets are small: they are checked on the host
    if y.ndim == 0 or y.ndim > 2:
        raise ValueError(f"y must be 1-D (n_samples,) or 2-D (n_samples, n_outputs); got shape "
                         f"{tuple(y.shape)}")
    if y.shape[0] != n_samples:
        raise ValueError(f"X and y have different numbers of samples: X has {n_samples}, "
                         f"y has {y.shape[0]} (shape {tuple(y.shape)})")
    if y.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: y has dtype {y.dtype}")
    return y


def _raveled_column(y):
    """A column vector (n, 1) raveled to (n,) with scikit-learn's DataConversionWarning (pointing
    at the user's call of fit or score); any other y unchanged."""
    if y.ndim == 2 and y.shape[1] == 1:
        warn("A column-vector y was passed when a 1d array was expected. Please change the shape "
             "of y to (n_samples,), for example using ravel().", data_conversion_warning())
        return y.ravel()
    return y


def check_classification_y(y, n_samples, classes=None, single_class=False):
    """Class labels -> (classes, Y (n_samples, k) of 0/1 floats, kind of target: "binary",
    "multiclass" or "multilabel-indicator", scikit-learn's names; :data:`xpnn.heads.HEAD_FOR_TARGET`
    says which head trains each).

    ``classes`` (partial_fit, warm start): every label y may take, fixed in advance; a label
    outside them is an error.

    Two labels give one sigmoid unit (k = 1, Y = [y == classes[1]]); three or more give softmax
    over k = n_classes units (Y one-hot); a 2-D 0/1 indicator y (n_samples, q) gives q sigmoid
    units (multilabel, classes = 0..q-1). A column vector (n, 1) is raveled with a
    DataConversionWarning. Raises ValueError for NaN, continuous floats, a wrong length, one
    class only, or a 2-D y that is not a 0/1 indicator.
    """
    y = _host_y(y, n_samples)
    y = _raveled_column(y)
    if y.ndim == 2:
        if classes is not None and len(classes) != y.shape[1]:
            raise ValueError(f"y has {y.shape[1]} label columns but the model has {len(classes)}")
        if y.dtype.kind not in "biuf" or not np.all((y == 0) | (y == 1)):
            raise ValueError(f"a 2-D y (shape {tuple(y.shape)}) must be a 0/1 indicator matrix "
                             "(multilabel classification); for several regression targets use a "
                             "regressor (ShallowNetRegressor, DeepNetRegressor)")
        return np.arange(y.shape[1]), y.astype(np.float64), "multilabel-indicator"
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)):
            raise ValueError("y contains NaN or infinity; every sample needs a class label")
        if np.any(y != np.round(y)):
            raise ValueError("Unknown label type: continuous. y holds floats that are not class "
                             "labels; pass class labels (e.g. 0/1/2 or strings), or use a regressor")
    if y.dtype.kind == "O":
        _check_object_labels(y)
    if classes is not None:
        classes = np.unique(to_numpy(_host(classes, "classes")))
        unknown = np.setdiff1d(np.unique(y), classes)
        if unknown.shape[0]:
            raise ValueError(f"y holds labels {unknown[:5].tolist()} that are not in classes "
                             f"{classes[:10].tolist()}")
    else:
        classes = np.unique(y)
    if classes.shape[0] == 1 and single_class:  # scikit-learn's MLP: one unit that learns "no"
        return classes, np.zeros((y.shape[0], 1)), "binary"
    if classes.shape[0] < 2:
        raise ValueError(f"y has only one class ({classes.tolist()}); a classifier needs at least "
                         "two distinct labels")
    if classes.shape[0] == 2:
        return classes, (y == classes[1]).astype(np.float64)[:, None], "binary"
    return classes, (y[:, None] == classes[None, :]).astype(np.float64), "multiclass"


def _check_object_labels(y):
    """Object labels: no None or NaN, one type of label (np.unique cannot order mixed types)."""
    values = y.tolist()
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values):
        raise ValueError("y contains None or NaN; every sample needs a class label")
    kinds = {"number" if isinstance(v, numbers.Number) else type(v).__name__ for v in values}
    if len(kinds) > 1:
        raise ValueError(f"y mixes label types ({', '.join(sorted(kinds))}); use one type of label")


def check_score_y(y, n_samples, n_columns=None):
    """True labels for ``score``: host array (n_samples,), or (n_samples, n_columns) for
    multilabel models, checked as ``fit`` checks y (a column vector is raveled with a
    DataConversionWarning); any labels, even a single class, may be scored."""
    y = _host_y(y, n_samples)
    if n_columns is not None:
        if y.ndim != 2 or y.shape[1] != n_columns:
            raise ValueError(f"y must be (n_samples, {n_columns}) for this multilabel model; got "
                             f"shape {tuple(y.shape)}")
        if y.dtype.kind not in "biuf" or not np.all((y == 0) | (y == 1)):
            raise ValueError("a multilabel y must be a 0/1 indicator matrix")
        return y
    y = _raveled_column(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (n_samples,) to score a classifier; got shape {tuple(y.shape)}")
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise ValueError("y contains NaN or infinity; every sample needs a class label")
    if y.dtype.kind == "O":
        _check_object_labels(y)
    return y


def check_regression_y(y, n_samples):
    """Regression targets -> (Y (n_samples, q) float64, y's rank 1 or 2); q = 1 for a 1-D y.

    Raises ValueError for NaN/inf, a wrong length or rank; TypeError for non-numeric targets.
    """
    y = _host_y(y, n_samples)
    if y.dtype.kind == "O":
        try:
            y = y.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError("y must hold real numbers for regression; its object array holds "
                            "other values") from None
    if y.dtype.kind not in "biuf":
        raise TypeError(f"y must hold real numbers for regression; got dtype {y.dtype}")
    y = y.astype(np.float64)
    if not np.all(np.isfinite(y)):
        raise ValueError("y contains NaN or infinity")
    return y.reshape(n_samples, -1), y.ndim


def class_weights(class_weight, classes, Y, head):
    """Per-sample weights (n_samples,) from ``class_weight`` ("balanced" as scikit-learn computes
    it, n_samples / (n_classes * count); or a dict {label: weight}), or None. ``head`` (a Head)
    says each sample's class."""
    if class_weight is None:
        return None
    index = head.class_index(Y.T)
    if index is None:
        raise ValueError("class_weight is not supported for multilabel y; pass sample_weight")
    index = np.asarray(index).astype(int)
    if isinstance(class_weight, str) and class_weight == "balanced":
        counts = np.bincount(index, minlength=len(classes))
        per_class = Y.shape[0] / (len(classes) * counts)
    elif isinstance(class_weight, dict):
        unknown = [k for k in class_weight if k not in set(classes.tolist())]
        if unknown:
            raise ValueError(f"class_weight names labels {unknown} that are not in y's classes "
                             f"{classes.tolist()}")
        per_class = np.array([class_weight.get(c, 1.0) for c in classes.tolist()], dtype=np.float64)
        if not np.all(np.isfinite(per_class)) or np.any(per_class < 0):
            raise ValueError(f"class_weight must be finite and >= 0; got {class_weight}")
    else:
        raise ValueError(f"class_weight must be None, 'balanced' or a dict {{label: weight}}; "
                         f"got {class_weight!r}")
    return per_class[index]


def check_network_inputs(X, Y, params, S=None):
    """Shapes and finiteness for :func:`xpnn.network.train`: X (n_x, m), Y (k, m), W[l]
    (n[l], n[l-1]) and b[l] (n[l], 1) chained from n_x to the k output units, and weights S
    (1, m), finite, >= 0 and not all 0, when given."""
    if getattr(X, "ndim", None) != 2:
        raise ValueError(f"X must be 2-D (n_x, m) in course notation; got shape {getattr(X, 'shape', None)}")
    n_x, m = X.shape
    if m < 1 or n_x < 1:
        raise ValueError(f"X must have at least one feature and one example; got shape {tuple(X.shape)}")
    if getattr(Y, "ndim", None) != 2 or Y.shape[1] != m:
        raise ValueError(f"Y must be (k, {m}) to match X {tuple(X.shape)}; got {getattr(Y, 'shape', None)}")
    L, n_prev = len(params) // 2, n_x
    if L < 1 or set(params) != {f"{p}{l}" for l in range(1, L + 1) for p in "Wb"}:
        raise ValueError(f"params must hold W1, b1, ..., WL, bL; got keys {sorted(params)}")
    for l in range(1, L + 1):
        W, b = params[f"W{l}"], params[f"b{l}"]
        if W.ndim != 2 or W.shape[1] != n_prev or tuple(b.shape) != (W.shape[0], 1):
            raise ValueError(f"W{l} must be (n{l}, {n_prev}) and b{l} (n{l}, 1); got "
                             f"W{l} {tuple(W.shape)}, b{l} {tuple(b.shape)}")
        n_prev = W.shape[0]
    if n_prev != Y.shape[0]:
        raise ValueError(f"the output layer W{L} has {n_prev} unit(s) but Y has {Y.shape[0]} row(s); "
                         f"got W{L} {tuple(params[f'W{L}'].shape)} and Y {tuple(Y.shape)}")
    xp = namespace(X, Y)
    if not bool(xp.all(xp.isfinite(X)) & xp.all(xp.isfinite(Y))):
        raise ValueError("X or Y contains NaN or infinity")
    if S is not None:
        if tuple(getattr(S, "shape", ())) != (1, m):
            raise ValueError(f"S (sample weights) must be (1, {m}); got {getattr(S, 'shape', None)}")
        if not bool(xp.all(xp.isfinite(S)) & xp.all(S >= 0) & xp.any(S > 0)):
            raise ValueError("S (sample weights) must be finite, >= 0 and not all 0")


def check_sample_weight(sample_weight, n_samples):
    """Per-sample weights as a host float64 array (n_samples,), or None.

    Raises ValueError naming ``sample_weight`` for a wrong shape or length, NaN/inf, negative
    weights or weights that are all zero; TypeError for non-numeric weights.
    """
    if sample_weight is None:
        return None
    w = to_numpy(_host(sample_weight, "sample_weight"))
    if w.ndim == 0:  # a scalar weights every sample alike
        w = np.full(n_samples, w)
    if w.dtype.kind not in "biuf":
        try:
            w = w.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"sample_weight must hold real numbers; got dtype {w.dtype}") from None
    if w.ndim != 1 or w.shape[0] != n_samples:
        raise ValueError(f"sample_weight must be 1-D with one weight per sample: X has {n_samples} "
                         f"samples, sample_weight has shape {tuple(w.shape)}")
    w = w.astype(np.float64)
    if not np.all(np.isfinite(w)):
        raise ValueError("sample_weight contains NaN or infinity")
    if np.any(w < 0):
        raise ValueError(f"sample_weight must be >= 0; got negative weights (min {w.min()})")
    if not np.any(w > 0):
        raise ValueError("sample_weight is all zero: at least one sample needs a positive weight")
    with np.errstate(over="ignore"):
        total = np.sum(w)
    if not np.isfinite(total):
        raise ValueError(f"sample_weight sums to infinity (weights up to {w.max():.3g}); rescale them "
                         "(only their ratios matter)")
    return w


def train_test_rows(n, test_fraction, rs, strata=None):
    """The one hold-out splitter of every estimator: scikit-learn's ``train_test_split`` row for
    row (ShuffleSplit, or StratifiedShuffleSplit with ``strata``), drawn from ``rs`` (a
    RandomState, or the course estimators' Generator) as it draws: (training rows, held-out
    rows), each in the order scikit-learn returns them, which is the order its MLP then trains
    in."""
    n_test = math.ceil(test_fraction * n)
    n_train = n - n_test
    if n_train <= 0:
        raise ValueError(f"With n_samples={n}, test_size={test_fraction} and train_size=None, the resulting "
                         "train set will be empty. Adjust any of the aforementioned parameters.")
    if strata is None:
        permutation = rs.permutation(n)
        return permutation[n_test:n_test + n_train], permutation[:n_test]
    classes, index = np.unique(strata, return_inverse=True)
    counts = np.bincount(index)
    if counts.min() < 2:
        few = [str(c) for c, k in zip(classes, counts) if k < 2]
        raise ValueError("The least populated classes in y have only 1 member, which is too few. The "
                         "minimum number of groups for any class cannot be less than 2. Classes with "
                         f"too few members are: {few}")
    for size, name in ((n_train, "train_size"), (n_test, "test_size")):
        if size < len(classes):
            raise ValueError(f"The {name} = {size} should be greater or equal to the number of "
                             f"classes = {len(classes)}")
    members = np.split(np.argsort(index, kind="mergesort"), np.cumsum(counts)[:-1])
    n_i = _approximate_mode(counts, n_train, rs)
    t_i = _approximate_mode(counts - n_i, n_test, rs)
    train, test = [], []
    for i in range(len(classes)):
        rows = members[i].take(rs.permutation(counts[i]), mode="clip")
        train.extend(rows[:n_i[i]])
        test.extend(rows[n_i[i]:n_i[i] + t_i[i]])
    return rs.permutation(train), rs.permutation(test)


def _approximate_mode(counts, n_draws, rs):
    """scikit-learn's ``_approximate_mode``: ``n_draws`` split over the classes in proportion to
    ``counts``, the largest remainders first, ties broken by ``rs``."""
    continuous = counts / counts.sum() * n_draws
    floored = np.floor(continuous)
    need = int(n_draws - floored.sum())
    if need > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (tied,) = np.where(remainder == value)
            now = min(len(tied), need)
            floored[rs.choice(tied, size=now, replace=False)] += 1
            need -= now
            if need == 0:
                break
    return floored.astype(int)


def combine_weights(sample_weight, class_weight):
    """Per-sample weights times class weights (either may be None)."""
    if sample_weight is None or class_weight is None:
        return class_weight if sample_weight is None else sample_weight
    weights = sample_weight * class_weight
    if not np.any(weights > 0):
        raise ValueError("sample_weight times class_weight is zero for every sample")
    return weights
