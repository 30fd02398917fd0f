"""Output heads: the last layer's activation, its cost computed stably from the logits, and dZ[L].

Each entry of ``HEADS`` is a :class:`Head` ``(name, activation, loss, dZ, score)`` for Y of shape
(k, m):

- ``"sigmoid"``: k independent sigmoid units with binary cross-entropy (binary classification
  for k = 1, as in the course; multilabel for k > 1);
- ``"softmax"``: softmax over k classes with categorical cross-entropy (multi-class);
- ``"identity"``: linear output with half the squared error, as the course writes it (regression);
- ``"poisson"``: exp output with half the Poisson deviance (counts; scikit-learn's
  ``MLPRegressor(loss="poisson")``).

``loss(Z, Y)`` is each example's loss (1, m) from the logits, finite for any finite Z; the cost
is its mean, or with per-example weights S (1, m) the weighted mean Σ S·loss / Σ S, so integer
weights give the gradients of the data with rows repeated. Each pairs an activation with
its canonical loss, so ``dZ(A, Y) = A - Y`` for each: the derivative of one example's loss with
respect to its logits (the 1/m or S / Σ S is applied once, in :func:`cost_gradient`).
"""

from __future__ import annotations

import operator
from typing import Any, Callable, NamedTuple

from ._layout import elementwise
from .activations import identity, sigmoid
from .backend import namespace, scalar

__all__ = ["Head", "get_head", "cost_from_logits", "cost_gradient", "binary_cross_entropy_loss", "softmax",
           "log_softmax", "categorical_cross_entropy_loss", "half_squared_error_loss",
           "half_poisson_deviance_loss", "exp", "sigmoid_accuracy", "softmax_accuracy", "r2", "total_weight"]


class Head(NamedTuple):
    """Everything an output head means; the rest of xpnn asks the head rather than its name."""
    name: str
    activation: Callable[[Any], Any]  # Z (k, m) -> A (k, m)
    loss: Callable[[Any, Any], Any]   # Z, Y (k, m) -> each example's loss (1, m)
    dZ: Callable[[Any, Any], Any]     # A, Y (k, m) -> d loss / d Z (k, m), per example, a new array
    score: Callable[[Any, Any], Any]  # Z, Y (k, m) -> 0-d array: accuracy, or R² (regression)
    n_classes: Callable[[int], Any]   # units k -> the class count it predicts; None: regression
    class_index: Callable[[Any], Any]  # Y (k, m) -> each example's class (m,); None: no single class


def binary_cross_entropy_loss(Z, Y):
    """-[y log s(z) + (1-y) log(1-s(z))] = max(z, 0) - z y + log1p(exp(-abs(z))), summed over the
    k units: (1, m), finite for any z."""
    loss = _BCE(Z, Y)
    return loss if loss.shape[0] == 1 else namespace(loss).sum(loss, axis=0, keepdims=True)


def _bce(xp, Z, Y):
    return xp.maximum(Z, scalar(0.0, Z)) - Z * Y + xp.log1p(xp.exp(-xp.abs(Z)))


_BCE = elementwise(_bce, "xpnn_binary_cross_entropy")  # one fused kernel on CuPy


def softmax(Z):
    """exp(Z - max Z) / Σ exp(Z - max Z) over the k rows of Z (k, m): no overflow."""
    xp = namespace(Z)
    E = xp.exp(Z - xp.max(Z, axis=0, keepdims=True))
    return E / xp.sum(E, axis=0, keepdims=True)


def log_softmax(Z):
    """Z - logsumexp(Z) over the k rows, with the max subtracted first: finite for abs(Z) ~ 1e4;
    a gap beyond the dtype's range (logits of +-1e308) stays at its lowest finite value, so that
    0 * log p is 0, never NaN."""
    xp = namespace(Z)
    shifted = xp.maximum(Z - xp.max(Z, axis=0, keepdims=True), -xp.finfo(Z.dtype).max)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=0, keepdims=True))


def categorical_cross_entropy_loss(Z, Y):
    """-Σ_k y_k log softmax(z)_k per example: (1, m)."""
    xp = namespace(Z, Y)
    return -xp.sum(Y * log_softmax(Z), axis=0, keepdims=True)


def half_squared_error_loss(Z, Y):
    """½ Σ_k (z_k - y_k)² per example: (1, m); the cost 1/(2m) Σ (ŷ - y)² of the course."""
    xp = namespace(Z, Y)
    D = Z - Y
    return 0.5 * xp.sum(D * D, axis=0, keepdims=True)


def exp(Z):
    """The Poisson head's output, exp(Z): the mean of a count (log link)."""
    return namespace(Z).exp(Z)


def half_poisson_deviance_loss(Z, Y):
    """exp(z) - y z summed over the k outputs: (1, m); half the Poisson deviance of exp(z)
    against y up to terms in y alone (scikit-learn's MLPRegressor(loss="poisson"))."""
    xp = namespace(Z, Y)
    return xp.sum(xp.exp(Z) - Y * Z, axis=0, keepdims=True)


def _residual(A, Y):
    return A - Y


_RESIDUAL_OVER = elementwise(lambda xp, A, Y, m: (A - Y) / m, "xpnn_residual_over_m",
                             lambda A, Y, m: operator.itruediv(A - Y, m))  # NumPy: A - Y divided in place


def sigmoid_accuracy(Z, Y):
    """Share of examples with every unit on the right side of 0.5 (one unit: plain accuracy)."""
    xp = namespace(Z, Y)
    right = xp.all((Z > 0) == (Y > 0.5), axis=0)
    return xp.mean(xp.astype(right, Z.dtype))


def softmax_accuracy(Z, Y):
    """Share of examples whose largest logit is the one-hot class."""
    xp = namespace(Z, Y)
    return xp.mean(xp.astype(xp.argmax(Z, axis=0) == xp.argmax(Y, axis=0), Z.dtype))


def r2(Z, Y, S=None):
    """R² of predictions Z against Y (k, m), weighted by S (1, m) when given, averaged over the
    k outputs (scikit-learn's definition): 1 - Σ S (y - z)² / Σ S (y - ȳ)²; an output whose y
    is constant scores 1 if predicted exactly, else 0 (as scikit-learn does)."""
    xp = namespace(Z, Y)
    scale = xp.max(xp.abs(Y), axis=1, keepdims=True)  # R² is scale-free: no overflow near 1e300
    scale = xp.where(scale > 0, scale, 1.0)
    Y, Z = Y / scale, Z / scale
    if S is None:  # no array of ones: nothing is made here, so nothing lands on another device
        mean = xp.mean(Y, axis=1, keepdims=True)
        residual, total = xp.sum((Y - Z) ** 2, axis=1), xp.sum((Y - mean) ** 2, axis=1)
    else:
        mean = xp.sum(S * Y, axis=1, keepdims=True) / xp.sum(S)
        residual, total = xp.sum(S * (Y - Z) ** 2, axis=1), xp.sum(S * (Y - mean) ** 2, axis=1)
    varies = total > 0
    exact = xp.astype(residual == 0, Y.dtype)
    return xp.mean(xp.where(varies, 1.0 - residual / xp.where(varies, total, 1.0), exact))


def _one_class_or_labels(k):
    return 2 if k == 1 else k


def _binary_index(Y):
    xp = namespace(Y)
    return xp.astype(Y[0, :] > 0.5, xp.int64) if Y.shape[0] == 1 else None


def _argmax_index(Y):
    return namespace(Y).argmax(Y, axis=0)


HEADS = {
    "sigmoid": Head("sigmoid", sigmoid, binary_cross_entropy_loss, _residual, sigmoid_accuracy,
                    _one_class_or_labels, _binary_index),
    "softmax": Head("softmax", softmax, categorical_cross_entropy_loss, _residual, softmax_accuracy,
                    lambda k: k, _argmax_index),
    "identity": Head("identity", identity, half_squared_error_loss, _residual, r2,
                     lambda k: None, lambda Y: None),
    "poisson": Head("poisson", exp, half_poisson_deviance_loss, _residual, lambda Z, Y: r2(exp(Z), Y),
                    lambda k: None, lambda Y: None),
}

# the head each kind of target trains (scikit-learn's names for the kinds of y)
HEAD_FOR_TARGET = {"binary": "sigmoid", "multiclass": "softmax", "multilabel-indicator": "sigmoid",
                   "continuous": "identity"}


def get_head(name) -> Head:
    """The :class:`Head` for ``name`` (a Head is returned as it is)."""
    if isinstance(name, Head):
        return name
    try:
        return HEADS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown head {name!r}; choose from {sorted(HEADS)}") from None


def cost_from_logits(Z, Y, head="sigmoid", S=None):
    """The cost of logits Z (k, m) against Y (k, m) as a 0-d array on the device: the mean of
    each example's loss, or Σ S·loss / Σ S with per-example weights S (1, m)."""
    xp = namespace(Z, Y)
    loss = get_head(head).loss(Z, Y)
    if S is None:  # one loss per example: its mean (one reduction, the same numbers as sum / m)
        return xp.mean(loss) if loss.shape[0] == 1 else xp.sum(loss) / Z.shape[-1]
    return xp.sum(S * loss) / total_weight(S)


def cost_gradient(A, Y, head="sigmoid", S=None):
    """dZ[L] (k, m) of the cost: dZ(A, Y) / m, or S·dZ(A, Y) / Σ S with weights S (1, m)."""
    head = get_head(head)
    if S is None and head.dZ is _residual:  # (A - Y) / m as one fused kernel
        return _RESIDUAL_OVER(A, Y, A.shape[1])
    dZ = head.dZ(A, Y)  # a new array: scaled in place
    if S is None:
        dZ /= A.shape[1]
    else:
        dZ *= S / total_weight(S)
    return dZ


def total_weight(S):
    """Σ S, plus the dtype's smallest normal number: a mini-batch whose weights are all 0 then
    contributes a zero gradient instead of 0/0 (the sum is unchanged for any other batch)."""
    xp = namespace(S)
    return xp.sum(S) + float(xp.finfo(S.dtype).smallest_normal)
