"""Thin scikit-learn-style estimators over the functional core in :mod:`xpnn.network`.

Rows are samples here (X is (n_samples, n_features), y is (n_samples,) or (n_samples, k)); the
estimators transpose once, as a view, to the course's notation and train with
:func:`network.gradient_descent`. Classifiers pick the output head from y (two labels: one
sigmoid unit, as in the course; more: softmax; a 0/1 indicator matrix: multilabel sigmoids);
regressors use the identity head with half the squared error.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from . import distributed, network
from ._validation import (check_choice, check_classification_y, check_dtype, check_positive_float,
                          check_positive_int, check_regression_y, check_sample_weight, check_X,
                          class_weights)
from .activations import ACTIVATIONS
from .backend import (backend_of, is_host_array, is_out_of_memory, namespace, resolve_backend,
                      rng_from, to_numpy)
from .initializers import SCHEMES, initialize_parameters


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
        return check_dtype(self.dtype)

    def fit(self, X, y, sample_weight=None, *, callback=None):
        """Train by gradient descent (batch, or mini-batch with ``batch_size``).

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
        callback : callable(iteration, cost), optional; called at each recorded cost.

        Returns
        -------
        self

        Raises
        ------
        ValueError, TypeError
            Bad hyperparameters or input (the message names the argument and shape).
        xpnn.DivergenceError
            The cost became non-finite (with ``on_divergence="raise"``).
        """
        dtype = self._checked_hyperparameters()
        backend = resolve_backend(self.backend, X)
        Xb = check_X(X, backend, dtype)
        m = Xb.shape[0]
        head, Y, fitted, weights = self._targets(y, m)
        weights = _combine(check_sample_weight(sample_weight, m), weights)
        dims = [Xb.shape[1], *self._hidden_layer_sizes(), Y.shape[1]]
        try:
            params, costs = self._train(backend, Xb, Y, weights, dims, dtype, head,
                                        self._reporter(callback))
        except Exception as exc:
            if is_out_of_memory(exc):
                raise MemoryError(_out_of_memory_message(self, backend, dims, Xb)) from exc
            raise
        fitted.update(backend_=backend, n_features_in_=dims[0], n_outputs_=dims[-1],
                      out_activation_=head, n_iter_=self.n_iter,
                      costs_=np.asarray(costs, dtype=np.float64),
                      params_={k: to_numpy(v) for k, v in params.items()},
                      _device_params={} if backend.name == "dask" else {_key(backend): params})
        self.__dict__.update(fitted)  # the fitted state, published in one step
        return self

    def _train(self, backend, Xb, Y, weights, dims, dtype, head, callback):
        """Initialise and run gradient descent on the backend; Xb is (m, n_x) rows, Y (m, k)
        and weights (m,) (or None) host arrays."""
        activations = network.layer_activations(len(dims) - 1, self._hidden_activation(), head)
        options = dict(learning_rate=self.learning_rate, cost_every=self.cost_every,
                       on_divergence=self.on_divergence, callback=callback, head=head)
        if self.batch_size is not None:
            options.update(n_epochs=self.n_iter, batch_size=self.batch_size,
                           random_state=rng_from(self.random_state).integers(2**63))
        else:
            options.update(n_iter=self.n_iter)
        if backend.name == "dask":  # data-parallel over the chunks; parameters on the host
            params = initialize_parameters(dims, scheme=self.init, seed=self.random_state,
                                           backend="numpy", dtype=dtype)
            train = distributed.full_batch if self.batch_size is None else distributed.minibatch
            return train(Xb, Y, params, activations, sample_weight=weights, **options)
        params = initialize_parameters(dims, scheme=self.init, seed=self.random_state,
                                       backend=backend, dtype=dtype)
        S = None if weights is None else backend.asarray(weights.reshape(1, -1), dtype=dtype)
        train = network.gradient_descent if self.batch_size is None else network.minibatch_gradient_descent
        return train(Xb.T, backend.asarray(Y.T, dtype=dtype), params, activations, S=S, **options)

    def _reporter(self, callback):
        if not self.verbose:
            return callback

        def report(i, cost):
            print(f"Cost after iteration {i}: {cost:f}")
            if callback is not None:
                callback(i, cost)
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
        """The fitted parameters on ``backend`` (moved once, then cached)."""
        key = _key(backend)
        if key not in self._device_params:
            self._device_params[key] = {k: backend.asarray(v, dtype=self.dtype)
                                        for k, v in self.params_.items()}
        return self._device_params[key]

    def _forward(self, X, output):
        """Run the net on X; returns (output (k, m) on X's backend, whether X came from the host)."""
        self._check_fitted()
        backend = self.backend_ if is_host_array(X) else backend_of(X)
        Xb = check_X(X, backend, self.dtype, n_features=self.n_features_in_,
                     estimator=type(self).__name__)
        params = self._params_on(backend)
        activations = network.layer_activations(network.n_layers(params), self._hidden_activation(),
                                                self.out_activation_)
        return output(Xb.T, params, activations), is_host_array(X)


class _Classifier(_BaseNet):
    """Classifiers: the head follows y (sigmoid for two labels or multilabel, softmax for more)."""

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags

        return Tags(estimator_type="classifier", target_tags=TargetTags(required=True),
                    classifier_tags=ClassifierTags(multi_class=True, multi_label=True),
                    input_tags=InputTags(two_d_array=True))

    def _targets(self, y, m):
        classes, Y, head = check_classification_y(y, m)
        return head, Y, {"classes_": classes}, class_weights(self.class_weight, classes, Y, head)

    def _multilabel(self):
        return self.out_activation_ == "sigmoid" and self.n_outputs_ > 1

    def decision_function(self, X):
        """Logits: shape (n_samples,) for two classes (of the positive class), else
        (n_samples, n_outputs). NumPy in, NumPy out; other backends' arrays stay there."""
        Z, host = self._forward(X, network.decision_function)
        return _out(Z[0, :] if self.n_outputs_ == 1 else Z.T, host)

    def predict_proba(self, X):
        """Probabilities, shape (n_samples, n_classes) in ``classes_`` order; for multilabel y,
        (n_samples, n_labels) with P(label = 1) in each column."""
        A, host = self._forward(X, network.predict_proba)
        if self.n_outputs_ == 1:
            A = namespace(A).concat([1.0 - A, A], axis=0)
        return _out(A.T, host)

    def predict(self, X):
        """Predicted labels from ``classes_`` (the most probable class; for two classes, the
        positive one where P > 0.5); for multilabel y, the (n_samples, n_labels) 0/1 matrix."""
        A, host = self._forward(X, network.predict_proba)
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
        _, Y, _ = check_classification_y(y, predicted.shape[0])
        truth = to_numpy(y) if self._multilabel() else np.asarray(to_numpy(y)).ravel()
        right = np.all(predicted == truth, axis=1) if self._multilabel() else predicted == truth
        return float(np.average(right, weights=check_sample_weight(sample_weight, right.shape[0])))


class _Regressor(_BaseNet):
    """Regressors: identity output units trained on half the squared error."""

    def __sklearn_tags__(self):
        from sklearn.utils import InputTags, RegressorTags, Tags, TargetTags

        return Tags(estimator_type="regressor",
                    target_tags=TargetTags(required=True, multi_output=True, single_output=True),
                    regressor_tags=RegressorTags(), input_tags=InputTags(two_d_array=True))

    def _targets(self, y, m):
        Y, ndim = check_regression_y(y, m)
        return "identity", Y, {"_y_ndim": ndim}, None

    def predict(self, X):
        """Predictions of shape (n_samples,) for a 1-D y at fit, else (n_samples, n_outputs)."""
        A, host = self._forward(X, network.predict_proba)
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


def _key(backend):
    return (backend.name, str(backend.device))


def _out(x, host):
    return to_numpy(x) if host else x


_COMMON_DOC = """
    backend : None, str, module or Backend
        None follows the input (a CuPy/torch/Dask array selects its namespace; NumPy input
        uses the default, see :func:`xpnn.set_backend`); or "cpu", "gpu", "auto", a name.
    dtype : {"float64", "float32"}
    random_state : int, numpy.random.Generator or None
        Seed of the host RNG that draws the initial weights (same weights on every backend).
    cost_every : int
        Record (and read back) the cost every this many iterations: ``costs_[k]`` is the
        cost at iteration k * cost_every, before that iteration's update.
    verbose : bool
        Print the cost as the course does ("Cost after iteration i: c").
    on_divergence : {"raise", "warn"}
        A non-finite cost raises DivergenceError, or warns and keeps the last finite parameters.
    batch_size : int or None
        None: batch gradient descent (the course's). An int: mini-batch gradient descent with
        examples shuffled every epoch; ``n_iter`` then counts epochs and ``costs_[k]`` is the mean
        batch cost of epoch k * cost_every. On Dask, batches stream one chunk at a time.
"""

_CLASSIFIER_DOC = _COMMON_DOC + """    class_weight : None, "balanced" or dict {label: weight}
        Weights multiplying each sample's weight by its class's: "balanced" uses
        n_samples / (n_classes * count of the class), as scikit-learn does.

    The output layer follows y: two labels give one sigmoid unit with binary cross-entropy
    (the course's); three or more give softmax over one unit per class with categorical
    cross-entropy; a 0/1 indicator matrix (n_samples, n_labels) gives one sigmoid unit per
    label (multilabel).

    Attributes
    ----------
    classes_, n_features_in_, n_outputs_, out_activation_ ("sigmoid" or "softmax"), costs_,
    backend_, params_ ({"W1": (n1, n_x), "b1": (n1, 1), ...} as NumPy arrays, course
    notation), n_iter_.
"""

_REGRESSOR_DOC = _COMMON_DOC + """
    The output layer is one identity unit per target, trained on half the squared error
    (cost = 1/(2m) Σ (ŷ - y)²). Gradient descent needs standardised X, and y of moderate scale
    (standardise y too if its values are large); a cost that grows raises DivergenceError.

    Attributes
    ----------
    n_features_in_, n_outputs_, out_activation_ ("identity"), costs_, backend_, params_, n_iter_.
"""


class _Options:
    """The keyword-only options every estimator shares (set by ``_set_options``)."""

    def _set_options(self, backend, dtype, random_state, cost_every, verbose, on_divergence,
                     batch_size):
        self.backend = backend
        self.dtype = dtype
        self.random_state = random_state
        self.cost_every = cost_every
        self.verbose = verbose
        self.on_divergence = on_divergence
        self.batch_size = batch_size


class LogisticRegression(_Classifier, _Options):
    __doc__ = """Logistic regression as a one-neuron net (the course's week 2); softmax
    regression for three or more classes.

    Parameters
    ----------
    learning_rate : float, default 0.005
    n_iter : int, default 2000
    init : {"zeros", "random", "xavier", "he", "large"}, default "zeros"
    """ + _CLASSIFIER_DOC

    def __init__(self, learning_rate=0.005, n_iter=2000, init="zeros", *, backend=None,
                 dtype="float64", random_state=None, cost_every=100, verbose=False,
                 on_divergence="raise", batch_size=None, class_weight=None):
        self.learning_rate = learning_rate
        self.n_iter = n_iter
        self.init = init
        self.class_weight = class_weight
        self._set_options(backend, dtype, random_state, cost_every, verbose, on_divergence, batch_size)

    def _hidden_activation(self):
        return "sigmoid"


class ShallowNet(_Classifier, _Options):
    __doc__ = """A net with one hidden layer (the course's week 3 planar classifier).

    Parameters
    ----------
    n_hidden : int, default 4
    activation : str, default "tanh" (any name of ``xpnn.activations.ACTIVATIONS``)
    learning_rate : float, default 1.2
    n_iter : int, default 10000
    init : str, default "random" (0.01 * randn)
    """ + _CLASSIFIER_DOC

    def __init__(self, n_hidden=4, activation="tanh", learning_rate=1.2, n_iter=10000,
                 init="random", *, backend=None, dtype="float64", random_state=None,
                 cost_every=100, verbose=False, on_divergence="raise", batch_size=None,
                 class_weight=None):
        self.n_hidden = n_hidden
        self.activation = activation
        self.learning_rate = learning_rate
        self.n_iter = n_iter
        self.init = init
        self.class_weight = class_weight
        self._set_options(backend, dtype, random_state, cost_every, verbose, on_divergence, batch_size)

    def _hidden_layer_sizes(self):
        return (self.n_hidden,)


class DeepNet(_Classifier, _Options):
    __doc__ = """An L-layer net (the course's week 4 cat classifier).

    Parameters
    ----------
    hidden_layer_sizes : sequence of int, default (20, 7, 5)
        ``()`` is logistic (or softmax) regression.
    activation : str, default "relu" (any name of ``xpnn.activations.ACTIVATIONS``)
    learning_rate : float, default 0.0075
    n_iter : int, default 2500
    init : str, default "xavier" (randn / sqrt(n[l-1]), the course's choice)
    """ + _CLASSIFIER_DOC

    def __init__(self, hidden_layer_sizes=(20, 7, 5), activation="relu", learning_rate=0.0075,
                 n_iter=2500, init="xavier", *, backend=None, dtype="float64", random_state=None,
                 cost_every=100, verbose=False, on_divergence="raise", batch_size=None,
                 class_weight=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.learning_rate = learning_rate
        self.n_iter = n_iter
        self.init = init
        self.class_weight = class_weight
        self._set_options(backend, dtype, random_state, cost_every, verbose, on_divergence, batch_size)

    def _hidden_layer_sizes(self):
        return _sizes(self.hidden_layer_sizes)


class ShallowNetRegressor(_Regressor, _Options):
    __doc__ = """A net with one hidden layer and linear outputs, for regression.

    Same hyperparameters as :class:`ShallowNet`, with defaults for regression: a wider layer,
    Xavier initialisation and a smaller learning rate (the classifier's 1.2 diverges on squared
    error).

    Parameters
    ----------
    n_hidden : int, default 16
    activation : str, default "tanh"
    learning_rate : float, default 0.1
    n_iter : int, default 2000
    init : str, default "xavier"
    """ + _REGRESSOR_DOC

    def __init__(self, n_hidden=16, activation="tanh", learning_rate=0.1, n_iter=2000,
                 init="xavier", *, backend=None, dtype="float64", random_state=None,
                 cost_every=100, verbose=False, on_divergence="raise", batch_size=None):
        self.n_hidden = n_hidden
        self.activation = activation
        self.learning_rate = learning_rate
        self.n_iter = n_iter
        self.init = init
        self._set_options(backend, dtype, random_state, cost_every, verbose, on_divergence, batch_size)

    def _hidden_layer_sizes(self):
        return (self.n_hidden,)


class DeepNetRegressor(_Regressor, _Options):
    __doc__ = """An L-layer net with linear outputs, for regression.

    Same hyperparameters as :class:`DeepNet`, with defaults for regression.

    Parameters
    ----------
    hidden_layer_sizes : sequence of int, default (64, 32)
        ``()`` is linear regression (fitted by gradient descent on half the squared error).
    activation : str, default "relu"
    learning_rate : float, default 0.01
    n_iter : int, default 2000
    init : str, default "he" (randn * sqrt(2 / n[l-1]), suited to relu)
    """ + _REGRESSOR_DOC

    def __init__(self, hidden_layer_sizes=(64, 32), activation="relu", learning_rate=0.01,
                 n_iter=2000, init="he", *, backend=None, dtype="float64", random_state=None,
                 cost_every=100, verbose=False, on_divergence="raise", batch_size=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.learning_rate = learning_rate
        self.n_iter = n_iter
        self.init = init
        self._set_options(backend, dtype, random_state, cost_every, verbose, on_divergence, batch_size)

    def _hidden_layer_sizes(self):
        return _sizes(self.hidden_layer_sizes)


def _sizes(sizes):
    return (sizes,) if isinstance(sizes, int) else tuple(sizes)
