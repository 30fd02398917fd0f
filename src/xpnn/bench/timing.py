"""Timing that tells the truth: warm-up excluded, device synchronised inside the timed call
(each case's ``run`` ends with a synchronize), few fixed rounds for slow loop columns, and a
check that every column computes the reference result before any of it is timed."""

from __future__ import annotations

import statistics
import time

import numpy as np

from ..backend import to_numpy

TOLERANCE = {"float64": 1e-9, "float32": 2e-3}  # relative error of the result vector (L2)


def as_vector(result):
    """A case's result (array, dict of arrays, scalar) as one float64 host vector."""
    if isinstance(result, dict):
        return np.concatenate([as_vector(result[k]) for k in sorted(result)])
    return np.asarray(to_numpy(result), dtype=np.float64).ravel()


def check(case, reference):
    """Run ``case`` once; returns (its result vector, relative error vs ``reference`` or None)."""
    got = as_vector(case.run())
    if reference is None:
        return got, None
    if got.shape != reference.shape:
        raise AssertionError(f"{case.group}/{case.column}: result shape {got.shape}, "
                             f"reference {reference.shape}")
    error = float(np.linalg.norm(got - reference) / max(np.linalg.norm(reference), 1e-300))
    tolerance = TOLERANCE[case.dtype] * (1e3 if case.column.startswith("sklearn") else 1)
    if not error <= tolerance:
        raise AssertionError(f"{case.group}/{case.column} disagrees with the reference: "
                             f"relative error {error:.2e} > {tolerance:.0e}")
    return got, error


def measure(case, *, min_time, loop_rounds, max_rounds=200, warmup=1):
    """Seconds per call: min, median, mean, stdev and rounds. Slow cases: ``loop_rounds`` rounds
    and no warm-up; others: ``warmup`` untimed calls, then rounds until ``min_time`` is spent."""
    if case.slow:
        rounds, warmup = loop_rounds, 0
    for _ in range(warmup):
        case.run()
    times = []
    while True:
        start = time.perf_counter()
        case.run()
        times.append(time.perf_counter() - start)
        if case.slow and len(times) >= rounds:
            break
        if not case.slow and (sum(times) >= min_time and len(times) >= 3 or len(times) >= max_rounds):
            break
    return {"min": min(times), "median": statistics.median(times), "mean": statistics.fmean(times),
            "stdev": statistics.stdev(times) if len(times) > 1 else 0.0, "rounds": len(times)}
