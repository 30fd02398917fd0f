"""The fitted half of every estimator: the fitted state published in one step and restored from
a model file (one schema, :class:`xpnn._state.FittedState`), pickling, and the forward pass that
predictions share, on any backend, with the fitted parameters moved there once."""

from __future__ import annotations

import math

import numpy as np

from ._state import FittedState
from ._validation import check_feature_names, check_X
from .backend import backend_of, device_of, is_host_array, move_tree, namespace, resolve_backend
from .exceptions import not_fitted_error
from .heads import HEADS, get_head
from .network import forward, layer_activations, n_layers
from .normalization import normalized_layers, parameter_shapes


class _Fitted:
    """What a fitted estimator holds and does with it; :class:`xpnn._base._BaseNet` fits it.

    A fit publishes its :class:`FittedState` as one attribute (``_published``) beside the public
    ones; predictions read that one attribute once per call, so a concurrent refit never tears a
    prediction (old parameters with new classes). ``params_`` is its parameter dict."""

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

    # ------------------------------------------------------------------- fitted state
    def fitted_state(self):
        """The fitted state as a :class:`FittedState` (what :meth:`save` writes)."""
        published = self._check_fitted()
        return FittedState(published.params, self.costs_, self.n_features_in_, self.n_iter_, self._head,
                           self.n_outputs_, getattr(self, "classes_", None), getattr(self, "_y_ndim", None),
                           getattr(self, "validation_scores_", None), self.best_iteration_,
                           getattr(self, "feature_names_in_", None), self._fitted_extras())

    _EXTRAS = {}  # {attribute: allowed types} a class keeps beyond FittedState's fields

    def _fitted_extras(self):
        """The class's own fitted scalars (see ``_EXTRAS``) that this model has, as plain numbers."""
        out = {}
        for name in self._EXTRAS:
            if name in self.__dict__:
                value = self.__dict__[name]
                out[name] = None if value is None else bool(value) if isinstance(value, bool) else (
                    int(value) if isinstance(value, (int, np.integer)) else float(value))
        return out or None

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

    def _batch_norm(self):
        """Whether the hidden layers are batch-normalised (estimators without the option: no)."""
        return bool(getattr(self, "batch_norm", False))

    @classmethod
    def from_fitted_state(cls, hyperparameters, state, *, backend=None):
        """An estimator with ``hyperparameters`` (checked as ``fit`` checks them) and the fitted
        ``state``, after checking that the state makes one consistent model (ValueError saying
        what does not fit); it predicts on ``backend`` (None: the default)."""
        model = cls.from_hyperparameters(hyperparameters)
        dtype = model._hyperparameters()["dtype"] or str(next(iter(state.params.values())).dtype)
        model._check_state(state, dtype)
        model._publish(state, resolve_backend(backend))
        return model

    _costs_span_fits = False  # True where costs_ runs over several fits (n_iter_ counts the last)

    def _check_state(self, state, dtype):
        if state.head not in HEADS:
            raise ValueError(f"head must be one of {sorted(HEADS)}; got {state.head!r:.40}")
        want = self.parameter_shapes(state.n_features_in, state.n_outputs)
        got = {k: tuple(v.shape) for k, v in state.params.items()}
        if got != want or any(v.dtype != np.dtype(dtype) for v in state.params.values()):
            dtypes = [str(v.dtype) for v in state.params.values()]
            raise ValueError(f"parameter shapes {got} (dtype {dtypes}), expected {want} ({dtype})")
        if not all(np.all(np.isfinite(v)) for v in state.params.values()):
            raise ValueError("its parameters hold NaN or infinity")
        if any(np.any(state.params[f"var{l}"] <= 0) for l in normalized_layers(state.params)):
            raise ValueError("a batch-norm running variance is negative or zero")
        names = state.feature_names
        if names is not None and (len(names) != state.n_features_in or len(set(names)) != len(names)):
            raise ValueError(f"feature_names must be {state.n_features_in} distinct names, one per feature; "
                             f"got {len(names)} ({len(set(names))} distinct)")
        if state.costs.ndim != 1 or state.costs.dtype.kind != "f":
            raise ValueError("'costs' must be a 1-D float array")
        most = 2**40 if self._costs_span_fits else state.n_iter + 1  # warm-started MLPs keep their curve
        if not 0 <= state.n_iter <= 2**40 or state.costs.shape[0] > most:
            raise ValueError(f"{state.costs.shape[0]} costs for {state.n_iter} iterations")
        scores = state.validation_scores
        if scores is not None and not (isinstance(scores, list) and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in scores)):
            raise ValueError("'validation_scores' must be a list of numbers")
        best = state.best_iteration
        last = max(state.n_iter, len(state.costs) if self._costs_span_fits else 0)
        if best is not None and (type(best) is not int or not 0 <= best <= last):
            raise ValueError(f"best_iteration {best!r:.40} is not an iteration of this model")
        if state.extras is not None and not isinstance(state.extras, dict):
            raise ValueError("'extras' must be a mapping of fitted attributes; got "
                             f"{type(state.extras).__name__}")
        for name, value in (state.extras or {}).items():
            if name not in self._EXTRAS or not isinstance(value, self._EXTRAS[name]) or (
                    isinstance(value, float) and not math.isfinite(value) and value != -math.inf):
                raise ValueError(f"fitted attribute {name!r}: {value!r:.40} is not one {type(self).__name__} "
                                 "keeps")
        self._check_targets(state, get_head(state.head))

    def _publish(self, state, backend, *, device_params=None, train_state=None, loss_curve=None):
        """Set every fitted attribute from ``state`` in one step (a concurrent reader sees the
        old model or the new one)."""
        params = {k: v for k, v in state.params.items()}
        for array in params.values():
            array.flags.writeable = False  # predictions follow params_: see _params_on
        cached = {} if device_params is None or backend.is_lazy else {
            backend_key(backend): (tuple(params.items()), device_params)}
        fitted = dict(backend_=backend, n_features_in_=state.n_features_in, n_outputs_=state.n_outputs,
                      _head=state.head, out_activation_=self._out_activation_name(state.head),
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
        cache = {key: entry for key, entry in self._device_params.items() if _same_arrays(entry[0], held)}
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
                     accept_sparse=self._accept_sparse)
        params = self._params_on(backend, published.params)
        activations = layer_activations(n_layers(params), self._hidden_activation(), published.head)
        message = (f"{type(self).__name__} overflowed on this X: its logits hold NaN or infinity ({dtype}); "
                   "X has values far outside the range it was trained on (standardise X as for training)")
        with backend.on_device():
            run = _rows_forward
            if backend.is_compiled:  # JAX: one compiled call per block
                run = _padded(backend.compile(_rows_forward, ("activations",)))
            block = 0 if backend.is_lazy else PREDICT_BLOCK
            AL, ZL = _forward_in_blocks(Xb, params, tuple(activations), block, run)
            ZL = backend.require_finite(ZL, message)
            if backend.is_lazy:  # the outputs carry the check: computing them raises
                AL = get_head(published.head).activation(ZL)
            return finish(AL, ZL, is_host_array(X), published)


PREDICT_BLOCK = 4096  # rows per block: a block's hidden activations stay in cache (measured)


def _rows_forward(X_rows, params, activations):
    """(A[L], Z[L]) (k, m) of X_rows (m, n_x)."""
    AL, caches = forward(X_rows.T, params, activations)
    return AL, caches[-1][1]


def _padded(compiled):
    """``compiled`` (a compiled :func:`_rows_forward`) on rows padded with zero rows up to a power
    of two (16 to PREDICT_BLOCK): a compiler specialises on shapes, so predictions then compile
    a few shapes rather than one per number of rows; the padding's outputs are dropped."""
    def run(X_rows, params, activations):
        xp, m = namespace(X_rows), X_rows.shape[0]
        size = max(16, 1 << (m - 1).bit_length())
        if size > m:
            padding = xp.zeros((size - m, X_rows.shape[1]), dtype=X_rows.dtype, device=device_of(X_rows))
            X_rows = xp.concat([X_rows, padding], axis=0)
        AL, ZL = compiled(X_rows, params, activations=activations)
        return AL[:, :m], ZL[:, :m]
    return run


def _forward_in_blocks(X_rows, params, activations, block, run=_rows_forward):
    """(A[L], Z[L]) (k, m) of X_rows (m, n_x) by ``run``, ``block`` rows at a time (0: all at
    once), so the hidden layers of one block stay in cache and are freed before the next."""
    m = X_rows.shape[0]
    if not block or m <= block:
        return run(X_rows, params, activations=activations)
    outputs = [run(X_rows[start:min(start + block, m)], params, activations=activations)
               for start in range(0, m, block)]
    xp = namespace(outputs[0][0])
    return (xp.concat([A for A, _ in outputs], axis=1), xp.concat([Z for _, Z in outputs], axis=1))


def _same_arrays(held, current):
    return len(held) == len(current) and all(
        k == c and v is w for (k, v), (c, w) in zip(held, current))


def backend_key(backend):
    """The cache key of a backend: its name and device."""
    return (backend.name, str(backend.device))
