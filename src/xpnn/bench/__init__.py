"""``xpnn bench``: loop vs vectorised CPU vs GPU vs peers, timed honestly (see timing.py)."""

from __future__ import annotations

import contextlib

from . import report
from .cases import PROFILES, build_cases, gemm_cases, gpu_skip_reason
from .timing import check, measure

TIMING = ("wall clock (time.perf_counter) per call; every GPU case synchronises its device "
          "inside the timed call; one untimed warm-up call first (none for the loop columns, "
          "which run a fixed few rounds); data moved to the device before timing")


def _gemm(profile, backends, dtypes):
    out = {}
    for case in gemm_cases(profile, backends, dtypes):
        t = measure(case, min_time=3 * PROFILES[profile]["min_time"], loop_rounds=1)
        out[case.column] = {"gflops": case.flops / t["min"] / 1e9, "n": case.shape["n"], **t}
    return out


def _reference_rank(case):
    """xpnn on NumPy in float64 is each group's reference; else any float64 vectorised column."""
    return (case.column != "xpnn-numpy-float64", case.dtype != "float64", case.column == "loop")


def _cases(profile, backends, dtypes, loops):
    return [case for case in build_cases(profile, backends, dtypes) if loops or case.column != "loop"]


def count_cases(profile="quick", backends=("numpy", "gpu"), dtypes=("float64", "float32"),
                with_dask=False, loops=True):
    return len(_cases(profile, backends, dtypes, loops)) + 5 * with_dask


def run(profile="quick", backends=("numpy", "gpu"), dtypes=("float64", "float32"), progress=None,
        with_dask=False, loops=True, journal=None):
    """Check, then time, every case of ``profile`` (``loops=False``: without the loop columns).
    Returns the run as a JSON-able dict. ``journal``: a file path that receives each case's
    result as one JSON line the moment it is measured (so a run cut short keeps what it did).
    A case whose check fails is recorded with the failure and the run goes on."""
    with contextlib.ExitStack() as stack:
        extra = []
        if with_dask:
            from .dask_cases import dask_cases

            extra = stack.enter_context(dask_cases(profile))
        return _run(profile, backends, dtypes, progress, _cases(profile, backends, dtypes, loops) + extra,
                    journal)


def _run(profile, backends, dtypes, progress, cases, journal=None):
    settings = PROFILES[profile]
    before = _gemm(profile, backends, dtypes)
    reference = {}
    for case in sorted(cases, key=_reference_rank):
        if case.group not in reference:
            reference[case.group] = check(case, None)[0]
    results, failed = [], []
    for case in cases:
        row = {"group": case.group, "column": case.column, "dtype": case.dtype, "device": case.device,
               "note": case.note, "shape": case.shape, "flops": case.flops}
        try:
            _, error = check(case, reference[case.group])
            t = measure(case, min_time=settings["min_time"], loop_rounds=settings["loop_rounds"])
        except Exception as exc:  # a wrong or crashing column is reported, not fatal to the run
            failed.append({**row, "failed": f"{type(exc).__name__}: {exc}"})
            _log(journal, failed[-1])
            continue
        results.append({**row, "check_error": error, **t,
                        "gflops": case.flops / t["min"] / 1e9 if case.flops else None})
        _log(journal, results[-1])
        if progress is not None:
            progress(case)
    after = _gemm(profile, backends, dtypes)  # the ceiling: the better of a run before and after
    gemm = {key: max(before[key], after[key], key=lambda g: g["gflops"]) for key in before}
    for row in results:
        backend = row["column"].split("-")[1] if row["column"].startswith("xpnn-") else None
        ceiling = gemm.get(f"{backend}-{row['dtype']}")
        if ceiling and row["gflops"] and not row["group"].startswith("dot"):
            row["gemm_fraction"] = row["gflops"] / ceiling["gflops"]
    reason = gpu_skip_reason()
    skipped = ([{"what": "gpu columns", "reason": reason}]
               if reason and any(b in {"gpu", "cupy"} for b in backends) else [])
    out = {"profile": profile, "timing": TIMING, "environment": report.environment(),
           "gemm": gemm, "results": results, "skipped": skipped, "failed": failed}
    if any(r["group"].startswith("dask-step") for r in results):
        from .dask_cases import scaling

        out["dask_scaling"] = scaling(results)
    return out


def _log(journal, row):
    if journal is not None:
        import json

        with open(journal, "a") as f:
            f.write(json.dumps(row, default=str) + "\n")
