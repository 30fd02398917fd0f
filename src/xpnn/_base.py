"""The machinery behind the estimators (:mod:`xpnn.estimators`): the parameters protocol with
its declared constraints, fit / partial_fit / warm start over the one training loop, the fitted
state (one schema for ``fit`` and for model files), and the forward pass of prediction. What
differs between classifiers and regressors is in :mod:`xpnn._classifier_regressor`.

Rows are samples here (X is (n_samples, n_features), y is (n_samples,) or (n_samples, k)); fit
transposes once, as a view, to the course's notation.
"""

from __future__ import annotations

import inspect
import numbers
import numpy as np

from ._driver import CourseRules, Task, train
from ._fitted import _Fitted, backend_key
from ._memory import check_fits_in_memory
from ._monitors import rising_or_oscillating
from ._state import FittedState, continuation_problem
from ._constraints import (check_backend_spec, check_boolean, check_dtype, check_hidden_sizes,
                          check_non_negative_float, check_parameters, check_positive_float,
                          check_positive_int, check_rates, check_seed, check_solver, fraction, one_of,
                          optional)
from ._validation import check_sample_weight, check_X, combine_weights, feature_names
from .activations import NAMES, canonical
from .backend import is_out_of_memory, move_tree, out_of_memory_message, resolve_backend, to_numpy, warn
from .exceptions import convergence_warning
from .initializers import SCHEMES
from .optimizers import DECAYS


class _BaseNet(_Fitted):
    """Shared fit/predict for the course's nets; subclasses say which layers they have."""

    _rules = CourseRules  # how this family sets training up (the one driver reads it)

    # Every constructor parameter with a constraint, declared once (scikit-learn's
    # _parameter_constraints): fit and model files both check them here.
    _PARAMETERS = {
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

    def _hidden_layer_sizes(self):
        return ()

    def _hidden_activation(self):
        """The hidden layers' activation, by its name in :data:`xpnn.activations.ACTIVATIONS`."""
        return canonical(getattr(self, "activation", "relu"))

    # ----------------------------------------------------------- parameters protocol
    @classmethod
    def _param_names(cls):
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self, deep=True):
        """The constructor's parameters (scikit-learn protocol)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set constructor parameters (scikit-learn protocol); returns self."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r} for {type(self).__name__}; "
                                 f"valid parameters are {valid}")
            setattr(self, name, value)
        return self

    def __repr__(self):
        """scikit-learn's repr: the parameters changed from their defaults, sorted by name, lines
        filled to 79 characters and continued under the opening parenthesis."""
        defaults = inspect.signature(type(self).__init__).parameters
        changed = [f"{k}={v!r}" for k, v in sorted(self.get_params().items())
                   if repr(v) != repr(defaults[k].default)]
        lines, indent = [f"{type(self).__name__}("], " " * (len(type(self).__name__) + 1)
        for i, item in enumerate(changed):
            item += "," if i < len(changed) - 1 else ""
            if len(lines[-1]) + len(item) + 1 > 79 and not lines[-1].endswith("("):
                lines.append(indent + item)
            else:
                lines[-1] += ("" if lines[-1].endswith("(") else " ") + item
        return "\n".join(lines) + ")"

    @property
    def _repr_html_(self):
        """scikit-learn's HTML diagram in notebooks, where scikit-learn is installed."""
        try:
            from sklearn.utils import estimator_html_repr
        except ImportError:
            raise AttributeError("_repr_html_ needs scikit-learn") from None
        return lambda: estimator_html_repr(self)

    def _hyperparameters(self):
        """The constructor's parameters, checked against ``_PARAMETERS`` and converted (a NumPy
        scalar becomes a Python number, so it never changes the dtype of the arithmetic)."""
        hp = self.get_params()
        hp.update(check_parameters(hp, self._PARAMETERS))
        hp["dropout"] = self._dropout_rates(hp["dropout"])
        return hp

    def _dropout_rates(self, dropout):
        """One drop rate per hidden layer (a single rate applies to every hidden layer)."""
        n_hidden = len(self._hidden_layer_sizes())
        rates = [dropout] * n_hidden if isinstance(dropout, numbers.Real) else list(dropout)
        if len(rates) != n_hidden:
            raise ValueError(f"dropout must be one rate or one per hidden layer ({n_hidden}); "
                             f"got {dropout!r}")
        return [fraction(upper_open=True)(rate, "dropout") for rate in rates]

    # ------------------------------------------------------------------------ fitting
    def fit(self, X, y, sample_weight=None, *, callback=None):
        """Train for ``n_iter`` iterations (epochs with ``batch_size``), or fewer with early
        stopping or a callback that returns False.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            NumPy (or list, DataFrame) or an array of any supported backend; int is converted.
        y : array of shape (n_samples,) or (n_samples, n_outputs)
            Classifiers: labels of any type (two or more classes), or a 0/1 indicator matrix
            (multilabel). Regressors: real-valued targets.
        sample_weight : array of shape (n_samples,), optional
            Per-sample weights (>= 0, not all 0): the cost becomes Σ w·loss / Σ w, so integer
            weights train as if those rows were repeated.
        callback : callable(iteration, cost), optional
            Called at each recorded cost; returning False stops training (the model keeps what
            it learned so far).

        Returns
        -------
        self

        Raises
        ------
        ValueError, TypeError
            Bad hyperparameters or input (the message names the argument and shape).
        xpnn.DivergenceError
            The cost became non-finite (with ``on_divergence="raise"``).

        Warns
        -----
        xpnn.ConvergenceWarning
            The cost moved less than 1% from its first recorded value, or a classifier predicts
            one class for every training sample: standardise X or raise learning_rate.
        """
        warm = bool(self.warm_start) and hasattr(self, "params_")
        self._fit(X, y, sample_weight, callback, n_epochs=self.n_iter, warm=warm,
                  early_stopping=bool(self.early_stopping))
        weighted = sample_weight is not None or getattr(self, "class_weight", None) is not None
        self._warn_if_not_learning(X, y, one_class_is_suspect=not weighted)
        return self

    _accept_sparse = False  # scipy.sparse X is refused (True: densified, scikit-learn's MLP)

    def _dtype_for(self, X, hp):
        """The dtype a fit computes in: the ``dtype`` hyperparameter."""
        return hp["dtype"]

    def _out_activation_name(self, head):
        """``out_activation_`` for the head ``head``: its name."""
        return head

    def _fit(self, X, y, sample_weight, callback, *, n_epochs, warm, early_stopping, classes=None,
             incremental=False):
        """Validate, train and publish. ``warm``: continue from the fitted state where it still
        fits the data and hyperparameters (a warm fit that no longer fits starts afresh, with a
        warning; ``incremental``, partial_fit, raises instead). Returns the fit's rules object
        (what it recorded: :class:`xpnn._mlp_rules.ScikitLearnRules`'s ``run``)."""
        hp = self._hyperparameters()
        hp["dtype"] = self._dtype_for(X, hp)
        backend = resolve_backend(self.backend, X, strict=getattr(self, "strict", False))
        names = feature_names(X)
        continuing = incremental and warm  # partial_fit on a fitted model: features and classes fixed
        try:
            Xb = check_X(X, backend, hp["dtype"], n_features=self.n_features_in_ if continuing else None,
                         estimator=type(self).__name__, accept_sparse=self._accept_sparse)
        except Exception as exc:
            if is_out_of_memory(exc):
                raise MemoryError(f"{backend.name} ({backend.device}) ran out of memory receiving X of "
                                  f"shape {getattr(X, 'shape', '?')} as {hp['dtype']}: try dtype='float32' "
                                  "or fewer samples per fit") from exc
            raise
        m = Xb.shape[0]
        fixed = self.classes_ if continuing and hasattr(self, "classes_") else classes
        head, Y, targets, weights = self._targets(y, m, fixed)
        weights = combine_weights(check_sample_weight(sample_weight, m), weights)
        dims = [Xb.shape[1], *self._hidden_layer_sizes(), Y.shape[1]]
        if warm:
            problem = continuation_problem(self.fitted_state(), dims, head, hp["dtype"],
                                           targets.get("classes"), self._batch_norm())
            if problem is not None and incremental:
                raise ValueError(f"partial_fit cannot continue this {type(self).__name__}: {problem}; "
                                 "fit a new model")
            if problem is not None:
                warn(f"warm_start cannot continue this {type(self).__name__}: {problem}; it starts "
                     "afresh", UserWarning)
                warm = False
        rules = self._rules(self, hp)
        check_fits_in_memory(type(self).__name__, backend, dims, rules.batch_rows(Xb.shape[0]),
                             hp["dtype"], rules.solver)
        try:
            with self._progress_bar(n_epochs) as bar, backend.on_device():
                report = self._reporter(callback, print if bar is None else bar.write)
                result = train(rules, Task(backend, Xb, Y, weights, dims, head, n_epochs, warm,
                                           early_stopping, report, None if bar is None else bar.update))
        except Exception as exc:
            if is_out_of_memory(exc):
                raise MemoryError(out_of_memory_message(type(self).__name__, backend, dims, Xb.shape[0],
                                                        hp["dtype"])) from exc
            raise
        done = self.n_iter_ if warm else 0
        costs = np.asarray(result.costs, dtype=np.float64)
        state = FittedState(
            params={k: to_numpy(v) for k, v in result.params.items()},
            costs=np.concatenate([self.costs_, costs]) if warm else costs,
            n_features_in=dims[0], n_iter=done + result.n_iter, head=head, n_outputs=dims[-1],
            validation_scores=result.validation_scores,
            best_iteration=None if result.best_iteration is None else done + result.best_iteration,
            feature_names=names, **targets)
        curve = None if result.curve is None else \
            (list(self.__dict__.get("loss_curve_", [])) if warm else []) + list(result.curve)
        self._publish(state, backend, device_params=result.params,
                      train_state=(backend_key(backend), result.state, result.t, rules.solver),
                      loss_curve=curve)
        return rules

    def _warm_params(self, backend, dtype):
        """The fitted parameters to continue from, on ``backend`` in ``dtype`` (the host's NumPy
        arrays for a lazy backend)."""
        if backend.is_lazy:
            return {k: np.asarray(v, dtype=dtype) for k, v in self.params_.items()}
        return {k: backend.asarray(v, dtype=dtype) for k, v in self._params_on(backend).items()}

    def _continued_state(self, backend, dtype, optimizer):
        """The optimizer state and step count of the last fit, on ``backend``; none (with a
        warning) when the optimizer changed since (another optimizer's state means nothing)."""
        key, state, t, used = getattr(self, "_train_state", (None, None, 0, None))
        if state is not None and used != optimizer:
            warn(f"the optimizer changed from {used!r} to {optimizer!r} since the last fit: its state "
                 "(moments, step count) starts afresh", UserWarning)
            return None, 0
        if state is None or key == backend_key(backend):
            return state, t
        return move_tree(state, None if backend.is_lazy else backend, dtype), t

    def _warn_if_not_learning(self, X, y, one_class_is_suspect=True):
        """ConvergenceWarning when the cost barely moved, or a classifier predicts one class for
        every training sample while y has several (not a symptom when weights favour a class);
        or when the cost ended above where it began. Where the cost rose or oscillated, the
        advice is to lower the learning rate (a stalled cost: to raise it)."""
        costs, why = self.costs_, None
        every = self.__dict__.get("loss_curve_")
        curve = np.asarray(every or costs, dtype=np.float64)
        trend = rising_or_oscillating(curve, "iteration" if every else "record")
        if costs.shape[0] >= 2 and costs[-1] > 1.05 * costs[0]:
            why = f"the cost ended above where it began ({costs[0]:.6g} -> {costs[-1]:.6g})"
        elif costs.shape[0] >= 2 and abs(costs[0] - costs[-1]) < 0.01 * abs(costs[0]):
            why = (f"the cost moved less than 1% ({costs[0]:.6g} -> {costs[-1]:.6g}) in "
                   f"{self.n_iter_} iterations")
        elif one_class_is_suspect and not self.backend_.is_lazy:
            why = self._degenerate(X, y)
        if why is None:
            return
        if trend is not None:  # a rate too large: the opposite advice to a stalled cost's
            rate = getattr(self, "learning_rate", None)
            advice = (f"{trend[0].upper()}{trend[1:]}: the learning rate is too large for this data; "
                      "lower learning_rate"
                      + (f" (try {rate / 10:g})" if isinstance(rate, (int, float)) else "")
                      + ", or standardise X (xpnn.preprocessing.standardize)")
        else:
            advice = ("Standardise X (e.g. xpnn.preprocessing.standardize), raise learning_rate or "
                      "n_iter, or try optimizer='adam'")
        warn(f"{type(self).__name__} did not learn: {why}. {advice}.", convergence_warning())

    def _degenerate(self, X, y):
        """Why the fitted model is no better than a constant on (X, y), or None."""
        return None

    _LONG_FIT = 1000  # epochs from which a verbose fit shows a progress bar

    def _progress_bar(self, n_epochs):
        """A tqdm bar over the epochs of a long verbose fit (its ``update`` is the loop's
        ``progress``: a host counter, no device read), closed at the end; else None."""
        import contextlib

        if not self.verbose or n_epochs < self._LONG_FIT:
            return contextlib.nullcontext(None)
        from tqdm.auto import tqdm  # a widget in a notebook, text in a terminal

        return contextlib.closing(tqdm(total=n_epochs, unit="epoch", desc=type(self).__name__, leave=False))

    def _reporter(self, callback, write=print):
        """``callback`` preceded by the course's line for each recorded cost when verbose
        ("iteration" for full batch, "epoch" with mini-batches), written by ``write`` (a
        progress bar's, which clears the bar, writes the line and redraws the bar below it)."""
        if not self.verbose:
            return callback
        unit = "iteration" if getattr(self, "batch_size", None) is None else "epoch"

        def report(i, cost):
            write(f"Cost after {unit} {i}: {cost:f}")
            return None if callback is None else callback(i, cost)
        return report


def assign(estimator, values):
    """Set every constructor parameter from the __init__'s ``locals()`` (scikit-learn's rule:
    __init__ stores its arguments unchanged and does nothing else)."""
    for name in estimator._param_names():
        setattr(estimator, name, values[name])
