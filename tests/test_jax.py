"""The JAX backend: a jit-compiled training step, float32 by default, float64 with x64 mode.

JAX is an optional peer (`pip install "xpnn[jax]"`), never in the test extra: these tests skip
without it. x64 mode is switched on only inside ``jax.enable_x64()`` blocks, as a
user would; xpnn itself never changes JAX's configuration.
"""

import warnings

import numpy as np
import pytest

import xpnn
from xpnn import network, optimizers, training
from xpnn.initializers import initialize_parameters

jax = pytest.importorskip("jax")
pytestmark = pytest.mark.filterwarnings("ignore::xpnn.ConvergenceWarning")  # short runs, on purpose
enable_x64 = jax.enable_x64  # a context manager (JAX >= 0.8)

rng = np.random.default_rng(0)
X = rng.standard_normal((60, 3))
y = (X[:, 0] - X[:, 2] > 0).astype(int)


def _tolerance(dtype, n_iter, m, n_layers):
    """test_network's bound: one rounding per term summed, over the iterations."""
    return n_iter * (m + 4 * n_layers) * float(np.finfo(dtype).eps) / 2


def test_jax_is_a_backend_and_jax_input_selects_it():
    be = xpnn.get_backend("jax")
    assert be.name == "jax"
    Xj = be.asarray(X, dtype="float32")
    model = xpnn.ShallowNet(n_iter=20, random_state=0, dtype="float32").fit(Xj, y)
    assert model.backend_.name == "jax"
    assert xpnn.backend.backend_of(model.predict_proba(Xj)).name == "jax"


def test_float64_needs_x64_and_xpnn_says_so():
    if jax.config.jax_enable_x64:
        pytest.skip("x64 is on in this process")
    with pytest.raises(ValueError, match=r"jax_enable_x64.*xpnn never changes JAX's global"):
        xpnn.DeepNet(backend="jax").fit(X, y)
    assert not jax.config.jax_enable_x64


@pytest.mark.parametrize("optimizer", ["gd", "adam"])
def test_float32_training_matches_numpy(optimizer):
    n_iter = 30
    kw = dict(hidden_layer_sizes=(5,), n_iter=n_iter, learning_rate=0.05, random_state=0,
              optimizer=optimizer, dtype="float32", cost_every=10)
    on_jax = xpnn.DeepNet(backend="jax", **kw).fit(X, y)
    on_numpy = xpnn.DeepNet(**kw).fit(X, y)
    tol = _tolerance("float32", n_iter, X.shape[0], 2)
    for key in on_numpy.params_:
        want = on_numpy.params_[key]
        np.testing.assert_allclose(on_jax.params_[key], want, rtol=tol, atol=tol * np.abs(want).max())
    np.testing.assert_allclose(on_jax.costs_, on_numpy.costs_, rtol=tol)


def test_float64_with_x64_matches_numpy():
    with enable_x64():
        kw = dict(hidden_layer_sizes=(5,), n_iter=30, learning_rate=0.05, random_state=0, cost_every=10)
        on_jax = xpnn.DeepNet(backend="jax", **kw).fit(X, y)
        assert on_jax.params_["W1"].dtype == np.float64
    on_numpy = xpnn.DeepNet(**kw).fit(X, y)
    tol = _tolerance("float64", 30, X.shape[0], 2)
    for key in on_numpy.params_:
        want = on_numpy.params_[key]
        np.testing.assert_allclose(on_jax.params_[key], want, rtol=tol, atol=tol * np.abs(want).max())


@pytest.mark.slow
def test_the_course_logistic_regression_figures_on_jax_float64():
    from xpnn.course import cat_data

    X_train, y_train, X_test, y_test = cat_data()
    with enable_x64():
        model = xpnn.LogisticRegression(backend="jax").fit(X_train, y_train)
        train, test = model.score(X_train, y_train), model.score(X_test, y_test)
    assert (round(train * 209), round(test * 50)) == (207, 35)
    assert f"{model.costs_[0]:.6f}" == "0.693147" and f"{model.costs_[1]:.6f}" == "0.584508"


def test_the_step_is_compiled_once_and_reads_the_device_once_per_record(monkeypatch):
    """Traced once per static variant (cost recorded or not), whatever the iteration count, and
    no implicit device-to-host transfer inside training (JAX's transfer guard would raise)."""
    traced, reads = [], []
    forward = network.forward
    monkeypatch.setattr(training, "forward", lambda *a, **k: traced.append(1) or forward(*a, **k))
    read = training.read_scalars
    monkeypatch.setattr(training, "read_scalars", lambda *a: reads.append(len(a)) or read(*a))
    be = xpnn.get_backend("jax")
    Xj, Yj = be.asarray(X.T, dtype="float32"), be.asarray(y[None, :], dtype="float32")
    params = initialize_parameters([3, 4, 1], scheme="he", seed=0, backend=be, dtype="float32")
    with jax.transfer_guard_device_to_host("disallow"):
        result = training.run(Xj, Yj, params, network.layer_activations(2, "tanh"), n_epochs=50,
                              cost_every=10, optimizer=optimizers.adam(0.01))
    assert len(result.costs) == 5 and reads == [1] * 5
    assert len(traced) == 2  # record=True and record=False: two compilations for 50 steps


def test_minibatches_dropout_and_early_stopping_run_on_jax():
    kw = dict(hidden_layer_sizes=(6, 4), n_iter=20, learning_rate=0.05, random_state=0, dtype="float32",
              batch_size=16, dropout=0.2, optimizer="momentum", early_stopping=True,
              n_iter_no_change=50, cost_every=5)
    first = xpnn.DeepNet(backend="jax", **kw).fit(X, y)
    again = xpnn.DeepNet(backend="jax", **kw).fit(X, y)
    np.testing.assert_array_equal(first.params_["W1"], again.params_["W1"])  # same seed, same masks
    assert len(first.validation_scores_) == 4 and first.n_iter_ == 20


def test_gradient_check_on_jax_is_functional():
    from xpnn.gradcheck import gradient_check

    with enable_x64():
        be = xpnn.get_backend("jax")
        params = initialize_parameters([3, 4, 1], scheme="he", seed=0, backend=be)
        Xj, Yj = be.asarray(X[:6].T, dtype="float64"), be.asarray(y[None, :6], dtype="float64")
        assert gradient_check(Xj, Yj, params, network.layer_activations(2, "tanh")) < 1e-7


def test_mlp_classifier_on_jax_matches_numpy_in_float32():
    kw = dict(hidden_layer_sizes=(6,), max_iter=20, random_state=0, dtype="float32", batch_size=16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", xpnn.ConvergenceWarning)
        got = xpnn.MLPClassifier(backend="jax", **kw).fit(X, y)
        want = xpnn.MLPClassifier(**kw).fit(X, y)
    np.testing.assert_allclose(got.loss_curve_, want.loss_curve_, rtol=2e-3)
    np.testing.assert_allclose(got.coefs_[0], want.coefs_[0], rtol=5e-3, atol=1e-4)
    lbfgs = xpnn.MLPClassifier(hidden_layer_sizes=(6,), solver="lbfgs", random_state=0, dtype="float32",
                               backend="jax").fit(X, y)
    assert lbfgs.score(X, y) > 0.9
    with pytest.raises(ValueError, match="adaptive.*compiled jax step"):
        xpnn.MLPClassifier(solver="sgd", learning_rate="adaptive", backend="jax", dtype="float32").fit(X, y)


def test_a_decaying_rate_compiles_once_across_fits(monkeypatch):
    traced = []
    forward = network.forward
    monkeypatch.setattr(training, "forward", lambda *a, **k: traced.append(1) or forward(*a, **k))
    kw = dict(hidden_layer_sizes=(5,), n_iter=6, learning_rate=0.05, random_state=0, dtype="float32",
              optimizer="adam", learning_rate_decay="inverse", decay_rate=0.3, cost_every=3, backend="jax")
    for _ in range(3):
        xpnn.DeepNet(**kw).fit(X, y)
    model = xpnn.DeepNet(warm_start=True, **kw).fit(X, y)
    model.partial_fit(X, y)
    assert len(traced) == 1  # estimators measure every epoch (loss_curve_): one variant, five calls


def test_a_minibatch_epoch_is_one_compiled_loop_traced_once(monkeypatch):
    """Mini-batches on JAX: each epoch's whole batches run as one compiled scan (its step traced
    once, whatever the number of batches and epochs), then the last partial batch."""
    traced = []
    forward = network.forward
    monkeypatch.setattr(training, "forward", lambda *a, **k: traced.append(1) or forward(*a, **k))
    steps = []
    epoch = training._epoch
    monkeypatch.setattr(training, "_epoch", lambda *a, **k: steps.append(k["n"]) or epoch(*a, **k))
    kw = dict(hidden_layer_sizes=(7,), batch_size=13, random_state=0, dtype="float32", backend="jax")
    model = xpnn.MLPClassifier(max_iter=4, tol=0.0, n_iter_no_change=100, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", xpnn.ConvergenceWarning)
        model.fit(X, y)  # 60 rows: 4 batches of 13 in the scan, then 8
    model.partial_fit(X, y)
    assert model.t_ == 5 * 60 and len(model.loss_curve_) == 5
    assert len(traced) == 2  # the scanned step and the remainder's step, once each, for 5 epochs
    assert steps == [4]      # the epoch's scan over 4 batches, traced once


def test_scanned_epochs_train_like_numpy_with_weights_batch_norm_and_held_out_rows():
    kw = dict(hidden_layer_sizes=(6, 4), n_iter=8, learning_rate=0.02, random_state=0, dtype="float32",
              batch_size=16, optimizer="adam", batch_norm=True, early_stopping=True, n_iter_no_change=50,
              cost_every=2)
    weights = np.random.default_rng(1).random(X.shape[0]) + 0.5
    got = xpnn.DeepNet(backend="jax", **kw).fit(X, y, sample_weight=weights)
    want = xpnn.DeepNet(**kw).fit(X, y, sample_weight=weights)
    for key in want.params_:
        np.testing.assert_allclose(got.params_[key], want.params_[key], rtol=2e-4, atol=2e-5, err_msg=key)
    np.testing.assert_allclose(got.loss_curve_, want.loss_curve_, rtol=1e-4)
    np.testing.assert_allclose(got.validation_scores_, want.validation_scores_)


def test_prediction_is_compiled_for_a_few_padded_shapes(monkeypatch):
    """On JAX the forward pass of prediction is compiled, its rows padded with zero rows to a
    power of two (at least 16): 1, 5 and 16 rows share one compilation, 17 and 30 another; the
    padding never reaches the outputs."""
    from xpnn import _prediction as _fitted

    traced, rows_forward = [], _fitted._rows_forward
    def spy(X_rows, *args, **kwargs):
        if isinstance(X_rows, jax.core.Tracer):  # tracing a compilation (not the NumPy model)
            traced.append(X_rows.shape[0])
        return rows_forward(X_rows, *args, **kwargs)
    monkeypatch.setattr(_fitted, "_rows_forward", spy)
    kw = dict(hidden_layer_sizes=(9,), n_iter=20, learning_rate=0.1, random_state=0, dtype="float32")
    model, host = xpnn.DeepNet(backend="jax", **kw).fit(X, y), xpnn.DeepNet(**kw).fit(X, y)
    for m in (1, 5, 16, 17, 30):
        np.testing.assert_allclose(np.asarray(model.predict_proba(X[:m])), host.predict_proba(X[:m]),
                                   rtol=1e-4, atol=1e-6)
    assert traced == [64, 16, 32]  # fit's own check of its 60 training rows, then 16 and 32
