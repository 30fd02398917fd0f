"""Measured fast paths of the backend module (:mod:`xpnn.backend` re-exports them): which layout a
layer product, a backward product and a shuffle take on NumPy, NumPy's namespace with a faster
``sum`` and ``max``, and device scalars for torch. Each answers a question the core asks; none
changes a result beyond rounding."""

from __future__ import annotations

import functools
import math
import types
from typing import Any

import array_api_compat
import numpy as np

_COMPAT_NUMPY = array_api_compat.array_namespace(np.empty(0))


def _numpy_sum(x: Any, /, *, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Any:
    """The array API's ``sum`` for NumPy, through ``np.add.reduce`` for floating arrays: the same
    reduction (``np.sum`` calls it, bit for bit) without ``np.sum``'s dispatch and argument
    wrapping, a few microseconds that are a measurable share of a small net's step."""
    if dtype is None and type(x) is np.ndarray and x.dtype.kind == "f":
        return np.add.reduce(x, axis=axis, keepdims=keepdims)
    return _COMPAT_NUMPY.sum(x, axis=axis, dtype=dtype, keepdims=keepdims)


def _numpy_max(x: Any, /, *, axis: Any = None, keepdims: bool = False) -> Any:
    """The array API's ``max`` for NumPy through ``np.maximum.reduce`` (``np.max``'s reduction)."""
    if type(x) is np.ndarray and x.size:
        return np.maximum.reduce(x, axis=axis, keepdims=keepdims)
    return _COMPAT_NUMPY.max(x, axis=axis, keepdims=keepdims)


def _numpy_mean(x: Any, /, *, axis: Any = None, keepdims: bool = False) -> Any:
    """The array API's ``mean`` for NumPy: ``np.add.reduce`` divided by the count, bit for bit
    ``np.mean`` (the same reduction, then a correctly rounded division) without its Python
    layer, about 13 µs on a small array: more than the reduction itself."""
    if type(x) is np.ndarray and x.dtype.kind == "f" and x.size:
        axes = range(x.ndim) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
        return np.add.reduce(x, axis=axis, keepdims=keepdims) / math.prod(x.shape[a] for a in axes)
    return _COMPAT_NUMPY.mean(x, axis=axis, keepdims=keepdims)


def _numpy_reshape(x: Any, /, shape: Any, *, copy: Any = None) -> Any:
    """The array API's ``reshape`` for NumPy through the array's own method (the same view or
    copy) without ``np.reshape``'s dispatch, about 3 µs a call: a small net's step makes a
    dozen (the views of the parameter buffer)."""
    if copy is None and type(x) is np.ndarray:
        return x.reshape(shape)
    return _COMPAT_NUMPY.reshape(x, shape, copy=copy)


# what xpnn.backend.namespace() answers for NumPy arrays: array-api-compat's module (its name
# too), with the faster sum, max, mean and reshape
NUMPY_NAMESPACE = types.ModuleType(_COMPAT_NUMPY.__name__)
NUMPY_NAMESPACE.__dict__.update({**vars(_COMPAT_NUMPY), "sum": _numpy_sum, "max": _numpy_max,
                                 "mean": _numpy_mean, "reshape": _numpy_reshape})


def samples_as_rows(A: Any, W: Any) -> bool:
    """Whether the layer product ``W @ A`` is better computed as ``(A.T @ W.T).T``: letting
    the m samples be the rows of the BLAS call's result instead of its columns.

    True only where it was measured faster (OpenBLAS, 2-core AMD EPYC; see the benchmarks guide):
    a NumPy ``A`` (n, m) that is the transposed view of row-major data (the estimators' X, one
    sample per row), a thin layer (W has fewer rows than A has samples) and a product large
    enough for the layout to matter (>= 2**19 multiply-adds: a mini-batch of 200 rows into 64 or
    100 units takes 0.41-0.67x the plain product's time, 16 units of 64 rows 1.05-1.12x). Below
    that, or for other backends (whose BLAS was not measured), the plain product is used. Both
    give the same product, equal to rounding (BLAS may add the n terms of each entry in another
    order).
    """
    return (type(A) is np.ndarray and A.ndim == 2 and W.shape[0] < A.shape[1]
            and W.shape[0] * A.size >= 2**19 and _row_major_view(A))


def samples_contiguous(Z: Any) -> bool:
    """Whether each sample's column of Z (n, m) is contiguous in memory: a NumPy Z laid out as
    the transposed view of row-major data (what :func:`samples_as_rows` products give). A fresh
    product that will be multiplied elementwise into Z's derivative is best made in Z's layout,
    so that the in-place multiply runs along memory (measured: 35 us against 331 us at width
    256, 5000 samples)."""
    return _row_major_view(Z)


def calls_are_launches(x: Any) -> bool:
    """Whether each array call on ``x`` is a kernel launch on a GPU (CuPy; torch on CUDA),
    costing about 5-10 us of host time whatever the array's size, so that a step is worth
    bundling into fewer calls (one parameter buffer: :mod:`xpnn._flat`). On the CPU a call costs
    about 1 us and the bundling costs more than it saves (measured on an iris-size net: 18 us a
    step more with it); JAX compiles the step, where the form is the compiler's."""
    return array_api_compat.is_cupy_array(x) or (array_api_compat.is_torch_array(x)
                                                 and x.device.type == "cuda")


class Workspace:
    """The large arrays of one training step on NumPy, written again by the next step instead of
    freshly allocated: a layer product, an activation, a backward product, a derivative's mask
    (each under a key that names its place in the step). An array above glibc's mmap threshold
    (128 KiB at first) is otherwise mapped from the system and given back at every step; on the
    2-core VM measured (see the benchmarks guide) the page faults made full-batch training at
    widths 64-256 on 5000 samples take 1.2-2.1x the time of the same arithmetic into reused
    arrays. Only a training step (or an L-BFGS evaluation) uses one: the arrays it hands out are
    dead when the next one begins (it returns new parameters, gradients and a cost, never its
    caches)."""

    __slots__ = ("_arrays",)

    def __init__(self) -> None:
        self._arrays: dict = {}

    def _out(self, key: Any, shape: tuple, dtype: Any, order: str) -> np.ndarray:
        """The array for ``key`` of this shape, dtype and layout (one each: a mini-batch epoch's
        shorter last batch keeps its own, so neither size is made again at the next epoch)."""
        slot = (key, shape, dtype, order)
        out = self._arrays.get(slot)
        if out is None:
            out = self._arrays[slot] = np.empty(shape, dtype, order=order)
        return out

    def matmul(self, key: Any, a: Any, b: Any) -> np.ndarray:
        """``a @ b`` of two 2-d NumPy arrays, written into this key's array."""
        shape = (a.shape[0], b.shape[1])
        return np.matmul(a, b, out=self._out(key, shape, np.result_type(a, b), "C"))

    def apply(self, key: Any, name: str, *args: Any, dtype: Any = None) -> np.ndarray:
        """The array API's elementwise function ``name`` (the NumPy ufunc of that name) of arrays
        and Python scalars, written into this key's array: the broadcast shape, NumPy's result
        dtype (``dtype`` instead: bool for a comparison), laid out as NumPy lays out a fresh result
        (the first array's layout when it has the result's shape, else row-major)."""
        arrays = [a for a in args if isinstance(a, np.ndarray)]
        shape, first = np.broadcast_shapes(*(a.shape for a in arrays)), arrays[0]
        order = "F" if first.shape == shape and _row_major_view(first) else "C"
        out = self._out(key, shape, np.result_type(*args) if dtype is None else np.dtype(dtype), order)
        return getattr(np, name)(*args, out=out)


def workspace_for(x: Any, rows: int, columns: int, *, batches: bool = False) -> Workspace | None:
    """A ``Workspace`` (the arrays a training step writes again at the next step, instead of
    making them afresh) for training steps on ``x``'s arrays, when they are NumPy's and a
    step's largest array (``rows`` x ``columns``) is large enough for fresh arrays to be mapped
    from the system at every step: at least 128 KiB (malloc's first mmap threshold) when every
    step takes the whole set, at least 8 MiB when the set is cut into mini-batches
    (``batches``). Smaller arrays come from the heap's free lists at no page-fault cost, and
    the workspace's lookups (about 1 us a call) would then cost more than they save.

    Measured on the 2-core VM, one process per fit (``benchmarks/workspace_loop.py``; the
    benchmarks guide, "A training step's arrays, reused"): full-batch fits took 0.49-0.63x the
    time with a workspace from 156 KiB arrays up; mini-batch epochs 1.04-1.14x from 78 KiB to
    4 MiB (an epoch frees its gathered copy of the data, after which malloc serves arrays up
    to that size from its heap) and 0.65-0.74x at 8 MiB."""
    least = 8 * 1024 * 1024 if batches else 128 * 1024
    if type(x) is not np.ndarray or rows * columns * x.dtype.itemsize < least:
        return None
    return Workspace()


def upload_index(index: np.ndarray, like: Any) -> Any:
    """Host integer indices (an epoch's shuffle) on ``like``'s device, for :func:`take_samples`.
    On a torch CUDA device through pinned memory with a non-blocking copy: copying pageable
    host memory makes the host wait for the device's queued work first, once an epoch (torch's
    documented behaviour; not yet measured on a GPU). The gather that follows is queued behind
    the copy on the same stream."""
    if array_api_compat.is_torch_array(like) and like.device.type == "cuda":
        return _pinned_upload(index, like.device)
    return array_api_compat.array_namespace(like).asarray(index, device=array_api_compat.device(like))


def _pinned_upload(index: np.ndarray, device: Any) -> Any:
    import torch

    return torch.from_numpy(np.ascontiguousarray(index)).pin_memory().to(device, non_blocking=True)


def take_samples(A: Any, index: Any) -> Any:
    """The columns ``index`` (an integer array on A's device) of A (n, m): a new (n, len(index))
    array, gathered along the axis that is contiguous in memory. On the estimators' layout (A the
    transposed view of row-major samples, NumPy) each sample is one contiguous row of A.T:
    ``take(A.T, index, axis=0).T`` copies rows, where ``take(A, index, axis=1)`` gathers single
    numbers (measured 0.17 ms against 8.2 ms for 5000 samples x 100 features). The result keeps
    that layout, so the mini-batches sliced from it are contiguous blocks."""
    xp = array_api_compat.array_namespace(A)
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


def elementwise(kernel: Any, name: str, numpy_in_place: Any = None) -> Any:
    """``kernel(xp, *args)``, an elementwise function of arrays and Python scalars, as a callable
    of ``*args``: one fused kernel on CuPy (``cupy.fuse``: one launch instead of one per
    operation), the function itself with the arrays' namespace elsewhere (the same operations in
    the same order: the same numbers). Should CuPy refuse to fuse it, or promote the first
    array's dtype, the unfused function runs from then on (the same numbers, more launches).

    ``numpy_in_place(*args)``: NumPy's form of the same arithmetic with in-place steps (into
    arrays it makes, or that the caller has just made and hands over), which saves NumPy an
    allocation per step; used for NumPy arrays only, bit for bit the kernel's numbers."""
    fused: dict = {}

    def run(*args: Any) -> Any:
        first = args[0]
        if type(first) is np.ndarray and numpy_in_place is not None:
            return numpy_in_place(*args)
        if type(first) is np.ndarray or isinstance(first, np.generic):  # NumPy: no lookup (a few µs)
            return kernel(NUMPY_NAMESPACE, *args)
        if array_api_compat.is_cupy_array(first) and fused.get("cupy") is not False:
            try:
                function = fused.get("cupy") or fused.setdefault("cupy", _cupy_fused(kernel, name))
                out = function(*args)
                if all(o.dtype == first.dtype for o in (out if isinstance(out, tuple) else (out,))):
                    return out
                fused["cupy"] = False  # a fused kernel that promoted the dtype: never again
            except Exception:  # noqa: BLE001 - CuPy cannot fuse it: run it unfused from now on
                fused["cupy"] = False
        arrays = [a for a in args if hasattr(a, "shape")]
        if not arrays:  # host numbers only (a Dask step's cost): the arithmetic as it is
            return kernel(NUMPY_NAMESPACE, *args)
        return kernel(array_api_compat.array_namespace(*arrays), *args)
    return run


def _cupy_fused(kernel: Any, name: str) -> Any:
    import cupy

    def bound(*args: Any) -> Any:
        return kernel(cupy, *args)
    return cupy.fuse(kernel_name=name)(bound)
