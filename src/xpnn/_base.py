"""The machinery behind every estimator (:mod:`xpnn.estimators`, :mod:`xpnn.mlp`): the
parameters protocol, fit / partial_fit / warm start through the one driver
(:func:`xpnn._driver.train`), the fitted state published in one step and restored from a model
file (one schema, :class:`xpnn._state.FittedState`), pickling, and prediction's forward pass
with the fitted parameters moved to the backend once. What a family of estimators does its own
way (the course's, scikit-learn's) is its rules object (``_rules``: constraints, fitted extras,
how training is set up); what differs between classifiers and regressors is in
:mod:`xpnn._classifier_regressor`.

Rows are samples here (X is (n_samples, n_features), y is (n_samples,) or (n_samples, k)); fit
transposes once, as a view, to the course's notation.

A fit publishes its :class:`FittedState` as one attribute (``_published``) beside the public
ones; predictions read that one attribute once per call, so a concurrent refit never tears a
prediction (old parameters with new classes). ``params_`` is its parameter dict.
"""

from __future__ import annotations

import inspect
import numbers

import numpy as np

from . import _prediction
from ._constraints import check_hidden_sizes, check_parameters, fraction
from ._driver import CourseRules, Task, train
from ._memory import check_fits_in_memory
from ._monitors import not_learning, progress_bar, reporter
from ._prediction import backend_key
from ._sklearn_face import estimator_repr, routing_of, set_request
from ._state import FittedState, check_state, continuation_problem, fitted_extras
from ._validation import check_feature_names, check_sample_weight, check_X, combine_weights, feature_names
from .activations import canonical
from .backend import (backend_of, is_host_array, is_out_of_memory, move_tree, out_of_memory_message,
                      resolve_backend, to_numpy, warn)
from .exceptions import convergence_warning, not_fitted_error
from .heads import get_head
from .network import layer_activations, n_layers
from .normalization import parameter_shapes


class _BaseNet:
    """Shared fit/predict for every estimator; subclasses say which layers they have."""

    _rules = CourseRules  # the family's rules: constraints, fitted extras, how training is set up

    def _hidden_layer_sizes(self):
        return check_hidden_sizes(getattr(self, "hidden_layer_sizes", ()), "hidden_layer_sizes")

    def _hidden_activation(self):
        """The hidden layers' activation, by its name in :data:`xpnn.activations.ACTIVATIONS`."""
        return canonical(getattr(self, "activation", "relu"))

    def _batch_norm(self):
        """Whether the hidden layers are batch-normalised (estimators without the option: no)."""
        return bool(getattr(self, "batch_norm", False))

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
        return estimator_repr(self)

    @property
    def _repr_html_(self):
        """scikit-learn's HTML diagram in notebooks, where scikit-learn is installed."""
        try:
            from sklearn.utils import estimator_html_repr
        except ImportError:
            raise AttributeError("_repr_html_ needs scikit-learn") from None
        return lambda: estimator_html_repr(self)

    def _hyperparameters(self):
        """The constructor's parameters, checked against the family's constraints
        (``_rules.PARAMETERS``) and converted (a NumPy scalar becomes a Python number, so it
        never changes the dtype of the arithmetic)."""
        hp = self.get_params()
        self._rules.check_first(type(self).__name__, hp)
        hp.update(check_parameters(hp, self._rules.PARAMETERS))
        if "dropout" in hp:
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

    # ---------------------------------------------- scikit-learn's metadata routing
    def get_metadata_routing(self):
        """scikit-learn's ``MetadataRequest`` of this estimator (a copy), where it is installed."""
        return routing_of(self)

    def set_fit_request(self, *, sample_weight="$UNCHANGED$"):
        """Request ``sample_weight`` for ``fit`` (scikit-learn's metadata routing, so that
        GridSearchCV or a Pipeline routes it). Returns self."""
        return set_request(self, "fit", sample_weight)

    def set_partial_fit_request(self, *, sample_weight="$UNCHANGED$"):
        """Request ``sample_weight`` for ``partial_fit``. Returns self."""
        return set_request(self, "partial_fit", sample_weight)

    def set_score_request(self, *, sample_weight="$UNCHANGED$"):
        """Request ``sample_weight`` for ``score``. Returns self."""
        return set_request(self, "score", sample_weight)

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

    def _fit(self, X, y, sample_weight, callback, *, n_epochs, warm, early_stopping, classes=None,
             incremental=False):
        """Validate, train and publish. ``warm``: continue from the fitted state where it still
        fits the data and hyperparameters (a warm fit that no longer fits starts afresh, with a
        warning; ``incremental``, partial_fit, raises instead). Returns the fit's rules object
        (what it recorded: :class:`xpnn._mlp_rules.ScikitLearnRules`'s ``run``)."""
        hp = self._hyperparameters()
        hp["dtype"] = self._rules.dtype_of(X, hp)
        backend = resolve_backend(self.backend, X, strict=getattr(self, "strict", False))
        names = feature_names(X)
        continuing = incremental and warm  # partial_fit on a fitted model: features and classes fixed
        try:
            Xb = check_X(X, backend, hp["dtype"], n_features=self.n_features_in_ if continuing else None,
                         estimator=type(self).__name__, accept_sparse=self._rules.ACCEPT_SPARSE)
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
            with progress_bar(self, n_epochs) as bar, backend.on_device():
                report = reporter(self, callback, print if bar is None else bar.write)
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
        """ConvergenceWarning when the cost barely moved or rose (:func:`xpnn._monitors.not_learning`),
        or a classifier predicts one class for every training sample while y has several (not a
        symptom when weights favour a class)."""
        every = self.__dict__.get("loss_curve_")
        message = not_learning(self.costs_, every, self.n_iter_, getattr(self, "learning_rate", None),
                               lambda: self._degenerate(X, y) if one_class_is_suspect and
                               not self.backend_.is_lazy else None)
        if message is not None:
            warn(f"{type(self).__name__} did not learn: {message}.", convergence_warning())

    def _degenerate(self, X, y):
        """Why the fitted model is no better than a constant on (X, y), or None."""
        return None

    # ------------------------------------------------------------------- fitted state
    @property
    def params_(self):
        """The fitted parameters in course notation, {"W1": (n1, n_x), "b1": (n1, 1), ...}:
        read-only host arrays. Predictions follow them: replace an entry, or the whole dict."""
        try:
            return self.__dict__["_published"].params
        except KeyError:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute 'params_'") from None

    @params_.setter
    def params_(self, params):
        self.__dict__["_published"] = self._published._replace(params=params)

    def fitted_state(self):
        """The fitted state as a :class:`FittedState` (what :meth:`save` writes)."""
        published = self._check_fitted()
        return FittedState(published.params, self.costs_, self.n_features_in_, self.n_iter_, self._head,
                           self.n_outputs_, getattr(self, "classes_", None), getattr(self, "_y_ndim", None),
                           getattr(self, "validation_scores_", None), self.best_iteration_,
                           getattr(self, "feature_names_in_", None), fitted_extras(self, self._rules.EXTRAS))

    @classmethod
    def from_hyperparameters(cls, hyperparameters):
        """An unfitted estimator with ``hyperparameters`` (a dict), checked as fit checks them."""
        unknown = sorted(set(hyperparameters) - set(cls._param_names()))
        if unknown:
            raise ValueError(f"unknown hyperparameter(s) {unknown} for {cls.__name__}")
        model = cls(**hyperparameters)
        model._hyperparameters()
        return model

    def parameter_shapes(self, n_features_in, n_outputs):
        """{"W1": (n1, n_features_in), "b1": (n1, 1), ...}: the parameters of this estimator's
        layers for ``n_features_in`` inputs and ``n_outputs`` output units (with batch norm,
        gamma, beta, mean and var in place of each hidden b)."""
        return parameter_shapes([n_features_in, *self._hidden_layer_sizes(), n_outputs],
                                self._batch_norm())

    @classmethod
    def from_fitted_state(cls, hyperparameters, state, *, backend=None):
        """An estimator with ``hyperparameters`` (checked as ``fit`` checks them) and the fitted
        ``state``, after checking that the state makes one consistent model (ValueError saying
        what does not fit); it predicts on ``backend`` (None: the default)."""
        model = cls.from_hyperparameters(hyperparameters)
        dtype = model._hyperparameters()["dtype"] or str(next(iter(state.params.values())).dtype)
        check_state(state, dtype, model.parameter_shapes(state.n_features_in, state.n_outputs), cls._rules,
                    cls.__name__)
        model._check_targets(state, get_head(state.head))
        model._publish(state, resolve_backend(backend))
        return model

    def _publish(self, state, backend, *, device_params=None, train_state=None, loss_curve=None):
        """Set every fitted attribute from ``state`` in one step (a concurrent reader sees the
        old model or the new one)."""
        params = {k: v for k, v in state.params.items()}
        for array in params.values():
            array.flags.writeable = False  # predictions follow params_: see _params_on
        cached = {} if device_params is None or backend.is_lazy else {
            backend_key(backend): (tuple(params.items()), device_params)}
        fitted = dict(backend_=backend, n_features_in_=state.n_features_in, n_outputs_=state.n_outputs,
                      _head=state.head,
                      out_activation_=self._rules.OUT_ACTIVATIONS.get(state.head, state.head),
                      n_iter_=state.n_iter, costs_=state.costs, validation_scores_=state.validation_scores,
                      best_iteration_=state.best_iteration, _published=state._replace(params=params),
                      _device_params=cached, **self._target_attributes(state))
        if train_state is not None:
            fitted["_train_state"] = train_state
        fitted.update(state.extras or {})
        if loss_curve:  # every epoch's cost (scikit-learn's names)
            finite = [c for c in loss_curve if c == c]
            fitted.update(loss_curve_=loss_curve, loss_=loss_curve[-1],
                          best_loss_=min(finite) if finite else float("nan"))
        if state.feature_names is not None:
            fitted["feature_names_in_"] = np.asarray(state.feature_names, dtype=object)
        else:
            self.__dict__.pop("feature_names_in_", None)
        self.__dict__.update(fitted)
        self._rules.published(self, state)

    # ----------------------------------------------------------------------- files
    def save(self, path, *, key=None):
        """Save the fitted model to ``path`` (.npz, no pickle, atomic), signed with ``key`` (bytes
        or str) when given; see :func:`xpnn.load`."""
        from .persistence import save

        return save(self, path, key=key)

    @classmethod
    def load(cls, path, *, backend=None, key=None, unverified_ok=False):
        """Load a model of this class saved with :meth:`save` (``key``, ``unverified_ok``: as
        :func:`xpnn.load`)."""
        from .persistence import load

        return load(path, backend=backend, expected=cls, key=key, unverified_ok=unverified_ok)

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_device_params", None)  # device copies are rebuilt from params_ on demand
        if "_train_state" in state:  # optimizer moments go to the host (they may live on a GPU)
            key, opt_state, t, used = state["_train_state"]
            state["_train_state"] = (("numpy", "cpu"), move_tree(opt_state), t, used)
        return state

    def __setstate__(self, state):
        state = dict(state)
        params = state.pop("params_", None)  # pickled before the fitted state was one attribute
        self.__dict__.update(state)
        if params is not None and "_published" not in state:
            self.__dict__.setdefault("_head", state.get("out_activation_"))
            self.__dict__["_published"] = FittedState(
                params, state.get("costs_"), state.get("n_features_in_"), state.get("n_iter_"), self._head,
                state.get("n_outputs_"), state.get("classes_"), state.get("_y_ndim"))
        if "_published" in self.__dict__:
            self._device_params = {}

    # --------------------------------------------------------------------- predicting
    def _check_fitted(self):
        """The published fitted state (NotFittedError before fit)."""
        published = self.__dict__.get("_published")
        if published is None:
            raise not_fitted_error()(f"This {type(self).__name__} instance is not fitted yet; "
                                     "call fit(X, y) before using it")
        return published

    def _params_on(self, backend, params=None):
        """The fitted parameters (``params``, else ``params_``) on ``backend``, moved once and
        cached for exactly the arrays they hold now (``params_`` arrays are read-only; replacing
        one, or the dict, moves the new ones), so predictions always follow ``params_``. Each
        cache entry holds the host arrays it was made from and is matched to them by ``is``."""
        held = tuple((self.params_ if params is None else params).items())
        # one local dict, read from and returned from: a refit in another thread that publishes
        # a new cache meanwhile never hands this call the other model's arrays
        cache = {key: entry for key, entry in self._device_params.items()
                 if _prediction.same_arrays(entry[0], held)}
        key = backend_key(backend)
        if key not in cache:
            cache[key] = (held, {k: backend.asarray(v) for k, v in held})
        self._device_params = cache
        return cache[key][1]

    def _forward(self, X, finish):
        """Run the net on X; returns ``finish(A[L], Z[L], host, published)``: the outputs (k, m) on
        X's backend, whether X came from the host, and the fitted state they came from (one
        snapshot: read once per call), finished on the model's device (CuPy computes on the
        current device, so a second GPU's work runs inside its context).

        Raises ValueError (one device read) when the logits are not finite: inputs so far outside
        the training range that the net's arithmetic overflowed (probabilities of exactly 0 or 1,
        or NaN, would follow)."""
        published = self._check_fitted()
        check_feature_names(self, X)
        backend = self.backend_ if is_host_array(X) else backend_of(X)
        dtype = str(published.params["W1"].dtype)  # the fitted dtype, whatever set_params did since
        Xb = check_X(X, backend, dtype, n_features=published.n_features_in, estimator=type(self).__name__,
                     accept_sparse=self._rules.ACCEPT_SPARSE)
        params = self._params_on(backend, published.params)
        activations = layer_activations(n_layers(params), self._hidden_activation(), published.head)
        message = (f"{type(self).__name__} overflowed on this X: its logits hold NaN or infinity ({dtype}); "
                   "X has values far outside the range it was trained on (standardise X as for training)")
        with backend.on_device():
            run = _prediction._rows_forward
            if backend.is_compiled:  # JAX: one compiled call per block
                run = _prediction._padded(backend.compile(_prediction._rows_forward, ("activations",)))
            block = 0 if backend.is_lazy else _prediction.PREDICT_BLOCK
            AL, ZL = _prediction._forward_in_blocks(Xb, params, tuple(activations), block, run)
            ZL = backend.require_finite(ZL, message)
            if backend.is_lazy:  # the outputs carry the check: computing them raises
                AL = get_head(published.head).activation(ZL)
            return finish(AL, ZL, is_host_array(X), published)




def assign(estimator, values):
    """Set every constructor parameter from the __init__'s ``locals()`` (scikit-learn's rule:
    __init__ stores its arguments unchanged and does nothing else)."""
    for name in estimator._param_names():
        setattr(estimator, name, values[name])
