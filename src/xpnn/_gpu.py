"""The GPU probe and CUDA facts: whether CuPy runs here and why (not), the driver's CUDA version,
the install hint that names the matching CuPy, and the out-of-memory errors of the device
libraries. Part of the backend module (:mod:`xpnn.backend` re-exports its names)."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from typing import Any

_OUT_OF_MEMORY_MARKERS = (  # what CUDA, cuBLAS/cuSOLVER/cuFFT and torch say when memory runs out
    "cudaErrorMemoryAllocation", "CUDA_ERROR_OUT_OF_MEMORY", "CUBLAS_STATUS_ALLOC_FAILED",
    "CUSOLVER_STATUS_ALLOC_FAILED", "CUFFT_ALLOC_FAILED", "CUDA out of memory",
    "RESOURCE_EXHAUSTED")  # XLA's (JAX) out-of-memory status


def is_out_of_memory(exc: BaseException) -> bool:
    """True for host MemoryError and the device libraries' out-of-memory errors:
    cupy.cuda.memory.OutOfMemoryError, torch.OutOfMemoryError, and the CUDA runtime, driver and
    cuBLAS errors that report a failed allocation (CUDARuntimeError "cudaErrorMemoryAllocation",
    CUBLASError "CUBLAS_STATUS_ALLOC_FAILED", ...)."""
    if isinstance(exc, MemoryError) or "OutOfMemory" in type(exc).__name__:
        return True
    message = str(exc)
    return any(marker in message for marker in _OUT_OF_MEMORY_MARKERS)


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


def out_of_memory_message(estimator, backend, dims, m, dtype):
    """What to tell a user whose fit of ``estimator`` (a class name) on ``backend`` ran out of
    memory: the sizes of X, the parameters and one iteration's activations, and the cures."""
    itemsize = 4 if dtype == "float32" else 8
    gib = lambda n: f"{n * itemsize / 2**30:.2f} GiB"  # noqa: E731
    n_params = sum(a * b + a for a, b in zip(dims[1:], dims[:-1]))
    per_iter = 3 * m * sum(dims[1:])  # Z, A and dZ of every layer
    return (f"{backend.name} ({backend.device}) ran out of memory while training "
            f"{estimator}: X is {m} x {dims[0]} {dtype} ({gib(m * dims[0])}), "
            f"layers {dims} hold {n_params} parameters ({gib(n_params)}) and each iteration "
            f"needs about {gib(per_iter)} of activations and gradients. Try dtype='float32', "
            "fewer samples per fit (a smaller batch), or smaller hidden layers. The model was "
            "left as it was before this fit.")


def gpu_free_bytes(backend: Any) -> tuple[int, str] | None:
    """(bytes free on a CuPy or torch-CUDA backend's device, counting its pool's cached
    blocks, and a description), or None where the library cannot say."""
    try:
        if backend.name == "cupy":
            free, _ = backend.device.mem_info
            import cupy

            pool = cupy.get_default_memory_pool()
            return int(free) + int(pool.free_bytes()), f"free memory of GPU {backend.device.id}"
        if backend.name == "torch":
            import torch

            free, _ = torch.cuda.mem_get_info(backend.device)
            cached = torch.cuda.memory_reserved(backend.device) - torch.cuda.memory_allocated(backend.device)
            return int(free) + int(cached), f"free memory of {backend.device}"
    except Exception:  # a library without these queries: unknown, refuse nothing
        return None
    return None


def sync_forbidden(name: str, is_gpu: bool) -> Any:
    """A context in which a host synchronisation raises: ``cupyx.allow_synchronize(False)`` on
    CuPy, sync debug mode "error" on torch-CUDA; elsewhere nothing."""
    if name == "cupy":
        import cupyx

        return cupyx.allow_synchronize(False)
    if name == "torch" and is_gpu:
        return _torch_sync_errors()
    return contextlib.nullcontext()


@contextlib.contextmanager
def _torch_sync_errors() -> Any:
    import torch

    before = torch.cuda.get_sync_debug_mode()
    torch.cuda.set_sync_debug_mode("error")
    try:
        yield
    finally:
        torch.cuda.set_sync_debug_mode(before)


def restore_problem(name: str, device: Any) -> str | None:
    """Why a Backend saved on ``name`` (``device``) cannot be restored here, or None."""
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
