"""Adding a thing is local (CONTRIBUTING.md, "Add ..."): an optimizer is its definition in
``OPTIMIZERS``, a head its entry in ``HEADS`` (and, to be chosen for a kind of target,
``HEAD_FOR_TARGET``); every estimator then trains, saves and loads with it."""

import numpy as np
import pytest

import xpnn
from xpnn import heads, optimizers
from xpnn.backend import namespace
from xpnn.gradcheck import gradient_check
from xpnn.initializers import initialize_parameters
from xpnn.network import layer_activations

CLASSIFIERS = [xpnn.LogisticRegression, xpnn.ShallowNet, xpnn.DeepNet]
REGRESSORS = [xpnn.ShallowNetRegressor, xpnn.DeepNetRegressor]


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


LOG_COSH = heads.Head("log-cosh", heads.HEADS["identity"].activation, log_cosh_loss,
                      lambda A, Y: namespace(A, Y).tanh(A - Y), heads.r2, lambda k: None, lambda Y: None)


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(optimizers.OPTIMIZERS, "signum", signum)
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
    model = cls(optimizer="signum", learning_rate=0.01, n_iter=30, cost_every=1, random_state=0,
                beta_1=0.8).fit(X, y)
    assert model.out_activation_ == ("log-cosh" if cls in REGRESSORS else "sigmoid-again")
    assert np.all(np.isfinite(model.costs_)) and model.costs_[-1] < model.costs_[0]
    loaded = xpnn.load(model.save(tmp_path / "m.npz"))
    assert loaded.out_activation_ == model.out_activation_ and loaded.optimizer == "signum"
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_an_optimizer_takes_the_estimators_values_of_what_it_declares(registered):
    assert optimizers.hyperparameters("signum") == {"beta_1": 0.9}
    assert optimizers.hyperparameters("rmsprop") == {"beta_2": 0.9, "epsilon": 1e-8}
    model = xpnn.DeepNet(optimizer="signum", beta_1=0.5, beta_2=0.1)  # beta_2: not signum's
    hp = model._hyperparameters()
    opt = model._optimizer(hp, 1)
    params = {"W1": np.ones((1, 1)), "b1": np.zeros((1, 1))}
    grads = {"dW1": np.ones((1, 1)), "db1": np.ones((1, 1))}
    _, velocity = opt.update(params, grads, opt.init(params), 1)
    assert velocity["W1"][0, 0] == 0.5  # (1 - beta_1) * 1 with the estimator's beta_1
