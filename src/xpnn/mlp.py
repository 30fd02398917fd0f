"""scikit-learn's ``MLPClassifier`` and ``MLPRegressor``, unchanged for their users, on every
backend: change one import, add ``backend="gpu"``.

The constructor, defaults, accepted values, fitted attributes and semantics are scikit-learn's
(1.9): Glorot-uniform weights from ``random_state``; "sgd" (momentum, Nesterov) and "adam"
(Kingma & Ba's form) over shuffled mini-batches of ``batch_size`` ("auto": min(200, n)), with
the "constant", "invscaling" and "adaptive" learning rates; "lbfgs" on the device
(:mod:`xpnn.lbfgs`); ``tol`` and ``n_iter_no_change`` counted per epoch on the training loss, or
on the validation score with ``early_stopping``; a ``ConvergenceWarning`` at ``max_iter``. It is
a thin layer: the training is xpnn's one loop (:func:`xpnn.training.run`) and its core. Four
parameters are xpnn's own: ``backend``, ``dtype`` (None: float32 for float32 X, else float64),
and ``batch_norm`` with ``batch_norm_momentum`` (off by default).
"""

from __future__ import annotations

import contextlib

import numpy as np

from ._classifier_regressor import _Classifier, _Regressor
from ._mlp_rules import (ScikitLearnRules, check_batch_size, check_optional_dtype,
                         check_patience, random_state_of)
from ._constraints import (check_backend_spec, check_boolean, check_fraction, check_hidden_sizes,
                          check_non_negative_float, check_parameters, check_positive_float,
                          check_positive_int, check_solver, fraction, one_of)
from ._sklearn_face import _Absent, _RateView, _Routing, _check_as_scikit_learn
from .activations import NAMES
from .backend import backend_of, namespace, to_numpy, warn
from .exceptions import convergence_warning
from .network import n_layers
from .normalization import folded
from .persistence import register

_OUT_ACTIVATIONS = {"sigmoid": "logistic", "softmax": "softmax", "identity": "identity", "poisson": "exp"}


class _MLP(_Routing):
    """What both scikit-learn-named classes add to xpnn's estimator machinery."""

    decision_function = _Absent()
    _EXTRAS = {"loss_": (float,), "best_loss_": (float, type(None)), "t_": (int,),  # kept in files
               "best_validation_score_": (float, type(None))}

    def _progress_bar(self, n_epochs):
        """None: verbose MLPs print scikit-learn's line per epoch instead of a bar."""
        return contextlib.nullcontext(None)

    def _publish(self, state, backend, **kwargs):
        super()._publish(state, backend, **kwargs)
        if self.solver == "lbfgs":  # scikit-learn's L-BFGS leaves no validation scores
            self.__dict__.pop("validation_scores_", None)
        elif state.extras is not None:  # a loaded model: its loss curve
            self.loss_curve_ = [float(c) for c in state.costs]

    _costs_span_fits = True  # loss_curve_ grows over warm-started fits, as scikit-learn's does

    _PARAMETERS = {
        "hidden_layer_sizes": check_hidden_sizes, "activation": one_of(NAMES),
        "solver": check_solver, "alpha": check_non_negative_float,
        "batch_size": check_batch_size, "learning_rate": one_of({"constant", "invscaling", "adaptive"}),
        "learning_rate_init": check_positive_float, "power_t": check_non_negative_float,
        "max_iter": check_positive_int, "shuffle": check_boolean, "tol": check_non_negative_float,
        "warm_start": check_boolean, "momentum": lambda v, n: check_fraction(v, n),
        "nesterovs_momentum": check_boolean, "early_stopping": check_boolean,
        "validation_fraction": lambda v, n: check_fraction(v, n, upper_open=True),
        "beta_1": lambda v, n: check_fraction(v, n, upper_open=True),
        "beta_2": lambda v, n: check_fraction(v, n, upper_open=True),
        "epsilon": check_positive_float, "n_iter_no_change": check_patience, "max_fun": check_positive_int,
        "dtype": check_optional_dtype, "loss": one_of({"squared_error", "poisson"}),
        "backend": check_backend_spec,
        "batch_norm": check_boolean, "batch_norm_momentum": fraction(upper_open=True),
    }
    _accept_sparse = True
    _rules = ScikitLearnRules
    _stratified_hold_out = False  # the classifier's hold-out is stratified (scikit-learn's)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # densified (the device computes on dense arrays)
        return tags

    def _hidden_layer_sizes(self):
        return check_hidden_sizes(self.hidden_layer_sizes, "hidden_layer_sizes")

    def _out_activation_name(self, head):
        return _OUT_ACTIVATIONS.get(head, head)

    def _hyperparameters(self):
        hp = self.get_params()
        _check_as_scikit_learn(type(self).__name__, hp)
        hp.update(check_parameters(hp, self._PARAMETERS))
        random_state_of(self.random_state)  # a bad random_state is named before any work
        return hp

    def _dtype_for(self, X, hp):
        if hp["dtype"] is not None:
            return hp["dtype"]
        return "float32" if str(getattr(X, "dtype", "")) in ("float32", "torch.float32") else "float64"

    # ------------------------------------------------------------------- fitting
    def fit(self, X, y, sample_weight=None):
        """Fit the model to X (n_samples, n_features) and y, as scikit-learn's MLP does (see
        the class docstring). Returns self."""
        warm = bool(self.warm_start) and hasattr(self, "params_")
        if warm:
            self._check_warm_classes(y)
        return self._fit_mlp(X, y, sample_weight, warm=warm, incremental=False)

    def _check_warm_classes(self, y):
        return None

    def _fit_mlp(self, X, y, sample_weight, *, warm, incremental, classes=None):
        n_epochs = 1 if incremental else self.max_iter
        run = self._fit(X, y, sample_weight, None, n_epochs=n_epochs, warm=warm,
                        early_stopping=bool(self.early_stopping) and not incremental, classes=classes,
                        incremental=incremental).run
        if self.solver == "lbfgs":
            self.n_iter_, self.loss_, self.t_ = run["n_iter"], run["loss"], 0  # scikit-learn's t_
            if run["status"] != 0:
                warn(f"lbfgs failed to converge after {self.n_iter_} iteration(s) (status="
                     f"{run['status']}):\n{run['message']}\n\nIncrease the number of iterations "
                     "to improve the convergence (max_iter=...) or scale the data.", convergence_warning())
            return self
        previous = self.__dict__.get("loss_curve_", []) if warm else []
        self.loss_curve_ = previous + run["losses"]
        self.n_iter_, self.loss_ = len(run["losses"]), run["losses"][-1]
        self.t_ = (self.__dict__.get("t_", 0) if warm else 0) + run["n_samples"] * self.n_iter_
        self._no_improvement_count = run["no_improvement"]  # scikit-learn's private names, read by
        if self.solver == "sgd":                           # its test_mlp.py: views, nothing more
            self._optimizer = _RateView(run["rate"], self)
        else:
            self.__dict__.pop("_optimizer", None)
        if self.early_stopping and not incremental:
            scores = [float(s) for s in run["scores"]]
            self.validation_scores_ = (self.__dict__.get("validation_scores_") or [] if warm else []) + scores
            self.best_validation_score_ = float(np.nanmax(self.validation_scores_)) \
                if np.any(np.isfinite(self.validation_scores_)) else -np.inf
            self.best_loss_ = None
        else:
            self.validation_scores_ = self.best_validation_score_ = None
            self.best_loss_ = run["best_loss"]
        if not incremental and not run["stopped"] and self.n_iter_ == self.max_iter:
            warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                 "optimization hasn't converged yet.", convergence_warning())
        return self

    # ---------------------------------------------------------- scikit-learn's views
    @property
    def coefs_(self):
        """The weight matrices in scikit-learn's orientation, (fan_in, fan_out) each: views of
        ``params_`` (course notation, W[l] (n[l], n[l-1])). With batch_norm, those of the same
        net at inference with the normalisation folded in (see ``intercepts_``): copies."""
        self._check_fitted()
        return [folded(self.params_, l)[0].T for l in range(1, self.n_layers_)]

    @property
    def intercepts_(self):
        """The bias vectors, (fan_out,) each. With batch_norm, a normalised layer's
        beta - s * mean with s = gamma / sqrt(var + eps), so that ``coefs_`` and ``intercepts_``
        compute exactly what ``predict`` does, as scikit-learn's MLP would."""
        self._check_fitted()
        return [folded(self.params_, l)[1][:, 0] for l in range(1, self.n_layers_)]

    @property
    def n_layers_(self):
        """Layers counted as scikit-learn does: input, hidden and output."""
        self._check_fitted()
        return n_layers(self.params_) + 1

    def _partial_fit_check(self):
        if self.solver == "lbfgs":
            raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                                 f"{self.solver} is not stochastic.")
        if self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")


_COMMON = """
    Parameters
    ----------
    hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate, learning_rate_init,
    power_t, max_iter, shuffle, random_state, tol, verbose, warm_start, momentum,
    nesterovs_momentum, early_stopping, validation_fraction, beta_1, beta_2, epsilon,
    n_iter_no_change, max_fun
        scikit-learn's, with its defaults and meanings.
    backend : None, str, module or Backend
        Where to compute (as for every xpnn estimator): None follows the input, "gpu" is CuPy.
    dtype : None, "float32" or "float64"
        None: float32 for float32 X, else float64.
    batch_norm : bool, default False
        xpnn's: batch normalization on every hidden layer (see :mod:`xpnn.normalization`): each
        mini-batch's statistics in training, running averages at prediction. ``coefs_`` and
        ``intercepts_`` are then the equivalent plain net (normalisation folded in).
    batch_norm_momentum : float in [0, 1), default 0.9
        β of the running averages.

    Attributes
    ----------
    scikit-learn's: {kind}loss_, best_loss_, loss_curve_, validation_scores_,
    best_validation_score_, t_, coefs_, intercepts_, n_features_in_, feature_names_in_, n_iter_,
    n_layers_, n_outputs_, out_activation_; and xpnn's params_ (course notation) and backend_.
"""


@register
class MLPClassifier(_MLP, _Classifier):
    __doc__ = ("""scikit-learn's multi-layer perceptron classifier, on any xpnn backend.
""" + _COMMON.format(kind="classes_, "))

    loss = "log_loss"  # scikit-learn's attribute (its MLPClassifier sets no other)

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False,
                 warm_start=False, momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, backend=None, dtype=None, batch_norm=False,
                 batch_norm_momentum=0.9):
        for name, value in locals().items():
            if name != "self":
                setattr(self, name, value)

    class_weight = None  # the course classifiers' option; scikit-learn's MLP has none
    _single_class = True
    _stratified_hold_out = True

    def _check_warm_classes(self, y):
        y = to_numpy(y)
        if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1):
            classes = np.unique(y)
            if set(classes.tolist()) != set(self.classes_.tolist()):
                raise ValueError("warm_start can only be used where `y` has the same classes as in "
                                 f"the previous call to fit. Previously got {self.classes_}, `y` has "
                                 f"{classes}")

    @property
    def partial_fit(self):
        """One epoch over (X, y) with the stochastic solver: ``partial_fit(X, y,
        sample_weight=None, classes=None)``, ``classes`` required on the first call. Only for
        solver "sgd" or "adam" (absent otherwise, as in scikit-learn)."""
        self._partial_fit_check()
        return self._partial_fit

    def _partial_fit(self, X, y, sample_weight=None, classes=None):
        first = not hasattr(self, "params_")
        if first and classes is None and np.ndim(to_numpy(y)) == 1:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        self._check_partial_fit_classes(classes)
        return self._fit_mlp(X, y, sample_weight, warm=not first, incremental=True, classes=classes)

    def predict_log_proba(self, X):
        """The logarithm of ``predict_proba(X)``."""
        proba = self.predict_proba(X)
        with backend_of(proba).on_device():  # where the answer lives (a second GPU), not the current one
            return namespace(proba).log(proba)


@register
class MLPRegressor(_MLP, _Regressor):
    __doc__ = ("""scikit-learn's multi-layer perceptron regressor, on any xpnn backend.

    ``loss``: "squared_error" (identity output) or "poisson" (exp output, half the Poisson
    deviance; y >= 0).
""" + _COMMON.format(kind=""))

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True, random_state=None,
                 tol=1e-4, verbose=False, warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, backend=None, dtype=None,
                 batch_norm=False, batch_norm_momentum=0.9):
        for name, value in locals().items():
            if name != "self":
                setattr(self, name, value)

    def _targets(self, y, m, classes=None):
        head, Y, targets, weights = super()._targets(y, m, classes)
        if self.loss == "poisson":
            if np.any(Y < 0):
                raise ValueError("Some value(s) of y are negative which is not allowed for Poisson "
                                 "regression.")
            head = "poisson"
        return head, Y, targets, weights

    @property
    def partial_fit(self):
        """One epoch over (X, y) with the stochastic solver: ``partial_fit(X, y,
        sample_weight=None)``. Only for solver "sgd" or "adam"."""
        self._partial_fit_check()
        return self._partial_fit

    def _partial_fit(self, X, y, sample_weight=None):
        return self._fit_mlp(X, y, sample_weight, warm=hasattr(self, "params_"), incremental=True)
