"""Activation functions and their derivatives, one registry by name.

Each entry is an :class:`Activation` ``(forward, derivative)``: ``forward(Z) -> A`` and
``derivative(Z, A) -> g'(Z)``, where ``A = forward(Z)`` is passed in so that sigmoid and
tanh reuse it (Nielsen, numpy-ml). All functions are elementwise on any array-API array.
"""

from __future__ import annotations

import functools
import math
import operator
from typing import Any, Callable, NamedTuple

from ._layout import elementwise
from .backend import namespace, scalar

__all__ = ["get_activation", "sigmoid", "tanh", "relu", "leaky_relu", "identity", "ACTIVATIONS", "ALIASES",
           "canonical", "Activation"]


class Activation(NamedTuple):
    """An activation: ``forward(Z) -> A`` and ``derivative(Z, A) -> g'(Z)``; optionally
    ``backward(dA, Z, A) -> dA * g'(Z)`` as one fused kernel (one launch on a GPU instead of
    one per operation), the same numbers as multiplying by the derivative (A may be None:
    recomputed from Z where needed); optionally ``into(Z, workspace, key) -> A``, the forward
    pass's operations written into a training step's reused array (see
    :func:`xpnn.backend.workspace_for`), the same numbers as ``forward``, and
    ``backward_into(dA, Z, A, workspace, key)``, ``backward``'s with its temporaries there."""

    forward: Callable[[Any], Any]
    derivative: Callable[[Any, Any], Any]
    backward: Callable[[Any, Any, Any], Any] | None = None
    into: Callable[[Any, Any, Any], Any] | None = None
    backward_into: Callable[[Any, Any, Any, Any, Any], Any] | None = None


def sigmoid(Z):
    """1 / (1 + exp(-Z)), the course's formula, with -Z capped so that exp never overflows.

    Within a few ulp in both tails (bit for bit the course's NumPy expression) down to
    Z = log(smallest normal) (-708.4 in float64, -87.3 in float32); below that the result stays
    at about the smallest normal number (2.2e-308, 1.2e-38) instead of underflowing to 0."""
    return _SIGMOID(Z, _exp_cap(namespace(Z), Z.dtype))


def _sigmoid(xp, Z, cap):
    return 1.0 / (xp.exp(xp.minimum(-Z, scalar(cap, Z))) + 1.0)


_SIGMOID = elementwise(_sigmoid, "xpnn_sigmoid")  # one fused kernel on CuPy


def _sigmoid_into(Z, workspace, key):
    """:func:`sigmoid`'s operations, in its order, each written into the workspace's array."""
    A = workspace.apply(key, "negative", Z)
    for name, *args in (("minimum", _exp_cap(namespace(Z), Z.dtype)), ("exp",), ("add", 1.0)):
        A = workspace.apply(key, name, A, *args)
    return workspace.apply(key, "divide", 1.0, A)


@functools.lru_cache(maxsize=16)
def _exp_cap(xp, dtype):
    """-log(smallest normal number) of ``dtype``: exp of it is finite and 1 / (1 + exp) normal."""
    return -math.log(float(xp.finfo(dtype).smallest_normal))


def sigmoid_prime(Z, A=None):
    """sigmoid'(Z) = A (1 - A), with A = sigmoid(Z) reused when given."""
    A = sigmoid(Z) if A is None else A
    D = 1.0 - A
    D *= A
    return D


def tanh(Z):
    """tanh(Z), elementwise."""
    return namespace(Z).tanh(Z)


def tanh_prime(Z, A=None):
    """tanh'(Z) = 1 - A², with A = tanh(Z) reused when given."""
    A = tanh(Z) if A is None else A
    return 1.0 - A * A


def relu(Z):
    """max(Z, 0), elementwise (NaN stays NaN)."""
    return namespace(Z).maximum(Z, scalar(0.0, Z))  # NaN stays NaN (no where() that zeroes it)


def relu_prime(Z, A=None):
    """1 where Z > 0, else 0 (the subgradient 0 at Z = 0)."""
    xp = namespace(Z)
    return xp.astype(Z > 0, Z.dtype)


def leaky_relu(Z, slope=0.01):
    """Z where Z > 0, else slope * Z."""
    xp = namespace(Z)
    return xp.where(Z > 0, Z, slope * Z)


def leaky_relu_prime(Z, A=None, slope=0.01):
    """1 where Z > 0, else slope."""
    xp = namespace(Z)
    return xp.where(Z > 0, xp.ones_like(Z), slope)


def identity(Z):
    """Z itself (the regression head's output activation)."""
    return Z


def identity_prime(Z, A=None):
    """Ones shaped like Z."""
    return namespace(Z).ones_like(Z)


# dA g'(Z): one fused kernel on CuPy; on NumPy multiplied into dA, a product the backward pass
# has just made (the derivative's arrays, as the course computes them)
_SIGMOID_BACKWARD = elementwise(lambda xp, dA, A: dA * ((1.0 - A) * A), "xpnn_sigmoid_backward",
                                lambda dA, A: operator.imul(dA, (1.0 - A) * A))
_TANH_BACKWARD = elementwise(lambda xp, dA, A: dA * (1.0 - A * A), "xpnn_tanh_backward",
                             lambda dA, A: operator.imul(dA, 1.0 - A * A))
_RELU_BACKWARD = elementwise(lambda xp, dA, Z: dA * xp.astype(Z > 0, dA.dtype), "xpnn_relu_backward",
                             lambda dA, Z: operator.imul(dA, Z > 0))

ACTIVATIONS = {
    "sigmoid": Activation(sigmoid, sigmoid_prime,
                          lambda dA, Z, A: _SIGMOID_BACKWARD(dA, sigmoid(Z) if A is None else A),
                          _sigmoid_into),
    "tanh": Activation(tanh, tanh_prime, lambda dA, Z, A: _TANH_BACKWARD(dA, tanh(Z) if A is None else A),
                       lambda Z, workspace, key: workspace.apply(key, "tanh", Z)),
    "relu": Activation(relu, relu_prime, lambda dA, Z, A: _RELU_BACKWARD(dA, Z),
                       lambda Z, workspace, key: workspace.apply(key, "maximum", Z, 0.0),
                       lambda dA, Z, A, workspace, key: operator.imul(
                           dA, workspace.apply(key, "greater", Z, 0.0, dtype="bool"))),
    "leaky_relu": Activation(leaky_relu, leaky_relu_prime),
    "identity": Activation(identity, identity_prime, lambda dA, Z, A: dA),
}
_PARAMETERS = {"leaky_relu": {"slope"}}
ALIASES = {"logistic": "sigmoid"}  # scikit-learn's name for the sigmoid


class _Names:
    """Every name an estimator's ``activation`` takes: the table's and the aliases, read at
    check time (an activation added to ``ACTIVATIONS`` is accepted at once, by every estimator)."""

    def __contains__(self, name):
        return name in ACTIVATIONS or name in ALIASES

    def __iter__(self):
        return iter({*ACTIVATIONS, *ALIASES})


NAMES = _Names()


def canonical(name):
    """The table's name for ``name`` ("logistic" is "sigmoid")."""
    return ALIASES.get(name, name)


def get_activation(name: str, **params) -> Activation:
    """The (forward, derivative) pair for ``name``; ``params`` e.g. ``slope`` for leaky_relu.

    Raises
    ------
    ValueError
        Unknown name (the valid names are listed) or a parameter the activation lacks.
    """
    if isinstance(name, Activation):
        return name
    try:
        activation = ACTIVATIONS[canonical(name)]
    except (KeyError, TypeError):
        raise ValueError(f"unknown activation {name!r}; choose from {sorted(ACTIVATIONS)}") from None
    unknown = set(params) - _PARAMETERS.get(name, set())
    if unknown:
        raise ValueError(f"activation {name!r} takes no parameter(s) {sorted(unknown)}")
    if not params:
        return activation
    return Activation(functools.partial(activation.forward, **params),
                      functools.partial(activation.derivative, **params))
