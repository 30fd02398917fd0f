"""What scikit-learn's own code sees of the MLP classes beyond their API, where scikit-learn is
installed: its parameter checks (InvalidParameterError), its metadata-routing requests, methods
its MLP lacks reported absent (``hasattr`` False), and the private views its tests read."""

from __future__ import annotations

import numpy as np

from ._monitors import AdaptiveRate
from .activations import NAMES
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


class _Routing:
    """scikit-learn's metadata-routing requests for ``sample_weight`` (``fit``, ``partial_fit``,
    ``score``), so that GridSearchCV or a Pipeline routes it with
    ``sklearn.set_config(enable_metadata_routing=True)``; kept as scikit-learn keeps them (in
    ``_metadata_request``, which its ``clone`` copies)."""

    def _request(self):
        request = self.__dict__.get("_metadata_request")
        if request is None:
            request = _sklearn_routing().MetadataRequest(owner=type(self).__name__)
            for method in ("fit", "partial_fit", "score"):
                getattr(request, method).add_request(param="sample_weight", alias=None)
            self.__dict__["_metadata_request"] = request
        return request

    def get_metadata_routing(self):
        """scikit-learn's ``MetadataRequest`` of this estimator (a copy)."""
        return _sklearn_routing().get_routing_for_object(self._request())

    def _set_request(self, method, sample_weight):
        if sample_weight is not _sklearn_routing().UNCHANGED:
            getattr(self._request(), method).add_request(param="sample_weight", alias=sample_weight)
        return self

    def set_fit_request(self, *, sample_weight="$UNCHANGED$"):
        """Request ``sample_weight`` for ``fit`` (scikit-learn's metadata routing). Returns self."""
        return self._set_request("fit", sample_weight)

    def set_partial_fit_request(self, *, sample_weight="$UNCHANGED$"):
        """Request ``sample_weight`` for ``partial_fit``. Returns self."""
        return self._set_request("partial_fit", sample_weight)

    def set_score_request(self, *, sample_weight="$UNCHANGED$"):
        """Request ``sample_weight`` for ``score``. Returns self."""
        return self._set_request("score", sample_weight)


class _Absent:
    """A method the course estimators have and scikit-learn's MLP has not: reading it raises
    AttributeError, so ``hasattr`` is False and code that asks (``DecisionBoundaryDisplay``,
    calibration) takes scikit-learn's path."""

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, owner=None):
        raise AttributeError(f"{(owner or type(obj)).__name__!r} object has no attribute {self.name!r} "
                             "(as scikit-learn's MLP has none)")
