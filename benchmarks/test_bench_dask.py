"""Dask with 1 and 2 workers against NumPy (pytest benchmarks/ --benchmark-only; needs xpnn[dask])."""

import pytest

pytest.importorskip("dask.distributed")

from test_bench import PROFILE  # noqa: E402
from xpnn.bench.timing import as_vector, check  # noqa: E402

COLUMNS = ["numpy-1-thread", "numpy", "dask-threads", "dask-1-worker", "dask-2-workers"]


@pytest.fixture(scope="module")
def cases():
    from xpnn.bench.dask_cases import dask_cases

    with dask_cases(PROFILE) as built:
        cases = {c.column: c for c in built}
        yield cases, as_vector(cases["numpy-1-thread"].run())


@pytest.mark.parametrize("column", COLUMNS)
def test_dask_case(benchmark, cases, column):
    by_column, reference = cases
    case = by_column[column]
    _, error = check(case, reference)
    benchmark.group = case.group
    benchmark.extra_info.update(column=column, shape=case.shape, note=case.note, check_error=error)
    benchmark.pedantic(case.run, rounds=5, iterations=1, warmup_rounds=1)
