"""The default backend (scikit-learn's ``_config`` pattern): ``set_backend`` for the process,
``use_backend`` for a block, ``$XPNN_BACKEND`` otherwise; and the names a backend may be asked
for. Part of the backend module (:mod:`xpnn.backend` re-exports its names)."""

from __future__ import annotations

import contextlib
import contextvars
import os
from typing import Any

# the one vocabulary of backend names: estimators' backend=, set_backend, $XPNN_BACKEND, the CLI
NAMES = ("auto", "cpu", "gpu", "cuda", "numpy", "cupy", "torch", "torch-cuda", "jax", "array_api_strict",
         "dask")
_ALIASES = {"cpu": "numpy", "np": "numpy", "cp": "cupy", "cuda": "gpu", "torch_cuda": "torch-cuda",
            "array-api-strict": "array_api_strict"}


def _canonical(name: str) -> str:
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in NAMES:
        raise ValueError(f"unknown backend {name!r}; choose from {list(NAMES)}, "
                         "an array-API namespace module, or a Backend")
    return key


def _strict_gpu_env() -> bool:
    return os.environ.get("XPNN_STRICT_GPU", "").strip().lower() in {"1", "true", "yes", "on"}


_global_default: tuple[Any, bool] | None = None
_context_default: contextvars.ContextVar[tuple[Any, bool] | None] = contextvars.ContextVar(
    "xpnn_backend", default=None)


def _check_spec(spec: Any, strict: bool = False) -> Any:
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
