"""Batch normalization (course 2): its gradients against centred differences and the loop
reference, its statistics (weighted, running, at inference), and every estimator, backend and
path (mini-batch, L-BFGS, Dask, JAX, model files, warm start) that carries it."""

import numpy as np
import pytest
from sklearn.base import is_classifier
from sklearn.datasets import make_classification

import xpnn
from conftest import TOL
from xpnn import gradcheck, loops, network, normalization, training
from xpnn.activations import ACTIVATIONS
from xpnn.initializers import initialize_parameters
from xpnn.optimizers import OPTIMIZERS, get_optimizer

pytestmark = pytest.mark.filterwarnings("ignore::xpnn.ConvergenceWarning")  # short runs, on purpose

HEAD_TARGETS = {  # head -> Y (k, m) for it
    "sigmoid": lambda rng, m: (rng.random((2, m)) > 0.5) * 1.0,
    "softmax": lambda rng, m: np.eye(3)[:, rng.integers(0, 3, m)],
    "identity": lambda rng, m: rng.standard_normal((2, m)),
    "poisson": lambda rng, m: rng.poisson(2.0, (1, m)) * 1.0,
}


def normalized_params(dims, rng, seed=1):
    """Batch-normalised parameters with gamma, beta and the running statistics moved off their
    initial values (so that no term of the gradient vanishes by symmetry)."""
    params = initialize_parameters(dims, scheme="he", seed=seed, batch_norm=True)
    return {k: v + 0.2 * rng.standard_normal(v.shape) if k[0] != "v" else v + rng.random(v.shape)
            for k, v in params.items()}


@pytest.mark.parametrize("head", sorted(HEAD_TARGETS))
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_gradients_match_centred_differences_for_every_head_and_activation(head, activation, rng):
    X = rng.standard_normal((4, 11))
    Y = HEAD_TARGETS[head](rng, 11)
    params = normalized_params([4, 5, 3, Y.shape[0]], rng)
    activations = network.layer_activations(3, activation, head)
    assert gradcheck.gradient_check(X, Y, params, activations, head=head) < 1e-6


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_gradients_match_centred_differences_with_weights_dropout_and_l2(activation, rng):
    X, Y = rng.standard_normal((4, 13)), (rng.random((1, 13)) > 0.5) * 1.0
    S = rng.random((1, 13)) * 2
    S[0, :3] = 0.0  # rows of weight 0 (early stopping's held-out rows) count for nothing
    params = normalized_params([4, 6, 5, 1], rng)
    masks = [(rng.random((6, 13)) > 0.3) / 0.7, (rng.random((5, 13)) > 0.2) / 0.8]
    activations = network.layer_activations(3, activation)
    assert gradcheck.gradient_check(X, Y, params, activations, S=S, alpha=0.7, masks=masks) < 1e-6


def test_backward_equals_the_explicit_loop_reference(rng):
    X, Y = rng.standard_normal((3, 9)), (rng.random((1, 9)) > 0.5) * 1.0
    params = normalized_params([3, 4, 3, 1], rng)
    activations = network.layer_activations(3, ["tanh", "relu"])
    AL, caches = network.forward(X, params, activations, training=True)
    grads = network.backward(AL, Y, caches, params, activations)
    looped = loops.batch_norm_gradients(
        X.tolist(), Y[0].tolist(), {k: v.tolist() if k[0] == "W" else v[:, 0].tolist()
                                    for k, v in normalization.trainable(params).items()}, ["tanh", "relu"])
    assert sorted(looped) == sorted(grads)
    for key, value in looped.items():
        np.testing.assert_allclose(np.reshape(grads[key], np.shape(value)), value, rtol=1e-10, atol=1e-14)


def test_integer_weights_equal_repeated_examples_and_zero_weights_equal_absent_rows(rng):
    X, Y = rng.standard_normal((3, 8)), (rng.random((1, 8)) > 0.5) * 1.0
    counts = np.array([1, 2, 0, 3, 1, 0, 2, 1])
    params = normalized_params([3, 4, 1], rng)
    activations = network.layer_activations(2, "tanh")

    def grads(X, Y, S=None):
        return training.gradients(params, X, Y, S, None, activations=tuple(activations), head="sigmoid",
                                  alpha=0.1, record=True)
    weighted = grads(X, Y, counts[None, :] * 1.0)
    repeated = grads(np.repeat(X, counts, axis=1), np.repeat(Y, counts, axis=1))
    for key in weighted[0]:
        np.testing.assert_allclose(weighted[0][key], repeated[0][key], rtol=1e-12, atol=1e-15)
    assert float(weighted[1]) == pytest.approx(float(repeated[1]), rel=1e-12)
    for (mean, var), (mean_r, var_r) in zip(weighted[2].values(), repeated[2].values()):
        np.testing.assert_allclose(mean, mean_r, rtol=1e-12)
        np.testing.assert_allclose(var, var_r, rtol=1e-12)


def test_l2_leaves_gamma_and_beta_alone(rng):
    X, Y = rng.standard_normal((3, 10)), (rng.random((1, 10)) > 0.5) * 1.0
    params = normalized_params([3, 4, 1], rng)
    activations = tuple(network.layer_activations(2, "relu"))
    plain, _, _ = training.gradients(params, X, Y, None, None, activations=activations, head="sigmoid",
                                     alpha=0.0, record=False)
    l2, _, _ = training.gradients(params, X, Y, None, None, activations=activations, head="sigmoid",
                                  alpha=5.0, record=False)
    for key in ("dgamma1", "dbeta1", "db2"):
        np.testing.assert_array_equal(l2[key], plain[key])
    assert not np.allclose(l2["dW1"], plain["dW1"])


def test_running_statistics_are_bias_corrected_averages(rng):
    """After step 1 the running statistics are that batch's exactly (no drag from their zero
    start); after step t, the bias-corrected average of the t batches' with β = momentum."""
    X, Y = rng.standard_normal((3, 20)), (rng.random((1, 20)) > 0.5) * 1.0
    params = normalized_params([3, 4, 1], rng)
    activations = network.layer_activations(2, "relu")
    beta, seen, current = 0.8, [], params
    for t in range(1, 4):
        _, caches = network.forward(X, current, activations, training=True)
        seen.append(network.batch_moments(caches)[1])
        current = training.run(X, Y, current, activations, optimizer=get_optimizer("gd", 0.5), n_epochs=1,
                               state=(), t=t - 1, batch_norm_momentum=beta).params
        weights = np.array([beta ** (t - s) for s in range(1, t + 1)]) * (1 - beta) / (1 - beta ** t)
        for i, name in enumerate(("mean1", "var1")):
            want = sum(w * moments[i] for w, moments in zip(weights, seen))
            np.testing.assert_allclose(current[name], want, rtol=1e-12)
    np.testing.assert_allclose(sum(weights), 1.0)


def test_inference_uses_running_statistics_so_a_row_never_depends_on_its_batch(rng):
    X, y = xpnn.datasets.make_planar(200, random_state=0)
    model = xpnn.DeepNet((8, 4), learning_rate=0.1, n_iter=200, batch_norm=True, random_state=0).fit(X, y)
    alone = np.concatenate([model.predict_proba(X[i:i + 1]) for i in range(5)])
    np.testing.assert_allclose(alone, model.predict_proba(X)[:5], rtol=1e-12)
    np.testing.assert_allclose(model.predict_proba(X[::-1])[::-1], model.predict_proba(X), rtol=1e-12)


def test_estimators_train_with_it_and_the_fold_is_the_same_net(rng):
    X, y = make_classification(300, 4, random_state=0)
    for make in (lambda bn: xpnn.ShallowNet(n_iter=300, learning_rate=0.5, batch_norm=bn, random_state=0),
                 lambda bn: xpnn.DeepNet((8, 4), learning_rate=0.1, n_iter=300, batch_norm=bn,
                                         random_state=0),
                 lambda bn: xpnn.ShallowNetRegressor(n_iter=200, batch_norm=bn, random_state=0),
                 lambda bn: xpnn.DeepNetRegressor((8,), n_iter=200, batch_norm=bn, random_state=0),
                 lambda bn: xpnn.MLPClassifier((8, 4), learning_rate_init=0.01, max_iter=50, batch_norm=bn,
                                               random_state=0),
                 lambda bn: xpnn.MLPRegressor(hidden_layer_sizes=(8,), learning_rate_init=0.01, max_iter=50,
                                              batch_norm=bn, random_state=0)):
        target = y if is_classifier(make(False)) else X[:, 0] - 0.5 * X[:, 1] + 0.2 * X[:, 2] ** 2
        plain, normed = make(False).fit(X, target), make(True).fit(X, target)
        assert "b1" in plain.params_ and "b1" not in normed.params_
        assert {"gamma1", "beta1", "mean1", "var1"} <= set(normed.params_)
        assert normed.score(X, target) > 0.8, type(normed).__name__
        assert not np.allclose(normed.params_["gamma1"], 1.0)  # gamma trained


def test_mlp_coefs_and_intercepts_fold_the_normalisation_in(rng):
    X, y = xpnn.datasets.make_planar(200, random_state=0)
    model = xpnn.MLPClassifier((6, 5), activation="tanh", max_iter=40, batch_norm=True, random_state=0)
    model.fit(X, y)
    A = X
    for W, b in zip(model.coefs_[:-1], model.intercepts_[:-1]):
        A = np.tanh(A @ W + b)
    z = A @ model.coefs_[-1] + model.intercepts_[-1]
    np.testing.assert_allclose(1 / (1 + np.exp(-z[:, 0])), model.predict_proba(X)[:, 1], rtol=1e-12)
    assert model.n_layers_ == 4 and len(model.intercepts_) == 3


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_trains_gamma_and_beta_but_never_the_statistics(name, rng):
    X, Y = rng.standard_normal((3, 40)), (rng.random((1, 40)) > 0.5) * 1.0
    params = initialize_parameters([3, 5, 1], scheme="he", seed=0, batch_norm=True)
    optimizer = get_optimizer(name, 0.05)
    state = optimizer.init(normalization.trainable(params))
    assert not any(k.startswith(("mean", "var")) for k in (state if isinstance(state, dict) else {}))
    result = training.run(X, Y, params, network.layer_activations(2, "relu"), optimizer=optimizer,
                          n_epochs=5, batch_size=16, random_state=0)
    assert list(result.params) == list(params)
    for key in params:
        assert not np.array_equal(result.params[key], params[key]), key


def test_lbfgs_ends_with_the_full_batch_statistics(rng):
    X, y = xpnn.datasets.make_planar(150, random_state=0)
    model = xpnn.MLPClassifier((6,), solver="lbfgs", max_iter=30, batch_norm=True, random_state=0).fit(X, y)
    params = model.params_
    mean, var, _ = normalization.moments(params["W1"] @ X.T)
    np.testing.assert_allclose(params["mean1"], mean, rtol=1e-10)
    np.testing.assert_allclose(params["var1"], var, rtol=1e-10)


def test_early_stopping_statistics_come_from_the_training_rows_only(rng):
    """Full batch trains on its ``rows`` in place, the held-out rows weighted 0: the statistics
    of step 1 are those of the training rows alone."""
    X, Y = rng.standard_normal((3, 30)), (rng.random((1, 30)) > 0.5) * 1.0
    rows = np.sort(rng.permutation(30)[:21])
    params = normalized_params([3, 4, 1], rng)
    result = training.run(X, Y, params, network.layer_activations(2, "relu"),
                          optimizer=get_optimizer("gd", 0.1), n_epochs=1, rows=rows)
    mean, var, _ = normalization.moments(params["W1"] @ X[:, rows])
    np.testing.assert_allclose(result.params["mean1"], mean, rtol=1e-12)
    np.testing.assert_allclose(result.params["var1"], var, rtol=1e-12)


def test_backends_agree(backend, dtype, rng, monkeypatch):
    X, y = xpnn.datasets.make_planar(120, random_state=0)
    options = dict(hidden_layer_sizes=(6, 4), learning_rate=0.1, n_iter=30, batch_norm=True, random_state=0,
                   dtype=dtype)
    want = xpnn.DeepNet(**options, batch_size=32).fit(X, y)
    got = xpnn.DeepNet(**options, batch_size=32, backend=backend).fit(X, y)
    tol = 1e-10 if dtype == "float64" else 2e-4
    for key in want.params_:
        np.testing.assert_allclose(got.params_[key], want.params_[key], rtol=tol, atol=tol)
    Xb = backend.asarray(X, dtype=dtype)
    proba = xpnn.backend.to_numpy(got.predict_proba(Xb))
    np.testing.assert_allclose(proba, want.predict_proba(X), rtol=tol, atol=TOL[dtype])


def test_warm_start_continues_the_running_averages_and_a_changed_setting_starts_afresh():
    X, y = xpnn.datasets.make_planar(100, random_state=0)
    once = xpnn.DeepNet((5,), n_iter=10, learning_rate=0.1, batch_norm=True, random_state=0).fit(X, y)
    twice = xpnn.DeepNet((5,), n_iter=5, learning_rate=0.1, batch_norm=True, random_state=0, warm_start=True)
    twice.fit(X, y).fit(X, y)
    for key in once.params_:
        np.testing.assert_allclose(twice.params_[key], once.params_[key], rtol=1e-12)
    twice.set_params(batch_norm=False)
    with pytest.warns(UserWarning, match="batch_norm changed from True to False"):
        twice.fit(X, y)
    assert "b1" in twice.params_


def test_partial_fit_continues_the_running_averages():
    X, y = xpnn.datasets.make_planar(100, random_state=0)
    options = dict(hidden_layer_sizes=(5,), batch_size=100, shuffle=False, batch_norm=True,
                   batch_norm_momentum=0.5, random_state=0)
    whole = xpnn.MLPClassifier(max_iter=3, tol=0.0, n_iter_no_change=100, **options).fit(X, y)
    parts = xpnn.MLPClassifier(**options)
    for _ in range(3):
        parts.partial_fit(X, y, classes=[0, 1])
    for key in whole.params_:
        np.testing.assert_allclose(parts.params_[key], whole.params_[key], rtol=1e-12)


def test_model_files_and_pickles_keep_everything(tmp_path):
    import pickle

    X, y = xpnn.datasets.make_planar(100, random_state=0)
    model = xpnn.DeepNet((5, 3), n_iter=20, learning_rate=0.1, batch_norm=True, batch_norm_momentum=0.7,
                         random_state=0).fit(X, y)
    xpnn.persistence.save(model, tmp_path / "bn.xpnn")
    for loaded in (xpnn.load(tmp_path / "bn.xpnn"), pickle.loads(pickle.dumps(model))):
        assert loaded.batch_norm_momentum == 0.7 and sorted(loaded.params_) == sorted(model.params_)
        np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_a_model_file_with_a_negative_running_variance_is_refused(tmp_path):
    X, y = xpnn.datasets.make_planar(60, random_state=0)
    model = xpnn.ShallowNet(n_iter=5, batch_norm=True, random_state=0).fit(X, y)
    state = model.fitted_state()
    params = dict(state.params, var1=-state.params["var1"])
    with pytest.raises(ValueError, match="running variance is negative"):
        type(model).from_fitted_state(model.get_params(), state._replace(params=params))


def test_bad_settings_are_named():
    X, y = xpnn.datasets.make_planar(60, random_state=0)
    with pytest.raises(ValueError, match="batch_norm_momentum"):
        xpnn.ShallowNet(batch_norm=True, batch_norm_momentum=1.0).fit(X, y)
    with pytest.raises(ValueError, match="batch_norm must be True or False"):
        xpnn.MLPClassifier(batch_norm="yes").fit(X, y)
    with pytest.raises(ValueError, match="batch_norm needs mini-batches of at least 2 examples"):
        xpnn.DeepNet((4,), batch_size=1, batch_norm=True).fit(X, y)
    with pytest.raises(ValueError, match="batch_norm needs mini-batches of at least 2 examples"):
        xpnn.MLPRegressor(batch_size=1, batch_norm=True).fit(X, y)


def test_dask_full_batch_is_a_synchronised_batch_norm_equal_to_numpy():
    da = pytest.importorskip("dask.array")
    X, y = xpnn.datasets.make_planar(300, random_state=0)
    weights = np.random.default_rng(1).random(300) * 2
    options = dict(hidden_layer_sizes=(6, 4), n_iter=15, cost_every=5, learning_rate=0.2, batch_norm=True,
                   alpha=0.1, optimizer="adam", random_state=0)
    want = xpnn.DeepNet(**options).fit(X, y, sample_weight=weights)
    Xd = da.from_array(X, chunks=((50, 130, 120), (2,)))
    got = xpnn.DeepNet(**options).fit(Xd, y, sample_weight=weights)
    assert got.backend_.name == "dask"
    for key in want.params_:
        np.testing.assert_allclose(got.params_[key], want.params_[key], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got.costs_, want.costs_, rtol=1e-10)


def test_dask_mini_batches_use_each_batch_statistics():
    da = pytest.importorskip("dask.array")
    X, y = make_classification(200, 4, random_state=0)
    model = xpnn.DeepNet((6,), n_iter=20, cost_every=5, batch_size=50, learning_rate=0.1, batch_norm=True,
                         random_state=0)
    model.fit(da.from_array(X, chunks=(100, 4)), y)
    assert np.all(model.params_["var1"] > 0) and np.all(np.isfinite(model.costs_))
    assert model.score(X, y) > 0.8


def test_jax_compiles_the_normalised_step_once(monkeypatch):
    jax = pytest.importorskip("jax")
    traced, forward = [], network.forward
    monkeypatch.setattr(training, "forward", lambda *a, **k: traced.append(1) or forward(*a, **k))
    X, y = xpnn.datasets.make_planar(80, random_state=0)
    be = xpnn.get_backend("jax")
    params = initialize_parameters([2, 5, 1], scheme="he", seed=0, backend=be, dtype="float32",
                                   batch_norm=True)
    Xj, Yj = be.asarray(X.T, dtype="float32"), be.asarray(y[None, :], dtype="float32")
    with jax.transfer_guard_device_to_host("disallow"):
        result = training.run(Xj, Yj, params, network.layer_activations(2, "relu"), n_epochs=40,
                              cost_every=10, optimizer=get_optimizer("adam", 0.01))
    assert len(traced) == 2  # one trace recording the cost, one not: the step count t is traced
    want = training.run(X.T.astype("float32"), y[None, :].astype("float32"),
                        initialize_parameters([2, 5, 1], scheme="he", seed=0, dtype="float32",
                                              batch_norm=True),
                        network.layer_activations(2, "relu"), n_epochs=40, cost_every=10,
                        optimizer=get_optimizer("adam", 0.01))
    for key in want.params:
        np.testing.assert_allclose(np.asarray(result.params[key]), want.params[key], rtol=2e-4, atol=2e-5)


def test_a_mini_batch_whose_weights_are_all_zero_changes_nothing(rng):
    """Its statistics and gradient count for nothing (no 0/0), as its cost does without batch
    norm: training stays finite."""
    X, Y = rng.standard_normal((3, 40)), (rng.random((1, 40)) > 0.5) * 1.0
    S = np.ones((1, 40))
    S[0, :10] = 0.0  # with shuffle=False, the first batch of 10 weighs nothing
    params = initialize_parameters([3, 4, 1], scheme="he", seed=0, batch_norm=True)
    activations = network.layer_activations(2, "relu")
    grads, cost, moments = training.gradients(params, X[:, :10], Y[:, :10], S[:, :10], None,
                                              activations=tuple(activations), head="sigmoid", alpha=0.0,
                                              record=True)
    assert float(cost) == 0.0 and all(np.all(g == 0) for g in grads.values())
    result = training.run(X, Y, params, activations, optimizer=get_optimizer("adam", 0.01), n_epochs=3,
                          batch_size=10, S=S, shuffle=False)
    assert all(np.all(np.isfinite(v)) for v in result.params.values())


@pytest.mark.parametrize("m,batch", [(201, 200), (21, 10), (41, 20)])
@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "scan-path"])
def test_a_trailing_batch_of_one_joins_the_batch_before(m, batch, compiled, monkeypatch):
    """With batch norm, m = 1 (mod batch_size) would leave a last mini-batch of one example (no
    variance; running statistics off by half): it joins the batch before, every example still
    trains once an epoch."""
    from xpnn import training

    sizes = []
    real = training.ArraySource.epoch

    def spy(self, rng):
        for batch_ in real(self, rng):
            whole = isinstance(batch_, training.Batches)
            sizes.append(batch_.n * batch_.size if whole else batch_[0].shape[1])
            yield batch_
    monkeypatch.setattr(training.ArraySource, "epoch", spy)
    if compiled:  # the path a compiling backend takes: whole batches scanned, then the rest
        monkeypatch.setattr(training.ArraySource, "__init__", _with_scan(training.ArraySource.__init__))
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((m, 3)), rng.standard_normal(m)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        xpnn.MLPRegressor(hidden_layer_sizes=(4,), batch_norm=True, batch_size=batch, max_iter=2,
                          random_state=0).fit(X, y)
    assert sum(sizes) == 2 * m and min(sizes) >= 2


def _with_scan(init):
    def patched(self, *args, **kwargs):
        init(self, *args, **kwargs)
        if not self.full_batch:
            self.scan = _python_scan
    return patched


def _python_scan(body, carry, xs):
    """jax.lax.scan's contract in plain Python (for the scan path's batching, on NumPy)."""
    n = xs[3].shape[0]
    for i in range(n):
        carry, _ = body(carry, tuple(None if a is None else a[i] for a in xs))
    return carry, None


@pytest.mark.parametrize("make", [
    lambda: xpnn.DeepNetRegressor((3,), n_iter=3, batch_norm=True),
    lambda: xpnn.DeepNetRegressor((3,), n_iter=3, batch_norm=True, optimizer="lbfgs"),
    lambda: xpnn.MLPRegressor(hidden_layer_sizes=(3,), solver="lbfgs", batch_norm=True, max_iter=3),
], ids=["deepnet-gd", "deepnet-lbfgs", "mlp-lbfgs"])
def test_a_full_batch_of_one_sample_is_refused_under_batch_norm(make):
    X, y = np.ones((1, 3)), np.array([1.0])
    with pytest.raises(ValueError, match="a full batch of 1 sample"):
        make().fit(X, y)
