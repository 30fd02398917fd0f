"""The estimators: the course's classifiers and their regressors, scikit-learn style.

``LogisticRegression``, ``ShallowNet`` and ``DeepNet`` keep the course's defaults;
``ShallowNetRegressor`` and ``DeepNetRegressor`` use the identity head. Every training option
defaults to off, so the course's runs are unchanged bit for bit. The machinery is in
:mod:`xpnn._base`.
"""

from __future__ import annotations

from ._base import assign
from ._classifier_regressor import _Classifier, _Regressor
from .persistence import register

__all__ = ["DeepNet", "DeepNetRegressor", "LogisticRegression", "ShallowNet", "ShallowNetRegressor"]

_COMMON_DOC = """
    backend : None, str, module or Backend
        None follows the input (a CuPy/torch/JAX/Dask array selects its namespace; NumPy input
        uses the default, see :func:`xpnn.set_backend`); or "cpu", "gpu", "auto", a name
        ("jax" computes in float32 unless the user enabled JAX's x64 mode).
    strict : bool, default False
        With backend "gpu": raise GPUUnavailableError instead of falling back to NumPy (also
        ``xpnn.set_backend("gpu", strict=True)`` or ``$XPNN_STRICT_GPU=1``).
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
    optimizer : {"gd", "momentum", "rmsprop", "adam", "sgd", "lbfgs"}, default "gd"
        The update rule (course 2): momentum uses ``beta_1``, rmsprop ``beta_2`` and
        ``epsilon``, adam all three (with the course's bias correction); "sgd" is scikit-learn's
        (Nesterov momentum 0.9). "lbfgs" is full-batch L-BFGS on the device (:mod:`xpnn.lbfgs`):
        at most ``n_iter`` iterations, stopping when no gradient component exceeds ``tol``;
        ``costs_`` then holds the cost after every ``cost_every``-th iteration.
    learning_rate_decay : None, "inverse", "scheduled" or "exponential"
        lr0 / (1 + decay_rate * t), lr0 / (1 + decay_rate * floor(t / decay_interval)),
        lr0 * decay_rate ** t, with t counted in epochs (iterations for full batch).
    decay_rate : float, default 1.0; decay_interval : int, default 1000
    beta_1 : float, default 0.9; beta_2 : float, default 0.999; epsilon : float, default 1e-8
    alpha : float, default 0.0
        L2 strength: the cost gains alpha/(2m) Σ ||W[l]||² (biases are not penalised).
    dropout : float or sequence of float, default 0.0
        Inverted dropout in training only, a drop rate for every hidden layer or one per hidden
        layer; masks come from the backend's own RNG (see ``xpnn.backend.uniform_sampler``).
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the samples (stratified for classifiers), score them
        (accuracy, or R² for regressors) at every recorded cost, stop after ``n_iter_no_change``
        epochs (rounded up to whole checks of ``cost_every`` epochs) without a ``tol``
        improvement (1e-4 when ``tol`` is None) and keep the best parameters.
    validation_fraction : float, default 0.1; n_iter_no_change : int, default 10
    tol : float or None, default None
        Given without early stopping: stop when the training loss has not improved by ``tol``
        for more than ``n_iter_no_change`` epochs (scikit-learn's rule, checked at each
        recorded cost). None: the course's fixed number of iterations.
    warm_start : bool, default False
        ``fit`` continues from the current parameters and optimizer state.
"""

_BATCH_NORM_DOC = """
    batch_norm : bool, default False
        Batch normalization (course 2) on every hidden layer: Z normalised over the batch (the
        mini-batch, or the whole set; weighted by the sample weights), then scaled and shifted
        by learned gamma and beta in place of the layer's bias (see
        :mod:`xpnn.normalization`). Prediction uses running averages of the statistics, so a
        row's prediction never depends on the rows predicted with it; they are in ``params_``
        ("mean1", "var1", ...), in model files, and continue with warm_start and partial_fit.
        Mini-batches need at least 2 examples (``batch_size=1`` raises ValueError).
    batch_norm_momentum : float in [0, 1), default 0.9
        β of the running averages (bias-corrected exponentially weighted averages).
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
    loss_curve_ (every epoch's cost, read with the recorded ones), loss_, best_loss_,
    backend_, params_ ({"W1": (n1, n_x), "b1": (n1, 1), ...} as NumPy arrays, course
    notation), n_iter_ (iterations or epochs actually run), validation_scores_ and
    best_iteration_ (early stopping; else None).
"""

_REGRESSOR_DOC = _COMMON_DOC + """
    The output layer is one identity unit per target, trained on half the squared error
    (cost = 1/(2m) Σ (ŷ - y)²). Gradient descent needs standardised X, and y of moderate scale
    (standardise y too if its values are large); a cost that grows raises DivergenceError.

    Attributes
    ----------
    n_features_in_, n_outputs_, out_activation_ ("identity"), costs_, loss_curve_, loss_,
    best_loss_, backend_, params_, n_iter_,
    validation_scores_, best_iteration_.
"""


@register
class LogisticRegression(_Classifier):
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
                 on_divergence="raise", batch_size=None,
                 optimizer="gd", learning_rate_decay=None, decay_rate=1.0, decay_interval=1000,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, alpha=0.0, dropout=0.0,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10, tol=None,
                 warm_start=False, strict=False, class_weight=None):
        assign(self, locals())

    def _hidden_activation(self):
        return "sigmoid"


@register
class ShallowNet(_Classifier):
    __doc__ = """A net with one hidden layer (the course's week 3 planar classifier).

    Parameters
    ----------
    n_hidden : int, default 4
    activation : str, default "tanh"
        A name of ``xpnn.activations.ACTIVATIONS``, or scikit-learn's "logistic".
    learning_rate : float, default 1.2
    n_iter : int, default 10000
    init : str, default "random" (0.01 * randn)
    """ + _BATCH_NORM_DOC + _CLASSIFIER_DOC

    def __init__(self, n_hidden=4, activation="tanh", learning_rate=1.2, n_iter=10000,
                 init="random", *, backend=None, dtype="float64", random_state=None,
                 cost_every=100, verbose=False, on_divergence="raise", batch_size=None,
                 optimizer="gd", learning_rate_decay=None, decay_rate=1.0, decay_interval=1000,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, alpha=0.0, dropout=0.0,
                 batch_norm=False, batch_norm_momentum=0.9, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, tol=None,
                 warm_start=False, strict=False, class_weight=None):
        assign(self, locals())

    def _hidden_layer_sizes(self):
        return (self.n_hidden,)


@register
class DeepNet(_Classifier):
    __doc__ = """An L-layer net (the course's week 4 cat classifier).

    Parameters
    ----------
    hidden_layer_sizes : sequence of int, default (20, 7, 5)
        ``()`` is logistic (or softmax) regression.
    activation : str, default "relu"
        A name of ``xpnn.activations.ACTIVATIONS``, or scikit-learn's "logistic".
    learning_rate : float, default 0.0075
    n_iter : int, default 2500
    init : str, default "xavier" (randn / sqrt(n[l-1]), the course's choice)
    """ + _BATCH_NORM_DOC + _CLASSIFIER_DOC

    def __init__(self, hidden_layer_sizes=(20, 7, 5), activation="relu", learning_rate=0.0075,
                 n_iter=2500, init="xavier", *, backend=None, dtype="float64", random_state=None,
                 cost_every=100, verbose=False, on_divergence="raise", batch_size=None,
                 optimizer="gd", learning_rate_decay=None, decay_rate=1.0, decay_interval=1000,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, alpha=0.0, dropout=0.0,
                 batch_norm=False, batch_norm_momentum=0.9, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, tol=None,
                 warm_start=False, strict=False, class_weight=None):
        assign(self, locals())


@register
class ShallowNetRegressor(_Regressor):
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
    """ + _BATCH_NORM_DOC + _REGRESSOR_DOC

    def __init__(self, n_hidden=16, activation="tanh", learning_rate=0.1, n_iter=2000,
                 init="xavier", *, backend=None, dtype="float64", random_state=None,
                 cost_every=100, verbose=False, on_divergence="raise", batch_size=None,
                 optimizer="gd", learning_rate_decay=None, decay_rate=1.0, decay_interval=1000,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, alpha=0.0, dropout=0.0,
                 batch_norm=False, batch_norm_momentum=0.9, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, tol=None,
                 warm_start=False, strict=False):
        assign(self, locals())

    def _hidden_layer_sizes(self):
        return (self.n_hidden,)


@register
class DeepNetRegressor(_Regressor):
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
    """ + _BATCH_NORM_DOC + _REGRESSOR_DOC

    def __init__(self, hidden_layer_sizes=(64, 32), activation="relu", learning_rate=0.01,
                 n_iter=2000, init="he", *, backend=None, dtype="float64", random_state=None,
                 cost_every=100, verbose=False, on_divergence="raise", batch_size=None,
                 optimizer="gd", learning_rate_decay=None, decay_rate=1.0, decay_interval=1000,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, alpha=0.0, dropout=0.0,
                 batch_norm=False, batch_norm_momentum=0.9, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, tol=None,
                 warm_start=False, strict=False):
        assign(self, locals())

