"""Every estimator path on a device that refuses mixed devices: array_api_strict's "device1"
(which fails as torch-CUDA and a second CuPy GPU do when an array is made on the wrong device),
and on a GPU run CuPy and torch-CUDA themselves: each estimator with early stopping, dropout,
batch norm, class and sample weights, every solver, partial_fit, warm_start, save/load and every
predict method."""

import warnings

import numpy as np
import pytest

import xpnn
from conftest import make_backend

COURSE = {
    "LogisticRegression": lambda **kw: xpnn.LogisticRegression(n_iter=5, **kw),
    "ShallowNet": lambda **kw: xpnn.ShallowNet(n_hidden=3, n_iter=5, random_state=0, **kw),
    "DeepNet": lambda **kw: xpnn.DeepNet((4, 3), n_iter=5, random_state=0, **kw),
    "ShallowNetRegressor": lambda **kw: xpnn.ShallowNetRegressor(n_hidden=3, n_iter=5, random_state=0, **kw),
    "DeepNetRegressor": lambda **kw: xpnn.DeepNetRegressor((4, 3), n_iter=5, random_state=0, **kw),
}
COURSE_OPTIONS = {
    "plain": {},
    "early-stopping": dict(early_stopping=True, n_iter_no_change=2),
    "adam-mini-batch": dict(optimizer="adam", batch_size=16),
    "dropout": dict(dropout=0.2),
    "batch-norm": dict(batch_norm=True, batch_size=16),
    "lbfgs": dict(optimizer="lbfgs"),
    "momentum-decay-l2": dict(optimizer="momentum", learning_rate_decay="scheduled", alpha=0.1),
}
MLP_OPTIONS = {
    "adam": {},
    "sgd-adaptive": dict(solver="sgd", learning_rate="adaptive"),
    "lbfgs": dict(solver="lbfgs"),
    "early-stopping": dict(early_stopping=True, n_iter_no_change=2),
    "batch-norm": dict(batch_norm=True, batch_size=16),
}
DEVICES = [pytest.param(("array_api_strict", "device1"), id="strict-device1"),
           pytest.param(("fake-cupy", None), id="fake-cupy"),
           pytest.param(("cupy", None), id="cupy", marks=pytest.mark.gpu),
           pytest.param(("torch", "cuda"), id="torch-cuda", marks=pytest.mark.gpu)]


@pytest.fixture(params=DEVICES)
def device(request, monkeypatch):
    return make_backend(*request.param, monkeypatch)


def _data(regression):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    y = X[:, 0] - X[:, 1] ** 2 if regression else (X[:, 0] + X[:, 1] > 0).astype(int)
    return X, y


def _check_every_method(model, X, y, tmp_path, device):
    Xd = device.asarray(X, model.params_["W1"].dtype)
    answers = [model.predict(X), model.predict(Xd), model.score(X, y)]
    for name in ("predict_proba", "predict_log_proba", "decision_function"):
        if hasattr(model, name):
            answers += [getattr(model, name)(X), getattr(model, name)(Xd)]
    for answer in answers:
        if not np.isscalar(answer) and not isinstance(answer, np.ndarray):
            assert answer.device == device.device
    loaded = xpnn.load(model.save(tmp_path / "model.npz"), backend=device)
    np.testing.assert_array_equal(xpnn.to_numpy(loaded.predict(Xd)), xpnn.to_numpy(model.predict(Xd)))


@pytest.mark.parametrize("options", COURSE_OPTIONS.values(), ids=COURSE_OPTIONS.keys())
@pytest.mark.parametrize("name", COURSE)
def test_course_estimators_on_a_second_device(name, options, tmp_path, device):
    regression = name.endswith("Regressor")
    if name == "LogisticRegression" and "batch_norm" in options:
        pytest.skip("logistic regression has no hidden layer to normalise")
    X, y = _data(regression)
    weights = np.linspace(0.5, 1.5, len(y))
    extra = {} if regression else dict(class_weight="balanced")
    model = COURSE[name](backend=device, **options, **extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # five iterations do not converge
        model.fit(X, y, sample_weight=weights)
        model.set_params(warm_start=True).fit(X, y)
        if options.get("optimizer") != "lbfgs":
            model.partial_fit(X, y)
    _check_every_method(model, X, y, tmp_path, device)


@pytest.mark.parametrize("options", MLP_OPTIONS.values(), ids=MLP_OPTIONS.keys())
@pytest.mark.parametrize("regression", [False, True], ids=["classifier", "regressor"])
def test_mlp_estimators_on_a_second_device(regression, options, tmp_path, device):
    X, y = _data(regression)
    make = xpnn.MLPRegressor if regression else xpnn.MLPClassifier
    model = make(hidden_layer_sizes=(4,), max_iter=5, random_state=0, backend=device, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y, sample_weight=np.linspace(0.5, 1.5, len(y)))
        model.set_params(warm_start=True).fit(X, y)
        if options.get("solver") != "lbfgs" and not options.get("early_stopping"):  # scikit-learn's rule
            model.partial_fit(X, y)
    _check_every_method(model, X, y, tmp_path, device)
