"""A tiny problem, where per-call overhead is everything: iris (150 x 4, standardised), hidden
layer (8,) relu, softmax, 1000 full-batch gradient-descent iterations at learning rate 0.1. Same
process, interleaved rounds, minimum times:

- ``DeepNet.fit`` (the estimator: every iteration's cost kept for ``loss_curve_``);
- ``xpnn.training.run`` with ``curve=False`` (the cost computed every 100 iterations, as the
  course does);
- the same math hand-written in NumPy, the cost every 100 iterations;
- the same hand-written loop with the cost every iteration, the work ``DeepNet.fit`` does for its
  ``loss_curve_``.

    python benchmarks/tiny_fit.py [--rounds N]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args(argv)
    from sklearn.datasets import load_iris

    import xpnn
    from xpnn import network, optimizers, training
    from xpnn.initializers import initialize_parameters

    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    Y = np.eye(3)[y].T
    n_iter, lr = 1000, 0.1

    def estimator():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            xpnn.DeepNet((8,), n_iter=n_iter, learning_rate=lr, random_state=0).fit(X, y)

    def core():
        params = initialize_parameters([4, 8, 3], scheme="xavier", seed=0)
        training.run(X.T, Y, params, network.layer_activations(2, "relu", "softmax"), head="softmax",
                     optimizer=optimizers.gd(lr), n_epochs=n_iter, cost_every=100)

    def hand(every=100):
        rng = np.random.default_rng(0)
        W1, b1 = rng.standard_normal((8, 4)) * np.sqrt(1 / 4), np.zeros((8, 1))
        W2, b2 = rng.standard_normal((3, 8)) * np.sqrt(1 / 8), np.zeros((3, 1))
        XT, m = X.T, X.shape[0]
        for i in range(n_iter):
            Z1 = W1 @ XT + b1
            A1 = np.maximum(Z1, 0)
            Z2 = W2 @ A1 + b2
            shifted = Z2 - Z2.max(axis=0, keepdims=True)
            E = np.exp(shifted)
            A2 = E / E.sum(axis=0, keepdims=True)
            if i % every == 0:
                _ = -np.sum(Y * (shifted - np.log(E.sum(axis=0, keepdims=True)))) / m
            dZ2 = (A2 - Y) / m
            dW2, db2 = dZ2 @ A1.T, dZ2.sum(axis=1, keepdims=True)
            dZ1 = (W2.T @ dZ2) * (Z1 > 0)
            dW1, db1 = dZ1 @ XT.T, dZ1.sum(axis=1, keepdims=True)
            W1, b1, W2, b2 = W1 - lr * dW1, b1 - lr * db1, W2 - lr * dW2, b2 - lr * db2

    runs = {"DeepNet.fit": estimator, "training.run": core, "hand-written": hand,
            "hand, cost each": lambda: hand(every=1)}
    times = {name: [] for name in runs}
    for run in runs.values():
        run()
    for r in range(args.rounds):
        for name in list(runs)[r % len(runs):] + list(runs)[:r % len(runs)]:
            start = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - start)
    best = {name: min(t) for name, t in times.items()}
    for name, t in best.items():
        print(f"{name:15s} {t * 1e3:6.1f} ms  ({t / n_iter * 1e6:5.1f} us an iteration, "
              f"{t / best['hand-written']:.2f}x hand-written)")


if __name__ == "__main__":
    main()
