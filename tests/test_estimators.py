import numpy as np
import pytest

import xpnn
from conftest import make_backend
from models import COURSE
from xpnn import training
from xpnn.datasets import make_planar

MODELS = COURSE


@pytest.fixture
def data():
    X, y = make_planar(40, random_state=0)
    return X, y


@pytest.mark.parametrize("kind", MODELS)
def test_fit_predict_api(kind, data):
    X, y = data
    model = MODELS[kind](random_state=0)
    assert model.fit(X, y) is model
    assert model.n_features_in_ == 2 and list(model.classes_) == [0, 1] and model.n_iter_ == 60
    assert model.costs_.shape == (6,) and model.costs_.dtype == np.float64
    assert np.all(np.isfinite(model.costs_)) and model.costs_[-1] < model.costs_[0]
    if kind == "logistic":  # zero init: p = 0.5 for every sample
        assert model.costs_[0] == pytest.approx(np.log(2), rel=1e-15)
    assert model.backend_.name == "numpy" and model.backend_.requested == "cpu"
    proba = model.predict_proba(X)
    assert proba.shape == (40, 2) and isinstance(proba, np.ndarray)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    scores = model.decision_function(X)
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-scores)), rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X), (proba[:, 1] > 0.5).astype(int))
    assert model.score(X, y) == np.mean(model.predict(X) == y)


def test_course_notation_parameters(data):
    X, y = data
    model = xpnn.DeepNet((5, 3), n_iter=2).fit(X, y)
    shapes = {k: v.shape for k, v in model.params_.items()}
    assert shapes == {"W1": (5, 2), "b1": (5, 1), "W2": (3, 5), "b2": (3, 1), "W3": (1, 3), "b3": (1, 1)}
    assert all(isinstance(v, np.ndarray) for v in model.params_.values())


@pytest.mark.filterwarnings("ignore::xpnn.ConvergenceWarning")  # 1-21 iterations learn little
def test_costs_are_recorded_before_each_update(data):
    """costs_[k] is the cost at iteration k * cost_every, before that iteration's update."""
    X, y = data
    model = MODELS["shallow"](random_state=3).fit(X, y)
    for k, n_iter in enumerate([1, 11, 21]):
        shorter = MODELS["shallow"](random_state=3).set_params(n_iter=n_iter).fit(X, y)
        assert shorter.costs_[-1] == model.costs_[k]


@pytest.mark.parametrize("labels", [
    np.array(["dog", "cat"]), np.array([False, True]), np.array([3, 7]), np.array([-1.0, 1.0])],
    ids=["str", "bool", "int", "float"])
def test_any_two_labels(labels, data):
    X, y = data
    y_labels = labels[y]
    model = MODELS["logistic"]().fit(X, y_labels)
    np.testing.assert_array_equal(model.classes_, np.sort(labels))
    pred = model.predict(X)
    assert pred.dtype == labels.dtype and set(pred) <= set(labels)
    encoded = MODELS["logistic"]().fit(X, (y_labels == np.sort(labels)[1]).astype(int))
    np.testing.assert_array_equal(model.predict_proba(X), encoded.predict_proba(X))


def test_estimator_transposes_once_as_a_view(data, monkeypatch):
    X, y = data
    seen = {}
    train = training.run

    def spy(Xc, *args, **kwargs):
        seen["X"] = Xc
        return train(Xc, *args, **kwargs)
    monkeypatch.setattr(training, "run", spy)
    MODELS["deep"]().fit(X, y)
    assert seen["X"].shape == (2, 40) and np.shares_memory(seen["X"], X)


@pytest.mark.parametrize("name,device", [("array_api_strict", None), ("torch", "cpu"), ("fake-cupy", None),
                                         pytest.param("cupy", None, marks=pytest.mark.gpu),
                                         pytest.param("torch", "cuda", marks=pytest.mark.gpu)])
def test_outputs_follow_the_input(name, device, data, monkeypatch):
    be = make_backend(name, device, monkeypatch)
    X, y = data
    Xb = be.asarray(X)
    model = MODELS["shallow"](random_state=0).fit(Xb, be.asarray(y))
    assert model.backend_.name == be.name
    for method in ("predict", "predict_proba", "decision_function"):
        out = getattr(model, method)(Xb)
        assert xpnn.backend.backend_of(out).name == be.name, method
        np.testing.assert_allclose(be.to_numpy(out), getattr(model, method)(X))
    reference = MODELS["shallow"](random_state=0).fit(X, y)
    for key in reference.params_:
        np.testing.assert_allclose(model.params_[key], reference.params_[key], rtol=1e-12)


def test_model_fitted_on_cpu_predicts_arrays_of_another_backend(data):
    import array_api_strict

    X, y = data
    model = MODELS["deep"](random_state=1).fit(X, y)
    out = model.predict_proba(array_api_strict.asarray(X))
    assert xpnn.backend.backend_of(out).name == "array_api_strict"
    np.testing.assert_allclose(xpnn.to_numpy(out), model.predict_proba(X), rtol=1e-12)


@pytest.mark.parametrize("kind", MODELS)
def test_same_parameters_on_numpy_and_array_api_strict(kind, data):
    X, y = data
    fits = [MODELS[kind](random_state=5, backend=b).fit(X, y) for b in ("numpy", "array_api_strict")]
    assert fits[1].backend_.name == "array_api_strict"
    for key in fits[0].params_:
        np.testing.assert_allclose(fits[1].params_[key], fits[0].params_[key], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(fits[1].costs_, fits[0].costs_, rtol=1e-12)


def test_float32(data):
    X, y = data
    model = MODELS["shallow"](random_state=0, dtype="float32").fit(X, y)
    assert model.params_["W1"].dtype == np.float32
    ref = MODELS["shallow"](random_state=0).fit(X, y)
    np.testing.assert_allclose(model.predict_proba(X), ref.predict_proba(X), atol=1e-4)


@pytest.mark.parametrize("activation", ["tanh", "relu", "leaky_relu"])
def test_zero_init_keeps_hidden_units_identical(activation):  # and warns that the net did not learn
    """The course's symmetry lesson. (With a sigmoid hidden layer the units are identical in exact
    arithmetic too, but BLAS rounding differs per row and the unstable symmetric point amplifies it.)"""
    X, y = make_planar(100, random_state=0)
    with pytest.warns(xpnn.ConvergenceWarning, match="cost moved less than 1%"):
        model = xpnn.ShallowNet(n_hidden=5, activation=activation, init="zeros", n_iter=500).fit(X, y)
    W1, W2 = model.params_["W1"], model.params_["W2"]
    np.testing.assert_allclose(W1, np.broadcast_to(W1[:1], W1.shape), rtol=1e-12, atol=0)
    np.testing.assert_allclose(W2, np.broadcast_to(W2[:, :1], W2.shape), rtol=1e-12, atol=0)
    he = xpnn.ShallowNet(n_hidden=5, activation=activation, init="he", n_iter=500, random_state=0).fit(X, y)
    assert np.ptp(he.params_["W1"], axis=0).min() > 1e-3  # random init breaks the symmetry


def test_verbose_prints_course_lines(data, capsys):
    X, y = data
    MODELS["logistic"](verbose=True).fit(X, y)
    assert capsys.readouterr().out.splitlines()[:2] == [
        "Cost after iteration 0: 0.693147",
        f"Cost after iteration 10: {MODELS['logistic']().fit(X, y).costs_[1]:f}"]


def test_params_protocol_and_repr():
    model = xpnn.DeepNet((4,), random_state=1)
    params = model.get_params()
    assert params["hidden_layer_sizes"] == (4,) and params["backend"] is None
    assert model.set_params(n_iter=5) is model and model.n_iter == 5
    assert repr(model) == "DeepNet(hidden_layer_sizes=(4,), n_iter=5, random_state=1)"
    with pytest.raises(ValueError, match="invalid parameter 'lr'"):
        model.set_params(lr=1)


def test_explicit_gpu_backend_on_cpu_machine_warns_and_labels_the_fallback(data):
    if xpnn.gpu_available():
        pytest.skip("a GPU is usable here")
    X, y = data
    with pytest.warns(xpnn.XpnnFallbackWarning):
        model = MODELS["logistic"](backend="gpu").fit(X, y)
    assert model.backend_.name == "numpy" and model.backend_.requested == "gpu"
    assert not model.backend_.is_gpu
    from xpnn.course import describe_backend
    assert describe_backend(model.backend_) == "numpy (cpu; fallback from 'gpu')"


def test_predictions_in_blocks_equal_all_rows_at_once(monkeypatch):
    """Large inputs run through the net in blocks of rows (the hidden layers of a block stay in
    cache): the same probabilities as one pass over every row."""
    import xpnn._prediction as fitted

    rng = np.random.default_rng(0)
    X = rng.standard_normal((1000, 6))
    model = xpnn.DeepNet((16, 8), n_iter=20, random_state=0, init="he").fit(X, (X[:, 0] > 0).astype(int))
    monkeypatch.setattr(fitted, "PREDICT_BLOCK", 0)
    whole = model.predict_proba(X)
    monkeypatch.setattr(fitted, "PREDICT_BLOCK", 128)  # 8 blocks, the last one short
    np.testing.assert_allclose(model.predict_proba(X), whole, rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X), whole.argmax(axis=1))


def test_a_long_verbose_fit_shows_a_progress_bar_and_still_pickles(capsys):
    import pickle

    X, y = make_planar(40, random_state=0)
    model = xpnn.DeepNet((3,), n_iter=1200, cost_every=600, verbose=True, random_state=0).fit(X, y)
    err = capsys.readouterr().err
    assert "/1200" in err and "epoch/s" in err  # tqdm's bar, on stderr
    assert pickle.loads(pickle.dumps(model)).n_iter_ == 1200


def test_a_long_verbose_fits_cost_lines_go_through_the_bar_never_between_its_redraws(monkeypatch, capsys):
    """tqdm's ``write`` clears the bar, writes the line and redraws the bar below it: the cost
    lines and the bar never interleave (a plain print would land in the middle of the bar)."""
    tqdm_std = pytest.importorskip("tqdm.std")
    lines = []
    monkeypatch.setattr(tqdm_std.tqdm, "write", classmethod(lambda cls, s, *args, **kwargs: lines.append(s)))
    X, y = make_planar(40, random_state=0)
    xpnn.DeepNet((3,), n_iter=1200, cost_every=600, verbose=True, random_state=0).fit(X, y)
    assert [line.split(":")[0] for line in lines] == ["Cost after iteration 0", "Cost after iteration 600"]
    assert "Cost after" not in capsys.readouterr().out
