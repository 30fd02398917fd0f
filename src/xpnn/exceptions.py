"""xpnn's exceptions and warnings, in one place (as ``sklearn.exceptions``).

Where scikit-learn is installed, the ``NotFittedError`` raised and the ``ConvergenceWarning`` and
``DataConversionWarning`` warned are also scikit-learn's, so code written for either catches them.
"""

from __future__ import annotations

import functools


class NotFittedError(ValueError, AttributeError):
    """The estimator was used before ``fit``.

    When scikit-learn is installed the error raised is also a
    ``sklearn.exceptions.NotFittedError``, so code written for either catches it.
    """


class ConvergenceWarning(UserWarning):
    """A fit ended without learning much: the cost barely moved, or a classifier predicts one
    class for every training sample. When scikit-learn is installed the warning issued is also a
    ``sklearn.exceptions.ConvergenceWarning``, so filters written for either catch it."""


class DivergenceError(FloatingPointError):
    """Training produced a non-finite cost or parameters."""


class DivergenceWarning(UserWarning):
    """Training diverged and ``on_divergence="warn"`` kept the last finite parameters."""


class DataConversionWarning(UserWarning):
    """Input was converted to the form xpnn expects (e.g. a column-vector y raveled)."""


@functools.cache
def _with_sklearn(ours, name):
    """``ours``, or a subclass that is also scikit-learn's class of the same ``name``."""
    try:
        import sklearn.exceptions
    except ImportError:
        return ours
    theirs = getattr(sklearn.exceptions, name)
    return type(name, (ours, theirs), {"__module__": ours.__module__})


def not_fitted_error():
    """The NotFittedError class to raise (scikit-learn's too, where installed)."""
    return _with_sklearn(NotFittedError, "NotFittedError")


def convergence_warning():
    """The ConvergenceWarning class to warn (scikit-learn's too, where installed)."""
    return _with_sklearn(ConvergenceWarning, "ConvergenceWarning")


def data_conversion_warning():
    """The DataConversionWarning class to warn (scikit-learn's too, where installed)."""
    return _with_sklearn(DataConversionWarning, "DataConversionWarning")
