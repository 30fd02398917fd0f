"""What a benchmark run records and prints: the machine, the table, the ratios, the files."""

from __future__ import annotations

import datetime
import json
import os
import platform

from .._text import aligned_table

RATIOS = [  # (label, numerator column, denominator column); < 1 means the numerator is faster
    ("loop / xpnn", "loop", "xpnn-numpy-float64"),
    ("xpnn / inline f64", "xpnn-numpy-float64", "inline-numpy-float64"),
    ("xpnn / inline f32", "xpnn-numpy-float32", "inline-numpy-float32"),
    ("xpnn / torch f64", "xpnn-numpy-float64", "torch-cpu-manual-float64"),
    ("xpnn / torch f32", "xpnn-numpy-float32", "torch-cpu-manual-float32"),
    ("xpnn / sklearn", "xpnn-numpy-float64", "sklearn-mlp-float64"),
    ("numpy / gpu f32", "xpnn-numpy-float32", "xpnn-gpu-float32"),
    ("numpy / gpu f64", "xpnn-numpy-float64", "xpnn-gpu-float64"),
    ("gpu / torch-cuda f32", "xpnn-gpu-float32", "torch-cuda-manual-float32"),
    ("xpnn-jax / xpnn-numpy f32", "xpnn-jax-float32", "xpnn-numpy-float32"),
    ("gpu / jax-gpu f32", "xpnn-gpu-float32", "xpnn-jax-gpu-float32"),
    ("numpy / jax-gpu f32", "xpnn-numpy-float32", "xpnn-jax-gpu-float32"),
    ("xpnn-torch / xpnn-numpy f64", "xpnn-torch-float64", "xpnn-numpy-float64"),
    ("xpnn-torch / xpnn-numpy f32", "xpnn-torch-float32", "xpnn-numpy-float32"),
]
OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(module):
    try:
        return __import__(module).__version__
    except Exception:
        return None


def environment():
    """Machine, versions, BLAS and GPU facts recorded with every run."""
    from .. import __version__
    from ..backend import cuda_facts, gpu_status

    try:
        from threadpoolctl import threadpool_info

        blas = [{k: d.get(k) for k in ("internal_api", "version", "num_threads", "architecture",
                                         "threading_layer")} for d in threadpool_info()]
    except ImportError:
        blas = "threadpoolctl not installed"
    usable, gpu = gpu_status()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(), "platform": platform.platform(),
        "cpu": _cpu_model(), "cpu_count": os.cpu_count(),
        "gpu": gpu if usable else None, "gpu_unusable_reason": None if usable else gpu,
        "cuda": cuda_facts(),
        "versions": {"xpnn": __version__, **{m: _version(m) for m in (
            "numpy", "array_api_compat", "cupy", "torch", "jax", "sklearn")}},
        "blas": blas,
        "openblas_env": {var: os.environ.get(var) for var in OPENBLAS_VARS},
    }


def ratios(results):
    """{group: {label: ratio}} of minimum times (the least disturbed by other work on a shared
    machine), for the pairs of columns both measured."""
    by = {(r["group"], r["column"]): r["min"] for r in results}
    out = {}
    for group in dict.fromkeys(r["group"] for r in results):
        out[group] = {label: by[(group, a)] / by[(group, b)]
                      for label, a, b in RATIOS if (group, a) in by and (group, b) in by}
    return out


def _time(seconds):
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def _rows(run):
    for r in run["results"]:
        yield (r["group"], r["column"], _time(r["min"]), _time(r["median"]),
               f"{r['gflops']:.1f}" if r.get("gflops") else "",
               f"{100 * r['gemm_fraction']:.0f}%" if r.get("gemm_fraction") else "",
               f"{r['check_error']:.1e}" if r.get("check_error") is not None else "ref",
               str(r["rounds"]), r.get("note", ""))


HEADER = ("group", "column", "min", "median", "GFLOP/s", "of GEMM", "rel. err", "rounds", "note")


def format_table(run):
    """The console report: every case, then the ratios per group."""
    lines = [aligned_table([HEADER, *_rows(run)]), ""]
    lines.append("GEMM ceiling: " + ", ".join(f"{k} {v['gflops']:.1f} GFLOP/s"
                                               for k, v in run["gemm"].items()))
    lines.append("ratios of minimum times (< 1: the first is faster):")
    for group, values in ratios(run["results"]).items():
        if values:
            lines.append(f"  {group}: " + ", ".join(f"{k} = {v:.3g}" for k, v in values.items()))
    if run.get("dask_scaling"):
        d = run["dask_scaling"]
        lines.append(f"dask: overhead per iteration {_time(d['overhead_per_iteration_s'])} "
                     f"(1 worker vs NumPy on 1 thread); 2 workers: {d['speedup_2_workers']:.2f}x "
                     f"the 1-worker speed, efficiency {100 * d['efficiency_2_workers']:.0f}%")
    for skip in run["skipped"]:
        lines.append(f"skipped {skip['what']}: {skip['reason']}")
    for failure in run.get("failed", []):
        lines.append(f"FAILED {failure['group']}/{failure['column']}: {failure['failed']}")
    return "\n".join(lines)


def format_markdown(run):
    """A markdown report: the setting, the table and the ratios."""
    env = run["environment"]
    lines = [f"# xpnn benchmark — {run['profile']} profile", "",
             f"- date: {env['date']}; CPU: {env['cpu']} ({env['cpu_count']} cores); "
             f"GPU: {env['gpu'] or 'none (' + str(env['gpu_unusable_reason']) + ')'}",
             "- versions: " + ", ".join(f"{k} {v}" for k, v in env["versions"].items() if v),
             "- BLAS: " + "; ".join(f"{b['internal_api']} {b['version']} ({b['architecture']}, "
                                     f"{b['num_threads']} threads)" for b in env["blas"]
                                     if isinstance(b, dict)) if isinstance(env["blas"], list) else "",
             f"- OPENBLAS_* / OMP_* set: {env['openblas_env']}",
             f"- timing: {run['timing']}", "",
             "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in _rows(run)]
    lines += ["", "GEMM ceiling: " + ", ".join(f"{k} {v['gflops']:.1f} GFLOP/s"
                                                for k, v in run["gemm"].items()), "",
              "| group | ratio | value |", "|---|---|---|"]
    for group, values in ratios(run["results"]).items():
        lines += [f"| {group} | {k} | {v:.3g} |" for k, v in values.items()]
    lines += [f"- skipped {s['what']}: {s['reason']}" for s in run["skipped"]]
    return "\n".join(lines) + "\n"


def speedups(rows):
    """{column: (speed-up, speed-up at the median)} of a group's rows over its slowest column's
    minimum time (the loop's, where it has one): the statistic the printed ratios use (minimum
    times), the median giving the spread."""
    base = max(r["min"] for r in rows)
    return {r["column"]: (base / r["min"], base / r["median"]) for r in rows}


def speedup_label(value):
    """1x, 33.1x, 1,740x: three significant digits, thousands spelled out."""
    return f"{value:,.0f}x" if value >= 100 else f"{value:.3g}x"


def figure(run):
    """A matplotlib ``Figure``: per group, each column's speed-up over the group's slowest
    column (the loop, where present), from minimum times as the printed ratios are, written on
    its bar, the median's drawn as the spread; the axis starts at 1 (no speed-up)."""
    from matplotlib.figure import Figure  # an explicit figure: the user's backend is never switched

    groups = list(dict.fromkeys(r["group"] for r in run["results"]))
    fig = Figure(figsize=(9, 1.4 + 0.32 * len(run["results"])))
    axes = fig.subplots(len(groups), 1, squeeze=False)
    for ax, group in zip(axes[:, 0], groups):
        rows = [r for r in run["results"] if r["group"] == group]
        ups = speedups(rows)
        best = [ups[r["column"]][0] for r in rows]
        spread = [ups[r["column"]][0] - ups[r["column"]][1] for r in rows]
        ax.barh([r["column"] for r in rows], [b - 1 for b in best], left=1, xerr=[spread, [0] * len(rows)],
                color=["tab:red" if r["column"] == "loop" else "tab:green" if "gpu" in r["column"]
                       else "tab:blue" if r["column"].startswith("xpnn") else "tab:gray" for r in rows])
        for y, b in enumerate(best):
            ax.text(b, y, f" {speedup_label(b)}", va="center", fontsize=7)
        ax.set_xscale("log")
        ax.set_xlim(left=1, right=max(best) * 4)
        ax.set_title(group, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.invert_yaxis()
    axes[-1, 0].set_xlabel("speed-up over the group's slowest column (minimum times; the whisker: "
                           "at the median), log scale from 1")
    fig.tight_layout()
    return fig


def plot(run, path):
    """Write :func:`figure` of ``run`` to ``path`` (PNG)."""
    figure(run).savefig(path, dpi=100)


def compare(run, old, threshold):
    """Lines comparing minimum times with an older run (the least noisy statistic of separate
    runs, and the one the ratios use); and whether any got slower than ``threshold`` times the
    old minimum."""
    old_by = {(r["group"], r["column"]): r["min"] for r in old["results"]}
    lines, regressed = [], False
    for r in run["results"]:
        key = (r["group"], r["column"])
        if key in old_by:
            ratio = r["min"] / old_by[key]
            flag = "  SLOWER" if ratio > threshold else ""
            regressed |= bool(flag)
            lines.append(f"{key[0]}/{key[1]}: {ratio:.2f}x the old minimum{flag}")
    return lines, regressed


def write(run, folder):
    """results.json, results.md and results.png (when matplotlib is installed) in ``folder``."""
    os.makedirs(folder, exist_ok=True)
    written = []
    with open(os.path.join(folder, "results.json"), "w") as f:
        json.dump(run, f, indent=1)
    written.append("results.json")
    with open(os.path.join(folder, "results.md"), "w") as f:
        f.write(format_markdown(run))
    written.append("results.md")
    try:
        if run["results"]:  # a run cut before its first case has nothing to draw
            plot(run, os.path.join(folder, "results.png"))
            written.append("results.png")
    except ImportError:
        pass
    return [os.path.join(folder, name) for name in written]
