"""Estimators that never surprise: an atomic fit, predictions that follow params_, score checks
y, no silent NaN, clear messages for odd input, divergence reported where it happened."""

import warnings

import numpy as np
import pytest

import xpnn
from xpnn import _base, network, training
from xpnn.initializers import initialize_parameters

rng = np.random.default_rng(0)
X = rng.standard_normal((40, 2))
y = (X[:, 0] + X[:, 1] > 0).astype(int)


def test_an_interrupt_while_publishing_leaves_the_previous_model(monkeypatch):
    model = xpnn.DeepNet((4,), n_iter=30, random_state=0).fit(X, y)
    before = {k: v.copy() for k, v in model.params_.items()}
    calls = []
    original = _base.to_numpy

    def interrupted(x):
        calls.append(1)
        if len(calls) == 2:  # half way through copying the new parameters
            raise KeyboardInterrupt
        return original(x)
    monkeypatch.setattr(_base, "to_numpy", interrupted)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, np.where(y == 1, "b", "a"))
    monkeypatch.undo()
    assert list(model.classes_) == [0, 1]
    for key, value in before.items():
        np.testing.assert_array_equal(model.params_[key], value)


def test_predictions_follow_params(monkeypatch):
    model = xpnn.DeepNet((4,), n_iter=30, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="read-only"):
        model.params_["W1"] *= -1  # in place: refused, so no cache can go stale
    flipped = model.predict_proba(X)
    model.params_["W2"] = -model.params_["W2"]
    model.params_["b2"] = -model.params_["b2"]
    np.testing.assert_allclose(model.predict_proba(X), flipped[:, ::-1], rtol=1e-12)
    strict = pytest.importorskip("array_api_strict")
    np.testing.assert_allclose(xpnn.to_numpy(model.predict_proba(strict.asarray(X))), flipped[:, ::-1],
                               rtol=1e-12)


def test_score_checks_y_as_fit_does():
    model = xpnn.DeepNet((4,), n_iter=200, learning_rate=0.1, random_state=0).fit(X, y)
    right = model.score(X, y)
    with pytest.warns(xpnn.exceptions.DataConversionWarning):
        assert model.score(X, y[:, None]) == right  # a column vector is raveled, not broadcast
    with pytest.raises(ValueError, match="X and y have different numbers of samples: X has 40, y has 1"):
        model.score(X, y[:1])
    assert model.score(X[y == 1], y[y == 1]) > 0.9  # one class in the test set is fine
    pd = pytest.importorskip("pandas")
    with pytest.warns(xpnn.exceptions.DataConversionWarning):
        assert model.score(X, pd.DataFrame({"label": y})) == right


def _overflowing_model():
    """A fitted net whose first unit computes 2 x1 - 2 x2: inf - inf = NaN for x = (1.7e308,
    1.7e308)."""
    model = xpnn.DeepNet((4,), n_iter=30, random_state=0).fit(X, y)
    W1 = model.params_["W1"].copy()
    W1[0] = [2.0, -2.0]
    model.params_["W1"] = W1
    return model


def test_overflowing_inputs_raise_instead_of_returning_nan():
    model = _overflowing_model()
    for method in ("predict_proba", "predict", "decision_function"):
        with np.errstate(all="ignore"), pytest.raises(ValueError, match="overflowed.*far outside the range"):
            getattr(model, method)([[1.7e308, 1.7e308]])
    assert np.all(np.isfinite(model.predict_proba(X)))


def test_torch_overflow_is_caught_too():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match="overflowed"):
        _overflowing_model().predict_proba(torch.tensor([[1.7e308, 1.7e308]], dtype=torch.float64))


@pytest.mark.parametrize("X_bad,y_bad,error,match", [
    ([[10**400] * 2] * 6, [0, 1] * 3, ValueError, "integer too large for float64"),
    ([[1.0, 2.0]] * 6, [None, 1, 0, 1, 0, 1], ValueError, "y contains None or NaN"),
    ([[1.0, 2.0]] * 6, [1, "a", 0, 1, 0, 1], ValueError, r"y mixes label types \(number, str\)"),
], ids=["huge-int", "none-label", "mixed-labels"])
def test_odd_input_gets_a_clear_message(X_bad, y_bad, error, match):
    with pytest.raises(error, match=match):
        xpnn.DeepNet((2,), n_iter=2).fit(np.array(X_bad, dtype=object), np.array(y_bad, dtype=object))


def test_float32_overflow_is_named():
    with pytest.raises(ValueError, match=r"X has values too large for float32 \(up to 1e\+300"):
        xpnn.DeepNet((2,), n_iter=2, dtype="float32").fit(np.full((6, 2), 1e300), [0, 1] * 3)


def test_dask_with_unknown_chunk_sizes_is_named():
    da = pytest.importorskip("dask.array")
    Xd = da.from_array(X, chunks=(10, 2))
    Xd = Xd[Xd[:, 0] > -100]  # boolean indexing: unknown chunk sizes
    with pytest.raises(ValueError, match=r"unknown chunk sizes; call X.compute_chunk_sizes\(\)"):
        xpnn.DeepNet((2,), n_iter=2).fit(Xd, y)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_is_reported_at_the_iteration_it_happened():
    X_big = rng.standard_normal((3, 50)) * 1e3
    Y = (rng.random((1, 50)) > 0.5).astype(float)
    params = initialize_parameters([3, 8, 1], scheme="he", seed=0)
    acts = network.layer_activations(2, "relu")
    with pytest.raises(xpnn.DivergenceError) as every:
        training.train(X_big, Y, params, acts, learning_rate=1e6, n_iter=300, cost_every=1)
    with pytest.raises(xpnn.DivergenceError) as sparse:
        training.train(X_big, Y, params, acts, learning_rate=1e6, n_iter=300, cost_every=100)
    first = int(str(every.value).split(" at iteration ")[1].split()[0])
    assert 0 < first < 100
    assert f" at iteration {first} " in str(sparse.value)


def test_costs_read_per_check_stay_one_per_check_without_divergence(monkeypatch):
    """The replay that finds the first non-finite iteration runs only on divergence."""
    calls = []
    from xpnn import training

    monkeypatch.setattr(training, "_first_non_finite", lambda *a, **k: calls.append(1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        xpnn.DeepNet((4,), n_iter=300, random_state=0).fit(X, y)
    assert calls == []
