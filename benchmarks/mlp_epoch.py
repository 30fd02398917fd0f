"""One mini-batch Adam epoch of ``MLPClassifier((100,))`` on 20000 x 50 in batches of 200 (the
``mlp-adam-epoch`` cases of ``xpnn bench``): xpnn on NumPy, scikit-learn, and the same epoch
written out in plain NumPy (:func:`xpnn.bench.peers.inline_numpy_mlp_epoch`), each checked to
compute the same weights, then timed in interleaved rounds in one process (minimum times; the
first call of each untimed).

    python benchmarks/mlp_epoch.py [--rounds N] [--dtype float32]
"""

from __future__ import annotations

import argparse
import time


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    args = parser.parse_args(argv)
    from xpnn.backend import resolve_backend
    from xpnn.bench.mlp_cases import mlp_epoch_cases
    from xpnn.bench.report import environment
    from xpnn.bench.timing import check

    cases = list(mlp_epoch_cases(20000, [("numpy", resolve_backend("numpy"))], (args.dtype,)))
    reference = check(cases[0], None)[0]
    for case in cases[1:]:
        check(case, reference)  # raises when a column computes other weights
    times = {case.column: [] for case in cases}
    for r in range(args.rounds):
        for case in cases[r % len(cases):] + cases[:r % len(cases)]:
            start = time.perf_counter()
            case.run()
            times[case.column].append(time.perf_counter() - start)
    best = {column: min(t) for column, t in times.items()}
    sklearn = best[f"sklearn-mlp-{args.dtype}"]
    env = environment()
    kernels = ", ".join(f"{b['internal_api']} {b['version']} {b['architecture']} x{b['num_threads']}"
                        for b in env["blas"])
    print(f"{cases[0].group}, {args.dtype}, {args.rounds} interleaved rounds, minimum; NumPy "
          f"{env['versions']['numpy']}, scikit-learn {env['versions']['sklearn']}, BLAS: {kernels}, "
          f"OPENBLAS_CORETYPE={env['openblas_env']['OPENBLAS_CORETYPE']}")
    for column, t in best.items():
        print(f"{column:22s} {t * 1e3:6.1f} ms  {t / sklearn:.2f}x scikit-learn")


if __name__ == "__main__":
    main()
