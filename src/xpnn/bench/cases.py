"""The benchmark workloads as timed cases: every column of every group, built on request.

A :class:`Case` does its work and synchronises its device inside ``run()``; the data is moved
to the device when the case is built, outside the timed region. Columns:
``loop`` (pure Python, or a per-example loop over NumPy vectors where ``note`` says so),
``xpnn-<backend>-<dtype>`` (xpnn's own code path), ``inline-numpy-<dtype>`` (the same math
written out in plain NumPy, course style), and the peers ``torch-*`` and ``sklearn-mlp``.
"""

from __future__ import annotations

import numpy as np

from .. import loops, network
from ..backend import GPUUnavailableError, get_backend, gpu_status, workspace_for
from ..initializers import initialize_parameters
from . import peers
from .case import Case, step_flops, supported_dtypes
from .mlp_cases import mlp_epoch_cases, mlp_predict_cases

PROFILES = {
    "quick": dict(dot_n=10**6, fit_iter=200, big_m=1024, gemm_n=2048, loop_rounds=2, min_time=0.3,
                  epoch_m=(5000, 20000), mlp_epoch_m=20000, predict_m=100000),
    "full": dict(dot_n=10**6, fit_iter=2000, big_m=8192, gemm_n=4096, loop_rounds=3, min_time=1.0,
                 epoch_m=(5000, 20000, 80000), mlp_epoch_m=20000, predict_m=100000),
    # every case once, on small data: what the default test run uses to keep the suite working
    "smoke": dict(dot_n=10**4, fit_iter=5, big_m=32, gemm_n=128, loop_rounds=1, min_time=0.0,
                  epoch_m=(500,), mlp_epoch_m=400, predict_m=500),
}
LR_SHAPES = [(12288, 209), (100, 10000)]
NETS = {  # group -> (layer dims, hidden activation, m or profile key, learning rate)
    "shallow-step-2x400": ([2, 4, 1], "tanh", 400, 1.2),
    "deep-step-small": ([12288, 20, 7, 5, 1], "relu", 209, 0.0075),
    "deep-step-big": ([784, 1024, 1024, 1024, 1], "relu", "big_m", 0.01),
}


def xpnn_backends(names):
    """(column prefix, Backend) for the requested xpnn backends; GPUs only when really usable
    ("gpu" is CuPy, "torch-cuda" xpnn on torch's CUDA device, "jax-gpu" xpnn on JAX when its
    default device is a GPU), optional peers (torch, JAX) only when installed."""
    out = []
    for name in names:
        try:
            backend = get_backend(name, strict=True)
        except (ImportError, GPUUnavailableError):
            continue
        if backend.name == "cupy":
            out.append(("gpu", backend))
            continue
        if backend.name in {"torch", "jax"} and backend.is_gpu:  # torch-cuda, jax-gpu
            out.append((f"{backend.name}-{'cuda' if backend.name == 'torch' else 'gpu'}", backend))
            continue
        out.append((backend.name, backend))
    return out


def gpu_skip_reason():
    usable, reason = gpu_status()
    return None if usable else reason


def _data(n_x, m, seed=0):
    rng = np.random.default_rng(seed)
    X_rows = rng.standard_normal((m, n_x))  # estimator layout: rows are samples
    Y = (rng.random((1, m)) > 0.5).astype(np.float64)
    return X_rows, Y


def dot_cases(n, backends, dtypes):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(n), rng.standard_normal(n)
    shape = {"n": n}
    a_list, b_list = a.tolist(), b.tolist()
    yield Case("dot-1e6", "loop", lambda: np.array([loops.dot(a_list, b_list)]), "float64",
               2 * n, "pure-Python for-loop", slow=True, shape=shape)
    for prefix, be in backends:
        for dtype in supported_dtypes(be, dtypes):
            A, B = be.asarray(a, dtype), be.asarray(b, dtype)

            def run(A=A, B=B, be=be):
                out = A @ B
                be.synchronize(out)
                return out  # on the device: the check reads it, the timed call does not
            yield Case("dot-1e6", f"xpnn-{prefix}-{dtype}", run, dtype, 2 * n,
                       device=str(be.device), shape=shape)


def net_step_cases(group, dims, hidden, m, lr, backends, dtypes, *, loop="python", peers_too=True):
    """One gradient step of an L-layer net, in every column (``peers_too``: inline NumPy, torch
    and scikit-learn as well)."""
    X_rows, Y = _data(dims[0], m)
    shape = {"layers": dims, "m": m, "activation": hidden}
    flops = step_flops(dims, m)
    params64 = initialize_parameters(dims, scheme="xavier", seed=0)
    L = len(dims) - 1
    if loop == "python":
        X_list, Y_list = X_rows.T.tolist(), Y[0].tolist()
        p_lists = {k: v.tolist() if k[0] == "W" else v[:, 0].tolist() for k, v in params64.items()}
        yield Case(group, "loop", lambda: loops.network_gradients(
            X_list, Y_list, p_lists, [hidden] * (L - 1)), "float64", flops,
            "pure-Python loops", slow=True, shape=shape)
    elif loop == "per-example":
        activations = network.layer_activations(L, hidden)
        yield Case(group, "loop", lambda: loops.network_gradients_per_example(
            X_rows.T, Y, params64, activations), "float64", flops,
            "per-example loop over NumPy vectors", slow=True, shape=shape)
    for prefix, be in backends:
        step = be.compile(network.step, static_argnames=("activations", "learning_rate"))
        for dtype in supported_dtypes(be, dtypes):
            X, Yb = be.asarray(X_rows, dtype).T, be.asarray(Y, dtype)  # the estimator's view
            params = {k: be.asarray(v, dtype) for k, v in params64.items()}
            activations = tuple(network.layer_activations(L, hidden))
            reused = workspace_for(X, max(dims[1:]), m)  # a training loop's reused arrays, if any

            def run(X=X, Yb=Yb, params=params, activations=activations, be=be, step=step, reused=reused):
                _, grads, _ = step(X, Yb, params, activations=activations, learning_rate=lr, workspace=reused)
                be.synchronize(grads)
                return grads
            yield Case(group, f"xpnn-{prefix}-{dtype}", run, dtype, flops, device=str(be.device),
                       shape=shape)
    if not peers_too:
        return
    for dtype in dtypes:
        yield Case(group, f"inline-numpy-{dtype}",
                   peers.inline_numpy_step(X_rows, Y, params64, hidden, lr, dtype), dtype, flops,
                   "the same math written inline in NumPy", shape=shape)
    yield from peers.torch_step_cases(group, X_rows, Y, params64, hidden, lr, dtypes, flops, shape)
    sk = peers.sklearn_epoch_case(group, X_rows, Y, params64, hidden, lr, flops, shape)
    if sk is not None:
        yield sk


def lr_fit_cases(n_x, m, n_iter, backends, dtypes):
    """A full logistic-regression fit through the estimator (validation, transfer, training)."""
    from ..estimators import LogisticRegression

    X_rows, Y = _data(n_x, m)
    y = Y[0].astype(int)
    group = f"lr-fit-{n_x}x{m}-{n_iter}it"
    shape = {"n_x": n_x, "m": m, "n_iter": n_iter}
    flops = n_iter * step_flops([n_x, 1], m)
    for prefix, be in backends:
        for dtype in supported_dtypes(be, dtypes):
            X = be.asarray(X_rows, dtype)  # on the device already: the fit itself is timed

            def run(X=X, be=be, dtype=dtype):
                model = LogisticRegression(learning_rate=0.005, n_iter=n_iter, backend=be,
                                           dtype=dtype, cost_every=n_iter).fit(X, y)
                return model.params_
            yield Case(group, f"xpnn-{prefix}-{dtype}", run, dtype, flops, "estimator fit",
                       device=str(be.device), shape=shape)
    for dtype in dtypes:
        yield Case(group, f"inline-numpy-{dtype}",
                   peers.inline_numpy_fit(X_rows, Y, n_iter, 0.005, dtype), dtype, flops,
                   "course-style optimize() loop in NumPy", shape=shape)


def minibatch_epoch_cases(m, backends, dtypes, n_x=100, batch_size=64):
    """One epoch of mini-batch gradient descent on [n_x, 16, 1]: its time must grow linearly
    with m (the examples are shuffled into one copy of X per epoch, then sliced)."""
    from ..optimizers import gd
    from ..training import run

    X_rows, Y = _data(n_x, m)
    dims = [n_x, 16, 1]
    group = f"minibatch-epoch-{n_x}x{m}-b{batch_size}"
    shape = {"n_x": n_x, "m": m, "batch_size": batch_size}
    flops = step_flops(dims, m)
    for prefix, be in backends:
        for dtype in supported_dtypes(be, dtypes):
            X, Yb = be.asarray(X_rows, dtype).T, be.asarray(Y, dtype)
            params = initialize_parameters(dims, scheme="he", seed=0, backend=be, dtype=dtype)
            acts, optimizer = network.layer_activations(2, "relu"), gd(0.01)

            def epoch(X=X, Yb=Yb, params=params, acts=acts, be=be, optimizer=optimizer):
                out = run(X, Yb, params, acts, optimizer=optimizer, n_epochs=1, batch_size=batch_size,
                          random_state=0, cost_every=1).params
                be.synchronize(out)
                return out
            yield Case(group, f"xpnn-{prefix}-{dtype}", epoch, dtype, flops, "one epoch",
                       device=str(be.device), shape=shape)


def build_cases(profile="quick", backends=("numpy", "gpu"), dtypes=("float64", "float32")):
    """Every case of the profile, group by group (loop columns first)."""
    p = PROFILES[profile]
    be = xpnn_backends(backends)
    yield from dot_cases(p["dot_n"], be, dtypes)
    for n_x, m in LR_SHAPES:
        yield from net_step_cases(f"lr-step-{n_x}x{m}", [n_x, 1], "sigmoid", m, 0.005, be, dtypes)
    yield from lr_fit_cases(12288, 209, p["fit_iter"], be, dtypes)
    for group, (dims, hidden, m, lr) in NETS.items():
        m = p[m] if isinstance(m, str) else m
        loop = "python" if dims[0] * m < 10**4 else "per-example"
        yield from net_step_cases(group + (f"-m{m}" if group.endswith("big") else ""), dims, hidden,
                                  m, lr, be, dtypes, loop=loop)
    for m in p["epoch_m"]:
        yield from minibatch_epoch_cases(m, be, dtypes)
    yield from mlp_epoch_cases(p["mlp_epoch_m"], be, dtypes)
    yield from mlp_predict_cases(p["predict_m"], be, dtypes)


def gemm_cases(profile, backends, dtypes):
    """The machine's matmul ceiling: an n x n x n product per backend and dtype."""
    n = PROFILES[profile]["gemm_n"]
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    for prefix, be in xpnn_backends(backends):
        for dtype in supported_dtypes(be, dtypes):
            A, B = be.asarray(a, dtype), be.asarray(b, dtype)

            def run(A=A, B=B, be=be):
                C = A @ B
                be.synchronize(C)
                return C
            yield Case("gemm", f"{prefix}-{dtype}", run, dtype, 2.0 * n**3, device=str(be.device),
                       shape={"n": n})
