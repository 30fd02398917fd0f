"""scikit-learn's estimator checks, on quick settings of each estimator (all pass)."""

import pytest

import xpnn

sklearn_checks = pytest.importorskip("sklearn.utils.estimator_checks")

QUICK = [
    xpnn.LogisticRegression(learning_rate=0.1, n_iter=200),
    xpnn.ShallowNet(n_iter=300, learning_rate=0.5, random_state=0),
    xpnn.DeepNet((8, 4), n_iter=300, learning_rate=0.1, init="he", random_state=0),
]


@sklearn_checks.parametrize_with_checks(QUICK)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_not_fitted_error_is_both_kinds():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        xpnn.DeepNet().predict([[1.0]])
    with pytest.raises(xpnn.NotFittedError, match="not fitted yet"):
        xpnn.DeepNet().predict([[1.0]])


def test_works_in_a_pipeline_and_cross_validation():
    from sklearn.model_selection import KFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = xpnn.datasets.make_planar(200, random_state=0)
    pipe = make_pipeline(StandardScaler(), xpnn.ShallowNet(n_iter=2000, random_state=0))
    assert cross_val_score(pipe, X, y, cv=KFold(3, shuffle=True, random_state=0)).mean() > 0.7  # chance is 0.5
