"""Multi-class, multilabel and regression estimators, sample and class weights."""

import warnings

import numpy as np
import pytest

import xpnn
from models import HEADS, head_data

sklearn = pytest.importorskip("sklearn")
from sklearn.datasets import load_digits, make_friedman1  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402


def _standardised(X_train, X_test):
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    return (*_standardised(X_train, X_test), y_train, y_test)


@pytest.fixture
def three_blobs(rng):
    centres = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    labels = rng.integers(0, 3, 150)
    X = centres[labels] + rng.standard_normal((150, 2))
    return X, np.array(["red", "green", "blue"])[labels]


def test_digits_deep_net_and_softmax_regression_match_scikit_learn(digits):
    """The issue's numbers: 10 classes, 70/30 stratified split, standardised, full-batch GD."""
    from sklearn.neural_network import MLPClassifier

    X_train, X_test, y_train, y_test = digits
    deep = xpnn.DeepNet(hidden_layer_sizes=(64,), learning_rate=0.1, n_iter=1000, random_state=0)
    softmax = xpnn.LogisticRegression(learning_rate=0.1, n_iter=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLPClassifier's ConvergenceWarning at its default max_iter
        reference = MLPClassifier((64,), random_state=0).fit(X_train, y_train).score(X_test, y_test)
    deep_score = deep.fit(X_train, y_train).score(X_test, y_test)
    softmax_score = softmax.fit(X_train, y_train).score(X_test, y_test)
    assert deep_score >= 0.95 and deep_score >= reference - 0.02, (deep_score, reference)
    assert softmax_score >= 0.94, softmax_score
    assert deep.out_activation_ == softmax.out_activation_ == "softmax"
    assert deep.predict_proba(X_test).shape == (X_test.shape[0], 10)
    np.testing.assert_allclose(deep.predict_proba(X_test).sum(axis=1), 1.0)
    assert deep.decision_function(X_test).shape == (X_test.shape[0], 10)
    assert list(deep.classes_) == list(range(10))


def test_regression_matches_mlp_regressor_on_friedman1():
    from sklearn.neural_network import MLPRegressor

    X, y = make_friedman1(n_samples=1000, noise=1.0, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
    X_train, X_test = _standardised(X_train, X_test)
    model = xpnn.DeepNetRegressor((64,), learning_rate=0.05, n_iter=5000, random_state=0)
    score = model.fit(X_train, y_train).score(X_test, y_test)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLPRegressor's ConvergenceWarning: it is near its best
        reference = MLPRegressor(hidden_layer_sizes=(64,), max_iter=2000, random_state=0).fit(
            X_train, y_train).score(X_test, y_test)
    assert score >= reference - 0.05, (score, reference)
    assert model.predict(X_test).shape == y_test.shape


def test_classes_of_any_type_and_shapes(three_blobs):
    X, y = three_blobs
    model = xpnn.ShallowNet(n_hidden=5, learning_rate=0.5, n_iter=500, random_state=0).fit(X, y)
    assert list(model.classes_) == ["blue", "green", "red"] and model.n_outputs_ == 3
    assert model.predict(X).dtype.kind == "U" and model.score(X, y) > 0.95
    P = model.predict_proba(X)
    assert P.shape == (150, 3)
    np.testing.assert_array_equal(model.classes_[np.argmax(P, axis=1)], model.predict(X))


def test_binary_is_unchanged_by_the_heads(rng):
    X = rng.standard_normal((40, 3))
    y = (X[:, 0] > 0).astype(int)
    model = xpnn.DeepNet((4,), n_iter=50, random_state=0).fit(X, y)
    assert model.out_activation_ == "sigmoid" and model.n_outputs_ == 1
    assert model.decision_function(X).shape == (40,) and model.predict_proba(X).shape == (40, 2)


def test_multilabel_indicator(rng):
    X = rng.standard_normal((120, 3))
    Y = np.stack([X[:, 0] > 0, X[:, 1] > 0, X[:, 0] + X[:, 2] > 0], axis=1).astype(int)
    model = xpnn.DeepNet((8,), learning_rate=0.5, n_iter=800, init="he", random_state=0).fit(X, Y)
    assert model.out_activation_ == "sigmoid" and model.n_outputs_ == 3
    assert list(model.classes_) == [0, 1, 2]
    assert model.predict_proba(X).shape == model.decision_function(X).shape == (120, 3)
    predicted = model.predict(X)
    assert predicted.shape == (120, 3) and set(np.unique(predicted)) <= {0, 1}
    assert model.score(X, Y) > 0.9  # every label of a sample right


def test_two_d_y_that_is_not_an_indicator_is_refused(rng):
    with pytest.raises(ValueError, match="0/1 indicator matrix.*use a regressor"):
        xpnn.DeepNet().fit(rng.standard_normal((10, 2)), rng.standard_normal((10, 2)))


def test_regressor_predicts_the_shape_of_y(rng):
    X = rng.standard_normal((80, 2))
    Y = np.stack([X[:, 0] - X[:, 1], 0.5 * X[:, 0]], axis=1)
    for y in (Y[:, 0], Y[:, :1], Y):
        model = xpnn.ShallowNetRegressor(n_iter=300, random_state=0).fit(X, y)
        assert model.predict(X).shape == y.shape and model.n_outputs_ == y.reshape(80, -1).shape[1]
        assert model.score(X, y) > 0.9


def test_no_hidden_layers_is_linear_regression(rng):
    X = rng.standard_normal((100, 3))
    y = X @ np.array([1.5, -2.0, 0.5]) + 3.0 + 0.1 * rng.standard_normal(100)
    model = xpnn.DeepNetRegressor((), learning_rate=0.1, n_iter=2000).fit(X, y)
    A = np.c_[X, np.ones(100)]
    coef = np.linalg.lstsq(A, y, rcond=None)[0]
    np.testing.assert_allclose(model.params_["W1"][0], coef[:3], rtol=1e-6)
    np.testing.assert_allclose(model.params_["b1"][0, 0], coef[3], rtol=1e-6)


def test_r2_is_scikit_learns(rng):
    from sklearn.metrics import r2_score

    X = rng.standard_normal((50, 2))
    y = X[:, 0] + 0.3 * rng.standard_normal(50)
    w = rng.random(50)
    model = xpnn.ShallowNetRegressor(n_iter=100, random_state=0).fit(X, y)
    assert model.score(X, y) == pytest.approx(r2_score(y, model.predict(X)), rel=1e-12)
    assert model.score(X, y, sample_weight=w) == pytest.approx(
        r2_score(y, model.predict(X), sample_weight=w), rel=1e-12)


MODELS = HEADS
_data = head_data


@pytest.mark.parametrize("batch_size", [None, 7])
@pytest.mark.parametrize("name", MODELS)
def test_integer_sample_weights_equal_repeated_rows(name, batch_size, rng):
    make, kind = MODELS[name]
    X, y = _data(kind, rng)
    counts = rng.integers(1, 4, X.shape[0])
    if batch_size is None:
        weighted = make().fit(X, y, sample_weight=counts)
        repeated = make().fit(np.repeat(X, counts, axis=0), np.repeat(y, counts, axis=0))
        for key in repeated.params_:
            np.testing.assert_allclose(weighted.params_[key], repeated.params_[key], rtol=1e-8, atol=1e-10)
    else:  # batches differ from repeated rows; the weights must still be used and valid
        plain = make().set_params(batch_size=batch_size).fit(X, y)
        weighted = make().set_params(batch_size=batch_size).fit(X, y, sample_weight=counts)
        assert not np.allclose(plain.params_["W1"], weighted.params_["W1"])
        assert np.all(np.isfinite(weighted.costs_))


def test_zero_weights_drop_samples(rng):
    X, y = _data("multi", rng, m=40)
    w = (np.arange(40) % 2).astype(float)
    dropped = MODELS["multiclass"][0]().fit(X, y, sample_weight=w)
    kept = MODELS["multiclass"][0]().fit(X[w > 0], y[w > 0])
    for key in kept.params_:
        np.testing.assert_allclose(dropped.params_[key], kept.params_[key], rtol=1e-10, atol=1e-12)


def test_balanced_class_weight_raises_minority_recall(rng):
    m = 400
    X = rng.standard_normal((m, 2))
    y = (X[:, 0] + 0.8 * rng.standard_normal(m) > 1.3).astype(int)  # about 12% positives
    assert 0.05 < y.mean() < 0.2
    recall = {}
    for class_weight in (None, "balanced"):
        model = xpnn.LogisticRegression(learning_rate=0.5, n_iter=500, class_weight=class_weight).fit(X, y)
        recall[class_weight] = np.mean(model.predict(X)[y == 1] == 1)
    assert recall["balanced"] > recall[None] + 0.2, recall


def test_balanced_weights_are_scikit_learns_formula(rng):
    from sklearn.utils.class_weight import compute_class_weight

    from xpnn._validation import check_classification_y, class_weights
    from xpnn.heads import HEAD_FOR_TARGET, get_head

    y = np.array(["a"] * 6 + ["b"] * 3 + ["c"] * 1)
    classes, Y, kind = check_classification_y(y, 10)
    want = compute_class_weight("balanced", classes=classes, y=y)
    np.testing.assert_allclose(class_weights("balanced", classes, Y, get_head(HEAD_FOR_TARGET[kind])),
                               want[np.searchsorted(classes, y)])


def test_class_weight_dict_on_unscaled_blobs():
    """scikit-learn's check_class_weight_classifiers problems, given the iterations plain
    gradient descent needs on unscaled features (see test_sklearn.EXPECTED_FAILURES)."""
    from sklearn.datasets import make_blobs

    for n_centers in (2, 3):
        X, y = make_blobs(centers=n_centers, random_state=0, cluster_std=20)
        X_train, X_test, y_train, _ = train_test_split(X, y, test_size=0.5, random_state=0)
        weights = {0: 1000, 1: 0.0001, 2: 0.0001}
        weights = {c: weights[c] for c in np.unique(y_train)}
        model = xpnn.LogisticRegression(learning_rate=0.1, n_iter=1000, class_weight=weights)
        assert np.mean(model.fit(X_train, y_train).predict(X_test) == 0) > 0.87


@pytest.mark.parametrize("bad,match", [
    (-np.ones(10), r"sample_weight must be >= 0"),
    (np.r_[np.nan, np.ones(9)], "sample_weight contains NaN"),
    (np.ones(9), r"sample_weight must be 1-D with one weight per sample: X has 10 samples, "
                 r"sample_weight has shape \(9,\)"),
    (np.zeros(10), "sample_weight is all zero"),
    (np.array(["a"] * 10), "sample_weight must hold real numbers"),
])
def test_bad_sample_weights_are_named(bad, match, rng):
    X, y = rng.standard_normal((10, 2)), np.arange(10) % 2
    error = TypeError if bad.dtype.kind == "U" else ValueError
    for model in (xpnn.LogisticRegression(n_iter=2), xpnn.DeepNetRegressor(n_iter=2)):
        with pytest.raises(error, match=match):
            model.fit(X, y, sample_weight=bad)
        with pytest.raises(error, match=match):
            xpnn.LogisticRegression(n_iter=2).fit(X, y).score(X, y, sample_weight=bad)


def test_bad_class_weights_are_named(rng):
    X, y = rng.standard_normal((10, 2)), np.arange(10) % 2
    with pytest.raises(ValueError, match=r"class_weight names labels \[7\]"):
        xpnn.LogisticRegression(class_weight={7: 1.0}).fit(X, y)
    with pytest.raises(ValueError, match="class_weight must be None, 'balanced' or a dict"):
        xpnn.LogisticRegression(class_weight="even").fit(X, y)
    with pytest.raises(ValueError, match="class_weight is not supported for multilabel"):
        xpnn.DeepNet(class_weight="balanced").fit(X, np.c_[y, 1 - y])


@pytest.mark.parametrize("name", MODELS)
def test_every_head_on_every_backend(name, backend, rng):
    make, kind = MODELS[name]
    X, y = _data(kind, rng)
    dtype = "float32" if backend.device is not None and "no_float64" in str(backend.device) else "float64"
    got = make().set_params(backend=backend, dtype=dtype).fit(X, y)
    want = make().set_params(dtype=dtype).fit(X, y)
    rtol = 1e-10 if dtype == "float64" else 1e-4
    for key in want.params_:
        np.testing.assert_allclose(got.params_[key], want.params_[key], rtol=rtol, atol=rtol * 1e-2)
    if kind == "regression":
        np.testing.assert_allclose(xpnn.to_numpy(got.predict(X)), want.predict(X), rtol=rtol, atol=rtol)
    else:
        np.testing.assert_array_equal(xpnn.to_numpy(got.predict(X)), want.predict(X))


@pytest.mark.parametrize("batch_size", [None, 16])
@pytest.mark.parametrize("name", ["multiclass", "regression"])
def test_every_head_on_dask_with_weights(name, batch_size, rng):
    da = pytest.importorskip("dask.array")
    make, kind = MODELS[name]
    X, y = _data(kind, rng, m=48)
    w = rng.random(48) + 0.5
    model = make().set_params(batch_size=batch_size, cost_every=5)
    got = model.fit(da.from_array(X, chunks=(16, 3)), y, sample_weight=w)
    assert got.backend_.name == "dask"
    if batch_size is None:
        want = make().set_params(cost_every=5).fit(X, y, sample_weight=w)
        for key in want.params_:
            np.testing.assert_allclose(got.params_[key], want.params_[key], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(got.costs_, want.costs_, rtol=1e-10)
    else:
        assert np.all(np.isfinite(got.costs_)) and got.costs_[-1] < got.costs_[0]
