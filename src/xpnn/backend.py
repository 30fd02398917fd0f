"""The one module that knows about concrete array libraries.

Everything else in xpnn takes its namespace from its inputs (:func:`namespace`) and never imports
NumPy or CuPy. This module picks a namespace by name ("cpu", "gpu", "auto", "numpy", "cupy", "torch",
"jax", "array_api_strict", "dask"), moves arrays to and from it, synchronises devices, and draws
random numbers on the host so that one seed gives the same numbers on every backend.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import sys
import warnings
from dataclasses import dataclass
from typing import Any

import array_api_compat
import numpy as np

from . import _gpu
from . import _config
from ._config import NAMES, _canonical, _default, _strict_gpu_env
from ._gpu import (GPU_EXTRAS, cuda_driver_version, cuda_facts, gpu_available, gpu_install_hint,
                   gpu_status, is_out_of_memory, out_of_memory_message)
from ._layout import (NUMPY_NAMESPACE, samples_as_rows, samples_contiguous, scalar, take_samples,
                      upload_index, workspace_for)
from ._random import rng_from, uniform_sampler
from ._transfer import device_of, move_tree, read_scalars, to_numpy

__all__ = [  # the backend module's public face, its helper modules' names included
    "NAMES", "GPU_EXTRAS", "Backend", "GPUUnavailableError", "XpnnFallbackWarning", "backend_of",
    "cuda_driver_version", "cuda_facts", "device_of", "get_backend", "gpu_available", "gpu_install_hint",
    "gpu_status", "is_host_array", "is_out_of_memory", "move_tree", "namespace", "out_of_memory_message",
    "read_scalars", "resolve_backend", "rng_from", "samples_as_rows", "samples_contiguous", "scalar",
    "set_backend", "take_samples", "upload_index", "to_numpy", "uniform_sampler", "use_backend", "warn",
    "workspace_for"]

def namespace(*arrays: Any) -> Any:
    """The array-API namespace of ``arrays`` (TypeError when they mix libraries).

    A fast path answers for plain NumPy arrays without the general lookup, which costs a few
    microseconds per call: a measurable share of a small net's step.
    """
    for x in arrays:
        if type(x) is not np.ndarray:
            return array_api_compat.array_namespace(*arrays)
    return NUMPY_NAMESPACE


_COMPAT_MODULES = {  # name -> (module users install, namespace xpnn computes with)
    "numpy": ("numpy", "array_api_compat.numpy"),
    "cupy": ("cupy", "array_api_compat.cupy"),
    "torch": ("torch", "array_api_compat.torch"),
    "jax": ("jax", "jax.numpy"),
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
    chunks: Backend | None = None  # Dask only: the Backend of its chunks (NumPy or CuPy)

    def __repr__(self) -> str:
        extra = f", fallback_reason={self.fallback_reason!r}" if self.fallback_reason else ""
        return (f"Backend(name={self.name!r}, requested={self.requested!r}, "
                f"device={str(self.device)!r}, is_gpu={self.is_gpu}{extra})")

    def __reduce__(self):
        device = self.device.id if self.name == "cupy" else self.device
        if self.name == "torch":
            device = str(device)
        if self.name == "jax":
            device = None  # JAX devices do not pickle: restore onto the default device
        return _restore, (self.name, self.requested, device, self.fallback_reason)

    # ------------------------------------------------------------------ capabilities
    @property
    def is_lazy(self) -> bool:
        """Arrays are task graphs computed on demand (Dask): gradients come from a map-reduce over
        the chunks (:mod:`xpnn.distributed`), parameters stay on the host."""
        return self.name == "dask"

    @property
    def is_compiled(self) -> bool:
        """The training step is traced and compiled (JAX): Python values it reads are frozen at
        trace time, so a rate changed from the host between epochs would not reach it."""
        return self.name == "jax"

    @property
    def scan(self) -> Any:
        """``jax.lax.scan`` on JAX (a whole epoch of mini-batches compiled as one call), else None."""
        return importlib.import_module("jax.lax").scan if self.name == "jax" else None

    def compile(self, function: Any, static_argnames: tuple[str, ...] = ()) -> Any:
        """``function`` compiled for this backend where it has a compiler (``jax.jit`` on JAX,
        with ``static_argnames`` static), else ``function`` itself."""
        if self.name == "jax":
            return _jax_jit(function, tuple(static_argnames))
        return function

    def dtype(self, dtype: Any = "float64") -> Any:
        """The namespace's floating dtype for "float64"/"float32" (or a NumPy/xp dtype)."""
        key = _dtype_name(dtype)
        # float32 runs everywhere; only float64 is asked about (JAX answers in ~0.3 ms a call)
        supported = None if key == "float32" else _supported_dtypes(self.xp, self.device)
        if supported is not None and key not in supported:
            hint = "" if self.name != "jax" else (
                " (JAX computes in float32 unless you enable 64-bit mode yourself: "
                "jax.config.update('jax_enable_x64', True) at startup; xpnn never changes "
                "JAX's global configuration)")
            raise ValueError(f"dtype {key!r} is not supported by backend {self.name!r} on "
                             f"device {self.device}; use one of {[d for d in _DTYPES if d in supported]}"
                             + hint)
        return getattr(self.xp, key)

    def asarray(self, x: Any, dtype: Any = None) -> Any:
        """``x`` as an array of this backend, on its device (no copy when already there); an
        array on another of its devices is moved, and every cast runs on this backend's device."""
        dt = None if dtype is None else self.dtype(dtype)
        with self.on_device():
            if _is_array_of(x, self):
                if self.name in {"array_api_strict", "cupy"} and x.device != self.device:
                    x = x.to_device(self.device) if self.name == "array_api_strict" else self.xp.asarray(x)
                return x if dt is None or x.dtype == dt else self.xp.astype(x, dt)
            host = to_numpy(x) if array_api_compat.is_array_api_obj(x) else np.asarray(x)
            if dt is not None:
                host = host.astype(_dtype_name(dtype), copy=False)
            if self.name == "dask":  # chunked along the first axis, ready for data-parallel work
                import dask.array as da

                on_chunks = self.chunks is not None and self.chunks.name != "numpy"
                chunk = self.chunks.asarray(host) if on_chunks else host
                return da.from_array(chunk, chunks=("auto",) + host.shape[1:])
            return self.xp.asarray(host, device=self.device)

    def require_finite(self, x: Any, message: str) -> Any:
        """``x``, after checking it holds no NaN or infinity (ValueError(message) if it does):
        now, with one read, on eager backends; when computed, block by block, on lazy ones."""
        if self.is_lazy:
            def check(block):
                if not bool(np.all(np.isfinite(to_numpy(block)))):
                    raise ValueError(message)
                return block
            return x.map_blocks(check, dtype=x.dtype)
        with self.on_device():
            if not bool(self.xp.all(self.xp.isfinite(x))):
                raise ValueError(message)
        return x

    def take_rows(self, x: Any, index: Any) -> Any:
        """The rows ``index`` (host integers) of this backend's 2-D array ``x``, gathered once."""
        if self.is_lazy:
            return x[np.asarray(index)]
        return self.xp.take(x, self.asarray(index), axis=0)

    def to_numpy(self, x: Any) -> np.ndarray:
        """``x`` as a NumPy array on the host (a copy for device arrays)."""
        return to_numpy(x)

    def on_device(self) -> Any:
        """A context placing new arrays on this backend's device: CuPy allocates on the *current*
        device (zeros, zeros_like, generators, streams), so a second GPU's work runs inside it."""
        return self.device if self.name == "cupy" else contextlib.nullcontext()

    def forbid_sync(self) -> Any:
        """A context in which a host synchronisation raises (CuPy, torch-CUDA; elsewhere nothing):
        with XPNN_SYNC_DEBUG=1 the training loop runs its steps inside it (see training.loop)."""
        return _gpu.sync_forbidden(self.name, self.is_gpu)

    def synchronize(self, *results: Any) -> None:
        """Wait until queued device work is done (a no-op on the CPU); JAX, which dispatches
        asynchronously even there, waits for ``results``."""
        if self.name == "jax":
            import jax

            jax.block_until_ready(results)
        elif self.name == "cupy":  # this backend's device, not the current one
            self.device.synchronize()
        elif self.name == "torch" and self.is_gpu:
            import torch

            torch.cuda.synchronize(self.device)

    def random_normal(self, shape: tuple[int, ...], *, seed: Any = None,
                      scale: float = 1.0, dtype: Any = "float64") -> Any:
        """Standard normal draws times ``scale``, made on the host and moved here."""
        return self.asarray(scale * rng_from(seed).standard_normal(shape), dtype=dtype)


@functools.lru_cache(maxsize=32)
def _jax_jit(function: Any, static_argnames: tuple[str, ...]) -> Any:
    """One ``jax.jit`` wrapper per function, so its compilations are reused across calls."""
    import jax

    return jax.jit(function, static_argnames=static_argnames)


# ------------------------------------------------------------------------- selection

def warn(message: str, category: type[Warning]) -> None:
    """``warnings.warn`` pointing at the first caller outside xpnn (the user's line)."""
    package, frame, level = os.path.dirname(__file__), sys._getframe(1), 2
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)



def get_backend(name: Any = None, *, strict: bool = False, device: Any = None) -> Backend:
    """The :class:`Backend` for a name, a namespace module, or a Backend (returned as is).

    Parameters
    ----------
    name : None, str, module or Backend
        None: the default backend (:func:`use_backend` > :func:`set_backend` >
        ``$XPNN_BACKEND`` > "cpu", with the strictness given there); "cpu" (NumPy), "gpu"
        (CuPy; "cuda" is the same), "auto" (GPU when usable, else CPU), "torch-cuda" (torch on
        its current CUDA device), or a namespace name: "numpy", "cupy", "torch", "jax",
        "array_api_strict", "dask".
    strict : bool
        For "gpu": raise :class:`GPUUnavailableError` instead of falling back to NumPy.
        The environment variable ``XPNN_STRICT_GPU=1`` has the same effect.
    device : optional
        Device for namespaces that have several (torch: "cuda:0"; array_api_strict devices).

    Raises
    ------
    ValueError
        Unknown name. GPUUnavailableError: "gpu" in strict mode, or "cupy" / "torch-cuda"
        without a usable GPU.
    """
    if name is None:
        name, default_strict = _default()
        strict = strict or default_strict
    if isinstance(name, Backend):
        return name
    if not isinstance(name, str):
        return _from_module(name, device)
    requested = name
    key = _canonical(name)
    if key == "auto":
        return _make("cupy" if _gpu.gpu_available() else "numpy", requested, device)
    if key == "torch-cuda":
        reason = _gpu.restore_problem("torch", "cuda")
        if reason is not None:
            raise GPUUnavailableError(f"backend {requested!r} needs a usable GPU: {reason}")
        return _make("torch", requested, "cuda" if device is None else device)
    if key in {"gpu", "cupy"}:
        usable, reason = _gpu.gpu_status()
        if usable:
            return _make("cupy", requested, device)
        if strict or key == "cupy" or _strict_gpu_env():
            raise GPUUnavailableError(f"backend {requested!r} needs a usable GPU: {reason}")
        warn(f"backend {requested!r} is not usable ({reason}); running on NumPy (CPU) instead. "
             "Set XPNN_STRICT_GPU=1 (or use set_backend(..., strict=True)) to make this an error.",
             XpnnFallbackWarning)
        return _make("numpy", requested, None, fallback_reason=reason)
    return _make(key, requested, device)


def _import_namespace(key: str) -> Any:
    user_module, compat_module = _COMPAT_MODULES[key]
    try:
        importlib.import_module(user_module)
        return importlib.import_module(compat_module)
    except ImportError as exc:
        extra = {"dask": "dask"}.get(key)
        hint = (gpu_install_hint() if key == "cupy" else f"pip install 'xpnn[{extra}]'" if extra
                else f"pip install {user_module.split('.')[0]}")
        raise ImportError(f"backend {key!r} needs {user_module!r}, which is not importable "
                          f"({exc}); install it with: {hint}") from None


def _make(key: str, requested: str, device: Any, fallback_reason: str | None = None) -> Backend:
    xp = _import_namespace(key)
    if key == "torch":
        import torch

        device = torch.device(device if device is not None else "cpu")
        if device.type == "cuda" and device.index is None:  # "cuda" != "cuda:0" for torch
            device = torch.device("cuda", torch.cuda.current_device())
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
    if key == "jax":
        import jax

        device = jax.devices()[0] if device is None else device
        return Backend(key, requested, xp, device, device.platform == "gpu")
    return Backend(key, requested, xp, "cpu", False, fallback_reason)


def _restore(name: str, requested: str, device: Any, fallback_reason: str | None) -> Backend:
    """Unpickle a Backend: the same namespace and device, without warning again; a GPU Backend
    unpickled where that GPU is not usable restores onto NumPy with one XpnnFallbackWarning."""
    reason = _gpu.restore_problem(name, device)
    if reason is not None:
        warn(f"this object was saved on {name} ({device}), which is not usable here ({reason}); "
             "it is restored onto NumPy (CPU)", XpnnFallbackWarning)
        return _make("numpy", requested, None, fallback_reason=reason)
    return _make(name, requested, None if name == "numpy" else device, fallback_reason)


def _name_of(xp: Any) -> str:
    for key, test in (("numpy", array_api_compat.is_numpy_namespace),
                      ("cupy", array_api_compat.is_cupy_namespace),
                      ("torch", array_api_compat.is_torch_namespace),
                      ("jax", array_api_compat.is_jax_namespace),
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
    """The Backend that holds the array ``x`` (its namespace and device; for Dask, the Backend
    of its chunks too, whose device it reports)."""
    xp = namespace(x)
    key = _name_of(xp)
    if key == "dask":
        meta = getattr(x, "_meta", None)
        chunks = backend_of(meta) if not is_host_array(meta) else None
        if chunks is None or chunks.name == "numpy":
            return Backend(key, key, xp, "cpu", False)
        return Backend(key, key, xp, chunks.device, chunks.is_gpu, chunks=chunks)
    device = array_api_compat.device(x)
    is_gpu = key == "cupy" or (key == "torch" and device.type == "cuda") or (
        key == "jax" and device.platform == "gpu")
    return Backend(key, key, xp, device, is_gpu)


def _is_array_of(x: Any, backend: Backend) -> bool:
    if not array_api_compat.is_array_api_obj(x) or isinstance(x, np.generic):
        return False
    other = backend_of(x)
    if other.name != backend.name:
        return False
    return backend.name not in {"torch", "jax"} or other.device == backend.device


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



def resolve_backend(backend: Any, *arrays: Any, strict: bool = False) -> Backend:
    """The backend an estimator uses: explicit ``backend`` wins; else a non-NumPy input array
    selects its own namespace; else the default backend. ``strict`` as for :func:`get_backend`."""
    if backend is not None:
        return get_backend(backend, strict=strict)
    for x in arrays:
        if not is_host_array(x):
            return backend_of(x)
    return get_backend(None, strict=strict)


def _check_now(name: Any, strict: bool) -> None:
    """A default backend is checked when it is set, not at the next fit: an unknown name
    (ValueError), a library not installed (ImportError), a strict GPU request without a GPU
    (GPUUnavailableError). A plain "gpu" may still fall back later, by design."""
    if isinstance(name, str) and (strict or _canonical(name) not in {"auto", "gpu"}):
        get_backend(name, strict=strict)


def set_backend(name: Any, *, strict: bool = False) -> None:
    """Set the process-wide default backend (used when ``backend=None`` meets NumPy input, and
    by ``get_backend()``); ``strict=True`` makes an unusable "gpu" an error instead of a
    fallback. ``set_backend(None)`` restores the default ("cpu", or ``$XPNN_BACKEND``). The
    name is checked at once."""
    _check_now(name, strict)
    _config.set_backend(name, strict=strict)


@contextlib.contextmanager
def use_backend(name: Any, *, strict: bool = False):
    """Within the ``with`` block, ``name`` is the default backend (this thread/task only);
    checked on entry."""
    _check_now(name, strict)
    with _config.use_backend(name, strict=strict):
        yield

