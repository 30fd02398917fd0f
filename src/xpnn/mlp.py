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

import numpy as np

from ._classifier_regressor import _Classifier, _Regressor
from ._base import assign
from ._mlp_rules import ScikitLearnRules, check_partial_fit, fit_as_scikit_learn
from ._sklearn_face import VIEWS, _Absent
from .backend import backend_of, namespace, to_numpy
from .persistence import register

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
class MLPClassifier(_Classifier):
    __doc__ = ("""scikit-learn's multi-layer perceptron classifier, on any xpnn backend.
""" + _COMMON.format(kind="classes_, "))

    _rules = ScikitLearnRules
    coefs_, intercepts_, n_layers_ = VIEWS
    decision_function = _Absent()
    loss = "log_loss"  # scikit-learn's attribute (its MLPClassifier sets no other)

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False,
                 warm_start=False, momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, backend=None, dtype=None, batch_norm=False,
                 batch_norm_momentum=0.9):
        assign(self, locals())

    class_weight = None  # the course classifiers' option; scikit-learn's MLP has none
    _single_class = True

    def fit(self, X, y, sample_weight=None):
        """Fit the model to X (n_samples, n_features) and y, as scikit-learn's MLP does (see
        the class docstring). Returns self."""
        warm = bool(self.warm_start) and hasattr(self, "params_")
        labels = to_numpy(y)
        if warm and (labels.ndim == 1 or (labels.ndim == 2 and labels.shape[1] == 1)):
            classes = np.unique(labels)
            if set(classes.tolist()) != set(self.classes_.tolist()):
                raise ValueError("warm_start can only be used where `y` has the same classes as in the "
                                 f"previous call to fit. Previously got {self.classes_}, `y` has {classes}")
        return fit_as_scikit_learn(self, X, y, sample_weight, warm=warm, incremental=False)

    @property
    def partial_fit(self):
        """One epoch over (X, y) with the stochastic solver: ``partial_fit(X, y,
        sample_weight=None, classes=None)``, ``classes`` required on the first call. Only for
        solver "sgd" or "adam" (absent otherwise, as in scikit-learn)."""
        check_partial_fit(self)
        return self._partial_fit

    def _partial_fit(self, X, y, sample_weight=None, classes=None):
        first = not hasattr(self, "params_")
        if first and classes is None and np.ndim(to_numpy(y)) == 1:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        self._check_partial_fit_classes(classes)
        return fit_as_scikit_learn(self, X, y, sample_weight, warm=not first, incremental=True,
                                   classes=classes)

    def predict_log_proba(self, X):
        """The logarithm of ``predict_proba(X)``."""
        proba = self.predict_proba(X)
        with backend_of(proba).on_device():  # where the answer lives (a second GPU), not the current one
            return namespace(proba).log(proba)


@register
class MLPRegressor(_Regressor):
    __doc__ = ("""scikit-learn's multi-layer perceptron regressor, on any xpnn backend.

    ``loss``: "squared_error" (identity output) or "poisson" (exp output, half the Poisson
    deviance; y >= 0).
""" + _COMMON.format(kind=""))

    _rules = ScikitLearnRules
    coefs_, intercepts_, n_layers_ = VIEWS

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True, random_state=None,
                 tol=1e-4, verbose=False, warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, backend=None, dtype=None,
                 batch_norm=False, batch_norm_momentum=0.9):
        assign(self, locals())

    def fit(self, X, y, sample_weight=None):
        """Fit the model to X (n_samples, n_features) and y, as scikit-learn's MLP does (see
        the class docstring). Returns self."""
        warm = bool(self.warm_start) and hasattr(self, "params_")
        return fit_as_scikit_learn(self, X, y, sample_weight, warm=warm, incremental=False)

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
        check_partial_fit(self)
        return self._partial_fit

    def _partial_fit(self, X, y, sample_weight=None):
        return fit_as_scikit_learn(self, X, y, sample_weight, warm=hasattr(self, "params_"), incremental=True)
