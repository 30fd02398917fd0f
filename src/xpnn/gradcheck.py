"""Centred finite differences over a flat parameter vector, for checking backprop."""

from __future__ import annotations

from .backend import device_of, namespace
from .network import backward, cost, forward
from .normalization import trainable

__all__ = ["gradient_check", "flatten", "unflatten"]


def flatten(params):
    """All parameters as one vector, in the order W1, b1, W2, b2, ..."""
    xp = namespace(*params.values())
    return xp.concat([xp.reshape(p, (-1,)) for p in params.values()])


def unflatten(theta, like):
    """The inverse of :func:`flatten`: a params dict shaped like ``like``."""
    xp = namespace(theta)
    out, start = {}, 0
    for key, p in like.items():
        size = p.shape[0] * p.shape[1]
        out[key] = xp.reshape(theta[start:start + size], p.shape)
        start += size
    return out


def gradient_check(X, Y, params, activations, epsilon=1e-7, *, head="sigmoid", S=None, alpha=0.0,
                   masks=None):
    """Relative error ||g - g_approx|| / (||g|| + ||g_approx||) between backprop and
    centred differences (J(theta + eps e_i) - J(theta - eps e_i)) / (2 eps), for the cost of
    ``head`` (weighted by S (1, m) when given; ``activations`` must end with the head's), with
    the L2 term ``alpha`` and fixed dropout ``masks`` when given, through batch norm's batch
    statistics where ``params`` has it (γ and β are checked; the running statistics are not
    trained).

    Costs 2 forward passes per parameter: for tiny nets only. Returns a float.
    """
    xp = namespace(X, *params.values())
    options = dict(head=head, S=S, alpha=alpha, masks=masks)
    AL, caches = forward(X, params, activations, masks, S=S, training=True)
    grads = backward(AL, Y, caches, params, activations, **options)
    params = trainable(params)  # batch norm's running statistics are not differentiated
    analytic = flatten({f"d{k}": grads[f"d{k}"] for k in params})
    theta = flatten(params)
    approx, index = [], xp.arange(theta.shape[0], device=device_of(theta))
    for i in range(theta.shape[0]):
        bump = xp.where(index == i, epsilon, 0.0)  # no in-place write: JAX arrays are immutable
        plus = cost(X, Y, unflatten(theta + bump, params), activations, **options)
        minus = cost(X, Y, unflatten(theta - bump, params), activations, **options)
        approx.append((plus - minus) / (2 * epsilon))
    approx = xp.stack(approx)
    numerator = xp.linalg.vector_norm(analytic - approx)
    denominator = xp.linalg.vector_norm(analytic) + xp.linalg.vector_norm(approx)
    return float(numerator / denominator)
