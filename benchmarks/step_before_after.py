"""Before/after of one NumPy training step: the working tree's xpnn against a git revision and
against the same math written inline in NumPy (``xpnn bench``'s inline peer), timed in the same
process in interleaved rounds, so a ratio is not a comparison of two runs.

    python benchmarks/step_before_after.py [REV] [--rounds N] [--coretype NAME ...]

``src/xpnn`` at REV (default HEAD) is extracted into a temporary folder and imported as
``xpnn_before``. For each ``xpnn bench`` step shape (quick profile) and dtype, both versions
first compute the step once and must agree (gradients and updated parameters to 1e-12 f64,
1e-4 f32, relative to each tensor's largest entry), and so must the dW of the step's matrix
products computed alone (``products_only``: the floor no elementwise work can go below); the
working tree's step and products write into one reused workspace where a training loop would
make one (:func:`xpnn.backend.workspace_for`); then
each round times one call of each of the four, in an order rotated every round; the table gives
the minimum over rounds (warm-up excluded) and the ratios. Only NumPy runs here: peers from
other libraries (torch, JAX) are left to ``xpnn bench``, which times columns one after
another, because their worker threads keep spinning after a call and slow whatever runs next
on a 2-core machine.
``--coretype NAME`` repeats the whole table with ``OPENBLAS_CORETYPE=NAME`` in a child process
(the first table uses the environment as it is; each table says which).
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHAPES = [  # (name, layer dims, hidden activation, m, rounds)
    ("lr-step-12288x209", [12288, 1], "sigmoid", 209, 300),
    ("lr-step-100x10000", [100, 1], "sigmoid", 10000, 300),
    ("shallow-step-2x400", [2, 4, 1], "tanh", 400, 2000),
    ("deep-step-small", [12288, 20, 7, 5, 1], "relu", 209, 120),
    ("deep-step-big-m1024", [784, 1024, 1024, 1024, 1], "relu", 1024, 12),
    ("width-64-step-m5000", [100, 64, 64, 1], "relu", 5000, 100),
    ("width-256-step-m5000", [100, 256, 256, 1], "relu", 5000, 30),
]


def import_revision(rev, folder):
    """``src/xpnn`` at ``rev`` as the package ``xpnn_before``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "src/xpnn"], check=True,
                             capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    os.rename(Path(folder, "src", "xpnn"), Path(folder, "xpnn_before"))
    sys.path.insert(0, str(folder))
    return importlib.import_module("xpnn_before.network")


def compare(before, after, scale):
    from xpnn.backend import workspace_for
    from xpnn.bench import peers
    from xpnn.initializers import initialize_parameters

    rows = []
    for name, dims, hidden, m, rounds in SHAPES:
        for dtype in ("float64", "float32"):
            rng = np.random.default_rng(0)
            X = rng.standard_normal((m, dims[0])).astype(dtype).T  # the estimators' view
            Y = (rng.random((1, m)) > 0.5).astype(dtype)
            initial = initialize_parameters(dims, scheme="xavier", seed=0)
            params = {k: v.astype(dtype) for k, v in initial.items()}
            steps, workspace = {}, workspace_for(X, max(dims[1:]), m)  # the training loop's, if any
            activations = before.layer_activations(len(dims) - 1, hidden)
            steps["before"] = lambda a=activations: before.step(X, Y, params, a, 0.01)
            activations = after.layer_activations(len(dims) - 1, hidden)
            steps["after"] = lambda a=activations: after.step(X, Y, params, a, 0.01, workspace=workspace)
            steps["inline"] = peers.inline_numpy_step(X.T, Y, initial, hidden, 0.01, dtype)
            steps["products"] = products_only(after, X, Y, params, hidden, workspace)
            (old_params, old_grads, _), (new_params, new_grads, _) = steps["before"](), steps["after"]()
            error = max(_disagreement(new_params, old_params), _disagreement(new_grads, old_grads),
                        _disagreement(new_grads, steps["products"]()))  # the products' dW only
            if error > (1e-12 if dtype == "float64" else 1e-4):
                raise AssertionError(f"{name} {dtype}: before, after and the products disagree "
                                     f"({error:.1e})")
            labels = list(steps)
            times = {label: [] for label in labels}
            for r in range(max(3, int(rounds * scale))):
                for label in labels[r % len(labels):] + labels[:r % len(labels)]:
                    start = time.perf_counter()
                    steps[label]()
                    times[label].append(time.perf_counter() - start)
            b, a, i, p = (min(times[label]) for label in labels)
            rows.append(f"| {name} | {dtype} | {_ms(b)} | {_ms(a)} | {_ms(i)} | {_ms(p)} | {a / b:.2f} "
                        f"| {a / i:.2f} | {p / b:.2f} | {error:.0e} |")
    return rows


def _ms(seconds):
    return f"{seconds * 1e3:.3f} ms"


def products_only(network, X, Y, params, hidden, workspace):
    """The step's matrix products alone, in the layouts the step uses and into the arrays it
    uses (the ``workspace``'s where the step has one): forward W[l] A[l-1], dW[l] = dZ[l] A[l-1].T
    and dA[l-1] = W[l].T dZ[l], on the caches and dZ of one step computed beforehand (the sigmoid
    head's dZ[L] = (A[L] - Y) / m, then the backward recurrence). No change to the elementwise
    work can take the step below this. Returns the timed function, which returns its dW (checked
    against the step's)."""
    L = len(params) // 2
    activations = network.layer_activations(L, hidden)
    AL, caches = network.forward(X, params, activations)  # caches[l - 1] = (A[l-1], Z[l])
    dZ = {L: (AL - Y) / X.shape[1]}
    for l in range(L, 1, -1):
        g_prime = activations[l - 2].derivative(caches[l - 2][1], caches[l - 1][0])
        dZ[l - 1] = (params[f"W{l}"].T @ dZ[l]) * g_prime

    def run():
        grads = {}
        for l in range(1, L + 1):
            network.layer_product(params[f"W{l}"], caches[l - 1][0], workspace, ("Z", l))
        for l in range(L, 0, -1):
            grads[f"dW{l}"] = dZ[l] @ caches[l - 1][0].T
            if l > 1:
                network.backward_product(params[f"W{l}"], dZ[l], caches[l - 2][1], workspace, ("dA", l - 1))
        return grads
    return run


def _disagreement(got, want):
    """The largest |got - want| over the arrays of ``want``, relative to each one's largest entry."""
    return max(float(np.max(np.abs(got[key] - want[key]))) / max(float(np.max(np.abs(want[key]))), 1e-300)
               for key in want)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rev", nargs="?", default="HEAD")
    parser.add_argument("--rounds", type=float, default=1.0, help="scale the rounds per shape")
    parser.add_argument("--coretype", action="append", default=[],
                        help="also run with OPENBLAS_CORETYPE=NAME (repeatable)")
    args = parser.parse_args(argv)
    from xpnn import network
    from xpnn.bench.report import environment

    with tempfile.TemporaryDirectory() as folder:
        before = import_revision(args.rev, folder)
        env = environment()
        blas = "; ".join(f"{b.get('internal_api')} {b.get('version')} ({b.get('architecture')}, "
                         f"{b.get('num_threads')} threads)" for b in env["blas"])
        print(f"### xpnn step: working tree vs {args.rev}; OPENBLAS_CORETYPE="
              f"{os.environ.get('OPENBLAS_CORETYPE', '(not set)')}; {env['cpu']} "
              f"({env['cpu_count']} cores); numpy {np.__version__}; BLAS: {blas}\n")
        print("| shape | dtype | before | after | inline NumPy | products only | after/before "
              "| after/inline | products/before | max rel. diff |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        print("\n".join(compare(before, network, args.rounds)))
    for coretype in args.coretype:
        print(flush=True)
        subprocess.run([sys.executable, __file__, args.rev, "--rounds", str(args.rounds)],
                       env={**os.environ, "OPENBLAS_CORETYPE": coretype}, check=True)


if __name__ == "__main__":
    main()
