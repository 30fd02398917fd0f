"""Estimators that never surprise: bad input gets a clear error at the door (the table README
lists under "Errors"), a fit is atomic, predictions follow params_, score checks y, no silent
NaN, divergence reported where it happened."""

import warnings

import numpy as np
import pytest

import xpnn
from xpnn import _base, network, training
from xpnn.initializers import initialize_parameters

rng = np.random.default_rng(0)
X = rng.standard_normal((12, 3))
y = np.array([0, 1] * 6)
ESTIMATORS = [xpnn.LogisticRegression, xpnn.ShallowNet, xpnn.DeepNet]
X40 = rng.standard_normal((40, 2))
y40 = (X40[:, 0] + X40[:, 1] > 0).astype(int)


def with_nan(a):
    a = a.astype(float).copy()
    a[0, 0] = np.nan
    return a


# (id, X, y, estimator params, exception, message pattern)
FIT_TABLE = [
    ("nan-X", with_nan(X), y, {}, ValueError, "X contains NaN or infinity"),
    ("inf-X", X * np.inf, y, {}, ValueError, "X contains NaN or infinity"),
    ("nan-y", X, np.r_[np.nan, y[1:]], {}, ValueError, "y contains NaN"),
    ("images-X", np.zeros((12, 4, 4, 3)), y, {}, ValueError,
     r"X must be 2-D.*got shape \(12, 4, 4, 3\).*flatten_images"),
    ("1d-X", X[:, 0], y, {}, ValueError, r"X must be 2-D.*got shape \(12,\).*Reshape"),
    ("n-samples-mismatch", X, y[:10], {}, ValueError, "X has 12, y has 10"),
    ("empty-X", np.zeros((0, 3)), y[:0], {}, ValueError, r"0 samples \(shape=\(0, 3\)\)"),
    ("no-features", np.zeros((12, 0)), y, {}, ValueError, r"0 feature\(s\) \(shape=\(12, 0\)\)"),
    ("one-class", X, np.ones(12), {}, ValueError, r"only one class \(\[1.0\]\).*at least two"),
    ("continuous-y", X, np.linspace(0, 1, 12), {}, ValueError, "Unknown label type: continuous"),
    ("string-X", X.astype(str), y, {}, TypeError, "X must hold real numbers.*<U"),
    ("object-X", np.array([[{"a": 1}] * 3] * 12, dtype=object), y, {}, TypeError,
     "X must hold real numbers; its object array"),
    ("complex-X", X + 1j, y, {}, ValueError, "Complex data not supported"),
    ("bool-X", X > 0, y, {}, TypeError, "X must hold real numbers.*bool"),
    ("nan-learning-rate", X, y, dict(learning_rate=np.nan), ValueError,
     "learning_rate must be a finite number > 0"),
    ("zero-learning-rate", X, y, dict(learning_rate=0), ValueError, "learning_rate .* got 0"),
    ("negative-learning-rate", X, y, dict(learning_rate=-1.0), ValueError, r"learning_rate .* got -1\.0"),
    ("zero-n_iter", X, y, dict(n_iter=0), ValueError, "n_iter must be an integer >= 1; got 0"),
    ("float-n_iter", X, y, dict(n_iter=2.5), ValueError, "n_iter must be an integer"),
    ("unknown-backend", X, y, dict(backend="tpu"), ValueError,
     r"unknown backend 'tpu'; choose from \['auto', 'cpu', 'gpu'"),
    ("unknown-init", X, y, dict(init="glorot"), ValueError,
     r"unknown init 'glorot'; choose from \['he', 'large', 'random', 'xavier', 'zeros'\]"),
    ("unknown-dtype", X, y, dict(dtype="float16"), ValueError,
     r"unknown dtype 'float16'; choose from \['float32', 'float64'\]"),
    ("unknown-on_divergence", X, y, dict(on_divergence="ignore"), ValueError, "unknown on_divergence"),
]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("case", FIT_TABLE, ids=[row[0] for row in FIT_TABLE])
def test_fit_rejects_bad_input(estimator, case):
    _, X_bad, y_bad, params, error, pattern = case
    model = estimator(n_iter=5).set_params(**params)
    with pytest.raises(error, match=pattern):
        model.fit(X_bad, y_bad)
    assert not hasattr(model, "params_")


@pytest.mark.parametrize("estimator", [xpnn.ShallowNet, xpnn.DeepNet], ids=lambda c: c.__name__)
def test_unknown_activation(estimator):
    swish = r"unknown activation 'swish'; choose from \['identity', 'leaky_relu'"
    with pytest.raises(ValueError, match=swish):
        estimator(activation="swish", n_iter=5).fit(X, y)


def test_bad_hidden_layer_sizes():
    with pytest.raises(ValueError, match="hidden layer size must be an integer >= 1; got 0"):
        xpnn.DeepNet((4, 0)).fit(X, y)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda c: c.__name__)
def test_int_X_is_accepted_and_converted(estimator):
    X_int = (X * 10).astype(np.int32)
    a = estimator(n_iter=5, random_state=0).fit(X_int, y)
    b = estimator(n_iter=5, random_state=0).fit(X_int.astype(float), y)
    np.testing.assert_array_equal(a.predict_proba(X_int), b.predict_proba(X_int))


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda c: c.__name__)
def test_predict_errors(estimator):
    with pytest.raises(xpnn.NotFittedError, match="not fitted yet; call fit"):
        estimator().predict(X)
    model = estimator(n_iter=5).fit(X, y)
    for method in ("predict", "predict_proba", "decision_function"):
        with pytest.raises(ValueError, match=r"X has 2 features, but .* expecting 3 features"):
            getattr(model, method)(X[:, :2])
    with pytest.raises(ValueError, match="NaN"):
        model.predict(with_nan(X))


def test_X_on_another_backend_is_moved_to_run_there():
    """A model predicts arrays of any backend: the (small) parameters are moved, not X."""
    import array_api_strict

    model = xpnn.ShallowNet(n_iter=5, random_state=0).fit(X, y)
    out = model.predict_proba(array_api_strict.asarray(X))
    np.testing.assert_allclose(xpnn.to_numpy(out), model.predict_proba(X), rtol=1e-12)


def test_sparse_X_is_refused():
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="sparse matrix.*toarray"):
        xpnn.DeepNet(n_iter=5).fit(sparse.csr_matrix(X), y)


# ------------------------------------------------------------ the functional core's entry

def good_problem():
    params = initialize_parameters([3, 4, 1], seed=0)
    return X.T, y[None, :].astype(float), params


TRAIN_TABLE = [
    ("X-rank", lambda X, Y, p: (X[0], Y, p), r"X must be 2-D \(n_x, m\)"),
    ("Y-shape", lambda X, Y, p: (X, Y[0], p), r"Y must be \(k, 12\)"),
    ("W-chain", lambda X, Y, p: (X[:2], Y, p), r"W1 must be \(n1, 2\).*got W1 \(4, 3\)"),
    ("missing-b", lambda X, Y, p: (X, Y, {k: v for k, v in p.items() if k != "b2"}), "must hold W1, b1"),
    ("two-outputs", lambda X, Y, p: (X, Y, {**p, "W2": np.zeros((2, 4)), "b2": np.zeros((2, 1))}),
     r"output layer W2 has 2 unit\(s\) but Y has 1 row"),
    ("nan-X", lambda X, Y, p: (with_nan(X), Y, p), "X or Y contains NaN"),
]


@pytest.mark.parametrize("case", TRAIN_TABLE, ids=[row[0] for row in TRAIN_TABLE])
def test_train_rejects_bad_shapes(case):
    _, corrupt, pattern = case
    Xc, Yc, params = corrupt(*good_problem())
    with pytest.raises(ValueError, match=pattern):
        training.train(Xc, Yc, params, network.layer_activations(2), learning_rate=0.1, n_iter=2)


@pytest.mark.parametrize("kwargs,pattern", [
    (dict(learning_rate=float("inf")), "learning_rate must be a finite number"),
    (dict(n_iter=0), "n_iter must be an integer >= 1"),
    (dict(cost_every=0), "cost_every must be an integer >= 1"),
    (dict(on_divergence="no"), "unknown on_divergence"),
])
def test_train_rejects_bad_hyperparameters(kwargs, pattern):
    Xc, Yc, params = good_problem()
    options = dict(learning_rate=0.1, n_iter=2) | kwargs
    with pytest.raises(ValueError, match=pattern):
        training.train(Xc, Yc, params, network.layer_activations(2), **options)


# ---------------------------------------------------------------- numerics and memory

@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_huge_learning_rate_stops_with_a_clear_error(dtype):
    X_big = X * 1e3
    message = r"at iteration \d+ with learning_rate=1000000.0; try a smaller"
    with pytest.raises(xpnn.DivergenceError, match=message):
        with np.errstate(all="ignore"):
            xpnn.DeepNet((8,), learning_rate=1e6, n_iter=300, cost_every=1, dtype=dtype).fit(X_big, y)
    with pytest.warns(xpnn.DivergenceWarning):
        with np.errstate(all="ignore"):
            model = xpnn.DeepNet((8,), learning_rate=1e6, n_iter=300, cost_every=1, dtype=dtype,
                                 on_divergence="warn").fit(X_big, y)
    assert all(np.isfinite(v).all() for v in model.params_.values())
    assert np.isfinite(model.predict_proba(X_big)).all()


def test_out_of_memory_names_the_sizes_and_keeps_the_old_model(monkeypatch):
    model = xpnn.DeepNet((8,), n_iter=5, random_state=0).fit(X, y)
    before = {k: v.copy() for k, v in model.params_.items()}

    def out_of_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 4.00 GiB")
    monkeypatch.setattr(training, "run", out_of_memory)
    message = r"X is 12 x 3 float64 .* layers \[3, 8, 1\].*float32.*smaller batch"
    with pytest.raises(MemoryError, match=message):
        model.fit(X * 2, y)
    for key, value in before.items():
        np.testing.assert_array_equal(model.params_[key], value)


def test_device_out_of_memory_errors_are_recognised():
    from xpnn.backend import is_out_of_memory

    OutOfMemoryError = type("OutOfMemoryError", (Exception,), {})  # cupy's and torch's name
    assert is_out_of_memory(OutOfMemoryError("out of memory allocating 1,024 bytes"))
    assert is_out_of_memory(MemoryError()) and not is_out_of_memory(ValueError())


def test_an_interrupt_while_publishing_leaves_the_previous_model(monkeypatch):
    model = xpnn.DeepNet((4,), n_iter=30, random_state=0).fit(X40, y40)
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
        model.fit(X40, np.where(y40 == 1, "b", "a"))
    monkeypatch.undo()
    assert list(model.classes_) == [0, 1]
    for key, value in before.items():
        np.testing.assert_array_equal(model.params_[key], value)


def test_predictions_follow_params(monkeypatch):
    model = xpnn.DeepNet((4,), n_iter=30, random_state=0).fit(X40, y40)
    with pytest.raises(ValueError, match="read-only"):
        model.params_["W1"] *= -1  # in place: refused, so no cache can go stale
    flipped = model.predict_proba(X40)
    model.params_["W2"] = -model.params_["W2"]
    model.params_["b2"] = -model.params_["b2"]
    np.testing.assert_allclose(model.predict_proba(X40), flipped[:, ::-1], rtol=1e-12)
    strict = pytest.importorskip("array_api_strict")
    np.testing.assert_allclose(xpnn.to_numpy(model.predict_proba(strict.asarray(X40))), flipped[:, ::-1],
                               rtol=1e-12)


def test_score_checks_y_as_fit_does():
    model = xpnn.DeepNet((4,), n_iter=200, learning_rate=0.1, random_state=0).fit(X40, y40)
    right = model.score(X40, y40)
    with pytest.warns(xpnn.exceptions.DataConversionWarning):
        assert model.score(X40, y40[:, None]) == right  # a column vector is raveled, not broadcast
    with pytest.raises(ValueError, match="X and y have different numbers of samples: X has 40, y has 1"):
        model.score(X40, y40[:1])
    assert model.score(X40[y40 == 1], y40[y40 == 1]) > 0.9  # one class in the test set is fine
    pd = pytest.importorskip("pandas")
    with pytest.warns(xpnn.exceptions.DataConversionWarning):
        assert model.score(X40, pd.DataFrame({"label": y40})) == right


def _overflowing_model():
    """A fitted net whose first unit computes 2 x1 - 2 x2: inf - inf = NaN for x = (1.7e308,
    1.7e308)."""
    model = xpnn.DeepNet((4,), n_iter=30, random_state=0).fit(X40, y40)
    W1 = model.params_["W1"].copy()
    W1[0] = [2.0, -2.0]
    model.params_["W1"] = W1
    return model


def test_overflowing_inputs_raise_instead_of_returning_nan():
    model = _overflowing_model()
    for method in ("predict_proba", "predict", "decision_function"):
        with np.errstate(all="ignore"), pytest.raises(ValueError, match="overflowed.*far outside the range"):
            getattr(model, method)([[1.7e308, 1.7e308]])
    assert np.all(np.isfinite(model.predict_proba(X40)))


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
    Xd = da.from_array(X40, chunks=(10, 2))
    Xd = Xd[Xd[:, 0] > -100]  # boolean indexing: unknown chunk sizes
    with pytest.raises(ValueError, match=r"unknown chunk sizes; call X.compute_chunk_sizes\(\)"):
        xpnn.DeepNet((2,), n_iter=2).fit(Xd, y40)


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
    monkeypatch.setattr(training, "_first_diverged", lambda *a, **k: calls.append(1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        xpnn.DeepNet((4,), n_iter=300, random_state=0).fit(X40, y40)
    assert calls == []


def test_a_rate_too_large_is_told_apart_from_a_stalled_cost():
    """The course's cats with learning rates 10 (logistic regression: 0.693 -> 127 -> 630 -> ...)
    and 5 (the deep net collapses to the base rate): the advice is to lower the rate, not to
    raise it; a good rate gets no warning."""
    import warnings

    from xpnn.datasets import load_catvnoncat
    from xpnn.preprocessing import flatten_images, scale_pixels

    X, y, _, _, _ = load_catvnoncat()
    X = scale_pixels(flatten_images(X))
    too_fast = [(xpnn.LogisticRegression(learning_rate=10, n_iter=300), "try 1"),
                (xpnn.DeepNet((20, 7, 5), learning_rate=5.0, n_iter=300, random_state=0), "try 0.5")]
    for model, advice in too_fast:
        message = f"did not learn.*The cost rose instead of falling.*lower learning_rate \\({advice}"
        with pytest.warns(xpnn.ConvergenceWarning, match=message):
            model.fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", xpnn.ConvergenceWarning)
        xpnn.DeepNet((20, 7, 5), n_iter=300, random_state=0).fit(X, y)
