"""What classifiers and regressors add to :class:`xpnn._base._BaseNet`: how y becomes targets
(the head follows the kind of y, :data:`xpnn.heads.HEAD_FOR_TARGET`), their fitted attributes,
partial_fit, prediction and score."""

from __future__ import annotations

import numpy as np

from ._base import _BaseNet
from ._validation import (check_classification_y, check_regression_y, check_sample_weight, check_score_y,
                          class_weights)
from .backend import backend_of, namespace, to_numpy
from .heads import HEAD_FOR_TARGET, get_head, r2


class _Classifier(_BaseNet):
    """Classifiers: two labels give one sigmoid unit (the course's), more give softmax, a 0/1
    indicator matrix gives one sigmoid unit per label (multilabel)."""

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags

        return Tags(estimator_type="classifier", target_tags=TargetTags(required=True),
                    classifier_tags=ClassifierTags(multi_class=True, multi_label=True),
                    input_tags=InputTags(two_d_array=True, sparse=self._rules.ACCEPT_SPARSE))

    _single_class = False  # one label in y: refused (True: one unit, always that label)

    def _targets(self, y, m, classes=None):
        classes, Y, kind = check_classification_y(y, m, classes, self._single_class)
        head = HEAD_FOR_TARGET[kind]
        return head, Y, {"classes": classes}, class_weights(self.class_weight, classes, Y, get_head(head))

    @staticmethod
    def _target_attributes(state):
        return {"classes_": state.classes}

    @staticmethod
    def _check_targets(state, head):
        classes, k = state.classes, state.n_outputs
        if classes is None or getattr(classes, "ndim", None) != 1:
            raise ValueError("a classifier needs a 1-D 'classes' array")
        if np.unique(classes).shape[0] != classes.shape[0]:
            raise ValueError(f"the classes repeat a label: {classes.tolist()[:10]}")
        want = head.n_classes(k)
        if want is None or classes.shape[0] not in (want, 1 if want == 2 else want):
            raise ValueError(f"{classes.shape[0]} classes for a {head.name} head with {k} unit(s) "
                             f"(expected {want})")

    def _degenerate(self, X, y):
        if self._multilabel():
            return None
        predicted = np.unique(to_numpy(self.predict(X)))
        if predicted.shape[0] == 1:
            return (f"it predicts {predicted.tolist()[0]!r} for every training sample (no better than "
                    "always predicting one class)")
        return None

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch of training (one step for full batch), continuing from the current
        parameters and optimizer state; the first call initialises the net.

        Parameters
        ----------
        X, y, sample_weight : as for :meth:`fit`.
        classes : array of all labels, required on the first call (unless y is a multilabel
            indicator matrix), since one batch may not show every class.
        """
        first = not hasattr(self, "params_")
        if first and classes is None and np.ndim(to_numpy(y)) == 1:
            raise ValueError("classes must be passed on the first call to partial_fit: all the "
                             "labels y can take (one batch may not show every class)")
        self._check_partial_fit_classes(classes)
        self._fit(X, y, sample_weight, None, n_epochs=1, warm=not first, early_stopping=False,
                  classes=classes, incremental=True)
        return self

    def _check_partial_fit_classes(self, classes):
        """A later partial_fit may repeat ``classes``, not change them (scikit-learn's rule)."""
        if classes is not None and hasattr(self, "classes_") and \
                not np.array_equal(np.unique(to_numpy(classes)), self.classes_):
            raise ValueError(f"`classes={list(classes)!r}` is not the same as on last call to "
                             f"partial_fit, was: {self.classes_!r}")

    def _multilabel(self, published=None):
        """Several labels per sample: the head names no single class (of ``published``, the
        fitted state a prediction read, else the current one)."""
        published = self._published if published is None else published
        return published.n_outputs > 1 and get_head(published.head).class_index(
            np.zeros((published.n_outputs, 1))) is None

    def decision_function(self, X):
        """Logits: shape (n_samples,) for two classes (of the positive class), else
        (n_samples, n_outputs). NumPy in, NumPy out; other backends' arrays stay there."""
        def finish(_, Z, host, published):
            return _out(Z[0, :] if published.n_outputs == 1 else Z.T, host)
        return self._forward(X, finish)

    def predict_proba(self, X):
        """Probabilities, shape (n_samples, n_classes) in ``classes_`` order; for multilabel y,
        (n_samples, n_labels) with P(label = 1) in each column."""
        def finish(A, _, host, published):
            if published.n_outputs == 1:
                A = namespace(A).concat([1.0 - A, A], axis=0)
            return _out(A.T, host)
        return self._forward(X, finish)

    def predict(self, X):
        """Predicted labels from ``classes_`` (the most probable class; for two classes, the
        positive one where P > 0.5); for multilabel y, the (n_samples, n_labels) 0/1 matrix."""
        return self._forward(X, self._labels)

    def _labels(self, A, _, host, published):
        xp, classes = namespace(A), published.classes
        if self._multilabel(published):
            return _out(xp.astype(A.T > 0.5, xp.int64), host)
        index = A[0, :] > 0.5 if published.n_outputs == 1 else xp.argmax(A, axis=0)
        if classes.shape[0] == 1:  # a single class seen at fit
            index = xp.zeros_like(index)
        if host or classes.dtype.kind not in "biuf":
            return classes[to_numpy(index).astype(int)]
        classes = backend_of(A).asarray(classes)
        if published.n_outputs == 1:
            return xp.where(index, classes[1], classes[0])
        return xp.take(classes, index)

    def score(self, X, y, sample_weight=None):
        """Mean accuracy of ``predict(X)`` against ``y`` (weighted by ``sample_weight``; for
        multilabel y, the share of samples with every label right)."""
        predicted = to_numpy(self.predict(X))
        columns = self.n_outputs_ if self._multilabel() else None
        truth = check_score_y(y, predicted.shape[0], n_columns=columns)
        right = np.all(predicted == truth, axis=1) if self._multilabel() else predicted == truth
        return float(np.average(right, weights=check_sample_weight(sample_weight, right.shape[0])))


class _Regressor(_BaseNet):
    """Regressors: the head of continuous targets (identity output units on half the squared
    error)."""

    def __sklearn_tags__(self):
        from sklearn.utils import InputTags, RegressorTags, Tags, TargetTags

        return Tags(estimator_type="regressor",
                    target_tags=TargetTags(required=True, multi_output=True, single_output=True),
                    regressor_tags=RegressorTags(),
                    input_tags=InputTags(two_d_array=True, sparse=self._rules.ACCEPT_SPARSE))

    def _targets(self, y, m, classes=None):
        Y, ndim = check_regression_y(y, m)
        return HEAD_FOR_TARGET["continuous"], Y, {"y_ndim": ndim}, None

    @staticmethod
    def _target_attributes(state):
        return {"_y_ndim": state.y_ndim}

    @staticmethod
    def _check_targets(state, head):
        if head.n_classes(state.n_outputs) is not None or state.y_ndim not in (1, 2):
            raise ValueError(f"a regressor needs a regression head (got {head.name!r}) and y_ndim 1 "
                             f"or 2 (got {state.y_ndim!r})")

    def _degenerate(self, X, y):
        predicted = to_numpy(self.predict(X))
        predicted = predicted.reshape(predicted.shape[0], -1)
        target = np.asarray(to_numpy(y), dtype=np.float64).reshape(predicted.shape[0], -1)
        flat = np.ptp(predicted, axis=0) <= 1e-9 * (1.0 + np.abs(predicted).max(axis=0))
        if np.any(flat & (np.ptp(target, axis=0) > 0)):
            return ("it predicts the same value for every training sample (an output collapsed: dead "
                    "ReLUs or a cost that blew up). Scale y too (e.g. standardise it), and lower "
                    "learning_rate")
        return None

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch of training (one step for full batch), continuing from the current
        parameters and optimizer state; the first call initialises the net."""
        self._fit(X, y, sample_weight, None, n_epochs=1, warm=hasattr(self, "params_"),
                  early_stopping=False, incremental=True)
        return self

    def predict(self, X):
        """Predictions of shape (n_samples,) for a 1-D y at fit, else (n_samples, n_outputs)."""
        def finish(A, _, host, published):
            return _out(A[0, :] if published.y_ndim == 1 else A.T, host)
        return self._forward(X, finish)

    def score(self, X, y, sample_weight=None):
        """R² of ``predict(X)`` against ``y`` (scikit-learn's definition, outputs averaged
        uniformly; see :func:`xpnn.heads.r2`), weighted by ``sample_weight``."""
        predicted = to_numpy(self.predict(X))
        predicted = predicted.reshape(predicted.shape[0], -1)
        Y, _ = check_regression_y(y, predicted.shape[0])
        w = check_sample_weight(sample_weight, Y.shape[0])
        return float(r2(predicted.T, Y.T, None if w is None else w[None, :]))


def _out(x, host):
    return to_numpy(x) if host else x
