"""The one estimator-side driver: every estimator's fit — course nets and the MLP classes, full
batch, mini-batch, L-BFGS and Dask — trains through :func:`train`. What a family of estimators
does its own way (initialisation, hold-out, batch size, learning-rate schedule, plateau rule,
stopping rule, seeds and shuffles, what it records) is a :class:`Rules` object the driver asks;
the course's rules are :class:`CourseRules`, scikit-learn's are
:class:`xpnn._mlp_rules.ScikitLearnRules`.

Rows are samples here: ``task.X`` is (m, n_x) on the backend, ``task.Y`` (m, k) and
``task.weights`` (m,) host arrays; the loop gets the course's notation (transposed views).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from . import distributed, training
from ._constraints import (check_backend_spec, check_boolean, check_dtype, check_hidden_sizes,
                           check_non_negative_float, check_positive_float, check_positive_int, check_rates,
                           check_seed, check_solver, fraction, one_of, optional)
from ._monitors import Plateau, constant_held_out
from ._validation import train_test_rows
from .backend import rng_from
from .activations import NAMES
from .heads import get_head
from .initializers import SCHEMES, initialize_parameters
from .network import layer_activations
from .optimizers import DECAYS, decay_schedule, get_optimizer
from .optimizers import hyperparameters as optimizer_hyperparameters


class Task(NamedTuple):
    """One fit's problem, resolved by the estimator (:meth:`xpnn._base._BaseNet._fit`)."""

    backend: Any
    X: Any                 # (m, n_x) rows on the backend (a lazy array for Dask)
    Y: np.ndarray          # (m, k) host targets
    weights: Any           # (m,) host weights, or None
    dims: list
    head: str
    n_epochs: int
    warm: bool             # continue from the fitted state
    early_stopping: bool
    callback: Any = None   # callable(iteration, cost) or None
    progress: Any = None   # a host counter advanced once an epoch, or None


def train(rules, task):
    """Initialise (or continue) and train ``task`` as ``rules`` say; returns a
    :class:`xpnn.training.Result`."""
    est, hp, backend = rules.estimator, rules.hp, task.backend
    activations = layer_activations(len(task.dims) - 1, est._hidden_activation(), task.head)
    if task.warm:
        params = est._warm_params(backend, hp["dtype"])
    else:
        params = rules.initial(task.dims, backend)
    if rules.solver == "lbfgs":
        rules.check_lbfgs(task)
        result, solution = training.run_lbfgs(
            task.X.T, rules.targets(task.Y, backend), params, activations, head=task.head,
            S=_weights(task.weights, backend, hp), alpha=hp["alpha"], max_iter=task.n_epochs,
            **rules.lbfgs_options(task))
        return rules.after_lbfgs(result, solution)
    return rules.after_stochastic(task, *_stochastic(rules, task, params, activations))


def _stochastic(rules, task, params, activations):
    """Gradient steps over (mini-)batches: the hold-out, the optimizer and the loop."""
    hp, backend = rules.hp, task.backend
    X, Y, weights, rows, validation = task.X, task.Y, task.weights, None, None
    if task.early_stopping:  # rows: the training rows, trained on in place (no copy of X)
        rows, held = rules.hold_out(Y, task.head)
        validation = rules.early_stopping(backend.take_rows(X, held).T, Y[held], task.head, backend)
        if backend.is_lazy:  # Dask: the training rows as their own lazy array
            weights = None if weights is None else weights[rows]
            X, Y, rows = backend.take_rows(X, rows), Y[rows], None
    m = X.shape[0] if rows is None else rows.shape[0]
    batch = rules.batch_size(m)
    state, t = rules.estimator._continued_state(backend, hp["dtype"], rules.solver) \
        if task.warm else (None, 0)
    optimizer = rules.optimizer(m, 1 if batch is None else math.ceil(m / batch), backend)
    options = training.Options(
        optimizer=optimizer, n_epochs=task.n_epochs, head=task.head, batch_size=batch, alpha=hp["alpha"],
        early_stopping=validation, learning_rate=rules.base_rate, random_state=rules.seed(t, backend),
        shuffle=rules.shuffle(), batch_norm_momentum=hp.get("batch_norm_momentum", 0.9),
        **rules.loop_options(task))
    if backend.is_lazy:  # Dask: gradients from a map-reduce over the chunks
        result = distributed.train(X, Y, params, activations, options, sample_weight=weights, state=state,
                                   t=t)
    else:
        result = training.run(X.T, rules.targets(Y, backend), params, activations, options, rows=rows,
                              S=_weights(weights, backend, hp), state=state, t=t, backend=backend)
    return result, m, validation


def _weights(weights, backend, hp):
    return None if weights is None else backend.asarray(weights.reshape(1, -1), dtype=hp["dtype"])


class Rules:
    """What every family's rules share: :class:`CourseRules` and scikit-learn's
    (:class:`xpnn._mlp_rules.ScikitLearnRules`) say the rest. One object per fit: it holds the
    fit's random draws."""

    SOLVER, RATE = "optimizer", "learning_rate"  # the family's hyperparameters that name them
    # What the family's estimators read (class data, so an estimator class reads it unfitted):
    PARAMETERS = {}          # {hyperparameter: constraint}, declared once (scikit-learn's
                             # _parameter_constraints): fit and model files both check them
    EXTRAS = {}              # {fitted attribute: allowed types} kept beyond FittedState's fields
    ACCEPT_SPARSE = False    # scipy.sparse X: refused (True: densified, as scikit-learn's MLP)
    COSTS_SPAN_FITS = False  # True where costs_ runs over several fits (n_iter_ counts the last)
    PROGRESS_BAR = True      # a long verbose fit shows a bar (False: a line per epoch instead)
    OUT_ACTIVATIONS = {}     # out_activation_ of a head, where it is not the head's own name

    def __init__(self, estimator, hp):
        self.estimator, self.hp = estimator, hp

    @staticmethod
    def check_first(name, hp):
        """Checks of the estimator ``name``'s hyperparameters ``hp`` before ``PARAMETERS``'s."""

    @staticmethod
    def dtype_of(X, hp):
        """The dtype a fit on X computes in."""
        return hp["dtype"]

    @staticmethod
    def published(model, state):
        """What the family sets after ``model`` published ``state`` (a fit's, or a file's)."""

    # ----------------------------------------------------------------- names and sizes
    @property
    def solver(self):
        """The optimizer's name ("lbfgs" or a name in :data:`xpnn.optimizers.OPTIMIZERS`)."""
        return self.hp[self.SOLVER]

    @property
    def base_rate(self):
        """The initial learning rate (what a divergence message quotes)."""
        return self.hp[self.RATE]

    def targets(self, Y, backend):
        """Host targets Y (m, k) on the backend in the fit's dtype, in course notation (k, m)."""
        return backend.asarray(Y.T, dtype=self.hp["dtype"])

    def batch_size(self, m):
        """Examples per step; None for full batch."""
        return self.hp["batch_size"]

    def batch_rows(self, m):
        """The examples one step holds (what the memory check sizes)."""
        batch = self.batch_size(m) if self.solver != "lbfgs" else None
        return m if batch is None else min(batch, m)


class CourseRules(Rules):
    """The course estimators' rules: the course's initialisations, a stratified hold-out with
    patience counted in recorded costs, learning-rate decay, dropout, ``cost_every``."""

    PARAMETERS = {
        "learning_rate": check_positive_float, "n_iter": check_positive_int,
        "cost_every": check_positive_int, "init": one_of(SCHEMES), "activation": one_of(NAMES),
        "on_divergence": one_of({"raise", "warn"}), "batch_size": optional(check_positive_int),
        "optimizer": check_solver,
        "learning_rate_decay": optional(one_of(DECAYS)),
        "decay_rate": check_positive_float, "decay_interval": check_positive_int,
        "beta_1": fraction(upper_open=True), "beta_2": fraction(upper_open=True),
        "epsilon": check_positive_float, "alpha": check_non_negative_float,
        "dropout": check_rates, "validation_fraction": fraction(upper_open=True, positive=True),
        "n_iter_no_change": check_positive_int, "tol": optional(check_non_negative_float),
        "dtype": check_dtype,
        "hidden_layer_sizes": check_hidden_sizes, "n_hidden": check_positive_int,
        "random_state": check_seed, "backend": check_backend_spec,
        "batch_norm": check_boolean, "batch_norm_momentum": fraction(upper_open=True),
    }

    def __init__(self, estimator, hp):
        super().__init__(estimator, hp)
        self._seed = rng_from(estimator.random_state).integers(2**63)  # shuffles, dropout masks

    def initial(self, dims, backend):
        return initialize_parameters(dims, scheme=self.hp["init"], seed=self.estimator.random_state,
                                     backend="numpy" if backend.is_lazy else backend,
                                     dtype=self.hp["dtype"], batch_norm=self.estimator._batch_norm())

    def hold_out(self, Y, head):
        """Training and held-out rows by the one splitter (scikit-learn's ``train_test_split``,
        :func:`xpnn._validation.train_test_rows`), each class in proportion where the head says
        each sample's class, drawn from ``random_state``; each set in the rows' own order; at
        least 2 held out and 1 to train on."""
        hp, index = self.hp, get_head(head).class_index(Y.T)
        fraction, m = hp["validation_fraction"], Y.shape[0]
        try:
            train, held = train_test_rows(m, fraction, rng_from(self.estimator.random_state),
                                          strata=None if index is None else np.asarray(index))
            if held.shape[0] < 2:
                raise ValueError(f"it holds out {held.shape[0]} (at least 2 are needed)")
        except ValueError as exc:
            raise ValueError(f"early_stopping cannot work here: validation_fraction={fraction} of {m} "
                             f"samples: {str(exc).rstrip('.')}. Use more samples, another "
                             "validation_fraction, or early_stopping=False") from None
        return np.sort(train), np.sort(held)

    def early_stopping(self, X_val, Y_val, head, backend):
        hp = self.hp
        by_loss = constant_held_out(Y_val, head, type(self.estimator).__name__,
                                    "judges the held-out loss instead")
        checks = math.ceil(hp["n_iter_no_change"] / hp["cost_every"])  # patience counted in epochs
        return training.EarlyStopping(X_val, self.targets(Y_val, backend), checks,
                                      1e-4 if hp["tol"] is None else hp["tol"], by_loss=by_loss)

    def optimizer(self, m, steps_per_epoch, backend):
        """``hp["optimizer"]`` with the hyperparameters it declares (those the estimator has, by
        name; the others keep the optimizer's defaults) and the decay schedule."""
        hp = self.hp
        rate = decay_schedule(hp["learning_rate"], hp["learning_rate_decay"], decay_rate=hp["decay_rate"],
                              decay_interval=hp["decay_interval"], steps_per_epoch=steps_per_epoch)
        name = self.solver
        return get_optimizer(name, rate, **{k: hp[k] for k in optimizer_hyperparameters(name) if k in hp})

    def loop_options(self, task):
        hp = self.hp
        plateau = None  # tol given without early stopping: stop when the training loss stalls
        if hp["tol"] is not None and not task.early_stopping:
            plateau = Plateau(hp, hp["learning_rate"], False, False, None)
        return dict(dropout=hp["dropout"], cost_every=hp["cost_every"], on_divergence=hp["on_divergence"],
                    callback=task.callback, curve=True, on_epoch=plateau, progress=task.progress)

    def seed(self, t, backend):
        """The seed of the loop's shuffles and dropout masks (a continued fit: another stream)."""
        return self._seed if t == 0 else [self._seed, t]

    def shuffle(self):
        return True

    def after_stochastic(self, task, result, m, validation):
        return result

    def check_lbfgs(self, task):
        unsupported = [name for name, on in (("batch_size", self.hp["batch_size"] is not None),
                                             ("dropout", any(self.hp["dropout"])),
                                             ("early_stopping", task.early_stopping),
                                             ("Dask input", task.backend.is_lazy)) if on]
        if unsupported:
            raise ValueError(f"optimizer='lbfgs' is full-batch and deterministic: it does not combine with "
                             f"{', '.join(unsupported)}")

    def lbfgs_options(self, task):
        """At most n_iter iterations, stopping when no gradient component exceeds ``tol``."""
        return dict(tol=1e-4 if self.hp["tol"] is None else self.hp["tol"], callback=task.callback)

    def after_lbfgs(self, result, solution):
        """``costs_`` holds the cost after every ``cost_every``-th iteration."""
        every = self.hp["cost_every"]
        return result._replace(costs=result.costs[every - 1::every])
