"""A stand-in for CuPy, backed by NumPy, that keeps CuPy's rules where xpnn could break them.

array_api_strict catches namespace mistakes but not CuPy's own rules. This module behaves like
CuPy where it matters to xpnn, so that the CuPy paths run on a machine without a GPU:

- its arrays are ``cupy.ndarray`` (array_api_compat recognises them and computes with its real
  ``array_api_compat.cupy`` wrapper over this module);
- they refuse implicit host conversion (``np.asarray``/``__array__`` raise TypeError, as CuPy
  does) and mixing with NumPy arrays in arithmetic; ``.get()`` copies to the host;
- each array lives on the device current when it was made; a kernel (ufunc, function, method,
  gather) whose operand lives on another device raises CuPy's ValueError, while ``asarray`` and
  ``copy`` bring such an array onto the current device, as CuPy does; views keep their device;
- it counts kernel launches, host reads and synchronisations (:func:`counters`);
- ``cupyx.allow_synchronize(False)`` makes a host read raise ``cupyx.DeviceSynchronized``;
- ``cupy.fuse`` runs the function as one launch (its operations are not counted one by one);
- ``cuda.Device`` (context manager, ``id``), ``cuda.is_available``, ``cuda.get_current_stream()``
  with ``synchronize``, ``cuda.runtime`` device properties and versions, and
  ``cuda.memory.OutOfMemoryError``.

It never replaces a real GPU run: timings, kernels, cuBLAS and numerics of real CUDA are not
simulated. ``install(monkeypatch)`` puts it in ``sys.modules`` for one test.
"""

from __future__ import annotations

import contextlib
import sys
import types

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

_IMPLICIT = ("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to "
             "construct a NumPy array explicitly.")
_HOST_INPUT_OK = {"asarray", "array", "ascontiguousarray", "asanyarray",  # host -> device copies
                  "take"}  # CuPy copies host (NumPy, list) indices to the device, as in __getitem__


class OutOfMemoryError(MemoryError):
    """cupy.cuda.memory.OutOfMemoryError (a MemoryError subclass in CuPy too)."""


class CUDARuntimeError(RuntimeError):
    """cupy_backends.cuda.api.runtime.CUDARuntimeError."""


class DeviceSynchronized(RuntimeError):
    """cupyx.DeviceSynchronized: a host synchronisation where ``allow_synchronize(False)`` holds."""


_synchronize_allowed = [True]


@contextlib.contextmanager
def allow_synchronize(allow):
    _synchronize_allowed.append(bool(allow))
    try:
        yield
    finally:
        _synchronize_allowed.pop()


def _host_read():
    if not _synchronize_allowed[-1]:
        raise DeviceSynchronized("device synchronization was detected while disallowed")
    _counters["host_reads"] += 1


N_DEVICES = 2  # two GPUs: CuPy allocates on the *current* one, whatever the inputs' device
_current = [0]


class Device:
    """cupy.cuda.Device: the current device by default; as a context manager it makes itself
    the current device (where every new array is allocated, as in CuPy)."""

    def __init__(self, device=None):
        if isinstance(device, Device):
            device = device.id
        self.id = _current[-1] if device is None else int(device)
        if not 0 <= self.id < N_DEVICES:
            raise CUDARuntimeError("cudaErrorInvalidDevice: invalid device ordinal")

    def __enter__(self):
        _current.append(self.id)
        return self

    def __exit__(self, *exc):
        _current.pop()
        return False

    def __eq__(self, other):
        return isinstance(other, Device) and other.id == self.id

    def __hash__(self):
        return hash(("fake-cuda", self.id))

    def __repr__(self):
        return f"<CUDA Device {self.id}>"

    def synchronize(self):
        _counters["synchronize"] += 1
        _counters["synchronized_devices"].append(self.id)

    @property
    def mem_info(self):  # (free, total): a 16 GiB device with 12 GiB free
        return 12 * 2**30, 16 * 2**30


class _MemoryPool:
    def free_bytes(self):
        return 0


class _Generator:
    """cupy.random.Generator: draws on the device current when it was made (here NumPy's
    PCG64 stands in)."""

    def __init__(self, seed=None):
        self._host, self.device = np.random.default_rng(seed), _current[-1]

    def random(self, size=None, dtype=np.float64, out=None):
        return ndarray(np.asarray(self._host.random(size, dtype=dtype)), device=self.device)


class Stream:
    """The current stream of the device current when it was asked for."""

    def __init__(self):
        self.device = _current[-1]

    def synchronize(self):
        _counters["synchronize"] += 1
        _counters["synchronized_devices"].append(self.device)


_counters = {"synchronize": 0, "host_reads": 0, "launches": 0, "synchronized_devices": []}
_VIEWS = {"reshape", "view", "transpose", "squeeze", "swapaxes"}  # no kernel: any device, same device
_MOVES = {"asarray", "array", "ascontiguousarray", "asanyarray", "copy"}  # bring arrays to the current device


def _basic(key):
    """True for basic indexing (ints, slices, None, Ellipsis), which makes a view."""
    keys = key if isinstance(key, tuple) else (key,)
    return all(k is None or k is Ellipsis or isinstance(k, (int, slice)) for k in keys)


_fusing = [False]


def fuse(*args, kernel_name=None):
    """cupy.fuse: the function as one kernel (one launch; device rules kept)."""
    def decorate(function):
        def fused(*arrays):
            _launch(*arrays)
            _fusing.append(True)
            try:
                return function(*arrays)
            finally:
                _fusing.pop()
        return fused
    return decorate(args[0]) if args and callable(args[0]) else decorate


def _launch(*operands):
    """One kernel on the current device: CuPy refuses an operand that lives on another one."""
    _check_devices(operands, _current[-1])
    _counters["launches"] += not _fusing[-1]


def _check_devices(operands, current):
    for x in operands:
        if isinstance(x, (list, tuple)):  # concatenate's and stack's arrays: one kernel, all checked
            _check_devices(x, current)
        elif isinstance(x, ndarray) and x._device != current:
            raise ValueError(f"Array device must be same as the current device: array device = "
                             f"{x._device} while current = {current}")


def _unwrap(x, *, host_ok=False):
    if isinstance(x, ndarray):
        return x._data
    if isinstance(x, np.ndarray) and not host_ok:
        raise TypeError(f"Unsupported type {type(x)}")  # CuPy refuses NumPy operands
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(v, host_ok=host_ok) for v in x)
    return x


def _wrap(x):
    if isinstance(x, np.ndarray) or (isinstance(x, np.generic) and not isinstance(x, np.dtype)):
        return ndarray(np.asarray(x))  # CuPy reductions give 0-d device arrays, not scalars
    if isinstance(x, tuple):
        return tuple(_wrap(v) for v in x)
    if isinstance(x, list):
        return [_wrap(v) for v in x]
    return x


class ndarray(NDArrayOperatorsMixin):
    """A device array: NumPy data that the host may only read through ``.get()``."""

    __array_priority__ = 100

    def __init__(self, data, device=None):
        self._data, self._device = data, _current[-1] if device is None else device

    # ------------------------------------------------------------- CuPy's host rules
    def __array__(self, *args, **kwargs):
        raise TypeError(_IMPLICIT)

    def get(self, stream=None, out=None):
        _host_read()
        return self._data.copy()

    def _scalar(self, convert):
        _host_read()
        return convert(self._data)

    def __float__(self):
        return self._scalar(float)

    def __int__(self):
        return self._scalar(int)

    def __bool__(self):
        return self._scalar(bool)

    def __index__(self):
        return self._scalar(lambda d: d.__index__())

    def item(self):
        return self._scalar(lambda d: d.item())

    def tolist(self):
        return self._scalar(lambda d: d.tolist())

    # ------------------------------------------------------------------ array protocol
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        _launch(*inputs, *kwargs.get("out", ()))
        if "out" in kwargs:
            kwargs["out"] = tuple(_unwrap(o) for o in kwargs["out"])
        return _wrap(getattr(ufunc, method)(*(_unwrap(v) for v in inputs), **kwargs))

    def __array_function__(self, func, types, args, kwargs):  # np.where(x, ...) -> CuPy's where
        _launch(*args, *kwargs.values())
        return _wrap(func(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()}))

    def __getitem__(self, key):  # CuPy converts list and NumPy index arrays to device arrays
        if _basic(key):  # ints and slices: a view, no kernel (on its own device)
            return ndarray(self._data[key], device=self._device)
        _launch(self, key)
        return _wrap(self._data[_unwrap(key, host_ok=True)])

    def __setitem__(self, key, value):
        _launch(self, key, value)
        self._data[_unwrap(key)] = _unwrap(value)

    def __len__(self):
        return len(self._data)

    def __iter__(self):
        raise TypeError("iterating a device array reads it element by element; use .get()")

    def __repr__(self):
        return f"fakecupy.ndarray({self._data!r})"

    def __dlpack__(self, *args, **kwargs):
        raise TypeError("fake CuPy arrays do not export DLPack")

    @property
    def device(self):
        return Device(self._device)

    @property
    def T(self):
        return ndarray(self._data.T, device=self._device)

    @property
    def mT(self):
        return ndarray(np.swapaxes(self._data, -1, -2), device=self._device)

    shape = property(lambda self: self._data.shape)
    dtype = property(lambda self: self._data.dtype)
    ndim = property(lambda self: self._data.ndim)
    size = property(lambda self: self._data.size)
    strides = property(lambda self: self._data.strides)
    flags = property(lambda self: self._data.flags)
    nbytes = property(lambda self: self._data.nbytes)
    itemsize = property(lambda self: self._data.itemsize)

    def __getattr__(self, name):  # methods: reshape, astype, sum, copy, ...
        if name.startswith("__"):
            raise AttributeError(name)  # no __array_interface__ / __array_struct__ either
        method = getattr(self._data, name)

        def call(*a, **k):
            args, kwargs = _unwrap(a), {key: _unwrap(v) for key, v in k.items()}
            if name in _VIEWS:
                return ndarray(method(*args, **kwargs), device=self._device)
            _launch(*(() if name in _MOVES else (self,)), *a, *k.values())
            return _wrap(method(*args, **kwargs))
        return call


def _function(name, func):
    host_ok = name in _HOST_INPUT_OK

    def f(*args, **kwargs):
        kwargs.pop("device", None)
        if name in _VIEWS and isinstance(args[0], ndarray):  # cupy.reshape(x, ...): a view
            return ndarray(func(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()}),
                           device=args[0]._device)
        if name not in _MOVES:
            _launch(*args, *kwargs.values())
        else:
            _counters["launches"] += not _fusing[-1]
        args = _unwrap(args, host_ok=host_ok)
        kwargs = {k: _unwrap(v, host_ok=host_ok) for k, v in kwargs.items()}
        return _wrap(func(*args, **kwargs))
    f.__name__ = f.__qualname__ = name
    return f


def _namespace_from(name, source):
    """A module whose callables are ``source``'s, taking and returning fake device arrays."""
    mod = types.ModuleType(name)
    exported = []
    for attr in dir(source):
        if attr.startswith("_"):
            continue
        value = getattr(source, attr)
        if isinstance(value, type) or isinstance(value, types.ModuleType) or not callable(value):
            setattr(mod, attr, value)  # dtypes, constants (pi, inf, newaxis), submodules
        else:
            setattr(mod, attr, _function(attr, value))
        exported.append(attr)
    mod.__all__ = [a for a in exported if not isinstance(getattr(mod, a), types.ModuleType)]
    return mod


def build(*, available=True):
    """The fake ``cupy`` module and its submodules, as a {name: module} dict for sys.modules."""
    cupy = _namespace_from("cupy", np)
    cupy.__version__ = "14.2.0-fake"
    cupy.ndarray = ndarray
    ndarray.__module__ = "cupy"  # array_api_compat recognises cupy.ndarray by module and name
    cupy.asnumpy = lambda x, *a, **k: x.get() if isinstance(x, ndarray) else np.asarray(x)
    cupy.get_array_module = lambda *arrays: cupy
    cupy.get_default_memory_pool = _MemoryPool
    cupy.fuse = fuse
    cupy.linalg = _namespace_from("cupy.linalg", np.linalg)
    cupy.fft = _namespace_from("cupy.fft", np.fft)
    cupy.random = types.ModuleType("cupy.random")
    cupy.random.default_rng = _Generator

    cuda = types.ModuleType("cupy.cuda")
    cuda.Device = Device
    cuda.Stream = Stream
    cuda.is_available = lambda: available
    cuda.get_current_stream = lambda: Stream()
    device_module = types.ModuleType("cupy.cuda.device")
    device_module.Device = Device
    cuda.device = device_module
    cuda.memory = types.SimpleNamespace(OutOfMemoryError=OutOfMemoryError)
    cuda.runtime = types.SimpleNamespace(
        CUDARuntimeError=CUDARuntimeError,
        getDeviceCount=lambda: N_DEVICES if available else 0,
        getDeviceProperties=lambda i: {"name": b"Fake CUDA device (NumPy)", "totalGlobalMem": 2**34,
                                       "major": 9, "minor": 0},
        runtimeGetVersion=lambda: 13000,
        driverGetVersion=lambda: 13000,
    )
    cupy.cuda = cuda
    cupyx = types.ModuleType("cupyx")
    cupyx.allow_synchronize, cupyx.DeviceSynchronized = allow_synchronize, DeviceSynchronized
    return {"cupyx": cupyx, "cupy": cupy, "cupy.cuda": cuda, "cupy.cuda.device": device_module,
            "cupy.linalg": cupy.linalg, "cupy.fft": cupy.fft, "cupy.random": cupy.random}


def install(monkeypatch, **kwargs):
    """Put the fake CuPy in ``sys.modules`` (and a fresh ``array_api_compat.cupy`` over it) for
    one test; ``monkeypatch`` undoes it. Returns the fake ``cupy`` module."""
    from xpnn import _gpu as G

    modules = build(**kwargs)
    for name in list(sys.modules):
        if name in {"cupy", "cupyx"} or name.startswith(("cupy.", "cupyx.", "array_api_compat.cupy")):
            monkeypatch.delitem(sys.modules, name)
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    G.gpu_status.cache_clear()
    monkeypatch.setattr(G, "gpu_status", _uncached_status)
    _counters.update(synchronize=0, host_reads=0, launches=0, synchronized_devices=[])
    _current[:] = [0]
    return modules["cupy"]


def _uncached_status():
    from xpnn import _gpu as G

    return G._probe_gpu()


def counters():
    """{"synchronize": n, "host_reads": n, "launches": n, "synchronized_devices": [ids]} since
    install (device->host reads of every kind; one launch per kernel-making call)."""
    return dict(_counters)
