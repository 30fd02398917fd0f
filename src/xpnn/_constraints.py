"""Hyperparameter constraints, declared once per estimator as a table (scikit-learn's
``_parameter_constraints``): each is ``check(value, name) -> value``, raising ValueError (or
TypeError) that names the argument, what it accepts and what arrived."""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._config import _canonical
from .backend import _DTYPES, Backend


def _real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _finite(value):
    """math.isfinite, False for an int too large for a float (10**400) instead of OverflowError."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def check_positive_float(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not _finite(value) \
            or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0; got {value!r}")
    return float(value)


def check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1; got {value!r}")
    return int(value)


def check_choice(value, name, choices):
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose from {sorted(choices)}")
    return value


def check_solver(value, name):
    """An optimizer's name: "lbfgs" or one of :data:`xpnn.optimizers.OPTIMIZERS` (read at check
    time: a registered optimizer is accepted at once, by every estimator)."""
    from .optimizers import OPTIMIZERS

    return value if value == "lbfgs" else check_choice(value, name, OPTIMIZERS)


def check_hidden_sizes(value, name):
    """Hidden layer sizes: an int or a sequence of ints >= 1, as a tuple."""
    sizes = (value,) if isinstance(value, numbers.Integral) else value
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
        raise ValueError(f"{name} must be an int or a sequence of ints; got {value!r}")
    return tuple(check_positive_int(size, "hidden layer size") for size in sizes)


def check_rates(value, name):
    """A drop rate or a sequence of them (each checked per layer by the estimator)."""
    if value is None or isinstance(value, (str, bytes)):
        raise ValueError(f"dropout must be a number or a sequence of numbers; got {value!r}")
    return value


def check_seed(value, name):
    """random_state: None, an int >= 0 or a numpy.random.Generator."""
    if isinstance(value, np.random.RandomState):
        raise TypeError(f"{name} must be an int, None or a numpy.random.Generator; got a legacy "
                        "numpy.random.RandomState")
    if value is None or isinstance(value, np.random.Generator):
        return value
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 0:
        return value
    raise ValueError(f"{name} must be None, an int >= 0 or a numpy.random.Generator; got {value!r:.60}")


def check_backend_spec(value, name):
    """backend: None, a Backend, an array-API namespace module or a backend name."""
    if value is None or isinstance(value, Backend) or hasattr(value, "__name__"):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{name} must be None, a backend name, a namespace module or a Backend; "
                         f"got {value!r:.60}")
    _canonical(value)  # ValueError naming the choices
    return value


def check_non_negative_float(value, name):
    if not _real(value) or not _finite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0; got {value!r}")
    return float(value)


def check_fraction(value, name, *, upper_open=False, positive=False):
    """A number in [0, 1] (``positive``: above 0; ``upper_open``: below 1)."""
    ok = _real(value) and _finite(value)
    ok = ok and (value > 0 if positive else value >= 0) and (value < 1 if upper_open else value <= 1)
    if not ok:
        low = "0 <" if positive else "0 <="
        raise ValueError(f"{name} must be a number with {low} {name} {'<' if upper_open else '<='} 1; "
                         f"got {value!r}")
    return float(value)


def one_of(choices):
    """A constraint: ``value`` among ``choices`` (a set, or a registry dict read at check time)."""
    return lambda value, name: check_choice(value, name, choices)


def optional(constraint):
    """A constraint that also accepts None."""
    return lambda value, name: None if value is None else constraint(value, name)


def fraction(**kwargs):
    return lambda value, name: check_fraction(value, name, **kwargs)


def check_parameters(values, constraints):
    """Every value of ``values`` {name: value} that ``constraints`` {name: check(value, name)}
    declares, checked (the first bad one raises ValueError naming it). Returns the checked
    values, converted (floats as float, ints as int)."""
    return {name: check(values[name], name) for name, check in constraints.items() if name in values}


def check_boolean(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def check_dtype(value, name="dtype"):
    name = value if isinstance(value, str) else getattr(value, "__name__", str(value))
    return check_choice(name, "dtype", _DTYPES)
