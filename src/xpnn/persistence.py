"""Saving and loading fitted estimators: ``.npz`` with a small JSON header, no pickle ever.

A file holds the parameters in course notation (W1, b1, ...), ``costs_``, ``classes_`` (for
classifiers) and a JSON header (format version, estimator class, hyperparameters, dtype,
n_features_in_, the output head and its number of units).
Loading uses ``numpy.load(allow_pickle=False)``: object arrays are refused unread. Writes go to a
temporary file in the same folder and are renamed over the target, so an interrupted save
leaves any previous file intact.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile

import numpy as np

from .backend import Backend, get_backend

FORMAT = "xpnn-model"
VERSION = 2  # 2: output heads (multi-class, multilabel, regression)


def _registry():
    from .estimators import (DeepNet, DeepNetRegressor, LogisticRegression, ShallowNet,
                             ShallowNetRegressor)

    return {cls.__name__: cls for cls in (LogisticRegression, ShallowNet, DeepNet,
                                          ShallowNetRegressor, DeepNetRegressor)}


def _jsonable(name, value):
    if isinstance(value, Backend):
        return value.requested
    if hasattr(value, "__name__") and name == "backend":  # a namespace module
        return value.__name__.rsplit(".", 1)[-1]
    if isinstance(value, tuple):
        return list(value)
    if name == "random_state" and not (value is None or isinstance(value, int)):
        return None  # a Generator's state is not saved; the fitted weights are
    return value


def save(model, path):
    """Write the fitted ``model`` to ``path`` (.npz) atomically. Returns the path written."""
    model._check_fitted()
    path = os.fspath(path)
    header = {
        "format": FORMAT, "version": VERSION, "class": type(model).__name__,
        "hyperparameters": {k: _jsonable(k, v) for k, v in model.get_params().items()},
        "n_features_in": int(model.n_features_in_), "dtype": str(model.params_["W1"].dtype),
        "n_iter": int(model.n_iter_), "head": model.out_activation_,
        "n_outputs": int(model.n_outputs_),
    }
    arrays = {"header": None, "costs": model.costs_, **model.params_}
    if hasattr(model, "classes_"):
        classes = model.classes_
        arrays["classes"] = classes.astype(str) if classes.dtype.kind == "O" else classes
    else:
        header["y_ndim"] = int(model._y_ndim)
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".xpnn-", suffix=".npz.tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


def _read(path):
    try:
        with np.load(path, allow_pickle=False) as npz:
            if not isinstance(npz, np.lib.npyio.NpzFile):
                raise ValueError("it is a single .npy array")
            return {key: npz[key] for key in npz.files}
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
            raise ValueError(f"{path!r} holds pickled objects; xpnn never unpickles, refused") from None
        raise ValueError(f"{path!r} is not an xpnn model file: {exc}") from None
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{path!r} is corrupt or truncated: {type(exc).__name__}: {exc}") from None


def _header(arrays, path):
    try:
        header = json.loads(arrays.pop("header").tobytes().decode())
    except (KeyError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path!r} has no readable xpnn header ({type(exc).__name__})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError(f"{path!r} is not an xpnn model file (format {header!r:.80})")
    if header.get("version") != VERSION:
        raise ValueError(f"{path!r} has format version {header.get('version')!r}; this xpnn "
                         f"reads version {VERSION}")
    return header


def load(path, *, backend=None, expected=None):
    """Load a model written by :func:`save`; it predicts on ``backend`` (None: the default).

    Raises
    ------
    ValueError
        Corrupt, truncated, pickled, wrong-version or wrong-class files, or arrays whose shapes
        do not fit the header.
    """
    path = os.fspath(path)
    arrays = _read(path)
    header = _header(arrays, path)
    classes = _registry()
    name = header.get("class")
    if name not in classes or (expected is not None and name != expected.__name__):
        want = expected.__name__ if expected is not None else sorted(classes)
        raise ValueError(f"{path!r} holds a {name!r}; expected {want}")
    hyper = dict(header["hyperparameters"])
    if "hidden_layer_sizes" in hyper:
        hyper["hidden_layer_sizes"] = tuple(hyper["hidden_layer_sizes"])
    model = classes[name](**hyper)
    params = {k: v for k, v in arrays.items() if k[0] in "Wb" and k[1:].isdigit()}
    _check_shapes(params, model, header, path)
    from .backend import default_backend_name

    model.backend_ = get_backend(backend if backend is not None else default_backend_name())
    fitted = {"params_": params, "costs_": arrays["costs"], "n_features_in_": header["n_features_in"],
              "n_iter_": header["n_iter"], "n_outputs_": header["n_outputs"],
              "out_activation_": header["head"], "_device_params": {}}
    if "classes" in arrays:
        fitted["classes_"] = arrays["classes"]
    else:
        fitted["_y_ndim"] = header["y_ndim"]
    model.__dict__.update(fitted)
    return model


def _check_shapes(params, model, header, path):
    dims = [header["n_features_in"], *model._hidden_layer_sizes(), header["n_outputs"]]
    want = {}
    for l in range(1, len(dims)):
        want[f"W{l}"], want[f"b{l}"] = (dims[l], dims[l - 1]), (dims[l], 1)
    got = {k: v.shape for k, v in params.items()}
    if got != want or any(v.dtype != np.dtype(header["dtype"]) for v in params.values()):
        raise ValueError(f"{path!r} is inconsistent: parameter shapes {got} (dtype "
                         f"{[str(v.dtype) for v in params.values()]}), header says {want} "
                         f"({header['dtype']})")
