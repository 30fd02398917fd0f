"""Every benchmark case as a pytest-benchmark test, one group per workload.

    pytest benchmarks/ --benchmark-only [--benchmark-json out.json]
    XPNN_BENCH_PROFILE=full pytest benchmarks/ --benchmark-only

Each case is first checked against its group's reference (xpnn on NumPy, float64); GPU cases
synchronise inside the timed call and get one untimed warm-up round; loop cases run a few
fixed rounds. GPU columns exist only where CuPy really runs on a CUDA device.
"""

import functools
import os
import time

import pytest

from xpnn.bench import PROFILES, build_cases, gpu_skip_reason
from xpnn.bench.timing import as_vector, check

PROFILE = os.environ.get("XPNN_BENCH_PROFILE", "quick")
CASES = {(c.group, c.column): c for c in build_cases(PROFILE)}
GPU_REASON = gpu_skip_reason()
NO_GPU = ("gpu", "no GPU columns")  # a case that skips with the GPU's reason (also under --benchmark-only)


@functools.cache
def reference(group):
    case = CASES.get((group, "xpnn-numpy-float64")) or next(
        c for (g, _), c in CASES.items() if g == group and c.column != "loop")
    return as_vector(case.run())


def _rounds(case):
    if case.slow:
        return PROFILES[PROFILE]["loop_rounds"]
    start = time.perf_counter()
    case.run()
    return int(min(200, max(3, PROFILES[PROFILE]["min_time"] / (time.perf_counter() - start))))


@pytest.mark.parametrize("key", list(CASES) + [NO_GPU] * bool(GPU_REASON),
                         ids=[f"{g}/{c}" for g, c in CASES] + ["gpu"] * bool(GPU_REASON))
def test_case(benchmark, key):
    if key == NO_GPU:
        pytest.skip(f"no GPU columns: {GPU_REASON}")
    case = CASES[key]
    _, error = check(case, reference(case.group))
    benchmark.group = case.group
    benchmark.extra_info.update(column=case.column, dtype=case.dtype, device=case.device,
                                note=case.note, shape=case.shape, flops=case.flops, check_error=error)
    benchmark.pedantic(case.run, rounds=_rounds(case), iterations=1,
                       warmup_rounds=0 if case.slow else 1)


def test_gpu_columns_are_present_or_skipped_for_a_reason():
    has_gpu = any(c.column.startswith("xpnn-gpu") for c in CASES.values())
    assert has_gpu == (not GPU_REASON)
