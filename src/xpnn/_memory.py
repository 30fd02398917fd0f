"""Refusing a fit that cannot fit in memory before anything is allocated: a lower estimate of
what training holds at once, against what the device has free (the host: the smallest of the
available memory, the process's address-space limit and its cgroup's limit; a GPU: its free
memory as CuPy or torch reports it). Part of the estimator machinery."""

from __future__ import annotations

import os
import resource
from typing import Any

from ._gpu import gpu_free_bytes

OPTIMIZER_SLOTS = {"gd": 0, "sgd": 1, "momentum": 1, "rmsprop": 1, "adam": 2, "adamw": 2,
                   "lbfgs": 20}  # state arrays like the parameters (L-BFGS: 10 pairs (s, y))


def training_bytes(dims, rows, itemsize, optimizer):
    """A lower bound on the bytes one training step holds: the parameters, their gradients and
    the optimizer's state; each layer's Z, A and dZ for ``rows`` examples."""
    n_params = sum(n_out * (n_in + 1) for n_in, n_out in zip(dims[:-1], dims[1:]))
    slots = OPTIMIZER_SLOTS.get(optimizer, 2)
    return itemsize * (n_params * (2 + slots) + 3 * rows * sum(dims[1:]))


def available_bytes(backend: Any) -> tuple[int, str] | None:
    """(bytes free for this backend's arrays, where that figure comes from), or None when
    unknown (then nothing is refused)."""
    if backend.is_lazy:
        return None  # Dask: its workers hold the data and say so themselves
    if backend.is_gpu:
        return gpu_free_bytes(backend)
    figures = [f for f in (_meminfo_available(), _address_space_left(), _cgroup_left()) if f is not None]
    return min(figures, key=lambda f: f[0]) if figures else None


def _meminfo_available():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024, "the machine's available memory"
    except (OSError, ValueError, IndexError):
        return None
    return None


def _address_space_left():
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    try:
        with open("/proc/self/statm") as f:
            used = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        used = 0
    return max(soft - used, 0), "the process's address-space limit (ulimit -v)"


def _cgroup_left():
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            limit = f.read().strip()
        if limit == "max":
            return None
        with open("/sys/fs/cgroup/memory.current") as f:
            current = int(f.read().strip())
        return max(int(limit) - current, 0), "the container's memory limit (cgroup)"
    except (OSError, ValueError):
        return None


def check_fits_in_memory(estimator, backend, dims, rows, dtype, optimizer):
    """MemoryError, before anything is allocated, when training cannot fit: both figures named."""
    need = training_bytes(dims, rows, 8 if str(dtype) == "float64" else 4, optimizer)
    free = available_bytes(backend)
    if free is None or need <= free[0]:
        return
    raise MemoryError(f"{estimator} with layers {dims} on {rows} samples a step needs at least "
                      f"{need / 2**30:.1f} GiB ({dtype}), more than the {free[0] / 2**30:.1f} GiB of "
                      f"{free[1]}; use fewer or smaller hidden layers, a smaller batch_size, or "
                      "dtype='float32'")
