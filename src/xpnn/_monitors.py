"""What the training loop watches at each recorded epoch: the cost (:class:`CostLog`: the last
parameters whose cost was finite, and what to do when it stops being finite or grows without
bound) and, with early stopping, the held-out score (:class:`HeldOutMonitor`)."""

from __future__ import annotations

import contextlib
import math

import numpy as np

from .backend import warn
from .exceptions import DivergenceError, DivergenceWarning
from .heads import cost_from_logits, get_head, r2
from .network import all_finite, forward


GROWTH = 1e3  # a recorded cost this many times the first (above 0.01) is divergence, not noise


class CostLog:
    """The costs read back during training, the last parameters whose cost was finite, and what
    to do on divergence (raise :class:`xpnn.DivergenceError`, or warn and keep those parameters):
    a non-finite cost, or one that grew ``GROWTH`` times the first recorded."""

    def __init__(self, params, learning_rate, on_divergence="raise", callback=None, unit="iteration"):
        self.costs, self.last_finite, self.first = [], params, None
        self.learning_rate = "" if learning_rate is None else f" with learning_rate={learning_rate}"
        self.on_divergence, self.callback, self.unit = on_divergence, callback, unit

    def record(self, index, cost, params):
        """Record the cost of ``params`` at iteration (or epoch) ``index``; returns the params to
        stop with (divergence with on_divergence="warn", or a callback returning False; raises
        DivergenceError with "raise"), else None."""
        if self.on_divergence != "continue" and self.diverges(cost):
            if not math.isfinite(cost):
                return self._diverged(f"the cost became {cost} at {self.unit} {index}")
            return self._diverged(f"the cost grew from {self.first:.6g} to {cost:.6g} at {self.unit} {index}")
        if self.first is None and math.isfinite(cost):
            self.first = cost
        self.costs.append(cost)
        if math.isfinite(cost):
            self.last_finite = params
        if self.callback is not None and self.callback(index, cost) is False:
            return params
        return None

    def diverges(self, cost):
        """True for a cost that is not finite, or ``GROWTH`` times the first recorded (above 0.01)."""
        return not math.isfinite(cost) or (self.first is not None and cost > GROWTH * max(self.first, 1e-2))

    def finish(self, params):
        """The parameters at the end of training, after one check that they are finite (none
        with "continue": the caller checks)."""
        if self.on_divergence != "continue" and not all_finite(params):
            return self._diverged(f"the parameters became non-finite after the last recorded {self.unit}")
        return params

    def _diverged(self, what):
        message = (f"training diverged: {what}{self.learning_rate}; "
                   "try a smaller learning_rate (or standardised inputs)")
        if self.on_divergence == "warn":
            warn(message + "; keeping the last parameters with a finite cost", DivergenceWarning)
            return self.last_finite
        raise DivergenceError(message)


class HeldOutMonitor:
    """Early stopping: validation scores, the best parameters, and when to stop."""

    def __init__(self, early_stopping, head, activations):
        self.config, self.head, self.activations = early_stopping, get_head(head), activations
        self.scores, self.best, self.best_iteration = [], None, None
        self.best_score, self.no_improvement = -math.inf, 0

    def score(self, params):
        """The head's score of ``params`` on the held-out set, a 0-d device array."""
        _, caches = forward(self.config.X, params, self.activations)
        if self.config.by_loss:
            return -cost_from_logits(caches[-1][1], self.config.Y, self.head.name)
        return self.head.score(caches[-1][1], self.config.Y)

    def update(self, epoch, score, params):
        """Record ``score``; True when training should stop (then ``best`` holds the parameters
        of the best score)."""
        self.scores.append(score)
        threshold = self.best_score + self.config.tol
        if score > threshold or (self.config.inclusive and score == threshold):
            self.no_improvement = 0
        else:
            self.no_improvement += 1
        if score > self.best_score:
            self.best, self.best_score, self.best_iteration = params, score, epoch
        return self.no_improvement >= self.config.n_iter_no_change


def constant_held_out(Y_held, head, estimator, remedy):
    """True (with a warning naming ``remedy``) when a regression head's held-out targets are
    constant: R², the score early stopping watches, is undefined there (0 at every check)."""
    if get_head(head).score is not r2 or Y_held.shape[0] == 0 or np.any(np.ptp(Y_held, axis=0) > 0):
        return False
    warn(f"{estimator}: the early-stopping hold-out's targets are constant, where R² is undefined (0 at "
         f"every check); it {remedy}", UserWarning)
    return True


def rising_or_oscillating(curve, unit="record"):
    """What a cost curve says of a learning rate too large, or None: it rose above its start
    by more than 5%, or went up and down by more than 1% in more than a third of its steps."""
    curve = curve[np.isfinite(curve)]
    if curve.shape[0] < 3:
        return None
    peak = int(np.argmax(curve))
    if curve[peak] > 1.05 * curve[0] and peak > 0:
        return f"the cost rose instead of falling ({curve[0]:.4g} -> {curve[peak]:.4g} at {unit} {peak})"
    steps = np.diff(curve)
    big = np.abs(steps) > 0.01 * np.abs(curve[:-1])
    turns = np.sum(big[1:] & big[:-1] & (np.sign(steps[1:]) != np.sign(steps[:-1])))
    if turns > (curve.shape[0] - 2) / 3:
        return f"the cost oscillated ({int(turns)} reversals in {curve.shape[0]} records)"
    return None


def not_learning(costs, curve, n_iter, rate, degenerate):
    """Why a fit did not learn and what to do ("<why>. <advice>"), or None: the recorded
    ``costs`` ended above where they began or moved less than 1 %, or else ``degenerate()`` says
    why (the model is no better than a constant, or None). Where the cost (every epoch's
    ``curve`` when there is one) rose or oscillated, the advice is to lower the learning rate
    ``rate``; for a stalled cost, to raise it."""
    trend = rising_or_oscillating(np.asarray(curve or costs, dtype=np.float64),
                                  "iteration" if curve else "record")
    if costs.shape[0] >= 2 and costs[-1] > 1.05 * costs[0]:
        why = f"the cost ended above where it began ({costs[0]:.6g} -> {costs[-1]:.6g})"
    elif costs.shape[0] >= 2 and abs(costs[0] - costs[-1]) < 0.01 * abs(costs[0]):
        why = f"the cost moved less than 1% ({costs[0]:.6g} -> {costs[-1]:.6g}) in {n_iter} iterations"
    else:
        why = degenerate()
    if why is None:
        return None
    if trend is not None:  # a rate too large: the opposite advice to a stalled cost's
        return (f"{why}. {trend[0].upper()}{trend[1:]}: the learning rate is too large for this data; lower "
                "learning_rate" + (f" (try {rate / 10:g})" if isinstance(rate, (int, float)) else "")
                + ", or standardise X (xpnn.preprocessing.standardize)")
    return (f"{why}. Standardise X (e.g. xpnn.preprocessing.standardize), raise learning_rate or n_iter, "
            "or try optimizer='adam'")


LONG_FIT = 1000  # epochs from which a verbose fit shows a progress bar


def progress_bar(model, n_epochs):
    """A tqdm bar over the epochs of a long verbose fit where the model's family shows one (its
    ``update`` is the loop's ``progress``: a host counter, no device read), closed at the end;
    else None (the MLP classes print scikit-learn's line per epoch instead)."""
    if not model.verbose or not model._rules.PROGRESS_BAR or n_epochs < LONG_FIT:
        return contextlib.nullcontext(None)
    from tqdm.auto import tqdm  # a widget in a notebook, text in a terminal

    return contextlib.closing(tqdm(total=n_epochs, unit="epoch", desc=type(model).__name__, leave=False))


def reporter(model, callback, write=print):
    """``callback`` preceded by the course's line for each recorded cost when the model is
    verbose ("iteration" for full batch, "epoch" with mini-batches), written by ``write`` (a
    progress bar's, which clears the bar, writes the line and redraws the bar below it)."""
    if not model.verbose:
        return callback
    unit = "iteration" if getattr(model, "batch_size", None) is None else "epoch"

    def report(i, cost):
        write(f"Cost after {unit} {i}: {cost:f}")
        return None if callback is None else callback(i, cost)
    return report


class AdaptiveRate:
    """The "adaptive" learning rate: the current value, divided by 5 on a plateau."""

    def __init__(self, value):
        self.value = value

    def __call__(self, t):
        return self.value


class Plateau:
    """scikit-learn's per-epoch rule on the training loss: an epoch that does not lower the best
    loss by ``tol`` counts; after more than ``n_iter_no_change`` of them in a row, stop (or, with
    the adaptive rate, divide it by 5 while it is above 1e-6). Prints the verbose lines."""

    def __init__(self, hp, rate, verbose, early_stopping, best):
        self.tol, self.patience, self.rate = hp["tol"], hp["n_iter_no_change"], rate
        self.verbose, self.early_stopping = verbose, early_stopping
        self.best, self.count, self.stopped = (np.inf if best is None else best), 0, False

    def __call__(self, epoch, loss):
        if self.verbose:
            print(f"Iteration {epoch + 1}, loss = {loss:.8f}")
        if self.early_stopping:
            return None
        self.count = self.count + 1 if loss > self.best - self.tol else 0
        self.best = min(self.best, loss)
        if self.count <= self.patience:
            return None
        what = (f"Training loss did not improve more than tol={self.tol:f} for {self.patience} "
                "consecutive epochs.")
        if isinstance(self.rate, AdaptiveRate) and self.rate.value > 1e-6:
            self.rate.value /= 5.0
            self.count = 0
            if self.verbose:
                print(f"{what} Setting learning rate to {self.rate.value:f}")
            return None
        if self.verbose:
            print(what + " Stopping.")
        self.stopped = True
        return False
