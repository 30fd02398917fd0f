"""One mini-batch Adam epoch of ``MLPClassifier((100,))`` on 20000 x 50 in batches of 200 (the
``mlp-adam-epoch`` cases of ``xpnn bench``): xpnn on NumPy, scikit-learn, and the same epoch
written out in plain NumPy (:func:`xpnn.bench.peers.inline_numpy_mlp_epoch`), each checked to
compute the same weights, then timed in interleaved rounds in one process (minimum times; the
first call of each untimed). A fourth row, ``products-only``, is the floor: the epoch's matrix
products alone (per batch X_b W1, A1 W2, dW1 = X_b.T dZ1, dW2 = A1.T dZ2 and dA1 = dZ2 W2.T, on
arrays of those shapes), which no elementwise or Python work can go below.

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
    runs = {case.column: case.run for case in cases}
    runs["products-only"] = products_only(args.dtype)
    times = {column: [] for column in runs}
    for r in range(args.rounds):
        columns = list(runs)
        for column in columns[r % len(columns):] + columns[:r % len(columns)]:
            start = time.perf_counter()
            runs[column]()
            times[column].append(time.perf_counter() - start)
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


def products_only(dtype, m=20000, n_x=50, hidden=100, batch=200):
    """The matrix products of one epoch of the same shapes, nothing else (random arrays)."""
    import numpy as np

    rng = np.random.default_rng(0)
    X, W1, W2 = (rng.standard_normal(s).astype(dtype) for s in ((m, n_x), (n_x, hidden), (hidden, 1)))
    dZ1, dZ2 = (rng.standard_normal((batch, k)).astype(dtype) for k in (hidden, 1))

    def run():
        for start in range(0, m, batch):
            Xb = X[start:start + batch]
            A1 = Xb @ W1
            A1 @ W2, Xb.T @ dZ1, A1.T @ dZ2, dZ2 @ W2.T
    return run


if __name__ == "__main__":
    main()
