"""One timed benchmark case: what every workload module builds and :mod:`xpnn.bench.timing` times."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass
class Case:
    group: str
    column: str
    run: Callable[[], Any]              # does the work, synchronises, returns a checkable result
    dtype: str
    flops: float | None = None
    note: str = ""
    slow: bool = False                  # timed with a fixed, small number of rounds
    device: str = "cpu"
    shape: dict = field(default_factory=dict)


def step_flops(dims, m):
    """Flops of one step: forward, dW of every layer and dA of all but the input layer."""
    pairs = list(zip(dims[1:], dims[:-1]))
    return 2 * m * sum(a * b for a, b in pairs) * 3 - 2 * m * dims[1] * dims[0]


def supported_dtypes(backend, dtypes):
    """The dtypes ``backend`` computes in (JAX: float32 unless x64 mode is on)."""
    out = []
    for dtype in dtypes:
        try:
            backend.dtype(dtype)
        except ValueError:
            continue
        out.append(dtype)
    return out
