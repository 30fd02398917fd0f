"""Moving arrays between devices and the host (:mod:`xpnn.backend` re-exports these names): the
one host transfer, device reads of scalars in one copy, trees of arrays moved whole."""

from __future__ import annotations

from typing import Any

import array_api_compat
import numpy as np

device_of = array_api_compat.device  # the device an array lives on (for ``device=`` arguments)


def is_sparse_tensor(x: Any) -> bool:
    """True for a sparse device tensor (torch's COO, CSR, ...), which array-API code cannot use."""
    return array_api_compat.is_torch_array(x) and "sparse" in str(x.layout)


def to_numpy(x: Any) -> np.ndarray:
    """Any supported array (NumPy, CuPy, torch, array_api_strict, Dask) as a host NumPy array."""
    if isinstance(x, (np.ndarray, np.generic)) or not array_api_compat.is_array_api_obj(x):
        return np.asarray(x)  # NumPy's own, lists, scalars, DataFrames
    if array_api_compat.is_cupy_array(x):
        return x.get()
    if array_api_compat.is_torch_array(x):
        return x.detach().cpu().numpy()
    if array_api_compat.is_dask_array(x):
        return to_numpy(x.compute())  # the computed chunks may be CuPy arrays
    if array_api_compat.is_jax_array(x):
        import jax

        return np.asarray(jax.device_get(x))  # an explicit transfer (allowed by transfer guards)
    if array_api_compat.is_array_api_strict_namespace(array_api_compat.array_namespace(x)):
        return np.asarray(x.to_device(type(x.device)("CPU_DEVICE")))
    return np.asarray(x)


def move_tree(tree: Any, backend: Any = None, dtype: Any = None) -> Any:
    """Nested dicts and tuples of arrays (an optimizer's state) on ``backend`` (with ``dtype``),
    or as host NumPy arrays for None: to continue a fit on another device, or to pickle it."""
    if isinstance(tree, dict):
        return {k: move_tree(v, backend, dtype) for k, v in tree.items()}
    if isinstance(tree, tuple):
        return tuple(move_tree(v, backend, dtype) for v in tree)
    return to_numpy(tree) if backend is None else backend.asarray(to_numpy(tree), dtype=dtype)


def read_scalars(*scalars: Any) -> list[float]:
    """Host floats of 0-d device arrays, in one device-to-host read: ``float()`` for one value
    (an explicit transfer on JAX), one stacked copy for several; host numbers pass through."""
    if any(isinstance(x, (float, int, np.generic, np.ndarray)) for x in scalars):
        return [float(to_numpy(x)) for x in scalars]
    if len(scalars) == 1:
        (x,) = scalars
        return [float(to_numpy(x)) if array_api_compat.is_jax_array(x) else float(x)]
    xp = array_api_compat.array_namespace(*scalars)
    return [float(v) for v in to_numpy(xp.stack([xp.reshape(x, ()) for x in scalars]))]
