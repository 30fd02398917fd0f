"""The estimators the tests train, in one place: small settings that learn the tests' small
problems quickly. Each factory takes keyword overrides (``COURSE["deep"](n_iter=30)``)."""

import numpy as np

import xpnn


def _factory(cls, *args, **defaults):
    return lambda **kw: cls(*args, **{**defaults, **kw})


COURSE = {  # the course's three classifiers
    "logistic": _factory(xpnn.LogisticRegression, learning_rate=0.5, n_iter=60, cost_every=10),
    "shallow": _factory(xpnn.ShallowNet, n_hidden=3, learning_rate=0.5, n_iter=60, cost_every=10),
    "deep": _factory(xpnn.DeepNet, (5, 3), learning_rate=0.1, n_iter=60, init="he", cost_every=10),
}

HEADS = {  # one model per kind of target: (factory, kind of target for head_data)
    "binary": (_factory(xpnn.ShallowNet, n_iter=40, learning_rate=0.5, random_state=0), "binary"),
    "multiclass": (_factory(xpnn.DeepNet, (5,), n_iter=40, learning_rate=0.3, random_state=0), "multi"),
    "multilabel": (_factory(xpnn.DeepNet, (5,), n_iter=40, learning_rate=0.3, random_state=0), "multilabel"),
    "regression": (_factory(xpnn.DeepNetRegressor, (5,), n_iter=40, random_state=0), "regression"),
}

SKLEARN_QUICK = [  # quick settings for scikit-learn's estimator checks
    xpnn.LogisticRegression(learning_rate=0.1, n_iter=200),
    xpnn.ShallowNet(n_iter=300, learning_rate=0.5, random_state=0),
    xpnn.DeepNet((8, 4), n_iter=300, learning_rate=0.1, init="he", random_state=0),
    xpnn.ShallowNetRegressor(n_iter=300, random_state=0),
    xpnn.DeepNetRegressor((16, 8), n_iter=300, random_state=0),
    xpnn.MLPClassifier(max_iter=100, random_state=0),  # scikit-learn's own test settings
    xpnn.MLPRegressor(max_iter=100, random_state=0),
]


def head_data(kind, rng, m=30):
    """(X (m, 3), y) for a kind of target: binary, multi, multilabel or regression."""
    X = rng.standard_normal((m, 3))
    y = {"binary": (X[:, 0] > 0).astype(int), "multi": np.digitize(X[:, 0], [-0.5, 0.5]),
         "multilabel": (X[:, :2] > 0).astype(int), "regression": X[:, 0] - X[:, 1]}[kind]
    return X, y
