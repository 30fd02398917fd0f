"""Optimizers as pure functions over the parameter dict (optax's shape), and learning-rate decay.

``opt = get_optimizer("adam", learning_rate)``; ``state = opt.init(params)``;
``params, state = opt.update(params, grads, state, t)`` with t = 1, 2, ... the step count.
``learning_rate`` is a float or a schedule ``lr(t)`` (a host float per step: no device read).
Updates are array-API code returning new arrays: they run on every backend, mutate nothing, and
add no host synchronisation. The formulas are the course's (course 2, "Optimization methods"):

- gd:        W <- W - lr dW
- momentum:  v <- β1 v + (1 - β1) dW;               W <- W - lr v
- rmsprop:   s <- β2 s + (1 - β2) dW²;              W <- W - lr dW / (√s + ε)
- adam:      v, s as above; v̂ = v / (1 - β1^t), ŝ = s / (1 - β2^t);  W <- W - lr v̂ / (√ŝ + ε)
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, NamedTuple

from ._layout import elementwise
from .backend import namespace

__all__ = ["get_optimizer", "hyperparameters", "gd", "momentum", "rmsprop", "adam", "sgd", "decay_schedule",
           "descend"]


class Optimizer(NamedTuple):
    init: Callable[[dict], Any]                        # params -> state
    update: Callable[[dict, dict, Any, int], tuple]    # (params, grads, state, t) -> (params, state)


def _rate(learning_rate):
    return learning_rate if callable(learning_rate) else (lambda t: learning_rate)


def descend(p, step, rate):
    """p - rate * step as a new array, computed as (-rate) * step + p (bit for bit the same):
    one fused kernel on CuPy."""
    return _DESCEND(step, rate, p)


_DESCEND = elementwise(lambda xp, step, rate, p: step * (-rate) + p, "xpnn_descend")


def zeros_like_params(params):
    """One zero array like each parameter: the state of the one-moment optimizers."""
    xp = namespace(*params.values())
    return {k: xp.zeros_like(p) for k, p in params.items()}


def gd(learning_rate):
    """Plain gradient descent (the course's): no state."""
    lr = _rate(learning_rate)

    def update(params, grads, state, t):
        rate = lr(t)
        return {k: descend(p, grads[f"d{k}"], rate) for k, p in params.items()}, state
    return Optimizer(lambda params: (), update)


def momentum(learning_rate, beta_1=0.9):
    """Gradient descent with momentum: an exponentially weighted average of the gradients
    (``beta_1``, the course's β)."""
    beta = beta_1
    lr = _rate(learning_rate)

    def update(params, grads, state, t):
        rate = lr(t)
        velocity = {k: beta * state[k] + (1 - beta) * grads[f"d{k}"] for k in params}
        return {k: p - rate * velocity[k] for k, p in params.items()}, velocity
    return Optimizer(zeros_like_params, update)


def rmsprop(learning_rate, beta_2=0.9, epsilon=1e-8):
    """RMSprop: each step divided by a running root mean square of the gradients (``beta_2``,
    the course's β2, decays their squares)."""
    beta = beta_2
    lr = _rate(learning_rate)

    def update(params, grads, state, t):
        rate, xp = lr(t), namespace(*params.values())
        squares = {k: beta * state[k] + (1 - beta) * grads[f"d{k}"] ** 2 for k in params}
        return {k: p - rate * grads[f"d{k}"] / (xp.sqrt(squares[k]) + epsilon)
                for k, p in params.items()}, squares
    return Optimizer(zeros_like_params, update)


def sgd(learning_rate, momentum=0.9, nesterovs_momentum=True):
    """scikit-learn's stochastic gradient descent: v <- μ v - lr dW, then W <- W + v, or with
    Nesterov's momentum W <- W + μ v - lr dW (μ = 0: plain gradient descent)."""
    lr = _rate(learning_rate)

    def update(params, grads, state, t):
        rate = lr(t)
        velocity = {k: momentum * state[k] - rate * grads[f"d{k}"] for k in params}
        if nesterovs_momentum:
            return {k: p + (momentum * velocity[k] - rate * grads[f"d{k}"])
                    for k, p in params.items()}, velocity
        return {k: p + velocity[k] for k, p in params.items()}, velocity
    return Optimizer(zeros_like_params, update)


def adam(learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8, epsilon_hat=False):
    """Adam: momentum and RMSprop with the course's bias correction 1 / (1 - β^t).

    ``epsilon_hat=True`` is Kingma & Ba's efficient form, which scikit-learn uses: the step
    lr √(1 - β2^t) / (1 - β1^t) · v / (√s + ε), i.e. ε added to the uncorrected √s."""
    lr = _rate(learning_rate)

    def init(params):
        xp = namespace(*params.values())
        return {k: (xp.zeros_like(p), xp.zeros_like(p)) for k, p in params.items()}

    def update(params, grads, state, t):
        rate = lr(t)
        correction_1, correction_2 = 1 - beta_1 ** t, 1 - beta_2 ** t
        new_params, new_state = {}, {}
        for k, p in params.items():
            v, s = state[k]
            if epsilon_hat:
                p, v, s = _ADAM_HAT(p, grads[f"d{k}"], v, s, beta_1, beta_2,
                                    rate * correction_2 ** 0.5 / correction_1, epsilon)
            else:
                p, v, s = _ADAM(p, grads[f"d{k}"], v, s, beta_1, beta_2, rate, correction_1,
                                correction_2, epsilon)
            new_params[k], new_state[k] = p, (v, s)
        return new_params, new_state
    return Optimizer(init, update)


def _adam_moments(g, v, s, beta_1, beta_2):
    return beta_1 * v + (1 - beta_1) * g, beta_2 * s + (1 - beta_2) * g * g


def _adam_hat(xp, p, g, v, s, beta_1, beta_2, scale, epsilon):
    """One Adam step, ε added to the uncorrected √s (Kingma & Ba's efficient form)."""
    v, s = _adam_moments(g, v, s, beta_1, beta_2)
    return p - scale * v / (xp.sqrt(s) + epsilon), v, s


def _adam(xp, p, g, v, s, beta_1, beta_2, rate, correction_1, correction_2, epsilon):
    """One Adam step with the course's bias-corrected moments."""
    v, s = _adam_moments(g, v, s, beta_1, beta_2)
    return p - rate * (v / correction_1) / (xp.sqrt(s / correction_2) + epsilon), v, s


_ADAM_HAT = elementwise(_adam_hat, "xpnn_adam")  # one fused kernel on CuPy
_ADAM = elementwise(_adam, "xpnn_adam_corrected")


OPTIMIZERS = {"gd": gd, "momentum": momentum, "rmsprop": rmsprop, "adam": adam, "sgd": sgd}


def hyperparameters(name):
    """The hyperparameters optimizer ``name`` declares beside its learning rate, with their
    defaults: its signature is its declaration (estimators pass the ones they have by name)."""
    signature = inspect.signature(OPTIMIZERS[name])
    return {p.name: p.default for p in signature.parameters.values() if p.name != "learning_rate"}


def get_optimizer(name, learning_rate, **hyperparameters) -> Optimizer:
    """The :class:`Optimizer` ``name`` with ``learning_rate`` (a float or a schedule lr(t)).

    The same settings (a rate, or the same schedule object: :func:`decay_schedule` returns one
    per set of numbers) return the same Optimizer object, so a compiled training step (JAX) is
    reused across fits instead of compiled again."""
    if isinstance(name, Optimizer):
        return name
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose from {sorted(OPTIMIZERS)}")
    rate = learning_rate if callable(learning_rate) else float(learning_rate)
    hyperparameters = tuple(sorted((k, float(v) if isinstance(v, float) else v)
                                   for k, v in hyperparameters.items()))
    return _cached(OPTIMIZERS[name], rate, hyperparameters)


@functools.lru_cache(maxsize=64)
def _cached(make, learning_rate, hyperparameters):
    return make(learning_rate, **dict(hyperparameters))


# ------------------------------------------------------------------- learning-rate decay

DECAYS = {
    "inverse": lambda lr0, rate, interval, epoch: lr0 / (1 + rate * epoch),
    "scheduled": lambda lr0, rate, interval, epoch: lr0 / (1 + rate * (epoch // interval)),
    "exponential": lambda lr0, rate, interval, epoch: lr0 * rate ** epoch,
    # scikit-learn's "invscaling": interval = samples per epoch, rate = power_t
    "invscaling": lambda lr0, rate, interval, epoch: lr0 / (epoch * interval + 1) ** rate,
}


def decay_schedule(learning_rate, decay=None, *, decay_rate=1.0, decay_interval=1000,
                   steps_per_epoch=1):
    """Learning rate as a function of the step t = 1, 2, ... (course 2's decay, counted in epochs:
    epoch = (t - 1) // steps_per_epoch, i.e. iterations for full batch):

    - None: ``learning_rate`` (a float, unchanged);
    - "inverse": lr0 / (1 + decay_rate * epoch);
    - "scheduled": lr0 / (1 + decay_rate * floor(epoch / decay_interval));
    - "exponential": lr0 * decay_rate ** epoch;
    - "invscaling": lr0 / (epoch * decay_interval + 1) ** decay_rate (scikit-learn's, with
      decay_interval the samples per epoch and decay_rate its power_t).
    """
    if decay is None:
        return learning_rate
    if not isinstance(decay, str) or decay not in DECAYS:
        raise ValueError(f"unknown learning_rate_decay {decay!r}; choose from "
                         f"{[None, *sorted(DECAYS)]}")
    return _schedule(DECAYS[decay], float(learning_rate), float(decay_rate), int(decay_interval),
                     int(steps_per_epoch))


@functools.lru_cache(maxsize=64)
def _schedule(formula, learning_rate, decay_rate, decay_interval, steps_per_epoch):
    """One schedule object per set of numbers: a compiled step that takes it as a static argument
    (JAX) is compiled once for them, not once per fit."""
    return lambda t: formula(learning_rate, decay_rate, decay_interval, (t - 1) // steps_per_epoch)
