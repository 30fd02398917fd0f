"""The one module that knows about concrete array libraries.

Everything else in xpnn takes its namespace from its inputs (:func:`namespace`) and
never imports NumPy or CuPy. This module picks a namespace by name ("cpu", "gpu",
"auto", "numpy", "cupy", "torch", "array_api_strict", "dask"), moves arrays to and from
it, synchronises devices, and draws random numbers on the host so that one seed gives
the same numbers on every backend.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib
import os
import sys
import warnings
from dataclasses import dataclass
from typing import Any

import array_api_compat
import numpy as np

_NUMPY_NAMESPACE = array_api_compat.array_namespace(np.empty(0))


def namespace(*arrays: Any) -> Any:
    """The array-API namespace of ``arrays`` (TypeError when they mix libraries).

    A fast path answers for plain NumPy arrays without the general lookup, which costs a few
    microseconds per call: a measurable share of a small net's step.
    """
    for x in arrays:
        if type(x) is not np.ndarray:
            return array_api_compat.array_namespace(*arrays)
    return _NUMPY_NAMESPACE


NAMES = ("auto", "cpu", "gpu", "numpy", "cupy", "torch", "array_api_strict", "dask")
_ALIASES = {"cpu": "numpy", "np": "numpy", "cp": "cupy", "array-api-strict": "array_api_strict"}
_COMPAT_MODULES = {  # name -> (module users install, namespace xpnn computes with)
    "numpy": ("numpy", "array_api_compat.numpy"),
    "cupy": ("cupy", "array_api_compat.cupy"),
    "torch": ("torch", "array_api_compat.torch"),
    "array_api_strict": ("array_api_strict", "array_api_strict"),
    "dask": ("dask.array", "array_api_compat.dask.array"),
}
_DTYPES = ("float64", "float32")


class XpnnFallbackWarning(UserWarning):
    """Warned when "gpu" was asked for but xpnn runs on NumPy instead; the message says why."""


class GPUUnavailableError(RuntimeError):
    """Raised instead of falling back when strict GPU mode is on (``strict=True``, XPNN_STRICT_GPU=1)."""


@dataclass(frozen=True, eq=False)
class Backend:
    """Where arrays live and which namespace computes on them.

    ``name`` is what actually runs ("numpy", "cupy", ...); ``requested`` is what the user
    asked for ("gpu", "auto", ...). After a fallback they differ and ``fallback_reason``
    says why; ``is_gpu`` is True only when arrays really live on a CUDA device.
    """

    name: str
    requested: str
    xp: Any
    device: Any = None
    is_gpu: bool = False
    fallback_reason: str | None = None

    def __repr__(self) -> str:
        extra = f", fallback={self.fallback_reason!r}" if self.fallback_reason else ""
        return (f"Backend(name={self.name!r}, requested={self.requested!r}, "
                f"device={str(self.device)!r}, is_gpu={self.is_gpu}{extra})")

    def __reduce__(self):
        device = self.device.id if self.name == "cupy" else self.device
        return _restore, (self.name, self.requested, device, self.fallback_reason)

    def dtype(self, dtype: Any = "float64") -> Any:
        """The namespace's floating dtype for "float64"/"float32" (or a NumPy/xp dtype)."""
        key = _dtype_name(dtype)
        supported = _supported_dtypes(self.xp, self.device)
        if supported is not None and key not in supported:
            raise ValueError(f"dtype {key!r} is not supported by backend {self.name!r} on "
                             f"device {self.device}; use one of {[d for d in _DTYPES if d in supported]}")
        return getattr(self.xp, key)

    def asarray(self, x: Any, dtype: Any = None) -> Any:
        """``x`` as an array of this backend, on its device (no copy when already there)."""
        dt = None if dtype is None else self.dtype(dtype)
        if _is_array_of(x, self):
            if self.name == "array_api_strict" and x.device != self.device:
                x = x.to_device(self.device)
            return x if dt is None or x.dtype == dt else self.xp.astype(x, dt)
        host = to_numpy(x) if array_api_compat.is_array_api_obj(x) else np.asarray(x)
        if dt is not None:
            host = host.astype(_dtype_name(dtype), copy=False)
        if self.name == "dask":  # chunked along the first axis, ready for data-parallel work
            import dask.array as da

            return da.from_array(host, chunks=("auto",) + host.shape[1:])
        return self.xp.asarray(host, device=self.device)

    def to_numpy(self, x: Any) -> np.ndarray:
        """``x`` as a NumPy array on the host (a copy for device arrays)."""
        return to_numpy(x)

    def synchronize(self) -> None:
        """Wait until queued device work is done (a no-op on the CPU)."""
        if self.name == "cupy":
            import cupy

            cupy.cuda.get_current_stream().synchronize()
        elif self.name == "torch" and self.is_gpu:
            import torch

            torch.cuda.synchronize(self.device)

    def random_normal(self, shape: tuple[int, ...], *, seed: Any = None,
                      scale: float = 1.0, dtype: Any = "float64") -> Any:
        """Standard normal draws times ``scale``, made on the host and moved here."""
        return self.asarray(scale * rng_from(seed).standard_normal(shape), dtype=dtype)

    def random_uniform(self, shape: tuple[int, ...], *, seed: Any = None, low: float = 0.0,
                       high: float = 1.0, dtype: Any = "float64") -> Any:
        """Uniform draws in [low, high), made on the host and moved here."""
        return self.asarray(rng_from(seed).uniform(low, high, shape), dtype=dtype)


def rng_from(seed: Any) -> np.random.Generator:
    """A host ``numpy.random.Generator`` from a seed, a Generator, or None (fresh entropy)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.RandomState):
        raise TypeError("random_state must be an int, None or a numpy.random.Generator; "
                        "got a legacy numpy.random.RandomState")
    return np.random.default_rng(seed)


def to_numpy(x: Any) -> np.ndarray:
    """Any supported array (NumPy, CuPy, torch, array_api_strict, Dask) as a host NumPy array."""
    if isinstance(x, np.ndarray) or not array_api_compat.is_array_api_obj(x):
        return np.asarray(x)  # lists, scalars, DataFrames
    if array_api_compat.is_cupy_array(x):
        return x.get()
    if array_api_compat.is_torch_array(x):
        return x.detach().cpu().numpy()
    if array_api_compat.is_dask_array(x):
        return np.asarray(x.compute())
    if array_api_compat.is_array_api_strict_namespace(namespace(x)):
        return np.asarray(x.to_device(type(x.device)("CPU_DEVICE")))
    return np.asarray(x)


def synchronize(x: Any) -> None:
    """Wait for the device that holds ``x`` (a no-op for host arrays)."""
    backend_of(x).synchronize()


def is_out_of_memory(exc: BaseException) -> bool:
    """True for host MemoryError and the device libraries' out-of-memory errors
    (cupy.cuda.memory.OutOfMemoryError, torch.OutOfMemoryError)."""
    return isinstance(exc, MemoryError) or "OutOfMemory" in type(exc).__name__


# --------------------------------------------------------------------------- GPU probe

def _probe_gpu() -> tuple[bool, str]:
    """Try CuPy for real: import, device count, and a tiny compiled kernel."""
    try:
        import cupy
    except Exception as exc:  # ImportError, or a CUDA library failing to load at import
        return False, (f"CuPy is not importable ({type(exc).__name__}: {exc}); "
                       "install it with: pip install 'xpnn[gpu]'")
    try:
        if not cupy.cuda.is_available():
            return False, "CuPy is installed but found no usable CUDA device"
        x = cupy.arange(4, dtype=cupy.float32)
        total = float((x * 2.0 + 1.0).sum())  # compiles (NVRTC), runs and syncs a kernel
    except Exception as exc:  # CUDARuntimeError, CUDADriverError, NVRTCError, CompileException...
        return False, f"CuPy is installed but CUDA does not work: {type(exc).__name__}: {exc}"
    if total != 16.0:
        return False, f"CuPy test kernel returned {total}, expected 16.0"
    props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    return True, f"CuPy {cupy.__version__} on {name}"


@functools.lru_cache(maxsize=1)
def gpu_status() -> tuple[bool, str]:
    """(usable, reason): whether CuPy can run on a CUDA device here, and why (not). Never raises."""
    return _probe_gpu()


def gpu_available() -> bool:
    """True when CuPy imports, sees a CUDA device and runs a kernel."""
    return gpu_status()[0]


# ------------------------------------------------------------------------- selection

def warn(message: str, category: type[Warning]) -> None:
    """``warnings.warn`` pointing at the first caller outside xpnn (the user's line)."""
    package, frame, level = os.path.dirname(__file__), sys._getframe(1), 2
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


def _canonical(name: str) -> str:
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in NAMES:
        raise ValueError(f"unknown backend {name!r}; choose from {list(NAMES)}, "
                         "an array-API namespace module, or a Backend")
    return key


def _strict_gpu_env() -> bool:
    return os.environ.get("XPNN_STRICT_GPU", "").strip().lower() in {"1", "true", "yes", "on"}


def get_backend(name: Any = "auto", *, strict: bool = False, device: Any = None) -> Backend:
    """The :class:`Backend` for a name, a namespace module, or a Backend (returned as is).

    Parameters
    ----------
    name : str, module or Backend
        "cpu" (NumPy), "gpu" (CuPy), "auto" (GPU when usable, else CPU), or a namespace
        name: "numpy", "cupy", "torch", "array_api_strict", "dask".
    strict : bool
        For "gpu": raise :class:`GPUUnavailableError` instead of falling back to NumPy.
        The environment variable ``XPNN_STRICT_GPU=1`` has the same effect.
    device : optional
        Device for namespaces that have several (torch: "cuda:0"; array_api_strict devices).

    Raises
    ------
    ValueError
        Unknown name. GPUUnavailableError: "gpu" in strict mode or "cupy" without a usable GPU.
    """
    if isinstance(name, Backend):
        return name
    if not isinstance(name, str):
        return _from_module(name, device)
    requested = name
    key = _canonical(name)
    if key == "auto":
        return _make("cupy" if gpu_available() else "numpy", requested, device)
    if key in {"gpu", "cupy"}:
        usable, reason = gpu_status()
        if usable:
            return _make("cupy", requested, device)
        if strict or key == "cupy" or _strict_gpu_env():
            raise GPUUnavailableError(f"backend {requested!r} needs a usable GPU: {reason}")
        warn(f"backend {requested!r} is not usable ({reason}); running on NumPy (CPU) instead. "
             "Pass strict=True or set XPNN_STRICT_GPU=1 to make this an error.", XpnnFallbackWarning)
        return _make("numpy", requested, None, fallback_reason=reason)
    return _make(key, requested, device)


def _import_namespace(key: str) -> Any:
    user_module, compat_module = _COMPAT_MODULES[key]
    try:
        importlib.import_module(user_module)
        return importlib.import_module(compat_module)
    except ImportError as exc:
        extra = {"cupy": "gpu", "dask": "dask"}.get(key)
        hint = f"pip install 'xpnn[{extra}]'" if extra else f"pip install {user_module.split('.')[0]}"
        raise ImportError(f"backend {key!r} needs {user_module!r}, which is not importable "
                          f"({exc}); install it with: {hint}") from None


def _make(key: str, requested: str, device: Any, fallback_reason: str | None = None) -> Backend:
    xp = _import_namespace(key)
    if key == "torch":
        import torch

        device = torch.device(device if device is not None else "cpu")
        return Backend(key, requested, xp, device, device.type == "cuda", fallback_reason)
    if key == "array_api_strict":
        device = device if device is not None else xp.Device("CPU_DEVICE")
        if isinstance(device, str):
            device = xp.Device(device)
        return Backend(key, requested, xp, device)
    if key == "cupy":
        import cupy

        if not isinstance(device, cupy.cuda.Device):  # None (the current device) or an id
            device = cupy.cuda.Device() if device is None else cupy.cuda.Device(device)
        return Backend(key, requested, xp, device, True)
    return Backend(key, requested, xp, "cpu", False, fallback_reason)


def _restore(name: str, requested: str, device: Any, fallback_reason: str | None) -> Backend:
    """Unpickle a Backend: the same namespace and device, without probing or warning again."""
    return _make(name, requested, None if name == "numpy" else device, fallback_reason)


def _name_of(xp: Any) -> str:
    for key, test in (("numpy", array_api_compat.is_numpy_namespace),
                      ("cupy", array_api_compat.is_cupy_namespace),
                      ("torch", array_api_compat.is_torch_namespace),
                      ("array_api_strict", array_api_compat.is_array_api_strict_namespace),
                      ("dask", array_api_compat.is_dask_namespace)):
        if test(xp):
            return key
    raise ValueError(f"unsupported array namespace {getattr(xp, '__name__', xp)!r}; "
                     f"xpnn supports {list(_COMPAT_MODULES)}")


def _from_module(module: Any, device: Any) -> Backend:
    key = _name_of(module)
    if key == "cupy":
        return get_backend("cupy", device=device)
    return _make(key, key, device)


def backend_of(x: Any) -> Backend:
    """The Backend that holds the array ``x`` (its namespace and device)."""
    xp = namespace(x)
    key = _name_of(xp)
    device = array_api_compat.device(x)
    is_gpu = key == "cupy" or (key == "torch" and device.type == "cuda")
    return Backend(key, key, xp, device, is_gpu)


def _is_array_of(x: Any, backend: Backend) -> bool:
    if not array_api_compat.is_array_api_obj(x) or isinstance(x, np.generic):
        return False
    other = backend_of(x)
    if other.name != backend.name:
        return False
    return backend.name != "torch" or other.device == backend.device


def is_host_array(x: Any) -> bool:
    """True for NumPy arrays and anything that is not an array-API array (lists, DataFrames...)."""
    return isinstance(x, np.ndarray) or not array_api_compat.is_array_api_obj(x)


def _dtype_name(dtype: Any) -> str:
    name = dtype if isinstance(dtype, str) else getattr(dtype, "name", None) or str(dtype)
    name = name.rsplit(".", 1)[-1]
    if name not in _DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; choose from {list(_DTYPES)}")
    return name


def _supported_dtypes(xp: Any, device: Any) -> set[str] | None:
    try:
        return set(xp.__array_namespace_info__().dtypes(device=device, kind="real floating"))
    except Exception:  # namespaces without the inspection API, or without per-device answers
        return None


# ------------------------------------------------------------------------ the default

_global_default: Any = None
_context_default: contextvars.ContextVar[Any] = contextvars.ContextVar("xpnn_backend", default=None)


def _check_spec(spec: Any) -> Any:
    if isinstance(spec, str):
        _canonical(spec)
    return spec


def set_backend(name: Any) -> None:
    """Set the process-wide default backend (used for NumPy input when ``backend=None``)."""
    global _global_default
    _global_default = _check_spec(name)


@contextlib.contextmanager
def use_backend(name: Any):
    """Within the ``with`` block, ``name`` is the default backend (this thread/task only)."""
    token = _context_default.set(_check_spec(name))
    try:
        yield
    finally:
        _context_default.reset(token)


def default_backend_name() -> Any:
    """The default in force: use_backend > set_backend > $XPNN_BACKEND > "cpu"."""
    for spec in (_context_default.get(), _global_default, os.environ.get("XPNN_BACKEND") or None):
        if spec is not None:
            return spec
    return "cpu"


def resolve_backend(backend: Any, *arrays: Any) -> Backend:
    """The backend an estimator uses: explicit ``backend`` wins; else a non-NumPy input array
    selects its own namespace; else the default backend."""
    if backend is not None:
        return get_backend(backend)
    for x in arrays:
        if not is_host_array(x):
            return backend_of(x)
    return get_backend(default_backend_name())
