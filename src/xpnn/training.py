"""The training loop, the one every path goes through: full batch or mini-batches, any optimizer,
L2, dropout, early stopping, callbacks and divergence handling, over gradients from a *source*.

A source says what one epoch's batches are and how one step turns a batch into new parameters:
:class:`ArraySource` (X and Y on one device, the core of :mod:`xpnn.network`, compiled where the
backend has a compiler) or the Dask sources of :mod:`xpnn.distributed` (a map-reduce over
chunks, or chunks streamed one at a time). The loop itself never looks at the data.

Host synchronisation: one read per recorded epoch (every ``cost_every`` epochs; an epoch is one
iteration for full batch), carrying the cost and, with early stopping, the validation score
together; nothing else inside the loop reads the device.
"""

from __future__ import annotations

import contextlib
import math
import os
from typing import Any, NamedTuple

import numpy as np

from ._layout import elementwise
from ._monitors import CostLog, HeldOutMonitor
from ._training_types import EarlyStopping, Options, Result, options_of  # noqa: F401 (the loop's types)
from ._constraints import check_choice, check_positive_float, check_positive_int
from ._validation import check_network_inputs
from .backend import (backend_of, device_of, namespace, read_scalars, rng_from, take_samples, uniform_sampler,
                      upload_index, workspace_for)
from .gradcheck import flatten, unflatten
from .heads import cost_from_logits
from .lbfgs import minimize
from .network import backward, batch_moments, examples, forward, with_l2
from ._flat import init_state, update
from .normalization import check_batch_size, normalized_layers, statistics, trainable
from .optimizers import gd

__all__ = ["train", "run", "run_lbfgs", "loop", "ArraySource", "gradients", "update", "dropout_masks",
           "CostLog", "Options", "EarlyStopping", "Result", "options_of", "Batches"]


def gradients(params, X, Y, S, masks, *, activations, head, alpha, record, moments=None, sums=None,
              workspace=None):
    """Forward and backward over one batch: (grads, its cost or None, its batch-norm statistics
    {l: (μ, σ²)}, empty without batch norm). The cost (a 0-d device array, L2 term included)
    is computed only when ``record``. ``moments`` and ``sums``: batch norm's statistics and
    backward sums of a larger batch this one is part of (Dask), in place of its own.
    ``workspace``: the step's reused arrays (:func:`xpnn.backend.workspace_for`), or None."""
    AL, caches = forward(X, params, activations, masks, S=S, training=True, moments=moments,
                         workspace=workspace)
    grads = backward(AL, Y, caches, params, activations, head=head, S=S, alpha=alpha, masks=masks,
                     sums=sums, workspace=workspace)
    if not record:
        return grads, None, batch_moments(caches)
    cost = cost_from_logits(caches[-1][1], Y, head, S)
    cost = with_l2(cost, params, alpha, examples(X.shape[1], S)) if alpha else cost
    return grads, cost, batch_moments(caches)


def _step(params, state, t, batch, masks, workspace=None, *, activations, head, alpha, optimizer, record,
          momentum):
    """Gradients and update of one batch (X, Y, S): compiled as one function where the backend
    has a compiler (JAX; the keyword arguments are static), with no host read inside."""
    X, Y, S = batch
    grads, cost, moments = gradients(params, X, Y, S, masks, activations=activations, head=head,
                                     alpha=alpha, record=record, workspace=workspace)
    params, state = update(params, grads, state, t, optimizer, moments, momentum)
    return params, state, cost


_STATIC = ("activations", "head", "alpha", "optimizer", "record", "momentum")


class Batches(NamedTuple):
    """``n`` consecutive mini-batches of ``size`` examples, in the shuffled ``order`` (device
    indices): trained by one compiled call where the backend compiles loops (JAX's scan)."""
    order: Any
    n: int
    size: int


def _epoch(params, state, t, X, Y, S, order, *, n, size, scan, **static):
    """Steps t, t + 1, ..., t + n - 1 over the batches of X[:, order] as one compiled loop
    (``scan``: the step of :func:`_step` per batch, no dropout); returns (params, state, Σ of
    the batches' cost times their weight, or None)."""
    xp = namespace(X)

    def batches(A):  # (r, n * size) -> (n, r, size), gathered on the device
        A = xp.take(A, order, axis=1)
        return xp.permute_dims(xp.reshape(A, (A.shape[0], n, size)), (1, 0, 2))

    def body(carry, batch):
        params, state, total = carry
        Xb, Yb, Sb, tb = batch
        params, state, cost = _step(params, state, tb, (Xb, Yb, Sb), None, **static)
        if cost is not None:
            total = total + cost * (size if Sb is None else xp.sum(Sb))
        return (params, state, total), None
    steps = t + xp.arange(n, device=device_of(X))
    carry = (params, state, xp.zeros((), dtype=X.dtype, device=device_of(X)))
    (params, state, total), _ = scan(body, carry, (batches(X), batches(Y), None if S is None else batches(S),
                                                   steps))
    return params, state, total if static["record"] else None


class ArraySource:
    """Batches of X (n_x, m), Y (k, m) and weights S (1, m) or None on one device: the whole set
    (``batch_size`` None, the course's), or each epoch one shuffle of the examples (host RNG, the
    same order on every backend) gathered into one copy and cut into consecutive slices. A last
    slice smaller than ``min_batch`` (2 under batch norm: one example has no variance) joins the
    slice before it, so no example is left out and no batch of one shapes the statistics."""

    def __init__(self, X, Y, S=None, batch_size=None, dropout=None, rng=None, hidden=(), shuffle=True,
                 rows=None, min_batch=1, backend=None):
        be = backend_of(X) if backend is None else backend  # the estimator's, resolved once
        self.full_batch, self.rows = batch_size is None, rows
        if rows is not None and self.full_batch:  # the other examples weigh nothing: no copy of X
            keep = np.zeros((1, X.shape[1]))
            keep[0, rows] = 1.0
            keep = be.asarray(keep, dtype=X.dtype)
            S, rows = (keep if S is None else S * keep), None
            self.rows = None
        self.X, self.Y, self.S, self.batch_size, self.shuffle = X, Y, S, batch_size, shuffle
        self.m = X.shape[1] if rows is None else rows.shape[0]
        self.starts = None if self.full_batch else list(range(0, self.m, batch_size))
        if self.starts and len(self.starts) > 1 and self.m - self.starts[-1] < min_batch:
            self.starts.pop()  # the short last slice joins the one before
        if S is None:
            self.total_weight = self.m
        else:
            kept = S if rows is None else take_samples(S, be.asarray(rows))
            self.total_weight = namespace(S).sum(kept)
        self.draw = _dropout(dropout, X, rng, hidden)
        batch_m = X.shape[1] if self.full_batch else min(batch_size, self.m)  # a batch's examples
        self.workspace = workspace_for(X, max([*hidden, Y.shape[0]]), batch_m,  # None unless NumPy
                                       batches=not self.full_batch)
        self.replayable = self.full_batch and self.draw is None
        self.compile, self.scan, self.forbid_sync = be.compile, be.scan, be.forbid_sync
        if self.full_batch or self.draw is not None:
            self.scan = None  # one step an epoch, or masks drawn per batch: steps one by one

    def epoch(self, rng):
        """The batches of one epoch, as (X, Y, S) triples; where the backend compiles loops, its
        whole batches as one :class:`Batches` first."""
        if self.full_batch:
            yield self.X, self.Y, self.S
            return
        Xs, Ys, Ss = self.X, self.Y, self.S
        if self.scan is not None:  # whole batches as one compiled loop, then the last partial one
            order = self._order(rng)
            n = min(self.m // self.batch_size, len(self.starts) - (self.m % self.batch_size > 0))
            if n:
                yield Batches(order[:n * self.batch_size], n, self.batch_size)
            if self.m > n * self.batch_size:
                rest = order[n * self.batch_size:]
                yield (take_samples(self.X, rest), take_samples(self.Y, rest),
                       None if self.S is None else take_samples(self.S, rest))
            return
        if self.shuffle or self.rows is not None:  # one copy of X (of its training rows) per epoch
            order = self._order(rng)
            Xs, Ys = take_samples(self.X, order), take_samples(self.Y, order)
            Ss = None if self.S is None else take_samples(self.S, order)
        for start, stop in zip(self.starts, self.starts[1:] + [self.m]):  # no stop past the end
            yield Xs[:, start:stop], Ys[:, start:stop], None if Ss is None else Ss[:, start:stop]

    def _order(self, rng):
        """The epoch's examples (indices on X's device): the training rows (or all), shuffled by
        the host RNG unless ``shuffle`` is off."""
        if callable(self.shuffle):
            order = self.shuffle(self.m)
        else:
            order = rng.permutation(self.m) if self.shuffle else np.arange(self.m)
        return upload_index(order if self.rows is None else self.rows[order], self.X)

    def stepper(self, **static):
        """``step(params, state, t, batch, record) -> (params, state, cost)``."""
        compiled = self.compile(_step, static_argnames=_STATIC)
        epochs = None if self.scan is None else self.compile(_epoch, _STATIC + ("n", "size", "scan"))

        def step(params, state, t, batch, record):
            if isinstance(batch, Batches):
                return epochs(params, state, t, self.X, self.Y, self.S, batch.order, n=batch.n,
                              size=batch.size, scan=self.scan, record=record, **static)
            X, Y, S = batch
            masks = None if self.draw is None else self.draw(X.shape[1])
            return compiled(params, state, t, (X, Y, S), masks, self.workspace, record=record, **static)
        return step

    @staticmethod
    def weight(batch):
        """The batch's share of the epoch's mean cost: its example count or weight (1 for
        :class:`Batches`, whose step returns the sum of its batches' shares)."""
        if isinstance(batch, Batches):
            return 1
        _, Y, S = batch
        return Y.shape[1] if S is None else namespace(S).sum(S)

    @staticmethod
    def steps(batch):
        """The optimizer steps ``batch`` takes."""
        return batch.n if isinstance(batch, Batches) else 1

    @staticmethod
    def validation(early_stopping):
        return early_stopping


def run(X, Y, params, activations, options=None, *, S=None, rows=None, state=None, t=0, backend=None,
        **settings):
    """Train on arrays of one device as ``options`` say (an :class:`Options`, or its fields as
    keywords); returns a :class:`Result`.

    X (n_x, m), Y (k, m), params, activations, S (1, m) or None : as in :mod:`xpnn.network`.
    rows : None, or the host indices of the examples to train on (early stopping's training
    rows): full batch gives the others zero weight, mini-batches shuffle only these; X is never
    copied for them. state, t : the optimizer state and step count to continue from (None, 0: a
    fresh start). backend : X's :class:`xpnn.backend.Backend` where the caller has resolved it
    (the estimators), else found from X.
    """
    options = options_of(options, settings)
    check_batch_size(params, options.batch_size, X.shape[1] if rows is None else len(rows))
    rng = rng_from(options.random_state)
    hidden = [params[f"W{l}"].shape[0] for l in range(1, len(activations))]
    backend = backend_of(X) if backend is None else backend
    with backend.on_device():  # a second GPU's arrays are made on it (CuPy)
        source = ArraySource(X, Y, S, options.batch_size, options.dropout, rng, hidden, options.shuffle, rows,
                             min_batch=2 if normalized_layers(params) else 1, backend=backend)
        return loop(source, params, activations, options, rng=rng, state=state, t=t)


def loop(source, params, activations, options, *, rng=None, state=None, t=0):
    """The epoch loop over a source's batches as ``options`` (an :class:`Options`) say."""
    o = options
    curve, pending = ([] if o.curve else None), []
    state = init_state(o.optimizer, params, state)
    log = CostLog(params, o.learning_rate, o.on_divergence, o.callback,
                  "iteration" if source.full_batch else "epoch")
    monitor = None
    if o.early_stopping is not None:
        monitor = HeldOutMonitor(source.validation(o.early_stopping), o.head, activations)
    checkpoint = (0, params, state, t)  # the last recorded epoch with a finite cost
    step = source.stepper(activations=tuple(activations), head=o.head, alpha=o.alpha, optimizer=o.optimizer,
                          momentum=o.batch_norm_momentum)
    guard = getattr(source, "forbid_sync", None) if os.environ.get("XPNN_SYNC_DEBUG") == "1" else None
    guard = guard or contextlib.nullcontext
    for epoch in range(o.n_epochs):
        record = epoch % o.cost_every == 0
        measure = record or curve is not None
        before, state_before, t_before, total = params, state, t, 0.0
        with guard():  # XPNN_SYNC_DEBUG=1: a host read inside an epoch's steps raises
            for batch in source.epoch(rng):
                params, state, cost = step(params, state, t + 1, batch, measure)
                t += source.steps(batch)
                if measure and not source.full_batch:  # full batch records its one cost directly
                    total = _ACCUMULATE(cost, source.weight(batch), total)
        batch = None  # the epoch's shuffled copy of X is freed before the next one is made
        if measure:
            pending.append(cost if source.full_batch else total / source.total_weight)
        if o.progress is not None:
            o.progress(1)
        if not record:
            continue
        scored = before if source.full_batch else params
        values = read_scalars(*pending, *([] if monitor is None else [monitor.score(scored)]))
        if curve is not None and _extend(curve, values[:len(pending)], epoch, o.on_epoch):
            pending.clear()
            return _result(params, log, epoch + 1, state, t, monitor, curve)
        values, noticed = values[len(pending) - 1:], epoch
        pending.clear()
        if log.diverges(values[0]) and source.replayable and log.on_divergence != "continue":
            values[0], noticed = _first_diverged(step, source, checkpoint, epoch, log)
        elif math.isfinite(values[0]):
            checkpoint = (epoch, before, state_before, t_before)
        stop = log.record(noticed, values[0], scored)
        if stop is None and monitor is not None and monitor.update(epoch, values[1], scored):
            stop = monitor.best
        if stop is not None:
            return _result(stop, log, epoch + 1, state, t, monitor, curve)
    if pending:  # the epochs after the last recorded one (training has ended: a stop changes nothing)
        _extend(curve, read_scalars(*pending), o.n_epochs - 1, o.on_epoch)
    final = log.finish(params)
    if monitor is not None and monitor.best is not None:  # early stopping keeps its best check
        final = monitor.best
    return _result(final, log, o.n_epochs, state, t, monitor, curve)


_ACCUMULATE = elementwise(lambda xp, cost, weight, total: total + cost * weight, "xpnn_accumulate")


def _extend(curve, costs, last_epoch, on_epoch):
    """Append the epochs' costs (the last is ``last_epoch``'s); True when ``on_epoch`` asks to
    stop at one of them."""
    first = last_epoch - len(costs) + 1
    for i, cost in enumerate(costs):
        curve.append(cost)
        if on_epoch is not None and on_epoch(first + i, cost) is False:
            return True
    return False


def run_lbfgs(X, Y, params, activations, *, head="sigmoid", S=None, alpha=0.0, max_iter=200,
              max_fun=15000, tol=1e-4, callback=None):
    """Full-batch L-BFGS (:func:`xpnn.lbfgs.minimize`) on X (n_x, m), Y (k, m) from ``params``,
    over the same gradients as every other path (:func:`gradients`), on X's device. Returns
    (:class:`Result`, :class:`xpnn.lbfgs.Solution`); ``costs`` holds the cost after each
    iteration. Batch norm's running statistics end as the full batch's for the final parameters
    (there are no steps to average them over). Every evaluation writes its large arrays into
    the same workspace on NumPy, as a training step does (:func:`xpnn.backend.workspace_for`)."""
    check_batch_size(params, None, X.shape[1])
    costs, like = [], trainable(params)
    widest = max(W.shape[0] for k, W in params.items() if k[0] == "W")
    workspace = workspace_for(X, widest, X.shape[1])

    def fg(theta):
        grads, cost, _ = gradients(unflatten(theta, like), X, Y, S, None, activations=tuple(activations),
                                   head=head, alpha=alpha, record=True, workspace=workspace)
        return cost, flatten({k: grads[f"d{k}"] for k in like})

    def record(n_iter, cost):
        costs.append(cost)
        if callback is not None:
            callback(n_iter, cost)
    with backend_of(X).on_device():  # a second GPU's arrays are made on it (CuPy)
        solution = minimize(fg, flatten(like), max_iter=max_iter, max_fun=max_fun, gtol=tol, callback=record)
        final = {**params, **unflatten(solution.x, like)}
        if normalized_layers(params):
            _, caches = forward(X, final, activations, S=S, training=True)
            final = {**final, **statistics(batch_moments(caches))}
    return Result(final, costs, solution.n_iter, None, solution.n_iter), solution


def _first_diverged(step, source, checkpoint, noticed, log):
    """Full batch, no dropout: replay the deterministic iterations since the last good check to
    find the first whose cost diverged (host reads only on this divergence path, never in normal
    training). Returns (that cost, that iteration)."""
    epoch, params, state, t = checkpoint
    (batch,) = source.epoch(None)
    while True:
        new_params, new_state, cost = step(params, state, t + 1, batch, True)
        cost = read_scalars(cost)[0]
        if log.diverges(cost) or epoch >= noticed:
            return cost, epoch
        params, state, t, epoch = new_params, new_state, t + 1, epoch + 1


def _result(params, log, n_iter, state, t, monitor, curve=None):
    scores = None if monitor is None else monitor.scores
    best = None if monitor is None else monitor.best_iteration
    return Result(params, log.costs, n_iter, state, t, scores, best, curve)


def dropout_masks(sampler, rates, sizes, m, like):
    """One inverted-dropout mask (n[l], m) per hidden layer of ``sizes`` (None where its rate is
    0): 0 or 1/keep, from ``sampler(shape)`` uniform draws with ``like``'s dtype and device."""
    xp, masks = namespace(like), []
    for rate, n in zip(rates, sizes):
        keep = 1.0 - rate
        masks.append(None if rate == 0 else xp.astype(sampler((n, m)) < keep, like.dtype) / keep)
    return masks


def _dropout(rates, X, rng, sizes):
    """None without dropout, else ``draw(m) -> masks`` drawn on X's device by the backend's own
    RNG (see :func:`xpnn.backend.uniform_sampler`)."""
    if rates is None or not any(rates):
        return None
    sampler = uniform_sampler(X, int(rng.integers(2**63)))
    return lambda m: dropout_masks(sampler, rates, sizes, m, X)


def train(X, Y, params, activations, *, learning_rate, n_iter, cost_every=100,
          on_divergence="raise", callback=None, head="sigmoid", S=None):
    """Batch gradient descent for ``n_iter`` iterations (the course's training function).

    The cost is computed (from the logits, before the update) and read back to the host only
    on iterations ``k * cost_every``: one scalar copy per ``cost_every`` steps and no other
    host synchronisation inside the loop.

    Parameters
    ----------
    X : array of shape (n_x, m); Y : array of shape (k, m) (0/1 for sigmoid, one-hot for softmax)
    params : dict of W[l] (n[l], n[l-1]) and b[l] (n[l], 1), n[L] = k
    activations : list of L Activation (:func:`xpnn.network.layer_activations` with the same ``head``)
    learning_rate : float; n_iter : int; cost_every : int
    on_divergence : {"raise", "warn"}
        What to do when a read-back cost (or the final parameters) is not finite: raise
        :class:`xpnn.DivergenceError`, or warn and return the last parameters with a finite cost.
    callback : callable(iteration, cost) or None, called at each read-back cost; returning
        False stops training (the parameters so far are returned).
    head : {"sigmoid", "softmax", "identity"} or Head
    S : array of shape (1, m) or None
        Per-example weights (>= 0, not all 0): the cost becomes Σ S·loss / Σ S.

    Returns
    -------
    params : dict, costs : list of float (costs[k] is the cost at iteration k * cost_every)

    Raises
    ------
    ValueError
        Shapes that do not chain (the message names them), NaN/inf in X or Y, a learning rate
        that is not a finite positive number, n_iter or cost_every < 1.
    DivergenceError
        A non-finite cost or final parameters, with ``on_divergence="raise"``.
    """
    check_network_inputs(X, Y, params, S)
    check_positive_float(learning_rate, "learning_rate")
    check_positive_int(n_iter, "n_iter")
    check_positive_int(cost_every, "cost_every")
    check_choice(on_divergence, "on_divergence", {"raise", "warn"})
    result = run(X, Y, params, activations, optimizer=gd(learning_rate), n_epochs=n_iter, head=head,
                 S=S, cost_every=cost_every, on_divergence=on_divergence, callback=callback,
                 learning_rate=learning_rate)
    return result.params, result.costs
