"""The benchmark machinery: every column computes the same math, checks can fail, reports add up."""

import json

import numpy as np
import pytest

from xpnn.bench import report
from xpnn.bench.cases import Case, dot_cases, net_step_cases, step_flops, xpnn_backends
from xpnn.bench.timing import as_vector, check, measure


@pytest.mark.parametrize("dims,hidden,loop", [([6, 1], "sigmoid", "python"), ([5, 4, 1], "tanh", "python"),
                                              ([7, 5, 3, 1], "relu", "per-example")])
def test_every_column_computes_the_reference(dims, hidden, loop):
    cases = list(net_step_cases("g", dims, hidden, 9, 0.1, xpnn_backends(["numpy", "array_api_strict"]),
                                ["float64", "float32"], loop=loop))
    columns = {c.column for c in cases}
    assert {"loop", "xpnn-numpy-float64", "xpnn-array_api_strict-float32", "inline-numpy-float64"} <= columns
    reference = as_vector(next(c for c in cases if c.column == "xpnn-numpy-float64").run())
    for case in cases:
        _, error = check(case, reference)
        assert error <= (1e-9 if case.dtype == "float64" else 2e-3) * (1e3 if "sklearn" in case.column else 1)


def test_a_wrong_column_is_caught():
    good = next(dot_cases(1000, xpnn_backends(["numpy"]), ["float64"]))
    wrong = Case("g", "wrong", lambda: good.run() * 1.001, "float64")
    with pytest.raises(AssertionError, match="disagrees with the reference"):
        check(wrong, as_vector(good.run()))


def test_no_gpu_columns_without_a_gpu():
    from xpnn.backend import gpu_available

    if gpu_available():
        pytest.skip("a GPU is usable here")
    assert [name for name, _ in xpnn_backends(["numpy", "gpu"])] == ["numpy"]
    torch_cuda = xpnn_backends(["torch-cuda"])  # xpnn on torch's CUDA device: only where it is real
    assert torch_cuda == [] or torch_cuda[0][1].is_gpu


def test_slow_cases_run_a_fixed_number_of_rounds():
    calls = []
    slow = Case("g", "loop", lambda: calls.append(1), "float64", slow=True)
    assert measure(slow, min_time=10.0, loop_rounds=2)["rounds"] == 2 and len(calls) == 2
    fast = Case("g", "x", lambda: calls.append(1), "float64")
    t = measure(fast, min_time=0.0, loop_rounds=2)
    assert t["rounds"] == 3 and t["min"] <= t["median"]


def test_step_flops():
    assert step_flops([3, 1], 10) == 2 * 10 * 3 * 2            # forward + dW, no dA of X
    assert step_flops([3, 4, 1], 10) == 2 * 10 * (12 * 2 + 4 * 3)


def _run(medians):
    results = [{"group": "g", "column": c, "dtype": "float64", "min": t, "median": t, "rounds": 3,
                "gflops": 1.0, "check_error": 0.0, "note": ""} for c, t in medians.items()]
    return {"profile": "quick", "timing": "wall", "gemm": {"numpy-float64": {"gflops": 10.0}},
            "results": results, "skipped": [], "environment": report.environment()}


def test_report_ratios_compare_and_files(tmp_path):
    run = _run({"loop": 1.0, "xpnn-numpy-float64": 0.001, "torch-cpu-manual-float64": 0.002})
    assert report.ratios(run["results"])["g"] == {"loop / xpnn": 1000.0, "xpnn / torch f64": 0.5}
    text = report.format_table(run)
    assert "loop / xpnn = 1e+03" in text and "xpnn / torch f64 = 0.5" in text
    slower = _run({"loop": 1.0, "xpnn-numpy-float64": 0.002, "torch-cpu-manual-float64": 0.002})
    lines, regressed = report.compare(slower, run, threshold=1.1)
    assert regressed and "g/xpnn-numpy-float64: 2.00x the old minimum  SLOWER" in lines
    assert not report.compare(run, run, threshold=1.1)[1]
    written = report.write(run, tmp_path)
    assert json.loads((tmp_path / "results.json").read_text())["results"][0]["column"] == "loop"
    assert "| g | loop |" in (tmp_path / "results.md").read_text()
    assert len(written) == 3 and (tmp_path / "results.png").stat().st_size > 1000


def test_environment_records_what_the_issue_asks_for():
    env = report.environment()
    assert {"cpu", "gpu", "versions", "blas", "openblas_env", "date"} <= set(env)
    assert set(env["openblas_env"]) >= {"OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"}
    assert env["versions"]["numpy"] == np.__version__


def test_environment_records_cuda_versions_and_tf32_settings(monkeypatch):
    monkeypatch.setenv("CUPY_TF32", "1")
    cuda = report.environment()["cuda"]
    assert {"driver_cuda", "cupy_runtime", "torch_cuda"} <= set(cuda)
    assert cuda["tf32_env"] == {"CUPY_TF32": "1", "NVIDIA_TF32_OVERRIDE": None}


def test_no_loops_leaves_out_only_the_loop_columns():
    import xpnn.bench as bench

    with_loops = bench._cases("smoke", ("numpy",), ("float64",), True)
    without = bench._cases("smoke", ("numpy",), ("float64",), False)
    key = lambda c: (c.group, c.column)  # noqa: E731
    assert [key(c) for c in with_loops if c.column != "loop"] == [key(c) for c in without]
    assert len(without) < len(with_loops) == bench.count_cases("smoke", ("numpy",), ("float64",))


@pytest.mark.slow
def test_xpnn_bench_dask_runs_and_its_columns_agree():
    """What ``xpnn bench --dask`` runs, on the smoke profile: every Dask column computes NumPy's
    step (each case is checked against the group's reference inside ``run``)."""
    pytest.importorskip("dask.distributed")
    import xpnn.bench as bench

    out = bench.run("smoke", ("numpy",), ("float64",), with_dask=True, loops=False)
    columns = {r["column"] for r in out["results"] if r["group"].startswith("dask-step")}
    assert columns == {"numpy-1-thread", "numpy", "dask-threads", "dask-1-worker", "dask-2-workers"}
    assert all(r["check_error"] < 1e-9 for r in out["results"] if r["group"].startswith("dask-step"))
    assert set(out["dask_scaling"]) == {"overhead_per_iteration_s", "speedup_2_workers",
                                        "efficiency_2_workers"}


@pytest.mark.slow
def test_the_benchmark_suite_runs(tmp_path):
    """``pytest benchmarks/`` on the smoke profile, each case once without timing: an API change
    that breaks a benchmark fails here."""
    import os
    import pathlib
    import subprocess
    import sys

    pytest.importorskip("pytest_benchmark")
    root = pathlib.Path(__file__).resolve().parents[1]
    env = {**os.environ, "XPNN_BENCH_PROFILE": "smoke"}
    done = subprocess.run([sys.executable, "-m", "pytest", "benchmarks", "-q", "-p", "no:cacheprovider",
                           "--benchmark-disable", "-x", "--basetemp", str(tmp_path)],
                          cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " passed" in done.stdout


def test_under_benchmark_only_a_missing_gpu_is_skipped_with_its_reason(tmp_path):
    """Not "Skipping non-benchmark": the GPU case says why there is no GPU column."""
    import os
    import pathlib
    import subprocess
    import sys

    pytest.importorskip("pytest_benchmark")
    from xpnn.bench import gpu_skip_reason

    if not gpu_skip_reason():
        pytest.skip("a GPU is usable here: its columns run")
    root = pathlib.Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-m", "pytest", "benchmarks/test_bench.py", "-q", "-rs", "-p",
                           "no:cacheprovider", "--benchmark-only", "-k", "gpu", "--basetemp", str(tmp_path)],
                          cwd=root, env={**os.environ, "XPNN_BENCH_PROFILE": "smoke"}, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "no GPU columns: " + gpu_skip_reason()[:40] in done.stdout


def test_a_failing_column_is_recorded_and_the_run_goes_on(tmp_path, monkeypatch):
    """Every phase lands in the journal as it completes; a wrong column is marked, not fatal."""
    import xpnn.bench as bench

    good = next(c for c in dot_cases(1000, xpnn_backends(["numpy"]), ["float64"])
                if c.column == "xpnn-numpy-float64")  # the group's reference column
    wrong = Case(good.group, "wrong", lambda: good.run() * 2.0, "float64")
    monkeypatch.setattr(bench, "_gemm", lambda *a: {})
    monkeypatch.setattr(bench, "_cases", lambda *a: [good, wrong])
    journal = tmp_path / "journal.jsonl"
    out = bench.run("smoke", ("numpy",), ("float64",), journal=str(journal))
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [r["column"] for r in out["results"]] == [good.column]
    assert out["failed"][0]["column"] == "wrong" and "disagrees" in out["failed"][0]["failed"]
    assert [line["kind"] for line in lines] == ["start", "gemm", "case", "case", "gemm"]
    assert [line["column"] for line in lines if line["kind"] == "case"] == [good.column, "wrong"]
    assert bench.from_journal(str(journal)) == out
    assert "FAILED" in report.format_table(out)


def test_a_run_cut_short_keeps_what_it_measured_and_its_report_can_be_rebuilt(tmp_path, monkeypatch):
    """The settings are journaled before any case is built; a journal cut after one case (as a
    time limit cuts a run) rebuilds a report of that case, through the CLI too."""
    import xpnn.bench as bench
    from xpnn.cli import main

    good = next(c for c in dot_cases(1000, xpnn_backends(["numpy"]), ["float64"])
                if c.column == "xpnn-numpy-float64")
    monkeypatch.setattr(bench, "_gemm", lambda *a: {})

    def cut(*args):
        raise KeyboardInterrupt  # the run is stopped while its cases are built
    monkeypatch.setattr(bench, "_cases", cut)
    journal = tmp_path / "journal.jsonl"
    with pytest.raises(KeyboardInterrupt):
        bench.run("smoke", ("numpy", "torch-cuda"), ("float64",), journal=str(journal))
    assert json.loads(journal.read_text())["kind"] == "start"
    monkeypatch.setattr(bench, "_cases", lambda *a: [good, good])
    bench.run("smoke", ("numpy",), ("float64",), journal=str(journal))
    lines = journal.read_text().splitlines()
    journal.write_text("\n".join(lines[:3]) + "\n")  # start, ceiling, one case: cut there
    rebuilt = bench.from_journal(str(journal))
    assert [r["column"] for r in rebuilt["results"]] == [good.column]
    assert main(["bench", "--report", str(journal), "--out", str(tmp_path / "report")]) == 0
    assert (tmp_path / "report" / "results.json").exists()
    (tmp_path / "bad.jsonl").write_text('{"kind": "case"}\n')
    with pytest.raises(SystemExit) as exc:
        main(["bench", "--report", str(tmp_path / "bad.jsonl"), "--out", str(tmp_path / "r2")])
    assert exc.value.code == 2


def test_the_gpu_scripts_bench_command_is_accepted_by_the_cli(monkeypatch, tmp_path):
    """The exact `xpnn bench` command of benchmarks/run_on_gpu.sh parses and reaches the run
    with its backends (GPU columns are skipped, never faked, where no GPU is usable)."""
    import pathlib
    import re
    import shlex

    import xpnn.bench as bench
    from xpnn.cli import main

    script = (pathlib.Path(__file__).parents[1] / "benchmarks" / "run_on_gpu.sh").read_text()
    command = re.search(r"python3 -m xpnn (bench [^\n;]*?) --out", script).group(1)
    command = command.replace("$bench_size", re.search(r"bench_size=(--\w+)", script).group(1))
    seen = {}

    def fake_run(profile, backends, dtypes, **kwargs):
        seen.update(profile=profile, backends=backends)
        return {"profile": profile, "timing": "", "environment": report.environment(), "gemm": {},
                "results": [], "skipped": [], "failed": []}
    monkeypatch.setattr(bench, "run", fake_run)
    assert main([*shlex.split(command), "--out", str(tmp_path)]) == 0
    assert seen["profile"] == "full" and {"gpu", "torch-cuda", "jax"} <= set(seen["backends"])


def test_the_chart_draws_speed_ups_from_the_tables_statistic_on_an_axis_from_1():
    """Bars from 1 (no speed-up), the number on each bar the speed-up over the slowest column
    from minimum times (the printed ratios' statistic), not medians on an axis that starts at the
    smallest value (which drew 15.1 ms vs 13.3 ms as a tenfold gap)."""
    pytest.importorskip("matplotlib")
    rows = [{"group": "g", "column": c, "dtype": "float64", "min": lo, "median": med, "rounds": 3,
             "gflops": None, "check_error": 0.0, "note": ""}
            for c, lo, med in (("loop", 0.5, 0.6), ("xpnn-numpy-float64", 0.0151, 0.02),
                               ("inline-numpy-float64", 0.0133, 0.014))]
    run = {"profile": "quick", "timing": "wall", "gemm": {}, "results": rows, "skipped": [], "failed": []}
    fig = report.figure(run)
    ax = fig.axes[0]
    assert ax.get_xlim()[0] == 1.0
    labels = [t.get_text().strip() for t in ax.texts]
    assert labels == [report.speedup_label(0.5 / r["min"]) for r in rows] == ["1x", "33.1x", "37.6x"]
    assert report.speedup_label(1740.4) == "1,740x"


def test_the_bench_extra_draws_pytest_benchmarks_histograms():
    """``--benchmark-histogram`` draws with pygal: the bench extra brings it (pytest-benchmark's
    own ``histogram`` extra)."""
    from pathlib import Path

    tomllib = pytest.importorskip("tomllib")
    extras = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    assert any(dep.replace(" ", "").startswith("pytest-benchmark[histogram]") for dep in extras["bench"])
