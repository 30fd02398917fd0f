"""One mini-batch epoch on JAX: xpnn's compiled epoch (one ``lax.scan`` over the batches)
against a hand-written ``jax.lax.scan`` epoch of the same math and xpnn on NumPy, in the same
process, interleaved rounds, minimum times (warm-up excluded, devices synchronised).

    python benchmarks/jax_epoch.py [--rounds N]

[50, 100, 1] relu net, sigmoid output, Adam (Kingma & Ba's form, as scikit-learn's MLP), batches
of 200, m = 20 000, float32; and Keras 3 on JAX (``model.fit``, one epoch) where it is installed
(an optional peer: ``pip install keras``). The hand-written epoch shuffles on the device and
gathers each batch inside the scan; xpnn shuffles on the host (the same order on every backend)
and gathers on the device.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args(argv)
    import jax
    import jax.numpy as jnp

    import xpnn
    from xpnn import network, optimizers, training
    from xpnn.initializers import initialize_parameters

    rng = np.random.default_rng(0)
    X = rng.standard_normal((20000, 50)).astype("float32")
    y = (X[:, 0] + X[:, 1] ** 2 > 1).astype("float32")
    activations = network.layer_activations(2, "relu")
    adam = optimizers.get_optimizer("adam", 0.001, epsilon_hat=True)
    runs = {}
    for name in ("numpy", "jax"):
        be = xpnn.get_backend(name)
        Xb, Yb = be.asarray(X, "float32").T, be.asarray(y[None, :], "float32")
        params = initialize_parameters([50, 100, 1], scheme="he", seed=0, backend=be, dtype="float32")

        def epoch(Xb=Xb, Yb=Yb, params=params, be=be):
            result = training.run(Xb, Yb, params, activations, optimizer=adam, n_epochs=1, batch_size=200,
                                  random_state=0, cost_every=1, curve=True)
            be.synchronize(result.params)
        runs[f"xpnn-{name}"] = epoch

    @jax.jit
    def hand_epoch(params, X, Y, key):
        order = jax.random.permutation(key, X.shape[1])
        Xs = X[:, order].reshape(50, 100, 200).transpose(1, 0, 2)
        Ys = Y[:, order].reshape(1, 100, 200).transpose(1, 0, 2)

        def body(carry, batch):
            (W1, b1, W2, b2), (v, s), t, total = carry
            x, yb = batch
            Z1 = W1 @ x + b1
            A1 = jnp.maximum(Z1, 0)
            Z2 = W2 @ A1 + b2
            cost = jnp.mean(jnp.maximum(Z2, 0) - Z2 * yb + jnp.log1p(jnp.exp(-jnp.abs(Z2))))
            dZ2 = (jax.nn.sigmoid(Z2) - yb) / 200
            dZ1 = (W2.T @ dZ2) * (Z1 > 0)
            grads = (dZ1 @ x.T, dZ1.sum(1, keepdims=True), dZ2 @ A1.T, dZ2.sum(1, keepdims=True))
            t = t + 1
            v = tuple(0.9 * a + 0.1 * g for a, g in zip(v, grads))
            s = tuple(0.999 * a + 0.001 * g * g for a, g in zip(s, grads))
            rate = 0.001 * jnp.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
            new = tuple(p - rate * a / (jnp.sqrt(b) + 1e-8) for p, a, b in zip((W1, b1, W2, b2), v, s))
            return (new, (v, s), t, total + cost), None
        zeros = tuple(jnp.zeros_like(p) for p in params)
        carry, _ = jax.lax.scan(body, (params, (zeros, zeros), 0.0, 0.0), (Xs, Ys))
        return carry

    be = xpnn.get_backend("jax")
    P = initialize_parameters([50, 100, 1], scheme="he", seed=0, backend=be, dtype="float32")
    P = tuple(P[k] for k in ("W1", "b1", "W2", "b2"))
    Xj, Yj, key = be.asarray(X, "float32").T, be.asarray(y[None, :], "float32"), jax.random.key(0)
    runs["hand-jax-scan"] = lambda: jax.block_until_ready(hand_epoch(P, Xj, Yj, key))
    keras = _keras()
    if keras is not None:  # Keras 3 on JAX, where installed: its fit of one epoch, shuffled
        model = keras.Sequential([keras.Input((50,)), keras.layers.Dense(100, activation="relu"),
                                  keras.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer=keras.optimizers.Adam(0.001), loss="binary_crossentropy")
        runs["keras-jax"] = lambda: model.fit(X, y, batch_size=200, epochs=1, verbose=0)
    times = {name: [] for name in runs}
    for run in runs.values():
        run()  # warm-up: compilation
    for r in range(args.rounds):
        names = list(runs)[r % len(runs):] + list(runs)[:r % len(runs)]
        for name in names:
            start = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - start)
    best = {name: min(t) for name, t in times.items()}
    print(f"numpy {np.__version__}, jax {jax.__version__}, keras "
          f"{'not installed' if keras is None else keras.__version__}; minimum of {args.rounds} rounds")
    for name, t in best.items():
        print(f"{name:15s} {t * 1e3:7.2f} ms")
    ratios = [("xpnn-jax", "xpnn-numpy"), ("xpnn-jax", "hand-jax-scan"), ("xpnn-jax", "keras-jax"),
              ("xpnn-numpy", "keras-jax")]
    print("; ".join(f"{a} / {b} {best[a] / best[b]:.2f}" for a, b in ratios if b in best))


def _keras():
    """Keras 3 on its JAX backend, or None (not installed, or set to another backend)."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    try:
        import keras
    except ImportError:
        return None
    return keras if keras.backend.backend() == "jax" else None


if __name__ == "__main__":
    main()
