"""``xpnn bench``: loop vs vectorised CPU vs GPU vs peers, timed honestly (see timing.py)."""

from __future__ import annotations

import contextlib
import os
import tempfile

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
    Returns the run as a JSON-able dict. ``journal``: a file path that receives every phase as
    one JSON line the moment it completes (the run's settings first, then the matrix-product
    ceiling, each case, the ceiling again), so a run cut short keeps what it did and
    :func:`from_journal` rebuilds its report. A case whose check fails is recorded with the
    failure and the run goes on."""
    if journal is None:  # the run is assembled from its journal: keep one for the run's length
        with tempfile.TemporaryDirectory() as folder:
            return run(profile, backends, dtypes, progress, with_dask, loops, os.path.join(folder, "journal"))
    _log(journal, {"kind": "start", "profile": profile, "timing": TIMING, "environment": report.environment(),
                   "gpu_skip_reason": gpu_skip_reason(), "backends": list(backends)}, mode="w")
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
    _log(journal, {"kind": "gemm", "gemm": before})
    first = {}  # each group's reference case: checked when the group's first case comes up
    for case in sorted(cases, key=_reference_rank):
        first.setdefault(case.group, case)
    reference = {}
    for case in cases:
        row = {"kind": "case", "group": case.group, "column": case.column, "dtype": case.dtype,
               "device": case.device, "note": case.note, "shape": case.shape, "flops": case.flops}
        try:
            if case.group not in reference:
                reference[case.group] = check(first[case.group], None)[0]
            _, error = check(case, reference[case.group])
            t = measure(case, min_time=settings["min_time"], loop_rounds=settings["loop_rounds"])
        except Exception as exc:  # a wrong or crashing column is reported, not fatal to the run
            _log(journal, {**row, "failed": f"{type(exc).__name__}: {exc}"})
            continue
        _log(journal, {**row, "check_error": error, **t,
                       "gflops": case.flops / t["min"] / 1e9 if case.flops else None})
        if progress is not None:
            progress(case)
    _log(journal, {"kind": "gemm", "gemm": _gemm(profile, backends, dtypes)})
    return assemble(_journal_lines(journal))


def _journal_lines(journal):
    import json

    with open(journal) as f:
        return [json.loads(line) for line in f if line.strip()]


def from_journal(path):
    """The run dict (as :func:`run` returns) rebuilt from a journal, complete or cut short."""
    try:
        lines = _journal_lines(path)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable benchmark journal ({exc})") from None
    if not lines or lines[0].get("kind") != "start":
        raise ValueError(f"{path}: not a benchmark journal (it does not begin with the run's settings)")
    return assemble(lines)


def assemble(lines):
    """The run dict from journal lines: the ceiling is the better of the measurements taken."""
    start = lines[0]
    rows = [{k: v for k, v in line.items() if k != "kind"} for line in lines if line.get("kind") == "case"]
    results, failed = [r for r in rows if "failed" not in r], [r for r in rows if "failed" in r]
    gemm = {}
    for line in lines:
        for key, value in line.get("gemm", {}).items() if line.get("kind") == "gemm" else ():
            if key not in gemm or value["gflops"] > gemm[key]["gflops"]:
                gemm[key] = value
    for row in results:
        backend = row["column"].split("-")[1] if row["column"].startswith("xpnn-") else None
        ceiling = gemm.get(f"{backend}-{row['dtype']}")
        if ceiling and row["gflops"] and not row["group"].startswith("dot"):
            row["gemm_fraction"] = row["gflops"] / ceiling["gflops"]
    reason = start.get("gpu_skip_reason")
    skipped = ([{"what": "gpu columns", "reason": reason}]
               if reason and any(b in {"gpu", "cupy", "cuda"} for b in start.get("backends", ())) else [])
    out = {"profile": start["profile"], "timing": start["timing"], "environment": start["environment"],
           "gemm": gemm, "results": results, "skipped": skipped, "failed": failed}
    if any(r["group"].startswith("dask-step") for r in results):
        from .dask_cases import scaling

        out["dask_scaling"] = scaling(results)
    return out


def _log(journal, row, mode="a"):
    """One JSON line of the journal."""
    import json

    with open(journal, mode) as f:
        f.write(json.dumps(row, default=str) + "\n")
