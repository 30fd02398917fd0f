"""The machinery behind the estimators (:mod:`xpnn.estimators`): parameters protocol, fit,
partial_fit and warm start over :func:`xpnn.training.run`, prediction, and the classifier and
regressor conventions.

Rows are samples here (X is (n_samples, n_features), y is (n_samples,) or (n_samples, k)); fit
transposes once, as a view, to the course's notation. Classifiers pick the output head from y
(two labels: one sigmoid unit, as in the course; more: softmax; a 0/1 indicator matrix:
multilabel sigmoids); regressors use the identity head with half the squared error.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers

import numpy as np

from . import distributed, network, training
from ._validation import (check_choice, check_classification_y, check_dtype, check_positive_float,
                          check_positive_int, check_regression_y, check_sample_weight, check_score_y,
                          check_X, class_weights)
from .activations import ACTIVATIONS
from .backend import (backend_of, is_host_array, is_out_of_memory, namespace, resolve_backend,
                      rng_from, to_numpy, warn)
from .initializers import SCHEMES, initialize_parameters
from .optimizers import DECAYS, OPTIMIZERS, decay_schedule, get_optimizer


class NotFittedError(ValueError, AttributeError):
    """The estimator was used before ``fit``.

    When scikit-learn is installed the error raised is also a
    ``sklearn.exceptions.NotFittedError``, so code written for either catches it.
    """


@functools.cache
def _not_fitted_error():
    try:
        from sklearn.exceptions import NotFittedError as SklearnNotFittedError
    except ImportError:
        return NotFittedError
    return type("NotFittedError", (NotFittedError, SklearnNotFittedError), {"__module__": __name__})


class ConvergenceWarning(UserWarning):
    """A fit ended without learning much: the cost barely moved, or a classifier predicts one
    class for every training sample. When scikit-learn is installed the warning issued is also a
    ``sklearn.exceptions.ConvergenceWarning``, so filters written for either catch it."""


@functools.cache
def _convergence_warning():
    try:
        from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
    except ImportError:
        return ConvergenceWarning
    return type("ConvergenceWarning", (ConvergenceWarning, SklearnConvergenceWarning),
                {"__module__": __name__})


class _BaseNet:
    """Shared fit/predict for the course's nets; subclasses say which layers they have."""

    def _hidden_layer_sizes(self):
        return ()

    def _hidden_activation(self):
        return getattr(self, "activation", "relu")

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
        defaults = inspect.signature(type(self).__init__).parameters
        changed = [f"{k}={v!r}" for k, v in self.get_params().items() if v != defaults[k].default]
        return f"{type(self).__name__}({', '.join(changed)})"

    # ------------------------------------------------------------------------ fitting
    def _checked_hyperparameters(self):
        check_positive_float(self.learning_rate, "learning_rate")
        check_positive_int(self.n_iter, "n_iter")
        check_positive_int(self.cost_every, "cost_every")
        check_choice(self.init, "init", SCHEMES)
        check_choice(self._hidden_activation(), "activation", ACTIVATIONS)
        check_choice(self.on_divergence, "on_divergence", {"raise", "warn"})
        for size in self._hidden_layer_sizes():
            check_positive_int(size, "hidden layer size")
        if self.batch_size is not None:
            check_positive_int(self.batch_size, "batch_size")
        check_choice(self.optimizer, "optimizer", OPTIMIZERS)
        if self.learning_rate_decay is not None:
            check_choice(self.learning_rate_decay, "learning_rate_decay", DECAYS)
            check_positive_float(self.decay_rate, "decay_rate")
            check_positive_int(self.decay_interval, "decay_interval")
        for name in ("beta_1", "beta_2"):
            _check_fraction(getattr(self, name), name, upper_open=True)
        check_positive_float(self.epsilon, "epsilon")
        if isinstance(self.alpha, bool) or not isinstance(self.alpha, numbers.Real) \
                or not math.isfinite(self.alpha) or self.alpha < 0:
            raise ValueError(f"alpha must be a finite number >= 0; got {self.alpha!r}")
        self._dropout_rates()
        if self.early_stopping:
            _check_fraction(self.validation_fraction, "validation_fraction", upper_open=True, positive=True)
            check_positive_int(self.n_iter_no_change, "n_iter_no_change")
            if isinstance(self.tol, bool) or not isinstance(self.tol, numbers.Real) or self.tol < 0:
                raise ValueError(f"tol must be a number >= 0; got {self.tol!r}")
        return check_dtype(self.dtype)

    def _dropout_rates(self):
        """One drop rate per hidden layer (a single rate applies to every hidden layer)."""
        n_hidden = len(self._hidden_layer_sizes())
        rates = [self.dropout] * n_hidden if isinstance(self.dropout, numbers.Real) else list(self.dropout)
        if len(rates) != n_hidden:
            raise ValueError(f"dropout must be one rate or one per hidden layer ({n_hidden}); "
                             f"got {self.dropout!r}")
        for rate in rates:
            _check_fraction(rate, "dropout", upper_open=True)
        return rates

    def _optimizer(self, steps_per_epoch):
        rate = decay_schedule(self.learning_rate, self.learning_rate_decay, decay_rate=self.decay_rate,
                              decay_interval=self.decay_interval, steps_per_epoch=steps_per_epoch)
        extra = {"gd": {}, "momentum": {"beta": self.beta_1},
                 "rmsprop": {"beta": self.beta_2, "epsilon": self.epsilon},
                 "adam": {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}}
        return get_optimizer(self.optimizer, rate, **extra[self.optimizer])

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
        self._warn_if_not_learning(X, one_class_is_suspect=not weighted)
        return self

    def _fit(self, X, y, sample_weight, callback, *, n_epochs, warm, early_stopping, classes=None):
        dtype = self._checked_hyperparameters()
        backend = resolve_backend(self.backend, X, strict=self.strict)
        Xb = check_X(X, backend, dtype, n_features=self.n_features_in_ if warm else None,
                     estimator=type(self).__name__)
        m = Xb.shape[0]
        head, Y, fitted, weights = self._targets(y, m, self.classes_ if warm and hasattr(self, "classes_")
                                                 else classes)
        if warm and Y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {Y.shape[1]} output(s) but this fitted {type(self).__name__} has "
                             f"{self.n_outputs_}; fit a new model (warm_start=False)")
        weights = _combine(check_sample_weight(sample_weight, m), weights)
        dims = [Xb.shape[1], *self._hidden_layer_sizes(), Y.shape[1]]
        try:
            result = self._train(backend, Xb, Y, weights, dims, dtype, head, self._reporter(callback),
                                 n_epochs, warm, early_stopping)
        except Exception as exc:
            if is_out_of_memory(exc):
                raise MemoryError(_out_of_memory_message(self, backend, dims, Xb)) from exc
            raise
        done = self.n_iter_ if warm else 0
        costs = np.asarray(result.costs, dtype=np.float64)
        params = _read_only({k: to_numpy(v) for k, v in result.params.items()})
        cached = {} if backend.name == "dask" else {_key(backend): (tuple(params.items()), result.params)}
        fitted.update(
            backend_=backend, n_features_in_=dims[0], n_outputs_=dims[-1], out_activation_=head,
            n_iter_=done + result.n_iter,
            costs_=np.concatenate([self.costs_, costs]) if warm else costs,
            validation_scores_=result.validation_scores,
            best_iteration_=None if result.best_iteration is None else done + result.best_iteration,
            params_=params, _device_params=cached,
            _train_state=(_key(backend), result.state, result.t))
        self.__dict__.update(fitted)  # the fitted state, published in one step
        return self

    def _train(self, backend, Xb, Y, weights, dims, dtype, head, callback, n_epochs, warm, early_stopping):
        """Initialise (or continue) and train on the backend; Xb is (m, n_x) rows, Y (m, k) and
        weights (m,) (or None) host arrays. Returns a :class:`xpnn.training.Result`."""
        activations = network.layer_activations(len(dims) - 1, self._hidden_activation(), head)
        state, t = self._continued_state(backend) if warm else (None, 0)
        seed = rng_from(self.random_state).integers(2**63)  # shuffles and dropout masks
        options = dict(n_epochs=n_epochs, head=head, batch_size=self.batch_size, alpha=self.alpha,
                       random_state=seed if t == 0 else [seed, t], cost_every=self.cost_every,
                       on_divergence=self.on_divergence, callback=callback, state=state, t=t,
                       learning_rate=self.learning_rate)
        if warm:
            params = self._params_on(backend) if backend.name != "dask" else dict(self.params_)
        else:
            params = initialize_parameters(dims, scheme=self.init, seed=self.random_state,
                                           backend="numpy" if backend.name == "dask" else backend,
                                           dtype=dtype)
        validation = None
        if early_stopping:
            Xb, Y, weights, validation = self._hold_out(backend, Xb, Y, weights, dtype)
        steps = 1 if self.batch_size is None else math.ceil(Xb.shape[0] / self.batch_size)
        options["optimizer"] = self._optimizer(steps)
        dropout = self._dropout_rates()
        if backend.name == "dask":  # data-parallel over the chunks; parameters on the host
            if any(dropout) or early_stopping:
                raise ValueError("dropout and early_stopping are not supported on Dask; train on "
                                 "NumPy, CuPy or torch, or set dropout=0.0, early_stopping=False")
            return distributed.train(Xb, Y, params, activations, sample_weight=weights, **options)
        S = None if weights is None else backend.asarray(weights.reshape(1, -1), dtype=dtype)
        return training.run(Xb.T, backend.asarray(Y.T, dtype=dtype), params, activations, S=S,
                            dropout=dropout, early_stopping=validation, **options)

    def _continued_state(self, backend):
        """The optimizer state and step count of the last fit, on ``backend``."""
        key, state, t = getattr(self, "_train_state", (None, None, 0))
        if state is None or key == _key(backend):
            return state, t
        return training.move_state(state, backend, self.dtype), t

    def _hold_out(self, backend, Xb, Y, weights, dtype):
        """Split off the early-stopping validation set (stratified for classifiers)."""
        strata = self._strata(Y)
        train, held = training.stratified_split(strata, self.validation_fraction,
                                                rng_from(self.random_state))
        xp = backend.xp
        X_train, X_val = (xp.take(Xb, backend.asarray(i), axis=0) for i in (train, held))
        validation = training.EarlyStopping(X_val.T, backend.asarray(Y[held].T, dtype=dtype),
                                            self.n_iter_no_change, self.tol)
        return X_train, Y[train], None if weights is None else weights[train], validation

    def _warn_if_not_learning(self, X, one_class_is_suspect=True):
        """ConvergenceWarning when the cost barely moved, or a classifier predicts one class for
        every training sample while y has several (not a symptom when weights favour a class)."""
        costs, why = self.costs_, None
        if costs.shape[0] >= 2 and abs(costs[0] - costs[-1]) < 0.01 * abs(costs[0]):
            why = (f"the cost moved less than 1% ({costs[0]:.6g} -> {costs[-1]:.6g}) in "
                   f"{self.n_iter_} iterations")
        elif one_class_is_suspect and getattr(self, "classes_", None) is not None \
                and not self._multilabel() and self.backend_.name != "dask":
            predicted = np.unique(to_numpy(self.predict(X)))
            if predicted.shape[0] == 1:
                why = (f"it predicts {predicted.tolist()[0]!r} for every training sample (no better than "
                       "always predicting one class)")
        if why is not None:
            warn(f"{type(self).__name__} did not learn: {why}. Standardise X (e.g. "
                 "xpnn.preprocessing.standardize), raise learning_rate or n_iter, or try "
                 "optimizer='adam'.", _convergence_warning())

    def _reporter(self, callback):
        if not self.verbose:
            return callback

        def report(i, cost):
            print(f"Cost after iteration {i}: {cost:f}")
            return None if callback is None else callback(i, cost)
        return report

    def save(self, path):
        """Save the fitted model to ``path`` (.npz, no pickle, atomic); see :func:`xpnn.load`."""
        from .persistence import save

        return save(self, path)

    @classmethod
    def load(cls, path, *, backend=None):
        """Load a model of this class saved with :meth:`save`."""
        from .persistence import load

        return load(path, backend=backend, expected=cls)

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_device_params", None)  # device copies are rebuilt from params_ on demand
        if "_train_state" in state:  # optimizer moments go to the host (they may live on a GPU)
            key, opt_state, t = state["_train_state"]
            state["_train_state"] = (("numpy", "cpu"), training.move_state(opt_state), t)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if "params_" in state:
            self._device_params = {}

    # --------------------------------------------------------------------- predicting
    def _check_fitted(self):
        if not hasattr(self, "params_"):
            raise _not_fitted_error()(f"This {type(self).__name__} instance is not fitted yet; "
                                 "call fit(X, y) before using it")

    def _params_on(self, backend):
        """The fitted parameters on ``backend``, moved once and cached for exactly the arrays
        ``params_`` holds now (``params_`` arrays are read-only; replacing one, or the dict,
        moves the new ones), so predictions always follow ``params_``. Each cache entry holds
        the host arrays it was made from and is matched to them by identity (``is``)."""
        held = tuple(self.params_.items())
        self._device_params = {key: entry for key, entry in self._device_params.items()
                               if _same_arrays(entry[0], held)}
        key = _key(backend)
        if key not in self._device_params:
            self._device_params[key] = (held, {k: backend.asarray(v, dtype=self.dtype) for k, v in held})
        return self._device_params[key][1]

    def _forward(self, X):
        """Run the net on X; returns (A[L], Z[L]) (k, m) on X's backend, and whether X came from
        the host.

        Raises ValueError (one device read) when the logits are not finite: inputs so far outside
        the training range that the net's arithmetic overflowed (probabilities of exactly 0 or 1,
        or NaN, would follow)."""
        self._check_fitted()
        backend = self.backend_ if is_host_array(X) else backend_of(X)
        Xb = check_X(X, backend, self.dtype, n_features=self.n_features_in_,
                     estimator=type(self).__name__)
        params = self._params_on(backend)
        activations = network.layer_activations(network.n_layers(params), self._hidden_activation(),
                                                self.out_activation_)
        AL, caches = network.forward(Xb.T, params, activations)
        ZL = caches[-1][1]
        xp = namespace(ZL)
        if backend.name != "dask" and not bool(xp.all(xp.isfinite(ZL))):
            raise ValueError(f"{type(self).__name__} overflowed on this X: its logits hold NaN or "
                             f"infinity ({self.dtype}); X has values far outside the range it was "
                             "trained on (standardise X as for training)")
        return AL, ZL, is_host_array(X)


class _Classifier(_BaseNet):
    """Classifiers: the head follows y (sigmoid for two labels or multilabel, softmax for more)."""

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags

        return Tags(estimator_type="classifier", target_tags=TargetTags(required=True),
                    classifier_tags=ClassifierTags(multi_class=True, multi_label=True),
                    input_tags=InputTags(two_d_array=True))

    def _targets(self, y, m, classes=None):
        classes, Y, head = check_classification_y(y, m, classes)
        return head, Y, {"classes_": classes}, class_weights(self.class_weight, classes, Y, head)

    def _strata(self, Y):
        if Y.shape[1] == 1:
            return Y[:, 0].astype(int)
        return np.zeros(Y.shape[0], dtype=int) if self._head_of(Y) == "sigmoid" else np.argmax(Y, axis=1)

    @staticmethod
    def _head_of(Y):
        return "softmax" if np.all(Y.sum(axis=1) == 1) and Y.shape[1] > 2 else "sigmoid"

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch of training (one step for full batch), continuing from the current
        parameters and optimizer state; the first call initialises the net.

        Parameters
        ----------
        X, y, sample_weight : as for :meth:`fit`.
        classes : array of all labels, required on the first call (unless y is a multilabel
            indicator matrix), since one batch may not show every class.
        """
        first = not hasattr(self, "params_")
        if first and classes is None and np.ndim(to_numpy(y)) == 1:
            raise ValueError("classes must be passed on the first call to partial_fit: all the "
                             "labels y can take (one batch may not show every class)")
        return self._fit(X, y, sample_weight, None, n_epochs=1, warm=not first,
                         early_stopping=False, classes=classes)

    def _multilabel(self):
        return self.out_activation_ == "sigmoid" and self.n_outputs_ > 1

    def decision_function(self, X):
        """Logits: shape (n_samples,) for two classes (of the positive class), else
        (n_samples, n_outputs). NumPy in, NumPy out; other backends' arrays stay there."""
        _, Z, host = self._forward(X)
        return _out(Z[0, :] if self.n_outputs_ == 1 else Z.T, host)

    def predict_proba(self, X):
        """Probabilities, shape (n_samples, n_classes) in ``classes_`` order; for multilabel y,
        (n_samples, n_labels) with P(label = 1) in each column."""
        A, _, host = self._forward(X)
        if self.n_outputs_ == 1:
            A = namespace(A).concat([1.0 - A, A], axis=0)
        return _out(A.T, host)

    def predict(self, X):
        """Predicted labels from ``classes_`` (the most probable class; for two classes, the
        positive one where P > 0.5); for multilabel y, the (n_samples, n_labels) 0/1 matrix."""
        A, _, host = self._forward(X)
        xp = namespace(A)
        if self._multilabel():
            return _out(xp.astype(A.T > 0.5, xp.int64), host)
        index = A[0, :] > 0.5 if self.n_outputs_ == 1 else xp.argmax(A, axis=0)
        if host or self.classes_.dtype.kind not in "biuf":
            return self.classes_[to_numpy(index).astype(int)]
        classes = backend_of(A).asarray(self.classes_)
        if self.n_outputs_ == 1:
            return xp.where(index, classes[1], classes[0])
        return xp.take(classes, index)

    def score(self, X, y, sample_weight=None):
        """Mean accuracy of ``predict(X)`` against ``y`` (weighted by ``sample_weight``; for
        multilabel y, the share of samples with every label right)."""
        predicted = to_numpy(self.predict(X))
        columns = self.n_outputs_ if self._multilabel() else None
        truth = check_score_y(y, predicted.shape[0], n_columns=columns)
        right = np.all(predicted == truth, axis=1) if self._multilabel() else predicted == truth
        return float(np.average(right, weights=check_sample_weight(sample_weight, right.shape[0])))


class _Regressor(_BaseNet):
    """Regressors: identity output units trained on half the squared error."""

    def __sklearn_tags__(self):
        from sklearn.utils import InputTags, RegressorTags, Tags, TargetTags

        return Tags(estimator_type="regressor",
                    target_tags=TargetTags(required=True, multi_output=True, single_output=True),
                    regressor_tags=RegressorTags(), input_tags=InputTags(two_d_array=True))

    def _targets(self, y, m, classes=None):
        Y, ndim = check_regression_y(y, m)
        return "identity", Y, {"_y_ndim": ndim}, None

    def _strata(self, Y):
        return np.zeros(Y.shape[0], dtype=int)

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch of training (one step for full batch), continuing from the current
        parameters and optimizer state; the first call initialises the net."""
        return self._fit(X, y, sample_weight, None, n_epochs=1, warm=hasattr(self, "params_"),
                         early_stopping=False)

    def predict(self, X):
        """Predictions of shape (n_samples,) for a 1-D y at fit, else (n_samples, n_outputs)."""
        A, _, host = self._forward(X)
        return _out(A[0, :] if self._y_ndim == 1 else A.T, host)

    def score(self, X, y, sample_weight=None):
        """R² of ``predict(X)`` against ``y`` (scikit-learn's definition, outputs averaged
        uniformly), weighted by ``sample_weight``."""
        predicted = to_numpy(self.predict(X))
        predicted = predicted.reshape(predicted.shape[0], -1)
        Y, _ = check_regression_y(y, predicted.shape[0])
        w = check_sample_weight(sample_weight, Y.shape[0])
        return r2_score(Y, predicted, w)


def r2_score(Y, predicted, sample_weight=None):
    """1 - Σ w (y - ŷ)² / Σ w (y - ȳ)² per output, averaged over outputs; an output whose y is
    constant scores 1 if predicted exactly, else 0 (as scikit-learn does)."""
    w = np.ones(Y.shape[0]) if sample_weight is None else sample_weight
    mean = np.average(Y, axis=0, weights=w)
    residual = np.sum(w[:, None] * (Y - predicted) ** 2, axis=0)
    total = np.sum(w[:, None] * (Y - mean) ** 2, axis=0)
    scores = np.where(total > 0, 1.0 - residual / np.where(total > 0, total, 1.0),
                      np.where(residual == 0, 1.0, 0.0))
    return float(np.mean(scores))


def _combine(sample_weight, class_weight):
    if sample_weight is None or class_weight is None:
        return class_weight if sample_weight is None else sample_weight
    weights = sample_weight * class_weight
    if not np.any(weights > 0):
        raise ValueError("sample_weight times class_weight is zero for every sample")
    return weights


def _out_of_memory_message(model, backend, dims, Xb):
    m, itemsize = Xb.shape[0], 4 if model.dtype == "float32" else 8
    gib = lambda n: f"{n * itemsize / 2**30:.2f} GiB"  # noqa: E731
    n_params = sum(a * b + a for a, b in zip(dims[1:], dims[:-1]))
    per_iter = 3 * m * sum(dims[1:])  # Z, A and dZ of every layer
    return (f"{backend.name} ({backend.device}) ran out of memory while training "
            f"{type(model).__name__}: X is {m} x {dims[0]} {model.dtype} ({gib(m * dims[0])}), "
            f"layers {dims} hold {n_params} parameters ({gib(n_params)}) and each iteration "
            f"needs about {gib(per_iter)} of activations and gradients. Try dtype='float32', "
            "fewer samples per fit (a smaller batch), or smaller hidden layers. The model was "
            "left as it was before this fit.")


def _assign(estimator, values):
    """Set every constructor parameter from the __init__'s ``locals()`` (scikit-learn's rule:
    __init__ stores its arguments unchanged and does nothing else)."""
    for name in estimator._param_names():
        setattr(estimator, name, values[name])


def _check_fraction(value, name, *, upper_open=False, positive=False):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value > 0 if positive else value >= 0) and (value < 1 if upper_open else value <= 1)
    if not ok:
        low = "0 <" if positive else "0 <="
        raise ValueError(f"{name} must be a number with {low} {name} {'<' if upper_open else '<='} 1; "
                         f"got {value!r}")
    return float(value)


def _same_arrays(held, current):
    return len(held) == len(current) and all(
        k == c and v is w for (k, v), (c, w) in zip(held, current))


def _read_only(params):
    for array in params.values():
        array.flags.writeable = False
    return params


def _key(backend):
    return (backend.name, str(backend.device))


def _out(x, host):
    return to_numpy(x) if host else x


