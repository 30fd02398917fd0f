"""Adding a thing is local (CONTRIBUTING.md, "Add ..."): an optimizer is its definition in
``OPTIMIZERS``, an activation its entry in ``ACTIVATIONS``, a head its entry in ``HEADS`` (and,
to be chosen for a kind of target, ``HEAD_FOR_TARGET``); every estimator — the course's and the
MLP classes — then trains, saves and loads with it."""

import warnings

import numpy as np
import pytest

import xpnn
from xpnn import activations, heads, optimizers
from xpnn._driver import CourseRules
from xpnn._mlp_rules import ScikitLearnRules
from xpnn.backend import namespace
from xpnn.gradcheck import gradient_check
from xpnn.initializers import initialize_parameters
from xpnn.network import layer_activations

CLASSIFIERS = [xpnn.LogisticRegression, xpnn.ShallowNet, xpnn.DeepNet, xpnn.MLPClassifier]
REGRESSORS = [xpnn.ShallowNetRegressor, xpnn.DeepNetRegressor, xpnn.MLPRegressor]
MLPS = (xpnn.MLPClassifier, xpnn.MLPRegressor)


def signum(learning_rate, beta_1=0.9):
    """Momentum, stepping by the sign of the velocity (signSGD with momentum)."""
    def init(params):
        xp = namespace(*params.values())
        return {k: xp.zeros_like(p) for k, p in params.items()}

    def update(params, grads, state, t):
        xp = namespace(*params.values())
        velocity = {k: beta_1 * state[k] + (1 - beta_1) * grads[f"d{k}"] for k in params}
        return {k: p - learning_rate * xp.sign(velocity[k]) for k, p in params.items()}, velocity
    return optimizers.Optimizer(init, update)


def log_cosh_loss(Z, Y):
    """Σ_k log cosh(z - y) per example, stably: |d| + log1p(exp(-2|d|)) - log 2."""
    xp = namespace(Z, Y)
    D = xp.abs(Z - Y)
    return xp.sum(D + xp.log1p(xp.exp(-2.0 * D)) - float(np.log(2.0)), axis=0, keepdims=True)


def softplus(Z):
    xp = namespace(Z)
    return xp.log1p(xp.exp(-xp.abs(Z))) + xp.maximum(Z, 0.0)


def softplus_prime(Z, A=None):
    return activations.sigmoid(Z)


LOG_COSH = heads.Head("log-cosh", heads.HEADS["identity"].activation, log_cosh_loss,
                      lambda A, Y: namespace(A, Y).tanh(A - Y), heads.r2, lambda k: None, lambda Y: None)


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(optimizers.OPTIMIZERS, "signum", signum)
    monkeypatch.setitem(activations.ACTIVATIONS, "softplus", activations.Activation(softplus, softplus_prime))
    monkeypatch.setitem(heads.HEADS, "log-cosh", LOG_COSH)
    monkeypatch.setitem(heads.HEADS, "sigmoid-again", heads.HEADS["sigmoid"]._replace(name="sigmoid-again"))
    monkeypatch.setitem(heads.HEAD_FOR_TARGET, "continuous", "log-cosh")
    monkeypatch.setitem(heads.HEAD_FOR_TARGET, "binary", "sigmoid-again")


def test_the_new_head_backpropagates_its_loss(registered, rng):
    X, Y = rng.standard_normal((3, 8)), rng.standard_normal((2, 8))
    params = initialize_parameters([3, 4, 2], scheme="he", seed=0)
    assert gradient_check(X, Y, params, layer_activations(2, "tanh", LOG_COSH), head=LOG_COSH) < 1e-7


@pytest.mark.parametrize("cls", CLASSIFIERS + REGRESSORS, ids=lambda c: c.__name__)
def test_every_estimator_trains_saves_and_loads_with_them(cls, registered, rng, tmp_path):
    X = rng.standard_normal((40, 3))
    y = X[:, 0] - X[:, 1] if cls in REGRESSORS else (X[:, 0] > 0).astype(int)
    if cls in MLPS:
        model = cls(hidden_layer_sizes=(4,), activation="softplus", solver="signum",
                    learning_rate_init=0.01, max_iter=30, random_state=0, beta_1=0.8)
    else:
        model = cls(optimizer="signum", learning_rate=0.01, n_iter=30, cost_every=1, random_state=0,
                    beta_1=0.8, **({} if cls is xpnn.LogisticRegression else {"activation": "softplus"}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", xpnn.ConvergenceWarning)  # the MLPs' max_iter of 30 epochs
        model.fit(X, y)
    assert model.out_activation_ == ("log-cosh" if cls in REGRESSORS else "sigmoid-again")
    assert np.all(np.isfinite(model.costs_)) and model.costs_[-1] < model.costs_[0]
    loaded = xpnn.load(model.save(tmp_path / "m.npz"))
    assert loaded.out_activation_ == model.out_activation_
    assert loaded.get_params()["solver" if cls in MLPS else "optimizer"] == "signum"
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    if cls in REGRESSORS:  # the new activation is what the hidden layers compute
        A, L = X.T, len(model.params_) // 2
        for l in range(1, L + 1):
            Z = model.params_[f"W{l}"] @ A + model.params_[f"b{l}"]
            A = softplus(Z) if l < L else Z
        np.testing.assert_allclose(model.predict(X), A[0], rtol=1e-10, atol=1e-12)


def test_an_optimizer_takes_the_estimators_values_of_what_it_declares(registered):
    assert optimizers.hyperparameters("signum") == {"beta_1": 0.9}
    assert optimizers.hyperparameters("rmsprop") == {"beta_2": 0.9, "epsilon": 1e-8}
    model = xpnn.DeepNet(optimizer="signum", beta_1=0.5, beta_2=0.1)  # beta_2: not signum's
    opt = CourseRules(model, model._hyperparameters()).optimizer(1, 1, None)
    params = {"W1": np.ones((1, 1)), "b1": np.zeros((1, 1))}
    grads = {"dW1": np.ones((1, 1)), "db1": np.ones((1, 1))}
    _, velocity = opt.update(params, grads, opt.init(params), 1)
    assert velocity["W1"][0, 0] == 0.5  # (1 - beta_1) * 1 with the estimator's beta_1
    mlp = xpnn.MLPClassifier(solver="signum", beta_1=0.25)
    opt = ScikitLearnRules(mlp, mlp._hyperparameters()).optimizer(1, 1, None)
    _, velocity = opt.update(params, grads, opt.init(params), 1)
    assert velocity["W1"][0, 0] == 0.75


def test_an_unknown_name_is_refused_by_every_estimator():
    for model, match in [(xpnn.MLPClassifier(solver="lion"), "solver"),
                         (xpnn.MLPRegressor(activation="swish"), "activation"),
                         (xpnn.DeepNet(optimizer="lion"), "optimizer"),
                         (xpnn.DeepNet(activation="swish"), "activation")]:
        with pytest.raises(ValueError, match=match):
            model.fit(np.zeros((4, 2)), [0, 1, 0, 1])


def test_both_families_take_both_families_activation_names():
    X, y = np.random.default_rng(0).standard_normal((30, 2)), np.arange(30) % 2
    course = xpnn.ShallowNet(activation="logistic", n_iter=5, random_state=0).fit(X, y)
    same = xpnn.ShallowNet(activation="sigmoid", n_iter=5, random_state=0).fit(X, y)
    np.testing.assert_array_equal(course.params_["W1"], same.params_["W1"])
    mlp = xpnn.MLPClassifier((3,), activation="sigmoid", max_iter=5, random_state=0)
    logistic = xpnn.MLPClassifier((3,), activation="logistic", max_iter=5, random_state=0)
    with pytest.warns(xpnn.ConvergenceWarning):
        mlp.fit(X, y), logistic.fit(X, y)
    np.testing.assert_array_equal(mlp.coefs_[0], logistic.coefs_[0])  # the same Glorot factor too


@pytest.mark.parametrize("name", sorted(optimizers.OPTIMIZERS))
def test_every_registered_optimizer_is_a_solver_of_the_mlp_classes(name):
    X = np.random.default_rng(1).standard_normal((60, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    model = xpnn.MLPClassifier((5,), solver=name, learning_rate_init=0.05, max_iter=40, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", xpnn.ConvergenceWarning)
        model.fit(X, y)
        model.partial_fit(X, y)  # a stochastic solver: partial_fit is there
    assert model.loss_curve_[-1] < 0.9 * model.loss_curve_[0]
