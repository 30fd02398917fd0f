"""Lesson 1: a for-loop against one vectorised call — the dot product and the LR gradient."""

from __future__ import annotations

from ..backend import gpu_status
from ..bench.cases import dot_cases, net_step_cases, xpnn_backends
from ..bench.timing import check, measure
from . import _common


def _backends(backend):
    names = [backend or "numpy"]
    if gpu_status()[0] and names[0] not in {"gpu", "cupy"}:
        names.append("gpu")
    return xpnn_backends(names)


def run(*, backend=None, out="lessons", quick=False):
    backends = _backends(backend)
    _common.report_backend(backends[0][1])
    n, shape = (10**5, (1000, 50)) if quick else (10**6, (12288, 209))
    cases = list(dot_cases(n, backends, ["float64"]))
    cases += list(net_step_cases(f"lr-step-{shape[0]}x{shape[1]}", [shape[0], 1], "sigmoid",
                                 shape[1], 0.005, backends, ["float64"], peers_too=False))
    results, reference = [], {}
    for case in cases:
        if case.column != "loop" and case.group not in reference:
            reference[case.group] = check(case, None)[0]
    for case in cases:
        check(case, reference[case.group])  # every column computes the same numbers
        t = measure(case, min_time=0.05 if quick else 0.3, loop_rounds=1 if quick else 3)
        results.append((case.group.replace("dot-1e6", f"dot n={n}"), case.column, t["min"]))
    loop_time = {group: t for group, column, t in results if column == "loop"}
    rows = [(g, c, f"{1e3 * t:.3f} ms", f"{loop_time[g] / t:.0f}x") for g, c, t in results]
    _common.table(rows, ("workload", "implementation", "time (min)", "speed-up vs loop"))
    print("course: the vectorised dot product was ~300x faster than the for-loop (1.5 ms vs 474 ms)")
    fig, axes = _common.figure(1, 2, size=(4.2, 3.0))
    for ax, group in zip(axes, loop_time):  # the table's speed-ups, on bars from 1 (no speed-up)
        rows_g = [(c, loop_time[group] / t) for g, c, t in results if g == group]
        names = [c.replace("xpnn-", "").replace("-float64", "") for c, _ in rows_g]
        ax.bar(names, [s - 1 for _, s in rows_g], bottom=1,
               color=["tab:red"] + ["tab:blue"] * (len(rows_g) - 1))
        for x, (_, s) in enumerate(rows_g):
            ax.text(x, s, f"{s:.0f}x", ha="center", va="bottom", fontsize=8)
        ax.set_yscale("log")
        ax.set_ylim(bottom=1, top=max(s for _, s in rows_g) * 4)
        ax.set(title=group + (" (quick run)" if quick else ""), ylabel="speed-up over the loop (log, from 1)")
    _common.save(fig, out, "vectorisation.png")
    return {"speedup": {g: loop_time[g] / t for g, c, t in results if c != "loop"}}
