"""Peers doing the same math: plain inline NumPy (course style), torch (manual and autograd,
CPU and CUDA) and scikit-learn's MLPClassifier. Optional: a peer that is not installed is
left out of the run and the report says so."""

from __future__ import annotations

import numpy as np

from .case import Case

_NP_ACT = {
    "sigmoid": (lambda Z: 1 / (1 + np.exp(-Z)), None),
    "tanh": (np.tanh, lambda Z, A: 1 - A * A),
    "relu": (lambda Z: np.maximum(Z, 0), lambda Z, A: (Z > 0).astype(Z.dtype)),
}


def inline_numpy_step(X_rows, Y, params64, hidden, lr, dtype):
    """A course-style L-layer step written out in NumPy: no registry, no namespace lookup."""
    X = X_rows.astype(dtype, copy=False).T  # the very array xpnn gets, where dtypes agree
    Y = Y.astype(dtype)
    P = {k: v.astype(dtype) for k, v in params64.items()}
    L = len(P) // 2
    g, g_prime = _NP_ACT[hidden]

    def run():
        A, cache = X, []
        for l in range(1, L + 1):
            Z = P[f"W{l}"] @ A + P[f"b{l}"]
            cache.append((A, Z))
            A = g(Z) if l < L else 1 / (1 + np.exp(-Z))
        dZ = (A - Y) / X.shape[1]
        grads = {}
        for l in range(L, 0, -1):
            A_prev, _ = cache[l - 1]
            grads[f"dW{l}"] = dZ @ A_prev.T
            grads[f"db{l}"] = np.sum(dZ, axis=1, keepdims=True)
            if l > 1:
                dZ = (P[f"W{l}"].T @ dZ) * g_prime(cache[l - 2][1], A_prev)
        _updated = {key: P[key] - lr * grads[f"d{key}"] for key in P}  # the update, as in a step
        return grads
    return run


def inline_numpy_fit(X_rows, Y, n_iter, lr, dtype):
    """The course's ``optimize`` for logistic regression, inline in NumPy, zero init."""
    X = X_rows.astype(dtype, copy=False).T
    Y = Y.astype(dtype)

    def run():
        w, b, m = np.zeros((1, X.shape[0]), dtype), np.zeros((1, 1), dtype), X.shape[1]
        for _ in range(n_iter):
            A = 1 / (1 + np.exp(-(w @ X + b)))
            dZ = A - Y
            w = w - lr * (dZ @ X.T) / m
            b = b - lr * np.sum(dZ, axis=1, keepdims=True) / m
        return {"W1": w, "b1": b}
    return run


def inline_numpy_mlp_epoch(X_rows, y, hidden, batch, dtype, alpha=1e-4, lr=1e-3):
    """scikit-learn's MLPClassifier epoch (one relu layer of ``hidden`` units, logistic output,
    Adam, batches of ``batch`` in order, no shuffle), written out in NumPy: its Glorot draws
    from RandomState(0), its gradients (L2 ``alpha``, means over the batch), its Adam, and each
    batch's loss as it accumulates it (the work of its ``loss_curve_``, as xpnn's). Returns the
    weights (fan_in, fan_out), as ``coefs_``."""
    X = X_rows.astype(dtype, copy=False)
    Y = y.astype(dtype).reshape(-1, 1)
    m, n_x = X.shape

    def run():
        rs, params = np.random.RandomState(0), []
        for fan_in, fan_out in ((n_x, hidden), (hidden, 1)):
            bound = np.sqrt(6.0 / (fan_in + fan_out))  # scikit-learn's factor for relu units
            params += [rs.uniform(-bound, bound, (fan_in, fan_out)), rs.uniform(-bound, bound, fan_out)]
        params = [p.astype(dtype) for p in params]
        first, second = [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params]
        loss = 0.0  # computed as both estimators compute it; the check compares the weights
        for t, start in enumerate(range(0, m, batch), start=1):
            xb, yb = X[start:start + batch], Y[start:start + batch]
            n = xb.shape[0]
            a1 = np.maximum(xb @ params[0] + params[1], 0)
            z2 = a1 @ params[2] + params[3]
            p = 1 / (1 + np.exp(-z2))
            eps = np.finfo(dtype).eps
            q = np.clip(p, eps, 1 - eps)
            loss += -np.mean(yb * np.log(q) + (1 - yb) * np.log(1 - q)) * n
            d2 = p - yb
            d1 = (d2 @ params[2].T) * (a1 > 0)
            grads = [(xb.T @ d1 + alpha * params[0]) / n, d1.mean(axis=0),
                     (a1.T @ d2 + alpha * params[2]) / n, d2.mean(axis=0)]
            rate = lr * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
            for i, g in enumerate(grads):
                first[i] = 0.9 * first[i] + 0.1 * g
                second[i] = 0.999 * second[i] + 0.001 * g * g
                params[i] = params[i] - rate * first[i] / (np.sqrt(second[i]) + 1e-8)
        del loss
        return {"W0": params[0], "W1": params[2]}
    return run


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def torch_step_cases(group, X_rows, Y, params64, hidden, lr, dtypes, flops, shape):
    """torch doing the same step: manual backprop and autograd, on CPU and (if usable) CUDA."""

    torch = _torch()
    if torch is None:
        return
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
        for dtype in dtypes:
            tdtype = getattr(torch, dtype)
            X = torch.asarray(X_rows, dtype=tdtype, device=device).T
            Yt = torch.asarray(Y, dtype=tdtype, device=device)
            P = {k: torch.asarray(v, dtype=tdtype, device=device) for k, v in params64.items()}
            for kind, make in (("manual", _torch_manual), ("autograd", _torch_autograd)):
                yield Case(group, f"torch-{device}-{kind}-{dtype}", make(torch, X, Yt, P, hidden, lr, sync),
                           dtype, flops, f"torch {torch.__version__} {kind}", device=device, shape=shape)


def _torch_act(torch, hidden):
    return {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}[hidden]


def _torch_manual(torch, X, Y, P, hidden, lr, sync):
    g = _torch_act(torch, hidden)
    L = len(P) // 2

    def run():
        A, cache = X, []
        for l in range(1, L + 1):
            Z = torch.addmm(P[f"b{l}"], P[f"W{l}"], A)
            cache.append((A, Z))
            A = g(Z) if l < L else torch.sigmoid(Z)
        dZ = (A - Y) / X.shape[1]
        grads = {}
        for l in range(L, 0, -1):
            A_prev, _ = cache[l - 1]
            grads[f"dW{l}"] = dZ @ A_prev.T
            grads[f"db{l}"] = dZ.sum(dim=1, keepdim=True)
            if l > 1:
                dA = P[f"W{l}"].T @ dZ
                dZ = dA * (1 - A_prev * A_prev) if hidden == "tanh" else dA * (A_prev > 0)
        _updated = {k: P[k] - lr * grads[f"d{k}"] for k in P}
        sync()
        return grads
    return run


def _torch_autograd(torch, X, Y, P, hidden, lr, sync):
    g = _torch_act(torch, hidden)
    L = len(P) // 2
    leaves = {k: v.clone().requires_grad_(True) for k, v in P.items()}

    def run():
        A = X
        for l in range(1, L + 1):
            Z = torch.addmm(leaves[f"b{l}"], leaves[f"W{l}"], A)
            A = g(Z) if l < L else Z
        loss = torch.nn.functional.binary_cross_entropy_with_logits(A, Y)
        grads = torch.autograd.grad(loss, list(leaves.values()))
        with torch.no_grad():
            _updated = {k: v - lr * d for (k, v), d in zip(leaves.items(), grads)}
        sync()
        return {f"d{k}": d for k, d in zip(leaves, grads)}
    return run


def sklearn_epoch_case(group, X_rows, Y, params64, hidden, lr, flops, shape):
    """One full-batch epoch of MLPClassifier (plain SGD, no momentum or penalty), started from
    our weights so the step it takes can be checked against ours."""
    try:
        from sklearn.neural_network import MLPClassifier
    except ImportError:
        return None

    L = len(params64) // 2
    sizes = tuple(params64[f"W{l}"].shape[0] for l in range(1, L))
    y = Y[0].astype(int)
    clf = MLPClassifier(hidden_layer_sizes=sizes, activation="logistic" if hidden == "sigmoid" else hidden,
                        solver="sgd", batch_size=len(y), learning_rate_init=lr, momentum=0.0,
                        nesterovs_momentum=False, alpha=0.0, shuffle=False, max_iter=1)
    clf.partial_fit(X_rows, y, classes=[0, 1])

    def run():
        clf.coefs_ = [params64[f"W{l}"].T.copy() for l in range(1, L + 1)]
        clf.intercepts_ = [params64[f"b{l}"][:, 0].copy() for l in range(1, L + 1)]
        clf.partial_fit(X_rows, y)
        grads = {}
        for l in range(1, L + 1):
            grads[f"dW{l}"] = (params64[f"W{l}"] - clf.coefs_[l - 1].T) / lr
            grads[f"db{l}"] = (params64[f"b{l}"][:, 0] - clf.intercepts_[l - 1])[:, None] / lr
        return grads
    import sklearn

    return Case(group, "sklearn-mlp-float64", run, "float64", flops,
                f"scikit-learn {sklearn.__version__} MLPClassifier, one full-batch epoch", shape=shape)
