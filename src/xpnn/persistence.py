"""Saving and loading fitted estimators: ``.npz`` with a JSON header, no pickle ever.

A file holds the parameters in course notation (W1, b1, ...), ``costs_``, ``classes_`` (for
classifiers) and a JSON header: format version, estimator class, hyperparameters, dtype,
``n_features_in_``, the output head and its units, and for every array its dtype, shape and the
SHA-256 of its bytes.

Loading promises one of two outcomes: the identical model, or a ValueError saying what is wrong.
The digests detect damage, not deliberate edits: anyone can recompute a SHA-256. A file saved
with ``key=`` also carries an HMAC-SHA256 of its header (which holds every array's digest), and
loading with that key refuses a file that is unsigned or was signed otherwise: that is what
guards a model crossing a trust boundary. Files of versions 1-3 carry no header digest (1-2 no
digests at all) and load only when asked for knowingly (``unverified_ok=True``).
It reads only the members the format defines (an unknown member is refused unread), each no
larger than the header allows, checks the zip CRC of every member and the SHA-256 of every array,
validates the header against a schema and the arrays against the header (shapes chain from the
inputs to the head's units, values finite, class count matching the head), and never unpickles.

Writes go to a temporary file in the same folder, named ``.<name>.xpnn-tmp-<pid>-<random>``,
and are renamed over the target, so an interrupted save leaves any previous file intact; a later
save of the same name removes temporary files left by processes that no longer run (a kill -9
mid-save).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import stat
import zipfile

import numpy as np

from ._atomic import write_atomically
from ._state import FittedState
from .backend import Backend
from .normalization import STATISTICS

__all__ = ["save", "load", "register"]

FORMAT = "xpnn-model"
VERSION = 4  # 2: output heads; 3: array digests, labels that keep their Python type; 4: header digest
READABLE = (1, 2, 3, 4)
VERIFIED = (4,)  # versions whose header and arrays are all covered by digests
_LABEL_TYPES = {"bool": bool, "int": int, "float": float, "str": str}
_MAX_LABEL_BYTES = 1 << 12  # the itemsize a stored label may declare
_MAX_HEADER_BYTES = 1 << 20
_NPY_HEADER_SLACK = 4096  # bytes a .npy member may hold beyond its data (its own header)

_CLASSES = {}  # class name -> estimator class, filled by @register


def register(cls):
    """Class decorator: ``cls`` may be saved and loaded. It provides ``get_params()``,
    ``fitted_state()`` (a :class:`xpnn._state.FittedState`), ``from_hyperparameters(hp)`` (an
    unfitted estimator, hyperparameters checked), its ``parameter_shapes(n_features_in,
    n_outputs)``, and ``from_fitted_state(hyperparameters, state, backend=...)``, which checks
    both."""
    _CLASSES[cls.__name__] = cls
    return cls


def _jsonable(name, value):
    if isinstance(value, Backend):
        return value.requested
    if hasattr(value, "__name__") and name == "backend":  # a namespace module
        return value.__name__.rsplit(".", 1)[-1]
    if isinstance(value, tuple):
        return list(value)
    if name == "random_state" and not (value is None or isinstance(value, int)):
        return None  # a Generator's state is not saved; the fitted weights are
    if isinstance(value, np.generic):
        return value.item()
    return value


def _digest(array):
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def _labels(classes):
    """Classes as a storable array and how to restore them: object arrays of Python ints, bools,
    floats or strings (a pandas Series of them) come back as object arrays of the same values."""
    if classes.dtype.kind != "O":
        return classes, None
    values = [v.item() if isinstance(v, np.generic) else v for v in classes.tolist()]
    kinds = {type(v) for v in values}
    for python_type, dtype in ((bool, bool), (int, np.int64), (float, np.float64), (str, str)):
        if kinds <= {python_type}:
            if python_type is int and any(not -2**63 <= v < 2**63 for v in values):
                raise ValueError("cannot save integer labels outside the 64-bit range: xpnn stores "
                                 "labels as numbers or strings (map them to strings first)")
            return np.asarray(values, dtype=dtype), python_type.__name__
    raise ValueError(f"cannot save labels of types {sorted(k.__name__ for k in kinds)}: xpnn stores "
                     "labels as numbers or strings (never pickled)")


def _key_bytes(key):
    if isinstance(key, str):
        key = key.encode()
    if not isinstance(key, (bytes, bytearray)) or not key:
        raise TypeError(f"key must be non-empty bytes or str; got {type(key).__name__}")
    return bytes(key)


def _signature(header, key):
    """HMAC-SHA256 of the header's canonical JSON without its digest and signature."""
    rest = {k: v for k, v in header.items() if k not in ("header_sha256", "hmac_sha256")}
    return hmac.new(_key_bytes(key), json.dumps(rest, sort_keys=True).encode(), hashlib.sha256).hexdigest()


def save(model, path, *, key=None):
    """Write the fitted ``model`` to ``path`` (.npz) atomically; with ``key`` (bytes or str),
    signed with an HMAC-SHA256 that ``load(path, key=key)`` checks. Returns the path written."""
    state = model.fitted_state()
    path = os.fsdecode(os.fspath(path))
    header = {
        "format": FORMAT, "version": VERSION, "class": type(model).__name__,
        "hyperparameters": {k: _jsonable(k, v) for k, v in model.get_params().items()},
        "n_features_in": int(state.n_features_in), "dtype": str(state.params["W1"].dtype),
        "n_iter": int(state.n_iter), "head": state.head, "n_outputs": int(state.n_outputs),
    }
    if state.feature_names is not None:
        header["feature_names"] = [str(n) for n in state.feature_names]
    arrays = {"costs": np.asarray(state.costs, dtype=np.float64), **state.params}
    if state.classes is not None:
        arrays["classes"], header["classes_object"] = _labels(state.classes)
    if state.y_ndim is not None:
        header["y_ndim"] = int(state.y_ndim)
    if state.extras:
        header["extras"] = dict(state.extras)
    if state.validation_scores is not None:
        header["validation_scores"] = [float(v) for v in state.validation_scores]
    if state.best_iteration is not None:
        header["best_iteration"] = int(state.best_iteration)
    header["arrays"] = {k: {"dtype": v.dtype.str, "shape": list(v.shape), "sha256": _digest(v)}
                        for k, v in arrays.items()}
    if key is not None:
        header["hmac_sha256"] = _signature(header, key)
    header["header_sha256"] = _header_digest(header)
    try:  # never replace a file with one that load would refuse
        _restore(type(model), json.loads(json.dumps(header)), arrays, None)
    except ValueError as exc:
        raise ValueError(f"refusing to save this {type(model).__name__}: it would not load back "
                         f"({exc}); {path!r} was left as it was") from None
    arrays["header"] = np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8)
    write_atomically(path, arrays)
    return path


def _header_digest(header):
    """SHA-256 of the header's canonical JSON without its own digest: any edit shows."""
    rest = {k: v for k, v in header.items() if k != "header_sha256"}
    return hashlib.sha256(json.dumps(rest, sort_keys=True).encode()).hexdigest()


# ------------------------------------------------------------------------------ loading

def load(path, *, backend=None, expected=None, key=None, unverified_ok=False):
    """Load a model written by :func:`~xpnn.persistence.save`; it predicts on ``backend`` (None: the default).

    ``key``: the key the file was signed with (``save(..., key=...)``); the file must then carry
    a signature made with it. ``unverified_ok``: also load files of versions 1-3, which carry
    no digest of their header (1-2: none of their arrays): only a file you trust, to re-save it.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Anything else that is not an intact xpnn model file of a readable version (the message
        says what the file is or what is wrong with it); pickled objects are never unpickled.
    """
    path = os.fsdecode(os.fspath(path))
    members = _open(path)
    try:
        header = _check_header(_header(members, path), path)
        _check_trust(header, path, key, unverified_ok)
        cls = _model_class(header, path, expected)
        try:
            template = cls.from_hyperparameters(_hyperparameters(header))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path!r} has an invalid xpnn header: {exc}") from None
        limits = _implied_sizes(template, header)
        arrays = _arrays(members, header, path, limits)
    finally:
        members.archive.close()
    return _restore(cls, header, arrays, path, backend)


def _hyperparameters(header):
    return {k: tuple(v) if isinstance(v, list) else v for k, v in header["hyperparameters"].items()}


def _implied_sizes(template, header):
    """The most elements each array may hold, from what the header's own numbers imply: the
    parameters' exact shapes, one cost per iteration (and the first; a loss curve that spans
    warm-started fits: at most 2**24, 128 MiB), the classes of the units."""
    shapes = template.parameter_shapes(header["n_features_in"], header["n_outputs"])
    sizes = {name: int(np.prod(shape)) for name, shape in shapes.items()}
    costs = max(header["n_iter"] + 1, 2**24) if template._rules.COSTS_SPAN_FITS else header["n_iter"] + 1
    return {**sizes, "costs": costs, "classes": max(2, header["n_outputs"])}


def _restore(cls, header, arrays, path, backend=None):
    """The estimator ``cls`` from a header and its arrays, checked as one model."""
    state = FittedState(
        params={k: v for k, v in arrays.items() if _is_parameter(k)}, costs=arrays.get("costs"),
        n_features_in=header["n_features_in"], n_iter=header["n_iter"], head=header["head"],
        n_outputs=header["n_outputs"], classes=_classes(arrays, header),
        y_ndim=header.get("y_ndim"), feature_names=header.get("feature_names"), extras=header.get("extras"),
        validation_scores=header.get("validation_scores"), best_iteration=header.get("best_iteration"))
    where = "the model" if path is None else repr(path)
    if state.costs is None:
        raise ValueError(f"{where} is inconsistent: it has no 'costs' array")
    try:
        return cls.from_fitted_state(_hyperparameters(header), state, backend=backend)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{where} is inconsistent: {exc}") from None


def _open(path):
    """{member name: bytes}: the zip's members, each read to its end (CRC checked), after the
    header allows their names and sizes."""
    if os.path.isdir(path):
        raise ValueError(f"{path!r} is a directory, not an xpnn model file (.npz)")
    if os.path.exists(path) and not stat.S_ISREG(os.stat(path).st_mode):
        raise ValueError(f"{path!r} is not a regular file (a FIFO, socket or device), so not an xpnn "
                         "model file; refused unread")
    with open(path, "rb") as f:  # FileNotFoundError passes through
        start = f.read(8)
    if start.startswith(b"\x93NUMPY"):
        raise ValueError(f"{path!r} is a single NumPy .npy array, not an xpnn model file (.npz)")
    if start.startswith(b"\x80"):  # the pickle protocol's opcode
        raise ValueError(f"{path!r} holds pickled objects; xpnn never unpickles, refused")
    if not start.startswith(b"PK"):
        raise ValueError(f"{path!r} is not an xpnn model file: not a zip archive (it starts with "
                         f"{start!r})")
    try:
        archive = zipfile.ZipFile(path)
    except Exception as exc:  # BadZipFile, EOFError, OSError, ValueError...
        raise _corrupt(path, exc) from None
    return _LazyMembers(archive, path)


class _LazyMembers:
    """The zip's members, read one at a time, only when asked for and within a size limit."""

    def __init__(self, archive, path):
        self.archive, self.path = archive, path
        self.infos = {info.filename: info for info in archive.infolist()}

    def read(self, name, limit):
        info = self.infos.get(name)
        if info is None:
            raise ValueError(f"{self.path!r} is not an xpnn model file: it has no {name!r}")
        if info.file_size > limit:
            raise ValueError(f"{self.path!r} is corrupt: {name!r} declares {info.file_size} bytes, "
                             f"more than the {limit} its header allows")
        try:
            with self.archive.open(info) as member:
                data = member.read(limit + 1)  # reading to the end checks the zip CRC
        except Exception as exc:  # BadZipFile (CRC), RuntimeError (encrypted), NotImplementedError...
            raise _corrupt(self.path, exc) from None
        if len(data) > limit:
            raise ValueError(f"{self.path!r} is corrupt: {name!r} is larger than it declares")
        return data


def _corrupt(path, exc):
    return ValueError(f"{path!r} is corrupt or truncated: {type(exc).__name__}: {exc}")


def _npy(data, name, path):
    """A .npy member's array, never unpickled."""
    try:
        return np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
            raise ValueError(f"{path!r} holds pickled objects; xpnn never unpickles, refused") from None
        raise ValueError(f"{path!r} is corrupt: {name!r} is not a readable array ({exc})") from None
    except Exception as exc:  # SyntaxError, tokenize errors, EOFError, MemoryError from a bad header
        raise ValueError(f"{path!r} is corrupt: {name!r} is not a readable array "
                         f"({type(exc).__name__}: {exc})") from None


def _header(members, path):
    if "header.npy" not in members.infos:
        if any(name.endswith(".pkl") or name.endswith(".pickle") for name in members.infos):
            raise ValueError(f"{path!r} holds pickled objects; xpnn never unpickles, refused")
        raise ValueError(f"{path!r} has no readable xpnn header (it is a zip archive without one)")
    raw = _npy(members.read("header.npy", _MAX_HEADER_BYTES), "header.npy", path)
    try:
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise TypeError(f"header array of dtype {raw.dtype}, shape {raw.shape}")
        return json.loads(raw.tobytes().decode())
    except (TypeError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"{path!r} has no readable xpnn header ({type(exc).__name__})") from None


def _check_header(header, path):
    """The header against the format's schema: every field present, of its type."""
    def bad(what):
        return ValueError(f"{path!r} has an invalid xpnn header: {what}")

    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError(f"{path!r} is not an xpnn model file (format {header!r:.80})")
    version = header.get("version")
    if type(version) is not int or version not in READABLE:
        raise ValueError(f"{path!r} has format version {version!r}; this xpnn reads versions "
                         f"{list(READABLE)} (it writes version {VERSION})")
    header = {"head": "sigmoid", "n_outputs": 1, **header}  # version 1: binary classifiers only
    fields = {"class": str, "hyperparameters": dict, "n_features_in": int, "dtype": str,
              "n_iter": int, "head": str, "n_outputs": int}
    for key, kind in fields.items():
        if not isinstance(header.get(key), kind) or isinstance(header.get(key), bool):
            raise bad(f"{key!r} must be a {kind.__name__}; got {header.get(key)!r:.60}")
    if header["dtype"] not in ("float64", "float32"):
        raise bad(f"dtype must be 'float64' or 'float32'; got {header['dtype']!r:.40}")
    for key in ("n_features_in", "n_outputs"):
        if not 1 <= header[key] <= 2**31:
            raise bad(f"{key} must be between 1 and 2**31; got {header[key]}")
    if version >= 3 and not isinstance(header.get("arrays"), dict):
        raise bad("'arrays' (dtype, shape and SHA-256 of every array) is missing")
    if version >= 3 and not all(isinstance(spec, dict) for spec in header["arrays"].values()):
        raise bad("every entry of 'arrays' must give the array's dtype, shape and SHA-256")
    if version >= 4 and header.get("header_sha256") != _header_digest(header):
        raise ValueError(f"{path!r} is corrupt: its header does not match its SHA-256 (it was edited "
                         "or damaged)")
    if not 0 <= header["n_iter"] <= 2**40:
        raise bad(f"n_iter must be between 0 and 2**40; got {header['n_iter']}")
    if header.get("classes_object") not in (None, *_LABEL_TYPES):
        raise bad(f"classes_object must be one of {sorted(_LABEL_TYPES)}; "
                  f"got {header['classes_object']!r:.40}")
    names = header.get("feature_names")
    if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        raise bad("feature_names must be a list of strings")
    return header


def _check_trust(header, path, key, unverified_ok):
    """Refuse what the caller did not ask to trust: an unverifiable version, a missing or wrong
    signature when a key is given."""
    if header["version"] not in VERIFIED and not unverified_ok:
        raise ValueError(f"{path!r} is format version {header['version']}, which carries no digest of its "
                         "header: an edit to it cannot be detected. If you trust this file, load it "
                         "with unverified_ok=True and save it again (version 4 is verified)")
    if key is None:
        return
    signature = header.get("hmac_sha256")
    if not isinstance(signature, str):
        raise ValueError(f"{path!r} is not signed: a key was given, so only a file saved with that key "
                         "loads")
    if not hmac.compare_digest(signature, _signature(header, key)):
        raise ValueError(f"{path!r} is not signed with this key: it was edited, or signed with another")


def _model_class(header, path, expected):
    classes = _CLASSES
    name = header["class"]
    if name not in classes or (expected is not None and name != expected.__name__):
        want = expected.__name__ if expected is not None else sorted(classes)
        raise ValueError(f"{path!r} holds a {name!r:.60}; expected {want}")
    return classes[name]


def _arrays(members, header, path, limits):
    """Every array the format defines, checked against the header's dtype, shape and digest and
    against ``limits`` (most elements, by name) before it is read; stored (uncompressed) only."""
    names = [n[:-4] for n in members.infos if n.endswith(".npy") and n != "header.npy"]
    unexpected = [n for n in members.infos if n != "header.npy" and not _defined(n)]
    if unexpected:
        raise ValueError(f"{path!r} is not an xpnn model file: it holds unexpected member(s) "
                         f"{unexpected[:5]} (refused unread)")
    declared = header.get("arrays")
    if declared is not None and sorted(declared) != sorted(names):
        raise ValueError(f"{path!r} is inconsistent: its header lists arrays {sorted(declared)} "
                         f"but it holds {sorted(names)}")
    compressed = [n for n, info in members.infos.items() if info.compress_type != zipfile.ZIP_STORED]
    if compressed:
        raise ValueError(f"{path!r} is not an xpnn model file: xpnn stores its members uncompressed, "
                         f"and {compressed[:5]} are compressed (refused unread)")
    arrays = {}
    for name in names:
        spec = None if declared is None else declared[name]
        limit = _member_limit(spec, path, name, limits.get(name, 0))
        array = _npy(members.read(f"{name}.npy", limit), name, path)
        if spec is not None:
            if (array.dtype.str, list(array.shape)) != (spec["dtype"], spec["shape"]) \
                    or _digest(array) != spec["sha256"]:
                raise ValueError(f"{path!r} is corrupt: {name!r} does not match its SHA-256, dtype "
                                 "or shape in the header")
        arrays[name] = array
    return arrays


def _defined(member):
    """True for the members the format defines: costs, classes and the parameters (.npy each)."""
    name = member[:-4] if member.endswith(".npy") else None
    if name is None:
        return False
    return name in {"costs", "classes"} or _is_parameter(name)


_PARAMETER_NAMES = ("W", "b", "gamma", "beta", *STATISTICS)  # + the layer number


def _is_parameter(name):
    """True for a parameter's name: W<l>, b<l>, and batch norm's gamma<l>, beta<l>, mean<l>, var<l>."""
    return any(name.startswith(p) and name[len(p):].isdigit() for p in _PARAMETER_NAMES)


def _member_limit(spec, path, name, most):
    """Bytes a member may take: its declared data plus a .npy header, where the declared data
    is no more than ``most`` elements (of at most 8 bytes; labels of at most 4 KiB)."""
    if spec is None:
        return most * (_MAX_LABEL_BYTES if name == "classes" else 8) + _NPY_HEADER_SLACK
    try:
        count = int(np.prod([int(n) for n in spec["shape"]], dtype=np.int64))
        itemsize = np.dtype(spec["dtype"]).itemsize
        if any(int(n) < 0 for n in spec["shape"]) or count > most or \
                itemsize > (_MAX_LABEL_BYTES if name == "classes" else 8):
            raise ValueError(f"shape {spec['shape']} out of range: the header's own numbers allow at "
                             f"most {most} element(s)")
        if not isinstance(spec["sha256"], str):  # a check that holds under python -O too
            raise TypeError(f"its sha256 is {type(spec['sha256']).__name__}, not a string")
    except Exception as exc:
        raise ValueError(f"{path!r} has an invalid xpnn header: array {name!r}: "
                         f"{type(exc).__name__}: {exc}") from None
    return count * itemsize + _NPY_HEADER_SLACK


def _classes(arrays, header):
    """The saved labels, restored to Python objects where they were (``classes_object``)."""
    classes = arrays.get("classes")
    if classes is not None and header.get("classes_object") is not None and classes.ndim == 1:
        classes = np.array(classes.tolist(), dtype=object)
    return classes
