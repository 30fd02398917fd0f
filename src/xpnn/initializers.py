"""Weight initialisation by name: zeros, random (0.01 randn), xavier, he, large (10 randn).

Numbers are drawn on the host by a seeded ``numpy.random.Generator`` (through the
backend) and then moved to the backend's device, so one seed gives bit-identical
weights on NumPy, CuPy, torch and array_api_strict.
"""

from __future__ import annotations

import math

from .backend import get_backend, rng_from
from .normalization import add_batch_norm

__all__ = ["initialize_parameters"]

SCHEMES = {
    "zeros": lambda n_prev: 0.0,
    "random": lambda n_prev: 0.01,                    # the course's shallow net
    "xavier": lambda n_prev: math.sqrt(1.0 / n_prev),  # the course's deep net
    "he": lambda n_prev: math.sqrt(2.0 / n_prev),
    "large": lambda n_prev: 10.0,                     # the course's counter-example
}


def initialize_parameters(layer_dims, *, scheme="xavier", seed=None, backend="cpu", dtype="float64",
                          batch_norm=False):
    """Parameters {"W1", "b1", ..., "WL", "bL"} for a net with ``layer_dims`` = [n_x, n1, ..., nL].

    Parameters
    ----------
    layer_dims : sequence of int, length L + 1 >= 2
    scheme : {"zeros", "random", "xavier", "he", "large"}
        W[l] = scale(n[l-1]) * randn(n[l], n[l-1]); every b[l] is zeros (n[l], 1).
    seed : int, numpy.random.Generator or None
    backend : name or Backend where the arrays go; dtype : "float64" or "float32".
    batch_norm : bool
        Every hidden layer batch-normalised: gamma (ones), beta (zeros) and the running mean
        (zeros) and var (ones) instead of its b (see :func:`xpnn.normalization.add_batch_norm`);
        the weights are the same draws.

    Raises
    ------
    ValueError
        Unknown scheme, or layer sizes that are not positive integers.
    """
    try:
        scale = SCHEMES[scheme]
    except (KeyError, TypeError):
        raise ValueError(f"unknown init {scheme!r}; choose from {sorted(SCHEMES)}") from None
    dims = [int(n) for n in layer_dims]
    if len(dims) < 2 or any(n < 1 for n in dims) or dims != list(layer_dims):
        raise ValueError(f"layer_dims must be at least two positive integers; got {list(layer_dims)}")
    be = get_backend(backend)
    rng = rng_from(seed)
    params = {}
    with be.on_device():  # CuPy's zeros ignore device=: they land on the current device
        _draw(params, dims, scheme, scale, rng, be, dtype)
        return add_batch_norm(params) if batch_norm else params


def _draw(params, dims, scheme, scale, rng, be, dtype):
    for l in range(1, len(dims)):
        shape = (dims[l], dims[l - 1])
        if scheme == "zeros":
            params[f"W{l}"] = be.xp.zeros(shape, dtype=be.dtype(dtype), device=be.device)
        else:
            params[f"W{l}"] = be.random_normal(shape, seed=rng, scale=scale(dims[l - 1]), dtype=dtype)
        params[f"b{l}"] = be.xp.zeros((dims[l], 1), dtype=be.dtype(dtype), device=be.device)
