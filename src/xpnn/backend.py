"""The one module that knows about concrete array libraries.

Everything else in xpnn takes its namespace from its inputs (:func:`namespace`) and
never imports NumPy or CuPy. This module picks a namespace by name ("cpu", "gpu",
"auto", "numpy", "cupy", "torch", "jax", "array_api_strict", "dask"), moves arrays to and from
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


NAMES = ("auto", "cpu", "gpu", "numpy", "cupy", "torch", "jax", "array_api_strict", "dask")
_ALIASES = {"cpu": "numpy", "np": "numpy", "cp": "cupy", "array-api-strict": "array_api_strict"}
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
        extra = f", fallback={self.fallback_reason!r}" if self.fallback_reason else ""
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
    def compile(self, function: Any, static_argnames: tuple[str, ...] = ()) -> Any:
        """``function`` compiled for this backend where it has a compiler (``jax.jit`` on JAX,
        with ``static_argnames`` static), else ``function`` itself."""
        if self.name == "jax":
            return _jax_jit(function, tuple(static_argnames))
        return function

    def dtype(self, dtype: Any = "float64") -> Any:
        """The namespace's floating dtype for "float64"/"float32" (or a NumPy/xp dtype)."""
        key = _dtype_name(dtype)
        supported = _supported_dtypes(self.xp, self.device)
        if supported is not None and key not in supported:
            hint = ""
            if self.name == "jax" and key == "float64":
                hint = (" (JAX computes in float32 unless you enable 64-bit mode yourself: "
                        "jax.config.update('jax_enable_x64', True) at startup; xpnn never changes "
                        "JAX's global configuration)")
            raise ValueError(f"dtype {key!r} is not supported by backend {self.name!r} on "
                             f"device {self.device}; use one of {[d for d in _DTYPES if d in supported]}"
                             + hint)
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

            chunk = host if self.chunks is None or self.chunks.name == "numpy" else self.chunks.asarray(host)
            return da.from_array(chunk, chunks=("auto",) + host.shape[1:])
        return self.xp.asarray(host, device=self.device)

    def to_numpy(self, x: Any) -> np.ndarray:
        """``x`` as a NumPy array on the host (a copy for device arrays)."""
        return to_numpy(x)

    def synchronize(self, *results: Any) -> None:
        """Wait until queued device work is done (a no-op on the CPU); JAX, which dispatches
        asynchronously even there, waits for ``results``."""
        if self.name == "jax":
            import jax

            jax.block_until_ready(results)
        elif self.name == "cupy":
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


@functools.lru_cache(maxsize=32)
def _jax_jit(function: Any, static_argnames: tuple[str, ...]) -> Any:
    """One ``jax.jit`` wrapper per function, so its compilations are reused across calls."""
    import jax

    return jax.jit(function, static_argnames=static_argnames)


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
        return to_numpy(x.compute())  # the computed chunks may be CuPy arrays
    if array_api_compat.is_jax_array(x):
        import jax

        return np.asarray(jax.device_get(x))  # an explicit transfer (allowed by transfer guards)
    if array_api_compat.is_array_api_strict_namespace(namespace(x)):
        return np.asarray(x.to_device(type(x.device)("CPU_DEVICE")))
    return np.asarray(x)


def uniform_sampler(like: Any, seed: int):
    """A function ``shape -> array`` of uniform [0, 1) draws with ``like``'s dtype and device,
    for dropout masks drawn every step without a host round trip.

    CuPy, torch and JAX draw with their own device generator seeded with ``seed``; NumPy,
    array_api_strict draw with a host ``numpy.random.Generator(seed)`` (moved to the device for
    array_api_strict). So one seed gives identical masks on NumPy and array_api_strict, and
    reproducible but different masks on CuPy, torch and JAX (each its own stream).
    """
    be = backend_of(like)
    dtype = like.dtype
    if be.name == "torch":
        import torch

        generator = torch.Generator(device=be.device)
        generator.manual_seed(seed)
        return lambda shape: torch.rand(shape, generator=generator, dtype=dtype, device=be.device)
    if be.name == "cupy":
        import cupy

        generator = cupy.random.default_rng(seed)
        return lambda shape: generator.random(shape, dtype=dtype)
    if be.name == "jax":
        import jax

        key = [jax.random.key(seed)]

        def draw(shape):
            key[0], sub = jax.random.split(key[0])
            return jax.random.uniform(sub, shape, dtype=dtype)
        return draw
    host, name = np.random.default_rng(seed), _dtype_name(dtype)
    if be.name == "numpy":
        return lambda shape: host.random(shape, dtype=name)
    return lambda shape: be.asarray(host.random(shape, dtype=name))


def synchronize(x: Any) -> None:
    """Wait for the device that holds ``x`` (a no-op for host arrays)."""
    backend_of(x).synchronize(x)


def read_scalars(*scalars: Any) -> list[float]:
    """Host floats of 0-d device arrays, in one device-to-host read: ``float()`` for one value
    (an explicit transfer on JAX), one stacked copy for several."""
    if len(scalars) == 1:
        (x,) = scalars
        return [float(to_numpy(x)) if array_api_compat.is_jax_array(x) else float(x)]
    xp = namespace(*scalars)
    return [float(v) for v in to_numpy(xp.stack([xp.reshape(x, ()) for x in scalars]))]


_OUT_OF_MEMORY_MARKERS = (  # what CUDA, cuBLAS/cuSOLVER/cuFFT and torch say when memory runs out
    "cudaErrorMemoryAllocation", "CUDA_ERROR_OUT_OF_MEMORY", "CUBLAS_STATUS_ALLOC_FAILED",
    "CUSOLVER_STATUS_ALLOC_FAILED", "CUFFT_ALLOC_FAILED", "CUDA out of memory")


def is_out_of_memory(exc: BaseException) -> bool:
    """True for host MemoryError and the device libraries' out-of-memory errors:
    cupy.cuda.memory.OutOfMemoryError, torch.OutOfMemoryError, and the CUDA runtime, driver and
    cuBLAS errors that report a failed allocation (CUDARuntimeError "cudaErrorMemoryAllocation",
    CUBLASError "CUBLAS_STATUS_ALLOC_FAILED", ...)."""
    if isinstance(exc, MemoryError) or "OutOfMemory" in type(exc).__name__:
        return True
    message = str(exc)
    return any(marker in message for marker in _OUT_OF_MEMORY_MARKERS)


def samples_as_rows(A: Any, W: Any) -> bool:
    """Whether the layer product ``W @ A`` is better computed as ``(A.T @ W.T).T``: letting
    the m samples be the rows of the BLAS call's result instead of its columns.

    True only where it was measured faster (OpenBLAS, 2-core AMD EPYC; see the benchmarks guide):
    a NumPy ``A`` (n, m) that is the transposed view of row-major data (the estimators' X, one
    sample per row), a thin layer (W has fewer rows than A has samples) and a product large
    enough for the layout to matter (>= 2**20 multiply-adds). Below that, or for other backends
    (whose BLAS was not measured), the plain product is used. Both give the same product, equal
    to rounding (BLAS may add the n terms of each entry in another order).
    """
    return (type(A) is np.ndarray and A.ndim == 2 and W.shape[0] < A.shape[1]
            and W.shape[0] * A.size >= 2**20 and _row_major_view(A))


def take_samples(A: Any, index: Any) -> Any:
    """The columns ``index`` (an integer array on A's device) of A (n, m): a new (n, len(index))
    array, gathered along the axis that is contiguous in memory. On the estimators' layout (A the
    transposed view of row-major samples, NumPy) each sample is one contiguous row of A.T:
    ``take(A.T, index, axis=0).T`` copies rows, where ``take(A, index, axis=1)`` gathers single
    numbers (measured 0.17 ms against 8.2 ms for 5000 samples x 100 features). The result keeps
    that layout, so the mini-batches sliced from it are contiguous blocks."""
    xp = namespace(A)
    if _row_major_view(A):
        return xp.take(A.T, index, axis=0).T
    return xp.take(A, index, axis=1)


def _row_major_view(A: Any) -> bool:
    """A NumPy (n, m) array that is the transposed view of row-major (m, n) data."""
    return (type(A) is np.ndarray and A.ndim == 2 and A.flags.f_contiguous
            and not A.flags.c_contiguous)


def scalar(value: float, like: Any) -> Any:
    """``value`` for elementwise use with the array ``like``, made once per dtype and device.

    Most namespaces take a Python scalar as it is. array-api-compat's torch ``maximum`` and
    ``minimum`` turn one into a fresh tensor on ``like``'s device at every call, a host-to-device
    copy that blocks on CUDA; for torch this returns a cached 0-d tensor instead.
    """
    if type(like) is np.ndarray or not array_api_compat.is_torch_array(like):
        return value
    return _device_scalar(float(value), like.dtype, like.device)


@functools.lru_cache(maxsize=64)
def _device_scalar(value: float, dtype: Any, device: Any) -> Any:
    import torch

    return torch.full((), value, dtype=dtype, device=device)


# --------------------------------------------------------------------------- GPU probe

def _probe_gpu() -> tuple[bool, str]:
    """Try CuPy for real: import, device count, a tiny compiled kernel, the device's name."""
    try:
        import cupy
    except Exception as exc:  # ImportError, or a CUDA library failing to load at import
        return False, (f"CuPy is not importable ({type(exc).__name__}: {exc}); "
                       f"install it with: {gpu_install_hint()}")
    try:
        if not cupy.cuda.is_available():
            return False, "CuPy is installed but found no usable CUDA device"
        x = cupy.arange(4, dtype=cupy.float32)
        total = float((x * 2.0 + 1.0).sum())  # compiles (NVRTC), runs and syncs a kernel
        if total != 16.0:
            return False, f"CuPy test kernel returned {total}, expected 16.0"
        props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
        name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    except Exception as exc:  # CUDARuntimeError, CUDADriverError, NVRTCError, CompileException...
        return False, f"CuPy is installed but CUDA does not work: {type(exc).__name__}: {exc}"
    return True, f"CuPy {cupy.__version__} on {name}"


@functools.lru_cache(maxsize=1)
def gpu_status() -> tuple[bool, str]:
    """(usable, reason): whether CuPy can run on a CUDA device here, and why (not). Never raises."""
    try:
        return _probe_gpu()
    except BaseException as exc:  # noqa: BLE001 - a probe must answer, whatever CUDA does
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        return False, f"the GPU probe failed: {type(exc).__name__}: {exc}"


def cuda_driver_version() -> tuple[int, int] | None:
    """(major, minor) of the newest CUDA the installed NVIDIA driver supports, read from
    libcuda with ctypes (no CuPy needed), or None without a driver."""
    import ctypes

    for name in ("libcuda.so.1", "libcuda.so", "nvcuda.dll"):
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        version = ctypes.c_int()
        try:
            if lib.cuDriverGetVersion(ctypes.byref(version)) == 0 and version.value > 0:
                return version.value // 1000, version.value % 1000 // 10
        except (AttributeError, OSError):
            pass
    return None


def cuda_facts() -> dict[str, Any]:
    """CUDA versions and TF32 settings, for benchmark records: the driver's CUDA, CuPy's runtime
    (when a GPU is usable), torch's CUDA build, and the variables that switch TF32 on or off."""
    driver = cuda_driver_version()
    facts: dict[str, Any] = {"driver_cuda": None if driver is None else "%d.%d" % driver,
                             "cupy_runtime": None, "torch_cuda": None}
    if gpu_available():
        import cupy

        v = cupy.cuda.runtime.runtimeGetVersion()
        facts["cupy_runtime"] = f"{v // 1000}.{v % 1000 // 10}"
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        facts["torch_cuda"] = torch.version.cuda
        facts["torch_allow_tf32_matmul"] = bool(torch.backends.cuda.matmul.allow_tf32)
    facts["tf32_env"] = {var: os.environ.get(var) for var in ("CUPY_TF32", "NVIDIA_TF32_OVERRIDE")}
    return facts


GPU_EXTRAS = {12: "gpu", 13: "gpu-cuda13"}  # CUDA major version -> xpnn extra (its cupy-cudaNNx)


def gpu_install_hint() -> str:
    """The pip command for the CuPy that matches this machine's CUDA, where it can tell."""
    from importlib import metadata

    installed = sorted({d.metadata["Name"] for d in metadata.distributions()
                        if (d.metadata["Name"] or "").lower().startswith("cupy")})
    if installed:
        return (f"{', '.join(installed)} is installed but does not import: check that its CUDA "
                "major version matches the driver's (nvidia-smi) and reinstall the matching one")
    driver = cuda_driver_version()
    if driver is not None:
        major = max((m for m in GPU_EXTRAS if m <= driver[0]), default=None)
        if major is not None:
            return (f"pip install 'xpnn[{GPU_EXTRAS[major]}]' (CUDA {major}; the driver supports "
                    f"{driver[0]}.{driver[1]})")
    return "pip install 'xpnn[gpu]' (CUDA 12) or 'xpnn[gpu-cuda13]' (CUDA 13)"


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


def get_backend(name: Any = None, *, strict: bool = False, device: Any = None) -> Backend:
    """The :class:`Backend` for a name, a namespace module, or a Backend (returned as is).

    Parameters
    ----------
    name : None, str, module or Backend
        None: the default backend (:func:`use_backend` > :func:`set_backend` >
        ``$XPNN_BACKEND`` > "cpu", with the strictness given there); "cpu" (NumPy), "gpu"
        (CuPy), "auto" (GPU when usable, else CPU), or a namespace name: "numpy", "cupy",
        "torch", "array_api_strict", "dask".
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
    reason = _gpu_restore_problem(name, device)
    if reason is not None:
        warn(f"this object was saved on {name} ({device}), which is not usable here ({reason}); "
             "it is restored onto NumPy (CPU)", XpnnFallbackWarning)
        return _make("numpy", requested, None, fallback_reason=reason)
    return _make(name, requested, None if name == "numpy" else device, fallback_reason)


def _gpu_restore_problem(name: str, device: Any) -> str | None:
    if name == "cupy":
        usable, reason = gpu_status()
        return None if usable else reason
    if name == "torch" and str(device).startswith("cuda"):
        try:
            import torch

            return None if torch.cuda.is_available() else "torch sees no CUDA device"
        except ImportError as exc:
            return f"torch is not importable ({exc})"
    return None


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


# ------------------------------------------------------------------------ the default

_global_default: tuple[Any, bool] | None = None
_context_default: contextvars.ContextVar[tuple[Any, bool] | None] = contextvars.ContextVar(
    "xpnn_backend", default=None)


def _check_spec(spec: Any) -> Any:
    if isinstance(spec, str):
        _canonical(spec)
    return spec


def set_backend(name: Any, *, strict: bool = False) -> None:
    """Set the process-wide default backend (used when ``backend=None`` meets NumPy input, and
    by ``get_backend()``); ``strict=True`` makes an unusable "gpu" an error instead of a
    fallback. ``set_backend(None)`` restores the default ("cpu", or ``$XPNN_BACKEND``)."""
    global _global_default
    _global_default = None if name is None else (_check_spec(name), bool(strict))


@contextlib.contextmanager
def use_backend(name: Any, *, strict: bool = False):
    """Within the ``with`` block, ``name`` is the default backend (this thread/task only)."""
    token = _context_default.set((_check_spec(name), bool(strict)))
    try:
        yield
    finally:
        _context_default.reset(token)


def _default() -> tuple[Any, bool]:
    """(spec, strict) in force: use_backend > set_backend > $XPNN_BACKEND > "cpu"."""
    for entry in (_context_default.get(), _global_default):
        if entry is not None:
            return entry
    return os.environ.get("XPNN_BACKEND") or "cpu", False


def default_backend_name() -> Any:
    """The default backend's name (or module, or Backend) in force."""
    return _default()[0]


def resolve_backend(backend: Any, *arrays: Any, strict: bool = False) -> Backend:
    """The backend an estimator uses: explicit ``backend`` wins; else a non-NumPy input array
    selects its own namespace; else the default backend. ``strict`` as for :func:`get_backend`."""
    if backend is not None:
        return get_backend(backend, strict=strict)
    for x in arrays:
        if not is_host_array(x):
            return backend_of(x)
    return get_backend(None, strict=strict)
