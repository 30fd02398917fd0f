"""One mini-batch Adam epoch of ``MLPClassifier((100,))`` on 20000 x 50 in batches of 200 (the
``mlp-adam-epoch`` cases of ``xpnn bench``): xpnn on NumPy, scikit-learn, and the same epoch
written out in plain NumPy (:func:`xpnn.bench.peers.inline_numpy_mlp_epoch`), each checked to
compute the same weights, then timed in interleaved rounds in one process (minimum times; the
first call of each untimed). Two more rows are floors:

- ``numpy-tuned``: the fastest plain-NumPy epoch we could write for the same math (one flat
  buffer each for the parameters, the gradients and Adam's two moments, the parameters and
  gradients views of them, every array written in place with ``out=``, Adam's arithmetic once
  over the whole buffer), checked like the others to compute the same weights: what any NumPy
  implementation, xpnn's included, can hope for;
- ``products-only``: the epoch's matrix products alone (per batch X_b W1, A1 W2,
  dW1 = X_b.T dZ1, dW2 = A1.T dZ2 and dA1 = dZ2 W2.T, on arrays of those shapes), which no
  elementwise or Python work can go below.

    python benchmarks/mlp_epoch.py [--rounds N] [--dtype float32]
"""

from __future__ import annotations

import argparse
import dataclasses
import time


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    args = parser.parse_args(argv)
    from xpnn.backend import resolve_backend
    from xpnn.bench.mlp_cases import _data, mlp_epoch_cases
    from xpnn.bench.report import environment
    from xpnn.bench.timing import check

    cases = list(mlp_epoch_cases(20000, [("numpy", resolve_backend("numpy"))], (args.dtype,)))
    reference = check(cases[0], None)[0]
    for case in cases[1:]:
        check(case, reference)  # raises when a column computes other weights
    runs = {case.column: case.run for case in cases}
    tuned = dataclasses.replace(cases[-1], column="numpy-tuned",
                                run=tuned_numpy_epoch(*_data(20000), args.dtype))
    check(tuned, reference)
    runs[tuned.column] = tuned.run
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


def tuned_numpy_epoch(X_rows, y, dtype, hidden=100, batch=200, alpha=1e-4, lr=1e-3):
    """scikit-learn's epoch (:func:`xpnn.bench.peers.inline_numpy_mlp_epoch`: the same data,
    Glorot draws, gradients, Adam and each batch's loss) with nothing NumPy can avoid: flat
    buffers, views, ``out=`` and in-place arithmetic throughout. Returns the weights."""
    import numpy as np

    X, Y = X_rows.astype(dtype), y.astype(dtype).reshape(-1, 1)
    m, n_x = X.shape
    shapes = [(n_x, hidden), (hidden,), (hidden, 1), (1,)]  # W0, b0, W1, b1 (scikit-learn's layout)
    ends = np.cumsum([0] + [int(np.prod(shape)) for shape in shapes])

    def views(flat):
        return [flat[a:b].reshape(shape) for a, b, shape in zip(ends[:-1], ends[1:], shapes)]
    l2 = np.zeros(ends[-1], dtype)
    for i in (0, 2):  # alpha on the weights, not the biases
        l2[ends[i]:ends[i + 1]] = alpha
    eps = np.finfo(dtype).eps

    def run():
        rs, theta = np.random.RandomState(0), np.empty(ends[-1], dtype)
        W0, b0, W1, b1 = views(theta)
        for W, b in ((W0, b0), (W1, b1)):
            bound = np.sqrt(6.0 / sum(W.shape))
            W[...], b[...] = rs.uniform(-bound, bound, W.shape), rs.uniform(-bound, bound, b.shape)
        grad, first, second, work = (np.zeros_like(theta) for _ in range(4))
        dW0, db0, dW1, db1 = views(grad)
        Z1, d1, positive = (np.empty((batch, hidden), kind) for kind in (dtype, dtype, bool))
        p, q = np.empty((batch, 1), dtype), np.empty((batch, 1), dtype)
        loss = 0.0
        for t, start in enumerate(range(0, m, batch), start=1):
            xb, yb = X[start:start + batch], Y[start:start + batch]
            np.matmul(xb, W0, out=Z1)
            Z1 += b0
            np.maximum(Z1, 0, out=Z1)
            np.matmul(Z1, W1, out=p)
            p += b1
            np.negative(p, out=p)
            np.exp(p, out=p)
            p += 1
            np.reciprocal(p, out=p)
            np.clip(p, eps, 1 - eps, out=q)
            loss += -np.mean(yb * np.log(q) + (1 - yb) * np.log(1 - q)) * batch
            p -= yb
            np.matmul(Z1.T, p, out=dW1)
            np.add.reduce(p, axis=0, out=db1)
            np.matmul(p, W1.T, out=d1)
            np.greater(Z1, 0, out=positive)
            d1 *= positive
            np.matmul(xb.T, d1, out=dW0)
            np.add.reduce(d1, axis=0, out=db0)
            np.multiply(l2, theta, out=work)
            grad += work
            grad /= batch
            first *= 0.9
            np.multiply(grad, 0.1, out=work)
            first += work
            second *= 0.999
            np.multiply(grad, grad, out=work)
            work *= 0.001
            second += work
            np.sqrt(second, out=work)
            work += 1e-8
            np.divide(first, work, out=work)
            work *= lr * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
            theta -= work
        return {"W0": W0.copy(), "W1": W1.copy()}
    return run


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
