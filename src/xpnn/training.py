"""The training loop: full batch or mini-batches, any optimizer, L2, dropout, early stopping,
callbacks, and divergence handling, in one function over the core of :mod:`xpnn.network`.

Host synchronisation: one read per recorded epoch (every ``cost_every`` epochs; an epoch is one
iteration for full batch), carrying the cost and, with early stopping, the validation score
together; nothing else inside the loop reads the device.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from .backend import (backend_of, namespace, read_scalars, rng_from, take_samples, to_numpy,
                      uniform_sampler, warn)
from .heads import cost_from_logits, get_head
from .network import DivergenceError, DivergenceWarning, all_finite, backward, forward, l2_penalty


class Result(NamedTuple):
    """What :func:`run` returns. ``n_iter`` counts the epochs (iterations for full batch)
    actually run; ``state`` and ``t`` let a later call continue (warm start, partial_fit)."""
    params: dict
    costs: list
    n_iter: int
    state: Any
    t: int
    validation_scores: list | None = None
    best_iteration: int | None = None


class EarlyStopping(NamedTuple):
    """Held-out (X (n_x, m_v), Y (k, m_v)) scored by the head's ``score`` at every recorded
    epoch; training stops after ``n_iter_no_change`` checks without a ``tol`` improvement."""
    X: Any
    Y: Any
    n_iter_no_change: int = 10
    tol: float = 1e-4


def run(X, Y, params, activations, *, optimizer, n_epochs, head="sigmoid", S=None, batch_size=None,
        alpha=0.0, dropout=None, random_state=None, cost_every=100, on_divergence="raise",
        callback=None, early_stopping=None, state=None, t=0, learning_rate=None):
    """Train for ``n_epochs`` epochs; returns a :class:`Result`.

    Parameters
    ----------
    X (n_x, m), Y (k, m), params, activations, head, S (1, m) or None : as in :mod:`xpnn.network`.
    optimizer : Optimizer (see :mod:`xpnn.optimizers`)
    batch_size : None for full batch (the course's), else examples per mini-batch; each epoch
        shuffles the examples once (host RNG, the same order on every backend) into one copy of
        X and takes consecutive slices of it.
    alpha : L2 strength; dropout : None or one drop rate per hidden layer.
    random_state : seeds the shuffles and the dropout masks.
    cost_every, on_divergence, callback : the cost is recorded every ``cost_every`` epochs
        (full batch: the cost of the parameters before that iteration's update; mini-batch: the
        mean cost of the epoch's batches); ``callback(epoch, cost)`` is called with it and stops
        training by returning False.
    early_stopping : EarlyStopping or None: the parameters of the best check are returned, whether
        training stopped early or ran all ``n_epochs``.
    state, t : the optimizer state and step count to continue from (None, 0: a fresh start).
    learning_rate : only named in divergence messages.
    """
    xp, m, backend = namespace(X, Y), X.shape[1], backend_of(X)
    rng = rng_from(random_state)
    hidden = [params[f"W{l}"].shape[0] for l in range(1, len(activations))]
    draw = _dropout(dropout, X, rng, hidden)
    state = optimizer.init(params) if state is None else state
    log = CostLog(params, learning_rate, on_divergence, callback,
                  "iteration" if batch_size is None else "epoch")
    monitor = _Monitor(early_stopping, head, activations) if early_stopping is not None else None
    total_weight = m if S is None else xp.sum(S)
    checkpoint = (0, params, state, t)  # the last recorded epoch with a finite cost
    step = backend.compile(_step, static_argnames=_STATIC)
    static = dict(activations=tuple(activations), head=head, alpha=alpha, optimizer=optimizer)
    for epoch in range(n_epochs):
        record = epoch % cost_every == 0
        before, state_before, t_before, total = params, state, t, 0.0
        for Xb, Yb, Sb in _batches(X, Y, S, batch_size, rng):
            t += 1
            masks = None if draw is None else draw(Xb.shape[1])
            params, state, cost = step(params, state, t, Xb, Yb, Sb, masks, record=record, **static)
            if record and batch_size is not None:  # full batch records its one cost directly
                total = total + cost * (Yb.shape[1] if Sb is None else xp.sum(Sb))
        if record:
            if batch_size is None:  # the cost of the parameters before this iteration's update
                scored, epoch_cost = before, cost
            else:
                scored, epoch_cost = params, total / total_weight
            values = read_scalars(epoch_cost, *([] if monitor is None else [monitor.score(scored)]))
            noticed = epoch
            if not math.isfinite(values[0]) and batch_size is None and draw is None:
                replay = dict(head=head, S=S, alpha=alpha, optimizer=optimizer)
                values[0], noticed = _first_non_finite(X, Y, activations, checkpoint, epoch, **replay)
            elif math.isfinite(values[0]):
                checkpoint = (epoch, before, state_before, t_before)
            stop = log.record(noticed, values[0], scored)
            if stop is None and monitor is not None and monitor.update(epoch, values[1], scored):
                stop = monitor.best
            if stop is not None:
                return _result(stop, log, epoch + 1, state, t, monitor)
    final = log.finish(params)
    if monitor is not None and monitor.best is not None:  # early stopping keeps its best check
        final = monitor.best
    return _result(final, log, n_epochs, state, t, monitor)


_STATIC = ("activations", "head", "alpha", "optimizer", "record")


def _step(params, state, t, Xb, Yb, Sb, masks, *, activations, head, alpha, optimizer, record):
    """Forward, backward and update of one batch (and its cost, when recorded): compiled as one
    function where the backend has a compiler (JAX; the keyword arguments are static), with no
    host read inside."""
    AL, caches = forward(Xb, params, activations, masks)
    grads = backward(AL, Yb, caches, params, activations, head=head, S=Sb, alpha=alpha, masks=masks)
    cost = None
    if record:
        cost = cost_from_logits(caches[-1][1], Yb, head, Sb)
        if alpha:
            cost = cost + l2_penalty(params, alpha, Xb.shape[1])
    params, state = optimizer.update(params, grads, state, t)
    return params, state, cost


def _first_non_finite(X, Y, activations, checkpoint, noticed, *, head, S, alpha, optimizer):
    """Full batch, no dropout: replay the deterministic iterations since the last finite check
    to find the first with a non-finite cost (host reads only on this divergence path, never in
    normal training). Returns (that cost, that iteration)."""
    epoch, params, state, t = checkpoint
    while True:
        AL, caches = forward(X, params, activations)
        cost = float(cost_from_logits(caches[-1][1], Y, head, S)
                     + (l2_penalty(params, alpha, X.shape[1]) if alpha else 0.0))
        if not math.isfinite(cost) or epoch >= noticed:
            return cost, epoch
        grads = backward(AL, Y, caches, params, activations, head=head, S=S, alpha=alpha)
        t += 1
        params, state = optimizer.update(params, grads, state, t)
        epoch += 1


def _result(params, log, n_iter, state, t, monitor):
    scores = None if monitor is None else monitor.scores
    best = None if monitor is None else monitor.best_iteration
    return Result(params, log.costs, n_iter, state, t, scores, best)


def _batches(X, Y, S, batch_size, rng):
    if batch_size is None:
        yield X, Y, S
        return
    m = X.shape[1]
    order = backend_of(X).asarray(rng.permutation(m))
    Xs, Ys = take_samples(X, order), take_samples(Y, order)  # one copy of X per epoch
    Ss = None if S is None else take_samples(S, order)
    for start in range(0, m, batch_size):
        stop = start + batch_size
        yield Xs[:, start:stop], Ys[:, start:stop], None if Ss is None else Ss[:, start:stop]


def _dropout(rates, X, rng, sizes):
    """None without dropout, else ``draw(m) -> masks``: one inverted-dropout mask (n[l], m) per
    hidden layer of ``sizes`` (None where its rate is 0), drawn on X's device by the backend's
    own RNG (see :func:`xpnn.backend.uniform_sampler`)."""
    if rates is None or not any(rates):
        return None
    sampler = uniform_sampler(X, int(rng.integers(2**63)))
    xp = namespace(X)

    def draw(m):
        masks = []
        for rate, n in zip(rates, sizes):
            keep = 1.0 - rate
            masks.append(None if rate == 0 else xp.astype(sampler((n, m)) < keep, X.dtype) / keep)
        return masks
    return draw


class _Monitor:
    """Early stopping: validation scores, the best parameters, and when to stop."""

    def __init__(self, early_stopping, head, activations):
        self.config, self.head, self.activations = early_stopping, get_head(head), activations
        self.scores, self.best, self.best_iteration = [], None, None
        self.best_score, self.no_improvement = -math.inf, 0

    def score(self, params):
        """The head's score of ``params`` on the held-out set, a 0-d device array."""
        _, caches = forward(self.config.X, params, self.activations)
        return self.head.score(caches[-1][1], self.config.Y)

    def update(self, epoch, score, params):
        """Record ``score``; True when training should stop (then ``best`` holds the parameters
        of the best score)."""
        self.scores.append(score)
        if score > self.best_score + self.config.tol:
            self.no_improvement = 0
        else:
            self.no_improvement += 1
        if score > self.best_score:
            self.best, self.best_score, self.best_iteration = params, score, epoch
        return self.no_improvement >= self.config.n_iter_no_change


class CostLog:
    """The costs read back during training, the last parameters whose cost was finite, and what
    to do on divergence (raise :class:`xpnn.DivergenceError`, or warn and keep those parameters)."""

    def __init__(self, params, learning_rate, on_divergence="raise", callback=None, unit="iteration"):
        self.costs, self.last_finite = [], params
        self.learning_rate, self.on_divergence = _describe(learning_rate), on_divergence
        self.callback, self.unit = callback, unit

    def record(self, index, cost, params):
        """Record the cost of ``params`` at iteration (or epoch) ``index``; returns the params to
        stop with (divergence with on_divergence="warn", or a callback returning False; raises
        DivergenceError with "raise"), else None."""
        if not math.isfinite(cost):
            return self._diverged(f"the cost became {cost} at {self.unit} {index}")
        self.costs.append(cost)
        self.last_finite = params
        if self.callback is not None and self.callback(index, cost) is False:
            return params
        return None

    def finish(self, params):
        """The parameters at the end of training, after one check that they are finite."""
        if not all_finite(params):
            return self._diverged(f"the parameters became non-finite after the last recorded {self.unit}")
        return params

    def _diverged(self, what):
        message = (f"training diverged: {what}{self.learning_rate}; "
                   "try a smaller learning_rate (or standardised inputs)")
        if self.on_divergence == "warn":
            warn(message + "; keeping the last parameters with a finite cost", DivergenceWarning)
            return self.last_finite
        raise DivergenceError(message)


def _describe(learning_rate):
    return f" with learning_rate={learning_rate}" if learning_rate is not None else ""


def move_state(tree, backend=None, dtype=None):
    """Optimizer state (dicts and tuples of arrays) on ``backend`` (with ``dtype``), or as host
    NumPy arrays for None: to continue a fit on another device, or to pickle it."""
    if isinstance(tree, dict):
        return {k: move_state(v, backend, dtype) for k, v in tree.items()}
    if isinstance(tree, tuple):
        return tuple(move_state(v, backend, dtype) for v in tree)
    return to_numpy(tree) if backend is None else backend.asarray(to_numpy(tree), dtype=dtype)


def stratified_split(index, fraction, rng):
    """Indices (train, validation) holding out ``fraction`` of the examples; with class indices
    ``index`` (m,), each class in proportion (at least one of each class with 2+ examples)."""
    index = np.asarray(index)
    validation = []
    for c in np.unique(index):
        members = rng.permutation(np.flatnonzero(index == c))
        take = min(len(members) - 1, max(1, int(round(fraction * len(members)))))
        validation.extend(members[:take])
    validation = np.sort(np.asarray(validation, dtype=np.int64))
    train = np.setdiff1d(np.arange(index.shape[0]), validation)
    return train, validation
