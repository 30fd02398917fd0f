"""Reference implementations with explicit Python loops — simple, not optimised.

These mirror the course's non-vectorised code: lists and ``math.exp``, one example and
one feature at a time. They are the oracle the tests compare the vectorised code with,
and the "loop" column of the benchmarks.
"""

from __future__ import annotations

import math

__all__ = ["dot", "sigmoid", "log_loss_from_logit", "propagate", "optimize", "network_gradients",
           "network_gradients_per_example", "batch_norm_gradients"]


def dot(a, b):
    """sum_i a[i] * b[i] with a for-loop (the course's first vectorisation demo)."""
    total = 0.0
    for i in range(len(a)):
        total += a[i] * b[i]
    return total


def sigmoid(z):
    """Scalar sigmoid, stable for any z."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def log_loss_from_logit(z, y):
    """-[y log s(z) + (1 - y) log(1 - s(z))] for one example, from its logit."""
    return max(z, 0.0) - z * y + math.log1p(math.exp(-abs(z)))


def propagate(w, b, X, Y):
    """Logistic regression cost and gradients, one example and one feature at a time.

    w : list of n_x floats; b : float; X : n_x lists of m floats; Y : list of m labels.
    Returns (dw list of n_x floats, db float, cost float).
    """
    n_x, m = len(X), len(Y)
    dw, db, total = [0.0] * n_x, 0.0, 0.0
    for i in range(m):
        z = b
        for j in range(n_x):
            z += w[j] * X[j][i]
        a = sigmoid(z)
        total += log_loss_from_logit(z, Y[i])
        dz = a - Y[i]
        for j in range(n_x):
            dw[j] += X[j][i] * dz
        db += dz
    return [d / m for d in dw], db / m, total / m


def optimize(w, b, X, Y, n_iter, learning_rate):
    """Gradient descent with :func:`propagate`. Returns (w, b, costs at every iteration)."""
    costs = []
    for _ in range(n_iter):
        dw, db, cost = propagate(w, b, X, Y)
        costs.append(cost)
        w = [wj - learning_rate * dwj for wj, dwj in zip(w, dw)]
        b = b - learning_rate * db
    return w, b, costs


SCALAR_ACTIVATIONS = {  # name -> (g(z), g'(z)) on Python floats
    "sigmoid": (sigmoid, lambda z: sigmoid(z) * (1.0 - sigmoid(z))),
    "tanh": (math.tanh, lambda z: 1.0 - math.tanh(z) ** 2),
    "relu": (lambda z: max(z, 0.0), lambda z: 1.0 if z > 0 else 0.0),
    "leaky_relu": (lambda z: z if z > 0 else 0.01 * z, lambda z: 1.0 if z > 0 else 0.01),
    "identity": (lambda z: z, lambda z: 1.0),
}


def network_gradients(X, Y, params, hidden):
    """L-layer gradients with Python floats: one example, one unit, one weight at a time.

    X : n_x lists of m floats; Y : list of m labels; params : {"W1": list of rows, "b1": list
    of floats, ...}; hidden : one activation name per hidden layer (the output is a sigmoid).
    Returns {"dW1": rows, "db1": list, ...} of the mean BCE cost.
    """
    L, m = len(params) // 2, len(Y)
    names = list(hidden) + ["sigmoid"]
    grads = {f"d{k}": [[0.0] * len(r) for r in v] if k[0] == "W" else [0.0] * len(v)
             for k, v in params.items()}
    for i in range(m):
        a, zs, activations = [row[i] for row in X], [], []
        for l in range(1, L + 1):
            g = SCALAR_ACTIVATIONS[names[l - 1]][0]
            W, b = params[f"W{l}"], params[f"b{l}"]
            activations.append(a)
            z = [b[j] + sum(W[j][k] * a[k] for k in range(len(a))) for j in range(len(W))]
            zs.append(z)
            a = [g(v) for v in z]
        dz = [(a[0] - Y[i]) / m]
        for l in range(L, 0, -1):
            a_prev, W = activations[l - 1], params[f"W{l}"]
            for j in range(len(dz)):
                grads[f"db{l}"][j] += dz[j]
                for k in range(len(a_prev)):
                    grads[f"dW{l}"][j][k] += dz[j] * a_prev[k]
            if l > 1:
                g_prime = SCALAR_ACTIVATIONS[names[l - 2]][1]
                dz = [sum(W[j][k] * dz[j] for j in range(len(dz))) * g_prime(zs[l - 2][k])
                      for k in range(len(a_prev))]
    return grads


def network_gradients_per_example(X, Y, params, activations):
    """L-layer gradients accumulated one example (column) at a time, each as array vectors.

    The loop reference for nets too large for pure Python: every example runs its own
    forward and backward with matrix-vector products. Same result as
    :func:`xpnn.network.backward`; returns the grads dict.
    """
    L, m = len(activations), X.shape[1]
    grads = {f"d{k}": 0.0 * p for k, p in params.items()}
    for i in range(m):
        A, cache = X[:, i:i + 1], []
        for l in range(1, L + 1):
            Z = params[f"W{l}"] @ A + params[f"b{l}"]
            cache.append((A, Z))
            A = activations[l - 1].forward(Z)
        dZ = (A - Y[:, i:i + 1]) / m
        for l in range(L, 0, -1):
            A_prev, Z = cache[l - 1]
            grads[f"dW{l}"] = grads[f"dW{l}"] + dZ @ A_prev.T
            grads[f"db{l}"] = grads[f"db{l}"] + dZ
            if l > 1:
                dZ = (params[f"W{l}"].T @ dZ) * activations[l - 2].derivative(cache[l - 2][1], A_prev)
    return grads


def batch_norm_gradients(X, Y, params, hidden, epsilon=1e-5):
    """L-layer gradients with every hidden layer batch-normalised, in Python floats: a layer at
    a time (its statistics need all the examples), one example, unit and weight at a time.

    X : n_x lists of m floats; Y : list of m labels; params : {"W1": rows, "gamma1": list,
    "beta1": list, ..., "WL": rows, "bL": list}; hidden : one activation name per hidden layer
    (the output is a sigmoid, mean BCE cost). Returns {"dW1": rows, "dgamma1": list, "dbeta1":
    list, ..., "dbL": list}.
    """
    L, m = sum(k[0] == "W" for k in params), len(Y)
    A = [[row[i] for row in X] for i in range(m)]  # A[i]: example i's activations
    layers = []
    for l in range(1, L + 1):
        W = params[f"W{l}"]
        Z = [[sum(W[j][k] * a[k] for k in range(len(a))) for j in range(len(W))] for a in A]
        if l == L:
            Zt = [[z[j] + params[f"b{l}"][j] for j in range(len(W))] for z in Z]
            layers.append((A, Zt, None, None))
            A = [[sigmoid(v) for v in z] for z in Zt]
            break
        mean = [sum(z[j] for z in Z) / m for j in range(len(W))]
        var = [sum((z[j] - mean[j]) ** 2 for z in Z) / m for j in range(len(W))]
        Zhat = [[(z[j] - mean[j]) / math.sqrt(var[j] + epsilon) for j in range(len(W))] for z in Z]
        Zt = [[params[f"gamma{l}"][j] * zh[j] + params[f"beta{l}"][j] for j in range(len(W))] for zh in Zhat]
        layers.append((A, Zt, Zhat, var))
        g = SCALAR_ACTIVATIONS[hidden[l - 1]][0]
        A = [[g(v) for v in z] for z in Zt]
    dZt = [[(A[i][0] - Y[i]) / m] for i in range(m)]
    grads = {}
    for l in range(L, 0, -1):
        A_prev, _, Zhat, var = layers[l - 1]
        W, n = params[f"W{l}"], len(params[f"W{l}"])
        if Zhat is None:
            grads[f"db{l}"] = [sum(dZt[i][j] for i in range(m)) for j in range(n)]
            dZ = dZt
        else:
            gamma = params[f"gamma{l}"]
            dgamma = [sum(dZt[i][j] * Zhat[i][j] for i in range(m)) for j in range(n)]
            dbeta = [sum(dZt[i][j] for i in range(m)) for j in range(n)]
            grads[f"dgamma{l}"], grads[f"dbeta{l}"] = dgamma, dbeta
            scale = [gamma[j] / math.sqrt(var[j] + epsilon) for j in range(n)]
            dZ = [[scale[j] * (dZt[i][j] - (dbeta[j] + Zhat[i][j] * dgamma[j]) / m) for j in range(n)]
                  for i in range(m)]
        grads[f"dW{l}"] = [[sum(dZ[i][j] * A_prev[i][k] for i in range(m)) for k in range(len(A_prev[0]))]
                           for j in range(n)]
        if l > 1:
            g_prime = SCALAR_ACTIVATIONS[hidden[l - 2]][1]
            Zt_prev = layers[l - 2][1]
            dZt = [[sum(W[j][k] * dZ[i][j] for j in range(n)) * g_prime(Zt_prev[i][k])
                    for k in range(len(A_prev[0]))] for i in range(m)]
    return grads
