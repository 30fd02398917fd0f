"""xpnn: the course's neural networks, written once as array-API code, run on any backend."""

from .backend import (Backend, GPUUnavailableError, XpnnFallbackWarning, get_backend,
                      gpu_available, set_backend, to_numpy, use_backend)
from . import datasets, distributed, exceptions, heads, network, optimizers, preprocessing, training
from .estimators import DeepNet, DeepNetRegressor, LogisticRegression, ShallowNet, ShallowNetRegressor
from .exceptions import ConvergenceWarning, DivergenceError, DivergenceWarning, NotFittedError
from .mlp import MLPClassifier, MLPRegressor
from .persistence import load
from .export import from_sklearn, to_onnx, to_sklearn

__version__ = "0.1.0"

__all__ = [
    "Backend", "ConvergenceWarning", "DeepNet", "DeepNetRegressor", "DivergenceError", "DivergenceWarning",
    "GPUUnavailableError", "LogisticRegression", "MLPClassifier", "MLPRegressor", "NotFittedError",
    "ShallowNet", "ShallowNetRegressor", "XpnnFallbackWarning",
    "datasets", "distributed", "exceptions", "get_backend", "gpu_available", "heads", "load", "network",
    "optimizers", "preprocessing", "training", "set_backend", "to_numpy", "use_backend",
    "from_sklearn", "to_onnx", "to_sklearn",
]
