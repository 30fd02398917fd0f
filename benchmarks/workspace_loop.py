"""Training loops with and without the training step's reused arrays (a
:class:`xpnn._layout.Workspace` made for every fit, whatever its size, against none, to measure
where :func:`xpnn.backend.workspace_for` should make one): full batch, ``xpnn.training.run``
for a number of iterations on the ``xpnn bench`` step shapes of widths 64 and 256 (m = 5000)
and on [50, 100, 1] with m = 400, relu, gradient descent, the cost every 10 iterations; L-BFGS
(``training.run_lbfgs``, the MLP classes' ``solver="lbfgs"``) on [100, 100, 1], whose every
evaluation of the full batch goes through the workspace too, for the same number of
iterations; and mini-batches, shuffled Adam epochs on 20000 x 50 (``MLPClassifier``'s
batches of 200, and larger ones up to 8 MiB arrays), timed per epoch, three epochs a fit.
Each variant runs in a fresh Python process of its own, once per round,
rounds interleaved: the first fit in the process (what a script or a notebook's first fit meets)
and the fastest of three more fits after it, with the page faults an iteration (minor faults,
``getrusage``: pages the system had to map because an array came fresh from it). Both variants
must end with the same parameters, bit for bit.

A timed *loop* shows what a single-step benchmark's minimum hides: freed and re-made arrays
above malloc's mmap threshold are mapped again at every step, and which steps pay depends on
what the allocator did before in the process.

    python benchmarks/workspace_loop.py [--rounds N] [--iterations N]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import time

import numpy as np

SHAPES = {  # name: (layer dims, m, batch size or None: the full batch)
    "width-64-m5000": ([100, 64, 64, 1], 5000, None), "width-256-m5000": ([100, 256, 256, 1], 5000, None),
    "width-100-m400": ([50, 100, 1], 400, None), "lbfgs-width-100-m5000": ([100, 100, 1], 5000, None),
    "batches-200-width-100": ([50, 100, 1], 20000, 200),
    "batches-1600-width-100": ([50, 100, 1], 20000, 1600),
    "batches-4096-width-256": ([50, 256, 1], 20000, 4096)}
EPOCHS = 3  # a mini-batch fit's


def child(name, dtype, reuse, iterations):
    """One process: four fits of one variant; prints (first, best of the rest, faults, digest)."""
    from xpnn import network, optimizers, training
    from xpnn._layout import Workspace
    from xpnn.initializers import initialize_parameters

    training.workspace_for = (lambda *a, **k: Workspace()) if reuse else (lambda *a, **k: None)
    dims, m, batch_size = SHAPES[name]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((m, dims[0])).astype(dtype).T  # the estimators' view
    Y = (rng.random((1, m)) > 0.5).astype(dtype)
    params = {k: v.astype(dtype) for k, v in initialize_parameters(dims, scheme="xavier", seed=0).items()}
    activations = network.layer_activations(len(dims) - 1, "relu")
    times, faults = [], []
    for _ in range(4):
        before, start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.perf_counter()
        if name.startswith("lbfgs"):
            result, _ = training.run_lbfgs(X, Y, params, activations, alpha=1e-4, max_iter=iterations,
                                           tol=0.0)
        elif batch_size:
            result = training.run(X, Y, params, activations, optimizer=optimizers.adam(1e-3),
                                  n_epochs=EPOCHS, batch_size=batch_size, cost_every=1, random_state=0)
        else:
            result = training.run(X, Y, params, activations, optimizer=optimizers.gd(0.01),
                                  n_epochs=iterations, cost_every=10)
        per = EPOCHS if batch_size else iterations
        times.append((time.perf_counter() - start) / per)
        faults.append((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / per)
    digest = hashlib.sha256(b"".join(result.params[k].tobytes() for k in sorted(result.params))).hexdigest()
    print(json.dumps([times[0], min(times[1:]), faults[0], faults[-1], digest]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        name, dtype, reuse = args.child
        return child(name, dtype, reuse == "1", args.iterations)
    from xpnn.bench.report import environment

    blas = [(b.get("internal_api"), b.get("architecture"), b.get("num_threads"))
            for b in environment()["blas"]]
    print(f"# numpy {np.__version__}; BLAS {blas}; {args.iterations} iterations a full-batch fit, "
          f"{EPOCHS} epochs a mini-batch fit (times and faults per epoch there); {args.rounds} rounds, "
          "one fresh process per variant and round; minimum over rounds\n")
    print("| net | dtype | largest array | first fit: fresh arrays | reused | reused / fresh "
          "| later fits: fresh arrays | reused | reused / fresh "
          "| page faults an iteration (first fit), fresh / reused |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in SHAPES:
        for dtype in ("float64", "float32"):
            runs = {"0": [], "1": []}
            for r in range(args.rounds):
                for reuse in (("0", "1") if r % 2 else ("1", "0")):
                    out = subprocess.run([sys.executable, __file__, "--iterations", str(args.iterations),
                                          "--child", name, dtype, reuse], check=True, capture_output=True,
                                         text=True).stdout
                    runs[reuse].append(json.loads(out.strip().splitlines()[-1]))
            if len({run[4] for run in runs["0"] + runs["1"]}) != 1:
                raise AssertionError(f"{name} {dtype}: the two variants trained different parameters")
            first = [min(run[0] for run in runs[v]) for v in ("0", "1")]
            later = [min(run[1] for run in runs[v]) for v in ("0", "1")]
            faults = [np.median([run[2] for run in runs[v]]) for v in ("0", "1")]
            dims, m, batch_size = SHAPES[name]
            largest = max(dims[1:]) * (batch_size or m) * np.dtype(dtype).itemsize
            print(f"| {name} | {dtype} | {largest / 1024:.0f} KiB | {first[0] * 1e3:.2f} ms "
                  f"| {first[1] * 1e3:.2f} ms "
                  f"| {first[1] / first[0]:.2f} "
                  f"| {later[0] * 1e3:.2f} ms | {later[1] * 1e3:.2f} ms | {later[1] / later[0]:.2f} "
                  f"| {faults[0]:.0f} / {faults[1]:.0f} |")


if __name__ == "__main__":
    main()
