"""Prediction's forward pass on any backend: rows in blocks that stay in cache, compiled on
padded shapes where the backend compiles, and the key under which an estimator caches its
parameters moved to a backend (:meth:`xpnn._base._BaseNet._params_on`)."""

from __future__ import annotations

from .backend import device_of, namespace
from .network import forward


PREDICT_BLOCK = 4096  # rows per block: a block's hidden activations stay in cache (measured)


def _rows_forward(X_rows, params, activations):
    """(A[L], Z[L]) (k, m) of X_rows (m, n_x)."""
    AL, caches = forward(X_rows.T, params, activations)
    return AL, caches[-1][1]


def _padded(compiled):
    """``compiled`` (a compiled :func:`_rows_forward`) on rows padded with zero rows up to a power
    of two (16 to PREDICT_BLOCK): a compiler specialises on shapes, so predictions then compile
    a few shapes rather than one per number of rows; the padding's outputs are dropped."""
    def run(X_rows, params, activations):
        xp, m = namespace(X_rows), X_rows.shape[0]
        size = max(16, 1 << (m - 1).bit_length())
        if size > m:
            padding = xp.zeros((size - m, X_rows.shape[1]), dtype=X_rows.dtype, device=device_of(X_rows))
            X_rows = xp.concat([X_rows, padding], axis=0)
        AL, ZL = compiled(X_rows, params, activations=activations)
        return AL[:, :m], ZL[:, :m]
    return run


def _forward_in_blocks(X_rows, params, activations, block, run=_rows_forward):
    """(A[L], Z[L]) (k, m) of X_rows (m, n_x) by ``run``, ``block`` rows at a time (0: all at
    once), so the hidden layers of one block stay in cache and are freed before the next."""
    m = X_rows.shape[0]
    if not block or m <= block:
        return run(X_rows, params, activations=activations)
    outputs = [run(X_rows[start:min(start + block, m)], params, activations=activations)
               for start in range(0, m, block)]
    xp = namespace(outputs[0][0])
    return (xp.concat([A for A, _ in outputs], axis=1), xp.concat([Z for _, Z in outputs], axis=1))


def same_arrays(held, current):
    """Whether two (name, array) sequences hold the very same arrays (by ``is``)."""
    return len(held) == len(current) and all(
        k == c and v is w for (k, v), (c, w) in zip(held, current))


def backend_key(backend):
    """The cache key of a backend: its name and device."""
    return (backend.name, str(backend.device))
