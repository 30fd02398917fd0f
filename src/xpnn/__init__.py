"""xpnn: the course's neural networks, written once as array-API code, run on any backend."""

from .backend import (Backend, GPUUnavailableError, XpnnFallbackWarning, get_backend,
                      gpu_available, set_backend, to_numpy, use_backend)
from . import datasets, distributed, heads, network, optimizers, preprocessing, training
from .estimators import (ConvergenceWarning, DeepNet, DeepNetRegressor, LogisticRegression,
                         NotFittedError, ShallowNet, ShallowNetRegressor)
from .network import DivergenceError, DivergenceWarning
from .persistence import load

__version__ = "0.1.0"

__all__ = [
    "Backend", "ConvergenceWarning", "DeepNet", "DeepNetRegressor", "DivergenceError", "DivergenceWarning",
    "GPUUnavailableError", "LogisticRegression", "NotFittedError", "ShallowNet",
    "ShallowNetRegressor", "XpnnFallbackWarning",
    "datasets", "distributed", "get_backend", "gpu_available", "heads", "load", "network",
    "optimizers", "preprocessing", "training", "set_backend", "to_numpy", "use_backend",
]
