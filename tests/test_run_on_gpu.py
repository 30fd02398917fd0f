"""benchmarks/run_on_gpu.sh end to end in its fake-GPU mode (the CuPy stand-in on CPU): every
step exits 0 and leaves its files, so a broken step is found here, not on the first GPU lent."""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).parents[1]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_gpu_run_script_runs_every_step_in_fake_gpu_mode(tmp_path):
    env = {**os.environ, "XPNN_FAKE_GPU": "1", "OUT": str(tmp_path),
           "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}
    env.pop("XPNN_REQUIRE_GPU", None)
    done = subprocess.run(["bash", "benchmarks/run_on_gpu.sh"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "FAKE GPU" in (tmp_path / "device.txt").read_text()
    for step in ("tests-gpu", "tests-jax", "bench"):
        log = (tmp_path / f"{step}.log").read_text()
        assert "exit 0" in log or "skipped" in log, log[-2000:]
    assert " passed" in (tmp_path / "tests-gpu.log").read_text()
    lines = [json.loads(line) for line in (tmp_path / "bench" / "journal.jsonl").read_text().splitlines()]
    assert lines[0]["kind"] == "start" and lines[-1]["kind"] == "gemm"
    columns = {line["column"] for line in lines if line["kind"] == "case"}
    assert {"xpnn-numpy-float64", "xpnn-gpu-float32"} <= columns
    results = json.loads((tmp_path / "bench" / "results.json").read_text())
    assert not results["failed"] and (tmp_path / "bench" / "results.md").exists()
