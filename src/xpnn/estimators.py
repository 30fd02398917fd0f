"""Thin scikit-learn-style estimators over the functional core in :mod:`xpnn.network`.

Rows are samples here (X is (n_samples, n_features), y is (n_samples,)); the estimators
transpose once, as a view, to the course's notation and train with :func:`network.gradient_descent`.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from . import distributed, network
from ._validation import (check_choice, check_dtype, check_positive_float, check_positive_int,
                          check_X, check_y)
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

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags

        return Tags(estimator_type="classifier", target_tags=TargetTags(required=True),
                    classifier_tags=ClassifierTags(multi_class=False),
                    input_tags=InputTags(two_d_array=True))

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

    def fit(self, X, y, *, callback=None):
        """Train by gradient descent (batch, or mini-batch with ``batch_size``).

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            NumPy (or list, DataFrame) or an array of any supported backend; int is converted.
        y : array of shape (n_samples,) with exactly two distinct labels.
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
        classes, y01 = check_y(y, Xb.shape[0])
        dims = [Xb.shape[1], *self._hidden_layer_sizes(), 1]
        try:
            params, costs = self._train(backend, Xb, y01, dims, dtype, self._reporter(callback))
        except Exception as exc:
            if is_out_of_memory(exc):
                raise MemoryError(_out_of_memory_message(self, backend, dims, Xb)) from exc
            raise
        self.backend_ = backend
        self.classes_ = classes
        self.n_features_in_ = dims[0]
        self.n_iter_ = self.n_iter
        self.costs_ = np.asarray(costs, dtype=np.float64)
        self.params_ = {k: to_numpy(v) for k, v in params.items()}
        self._device_params = {} if backend.name == "dask" else {_key(backend): params}
        return self

    def _train(self, backend, Xb, y01, dims, dtype, callback):
        """Initialise and run gradient descent on the backend; Xb is (m, n_x) rows."""
        activations = network.layer_activations(len(dims) - 1, self._hidden_activation())
        options = dict(learning_rate=self.learning_rate, cost_every=self.cost_every,
                       on_divergence=self.on_divergence, callback=callback)
        if self.batch_size is not None:
            options.update(n_epochs=self.n_iter, batch_size=self.batch_size,
                           random_state=rng_from(self.random_state).integers(2**63))
        else:
            options.update(n_iter=self.n_iter)
        if backend.name == "dask":  # data-parallel over the chunks; parameters on the host
            params = initialize_parameters(dims, scheme=self.init, seed=self.random_state,
                                           backend="numpy", dtype=dtype)
            train = distributed.full_batch if self.batch_size is None else distributed.minibatch
            return train(Xb, y01, params, activations, **options)
        params = initialize_parameters(dims, scheme=self.init, seed=self.random_state,
                                       backend=backend, dtype=dtype)
        Y = backend.asarray(y01.reshape(1, -1), dtype=dtype)
        train = network.gradient_descent if self.batch_size is None else network.minibatch_gradient_descent
        return train(Xb.T, Y, params, activations, **options)

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
        """Run the net on X; returns (output on X's backend, whether X came from the host)."""
        self._check_fitted()
        backend = self.backend_ if is_host_array(X) else backend_of(X)
        Xb = check_X(X, backend, self.dtype, n_features=self.n_features_in_,
                     estimator=type(self).__name__)
        params = self._params_on(backend)
        activations = network.layer_activations(network.n_layers(params), self._hidden_activation())
        return output(Xb.T, params, activations), is_host_array(X)

    def decision_function(self, X):
        """Logits of the positive class, shape (n_samples,); NumPy in, NumPy out."""
        Z, host = self._forward(X, network.decision_function)
        return _out(Z[0, :], host)

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, 2), columns in ``classes_`` order."""
        A, host = self._forward(X, network.predict_proba)
        xp = namespace(A)
        return _out(xp.concat([1.0 - A, A], axis=0).T, host)

    def predict(self, X):
        """Predicted labels (from ``classes_``): the positive class where P > 0.5."""
        A, host = self._forward(X, network.predict_proba)
        positive = A[0, :] > 0.5
        if host or self.classes_.dtype.kind not in "biuf":
            return self.classes_[to_numpy(positive).astype(int)]
        classes = backend_of(A).asarray(self.classes_)
        return namespace(A).where(positive, classes[1], classes[0])

    def score(self, X, y):
        """Mean accuracy of ``predict(X)`` against ``y``."""
        return float((to_numpy(self.predict(X)) == to_numpy(y)).mean())


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

    Attributes
    ----------
    classes_, n_features_in_, costs_, backend_, params_ ({"W1": (n1, n_x), "b1": (n1, 1), ...}
    as NumPy arrays, course notation), n_iter_.
"""


class LogisticRegression(_BaseNet):
    __doc__ = """Logistic regression as a one-neuron net (the course's week 2).

    Parameters
    ----------
    learning_rate : float, default 0.005
    n_iter : int, default 2000
    init : {"zeros", "random", "xavier", "he", "large"}, default "zeros"
    """ + _COMMON_DOC

    def __init__(self, learning_rate=0.005, n_iter=2000, init="zeros", *, backend=None,
                 dtype="float64", random_state=None, cost_every=100, verbose=False,
                 on_divergence="raise", batch_size=None):
        self.learning_rate = learning_rate
        self.n_iter = n_iter
        self.init = init
        self.backend = backend
        self.dtype = dtype
        self.random_state = random_state
        self.cost_every = cost_every
        self.verbose = verbose
        self.on_divergence = on_divergence
        self.batch_size = batch_size

    def _hidden_activation(self):
        return "sigmoid"


class ShallowNet(_BaseNet):
    __doc__ = """A net with one hidden layer (the course's week 3 planar classifier).

    Parameters
    ----------
    n_hidden : int, default 4
    activation : str, default "tanh" (any name of ``xpnn.activations.ACTIVATIONS``)
    learning_rate : float, default 1.2
    n_iter : int, default 10000
    init : str, default "random" (0.01 * randn)
    """ + _COMMON_DOC

    def __init__(self, n_hidden=4, activation="tanh", learning_rate=1.2, n_iter=10000,
                 init="random", *, backend=None, dtype="float64", random_state=None,
                 cost_every=100, verbose=False, on_divergence="raise", batch_size=None):
        self.n_hidden = n_hidden
        self.activation = activation
        self.learning_rate = learning_rate
        self.n_iter = n_iter
        self.init = init
        self.backend = backend
        self.dtype = dtype
        self.random_state = random_state
        self.cost_every = cost_every
        self.verbose = verbose
        self.on_divergence = on_divergence
        self.batch_size = batch_size

    def _hidden_layer_sizes(self):
        return (self.n_hidden,)


class DeepNet(_BaseNet):
    __doc__ = """An L-layer net (the course's week 4 cat classifier).

    Parameters
    ----------
    hidden_layer_sizes : sequence of int, default (20, 7, 5)
    activation : str, default "relu" (any name of ``xpnn.activations.ACTIVATIONS``)
    learning_rate : float, default 0.0075
    n_iter : int, default 2500
    init : str, default "xavier" (randn / sqrt(n[l-1]), the course's choice)
    """ + _COMMON_DOC

    def __init__(self, hidden_layer_sizes=(20, 7, 5), activation="relu", learning_rate=0.0075,
                 n_iter=2500, init="xavier", *, backend=None, dtype="float64", random_state=None,
                 cost_every=100, verbose=False, on_divergence="raise", batch_size=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.learning_rate = learning_rate
        self.n_iter = n_iter
        self.init = init
        self.backend = backend
        self.dtype = dtype
        self.random_state = random_state
        self.cost_every = cost_every
        self.verbose = verbose
        self.on_divergence = on_divergence
        self.batch_size = batch_size

    def _hidden_layer_sizes(self):
        sizes = self.hidden_layer_sizes
        return (sizes,) if isinstance(sizes, int) else tuple(sizes)
