"""The course's own function names, for students who look for them: the deep-net assignment's
steps (``initialize_parameters_deep``, ``L_model_forward``, ``compute_cost``,
``L_model_backward``, ``update_parameters``, ``predict``) as thin calls of xpnn's core, in the
course's layout (X (n_x, m), Y (1, m)), with relu hidden units and a sigmoid output as in the
assignment. They run on any backend the arrays come from.

The course's name and xpnn's function it calls:

- ``initialize_parameters_deep(layer_dims)``: :func:`xpnn.initializers.initialize_parameters`
- ``L_model_forward(X, parameters)``: :func:`xpnn.network.forward`
- ``compute_cost(AL, Y)``: :func:`xpnn.network.cost` (which works from X, stably from the logits)
- ``L_model_backward(AL, Y, caches)``: :func:`xpnn.network.backward`
- ``update_parameters(parameters, grads, learning_rate)``: ``xpnn.optimizers.gd(lr).update``
- ``predict(X, parameters)``: ``DeepNet.predict`` (1 where P > 0.5)
"""

from __future__ import annotations

from .backend import namespace
from .initializers import initialize_parameters
from .network import backward, forward, layer_activations, n_layers
from .optimizers import gd

__all__ = ["initialize_parameters_deep", "L_model_forward", "compute_cost", "L_model_backward",
           "update_parameters", "predict"]


def initialize_parameters_deep(layer_dims, seed=None):
    """{"W1", "b1", ..., "WL", "bL"} for ``layer_dims`` = [n_x, n1, ..., nL]: W[l] random
    normal / sqrt(n[l-1]) (the assignment's scaling), b[l] zeros."""
    return initialize_parameters(layer_dims, scheme="xavier", seed=seed)


def _activations(parameters):
    return layer_activations(n_layers(parameters), "relu", "sigmoid")


def L_model_forward(X, parameters):  # noqa: N802 - the course's name
    """(AL (1, m), caches): [LINEAR -> RELU] x (L-1) -> LINEAR -> SIGMOID on X (n_x, m)."""
    return forward(X, parameters, _activations(parameters))


def compute_cost(AL, Y):
    """The cross-entropy cost -1/m Σ (y log a + (1 - y) log(1 - a)), the course's formula on the
    probabilities AL (1, m) against the labels Y (1, m)."""
    xp = namespace(AL, Y)
    if tuple(AL.shape) != tuple(Y.shape):
        hint = ": pass Y.T" if tuple(Y.shape) == tuple(AL.shape)[::-1] else ""
        raise ValueError(f"AL and Y must have the same shape (1, m); got {tuple(AL.shape)} and "
                         f"{tuple(Y.shape)}{hint}")
    m = AL.shape[1]
    return -xp.sum(Y * xp.log(AL) + (1 - Y) * xp.log(1 - AL)) / m


def L_model_backward(AL, Y, caches, parameters):  # noqa: N802 - the course's name
    """grads {"dW1", "db1", ...} of the cross-entropy cost (xpnn's backward also needs the
    parameters, which the course keeps inside its caches)."""
    return backward(AL, Y, caches, parameters, _activations(parameters))


def update_parameters(parameters, grads, learning_rate):
    """W[l] -= learning_rate dW[l] and b[l] -= learning_rate db[l], as new arrays."""
    return gd(learning_rate).update(parameters, grads, (), 1)[0]


def predict(X, parameters):
    """0/1 predictions (1, m): 1 where the net's probability exceeds 0.5."""
    AL, _ = L_model_forward(X, parameters)
    xp = namespace(AL)
    return xp.astype(AL > 0.5, AL.dtype)
