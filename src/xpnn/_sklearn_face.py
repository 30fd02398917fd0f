"""What scikit-learn's own code sees of xpnn's estimators beyond their API, where scikit-learn is
installed: its repr and metadata-routing requests (every estimator); for the MLP classes, its
parameter checks (InvalidParameterError), its fitted views (``coefs_``, ``intercepts_``,
``n_layers_``), methods its MLP lacks reported absent (``hasattr`` False), and the private views
its tests read."""

from __future__ import annotations

import inspect

import numpy as np

from ._monitors import AdaptiveRate
from .activations import NAMES
from .network import n_layers
from .normalization import folded
from .optimizers import OPTIMIZERS


def _check_as_scikit_learn(name, hp):
    """Where scikit-learn is installed, its own checks of its MLP's parameters first, so a bad
    value raises its InvalidParameterError (a ValueError and a TypeError) with its message; the
    parameters xpnn adds, and xpnn's own checks, follow either way. An activation or solver
    from xpnn's tables (:data:`xpnn.activations.ACTIVATIONS`, :data:`xpnn.optimizers.OPTIMIZERS`)
    that scikit-learn lacks is xpnn's to check."""
    try:
        from sklearn import neural_network
        from sklearn.utils._param_validation import validate_parameter_constraints
        constraints = getattr(neural_network, name)._parameter_constraints
    except (ImportError, AttributeError):  # not installed, or its private checker moved
        return
    theirs = {k: v for k, v in hp.items() if k in constraints}
    if isinstance(theirs.get("random_state"), np.random.Generator):  # xpnn also takes a Generator
        del theirs["random_state"]
    for key, ours in (("activation", NAMES), ("solver", OPTIMIZERS)):
        if isinstance(theirs.get(key), str) and theirs[key] in ours:
            del theirs[key]
    validate_parameter_constraints({k: constraints[k] for k in theirs}, theirs, caller_name=name)


class _RateView:
    """``learning_rate``: the rate the next epoch would start with, as scikit-learn's SGD
    optimizer holds it (the adaptive rate's current value; invscaling's init / (t_ + 1) ** power_t)."""

    def __init__(self, rate, model):
        self._rate, self._model = rate, model

    @property
    def learning_rate(self):
        model = self._model
        if isinstance(self._rate, AdaptiveRate):
            return self._rate.value
        if model.solver == "sgd" and model.learning_rate == "invscaling":
            return float(model.learning_rate_init) / (model.t_ + 1) ** model.power_t
        return float(model.learning_rate_init)


def _sklearn_routing():
    try:
        from sklearn.utils import metadata_routing
    except ImportError:
        raise ImportError("metadata routing is scikit-learn's: pip install scikit-learn") from None
    return metadata_routing


def _request(model):
    """The model's metadata requests, kept as scikit-learn keeps them (in ``_metadata_request``,
    which its ``clone`` copies): ``sample_weight`` for ``fit``, ``partial_fit`` and ``score``."""
    request = model.__dict__.get("_metadata_request")
    if request is None:
        request = _sklearn_routing().MetadataRequest(owner=type(model).__name__)
        for method in ("fit", "partial_fit", "score"):
            getattr(request, method).add_request(param="sample_weight", alias=None)
        model.__dict__["_metadata_request"] = request
    return request


def routing_of(model):
    """scikit-learn's ``MetadataRequest`` of ``model`` (a copy)."""
    return _sklearn_routing().get_routing_for_object(_request(model))


def set_request(model, method, sample_weight):
    """Request ``sample_weight`` for ``method`` (scikit-learn's ``set_{method}_request``, so
    that GridSearchCV or a Pipeline routes it with ``sklearn.set_config(enable_metadata_routing=True)``);
    returns the model."""
    if sample_weight is not _sklearn_routing().UNCHANGED:
        getattr(_request(model), method).add_request(param="sample_weight", alias=sample_weight)
    return model


def estimator_repr(model):
    """scikit-learn's repr: the parameters changed from their defaults, sorted by name, lines
    filled to 79 characters and continued under the opening parenthesis."""
    defaults = inspect.signature(type(model).__init__).parameters
    changed = [f"{k}={v!r}" for k, v in sorted(model.get_params().items())
               if repr(v) != repr(defaults[k].default)]
    name = type(model).__name__
    lines, indent = [f"{name}("], " " * (len(name) + 1)
    for i, item in enumerate(changed):
        item += "," if i < len(changed) - 1 else ""
        if len(lines[-1]) + len(item) + 1 > 79 and not lines[-1].endswith("("):
            lines.append(indent + item)
        else:
            lines[-1] += ("" if lines[-1].endswith("(") else " ") + item
    return "\n".join(lines) + ")"


class _Absent:
    """A method the course estimators have and scikit-learn's MLP has not: reading it raises
    AttributeError, so ``hasattr`` is False and code that asks (``DecisionBoundaryDisplay``,
    calibration) takes scikit-learn's path."""

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, owner=None):
        raise AttributeError(f"{(owner or type(obj)).__name__!r} object has no attribute {self.name!r} "
                             "(as scikit-learn's MLP has none)")


def _coefs(model):
    """The weight matrices in scikit-learn's orientation, (fan_in, fan_out) each: views of
    ``params_`` (course notation, W[l] (n[l], n[l-1])). With batch_norm, those of the same net at
    inference with the normalisation folded in (see ``intercepts_``): copies."""
    model._check_fitted()
    return [folded(model.params_, l)[0].T for l in range(1, model.n_layers_)]


def _intercepts(model):
    """The bias vectors, (fan_out,) each. With batch_norm, a normalised layer's beta - s * mean
    with s = gamma / sqrt(var + eps), so that ``coefs_`` and ``intercepts_`` compute exactly what
    ``predict`` does, as scikit-learn's MLP would."""
    model._check_fitted()
    return [folded(model.params_, l)[1][:, 0] for l in range(1, model.n_layers_)]


def _n_layers(model):
    """Layers counted as scikit-learn does: input, hidden and output."""
    model._check_fitted()
    return n_layers(model.params_) + 1


# scikit-learn's fitted views of the MLP classes: ``coefs_, intercepts_, n_layers_ = VIEWS``
VIEWS = (property(_coefs), property(_intercepts), property(_n_layers))
