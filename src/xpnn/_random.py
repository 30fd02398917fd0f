"""Random numbers for the backend module (:mod:`xpnn.backend` re-exports them): the host RNG that
draws initial weights and shuffles (one seed, the same numbers on every backend), and the device
samplers that draw dropout masks where the arrays live."""

from __future__ import annotations

from typing import Any

import array_api_compat
import numpy as np


def rng_from(seed: Any) -> np.random.Generator:
    """A host ``numpy.random.Generator`` from a seed, a Generator, or None (fresh entropy)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.RandomState):
        raise TypeError("random_state must be an int, None or a numpy.random.Generator; "
                        "got a legacy numpy.random.RandomState")
    return np.random.default_rng(seed)



def uniform_sampler(like: Any, seed: int):
    """A function ``shape -> array`` of uniform [0, 1) draws with ``like``'s dtype and device,
    for dropout masks drawn every step without a host round trip.

    CuPy, torch and JAX draw with their own device generator seeded with ``seed``; NumPy,
    array_api_strict draw with a host ``numpy.random.Generator(seed)`` (moved to the device for
    array_api_strict). So one seed gives identical masks on NumPy and array_api_strict, and
    reproducible but different masks on CuPy, torch and JAX (each its own stream).
    """
    dtype = like.dtype
    if array_api_compat.is_torch_array(like):
        import torch

        device = like.device
        generator = torch.Generator(device=device)
        generator.manual_seed(seed)
        return lambda shape: torch.rand(shape, generator=generator, dtype=dtype, device=device)
    if array_api_compat.is_cupy_array(like):
        import cupy

        generator = cupy.random.default_rng(seed)
        return lambda shape: generator.random(shape, dtype=dtype)
    if array_api_compat.is_jax_array(like):
        import jax

        key = [jax.random.key(seed)]

        def draw(shape):
            key[0], sub = jax.random.split(key[0])
            return jax.random.uniform(sub, shape, dtype=dtype)
        return draw
    host, name = np.random.default_rng(seed), str(dtype).rsplit(".", 1)[-1]
    if isinstance(like, np.ndarray):
        return lambda shape: host.random(shape, dtype=name)
    xp, device = array_api_compat.array_namespace(like), array_api_compat.device(like)
    return lambda shape: xp.asarray(host.random(shape, dtype=name), device=device)
