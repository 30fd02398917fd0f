"""CuPy and torch-CUDA paths, checked on CPU: the rules CuPy enforces (through the stand-in in
fakecupy.py, and the real CuPy where a GPU is usable) and the fixes a review of every
CuPy-facing call asked for. None of this replaces a run on a real GPU."""

import pickle
import warnings
import sys

import numpy as np
import pytest

import fakecupy
import xpnn
from xpnn import _gpu as G
from xpnn import backend as B
from xpnn import network, training
from xpnn.initializers import initialize_parameters


@pytest.fixture
def data(rng):
    X = rng.standard_normal((60, 3))
    y = np.where(X[:, 0] + X[:, 1] ** 2 > 0.5, "cat", "non-cat")
    return X, y


def test_cupy_arrays_refuse_implicit_host_conversion(cupy_backend):
    x = cupy_backend.asarray(np.arange(3.0))
    with pytest.raises(TypeError):
        np.asarray(x)
    np.testing.assert_array_equal(B.to_numpy(x), [0.0, 1.0, 2.0])


def test_auto_chooses_cupy_when_it_is_usable(cupy_backend):
    be = xpnn.get_backend("auto")
    assert (be.name, be.is_gpu, be.fallback_reason) == ("cupy", True, None)


def test_training_reads_the_device_once_per_cost_every(monkeypatch, rng):
    """The sync-count rule on the CuPy stand-in: every device-to-host read (float, bool, get)."""
    fakecupy.install(monkeypatch)
    be = xpnn.get_backend("cupy")
    X, Y = be.asarray(rng.standard_normal((3, 40))), be.asarray((rng.random((1, 40)) > 0.5) * 1.0)
    params = initialize_parameters([3, 5, 1], scheme="he", seed=0, backend=be)
    before = fakecupy.counters()["host_reads"]
    _, costs = training.train(X, Y, params, network.layer_activations(2, "relu"), learning_rate=0.1,
                             n_iter=30, cost_every=10)
    # one read for the input check, one per recorded cost, one for the final finiteness check
    assert fakecupy.counters()["host_reads"] - before == 1 + len(costs) + 1 == 5


@pytest.mark.parametrize("batch_size", [None, 16])
def test_cupy_fit_with_string_labels_and_minibatches_equals_numpy(cupy_backend, data, batch_size):
    X, y = data
    kwargs = dict(hidden_layer_sizes=(5,), n_iter=30, learning_rate=0.1, random_state=3,
                  batch_size=batch_size)
    gpu = xpnn.DeepNet(backend=cupy_backend, **kwargs).fit(X, y)
    cpu = xpnn.DeepNet(backend="numpy", **kwargs).fit(X, y)
    assert gpu.backend_.name == "cupy"
    for key in cpu.params_:
        np.testing.assert_allclose(gpu.params_[key], cpu.params_[key], rtol=1e-10, atol=1e-12)
    assert list(gpu.predict(X)) == list(cpu.predict(X)) and gpu.predict(X).dtype.kind == "U"
    Xg = cupy_backend.asarray(X)
    assert B.backend_of(gpu.predict_proba(Xg)).name == "cupy"


def test_cupy_fitted_model_pickles_saves_and_loads_onto_the_gpu(cupy_backend, data, tmp_path):
    X, y = data
    model = xpnn.ShallowNet(n_iter=50, random_state=0, backend="gpu").fit(X, y)
    clone = pickle.loads(pickle.dumps(model))
    assert clone.backend_.name == "cupy"
    np.testing.assert_array_equal(clone.predict_proba(X), model.predict_proba(X))
    model.save(tmp_path / "m.npz")
    loaded = xpnn.load(tmp_path / "m.npz", backend="gpu")
    assert loaded.backend_.name == "cupy"
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), rtol=1e-12)


def test_gpu_model_unpickled_without_cupy_restores_onto_numpy(monkeypatch, data):
    X, y = data
    fakecupy.install(monkeypatch)
    model = xpnn.ShallowNet(n_iter=50, random_state=0, backend="gpu").fit(X, y)
    blob, want = pickle.dumps(model), model.predict_proba(X)
    monkeypatch.setitem(sys.modules, "cupy", None)  # `import cupy` now fails, as without CuPy
    with pytest.warns(xpnn.XpnnFallbackWarning, match="restored onto NumPy") as record:
        clone = pickle.loads(blob)
    assert len(record) == 1 and clone.backend_.name == "numpy"
    np.testing.assert_allclose(clone.predict_proba(X), want, rtol=1e-12)


def test_torch_cuda_backend_unpickled_without_cuda_restores_onto_numpy():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("CUDA is usable here: nothing to fall back from")
    be = B._make("torch", "torch", "cuda:0")  # a torch-CUDA Backend, as pickled on a GPU machine
    with pytest.warns(xpnn.XpnnFallbackWarning, match="torch sees no CUDA device"):
        restored = pickle.loads(pickle.dumps(be))
    assert restored.name == "numpy"


def test_torch_cuda_device_without_index_is_the_current_device(monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    be = xpnn.get_backend("torch", device="cuda")
    assert be.device == torch.device("cuda:0") and be.is_gpu
    assert str(be.device) == "cuda:0"  # one cache key for "cuda" and "cuda:0"


def test_torch_step_makes_no_scalar_tensors(monkeypatch, rng):
    """array-api-compat turns a Python scalar given to torch maximum/minimum into a new device
    tensor on every call (a blocking host-to-device copy on CUDA); a training step makes none."""
    torch = pytest.importorskip("torch")
    be = xpnn.get_backend("torch")
    X, Y = be.asarray(rng.standard_normal((3, 20))), be.asarray((rng.random((1, 20)) > 0.5) * 1.0)
    params = initialize_parameters([3, 4, 4, 1], scheme="he", seed=0, backend=be)
    activations = network.layer_activations(3, "relu")
    network.step(X, Y, params, activations, 0.1)  # warm the cached zero
    made = []
    for name in ("asarray", "tensor", "as_tensor", "full", "scalar_tensor"):
        original = getattr(torch, name)
        monkeypatch.setattr(torch, name, lambda *a, _o=original, _n=name, **k: made.append(_n) or _o(*a, **k))
    _, _, ZL = network.step(X, Y, params, activations, 0.1)
    network.cost(X, Y, params, activations)
    assert made == []


def test_relu_and_cost_keep_nan(backend):
    from xpnn.activations import relu
    from xpnn.heads import cost_from_logits

    Z = backend.asarray(np.array([[np.nan, -1.0, 2.0]]), dtype="float32")
    out = backend.to_numpy(relu(Z))
    assert np.isnan(out[0, 0]) and out[0, 1] == 0.0 and out[0, 2] == 2.0
    cost = cost_from_logits(Z, backend.asarray(np.ones((1, 3)), dtype="float32"))
    assert np.isnan(float(backend.to_numpy(cost)))


@pytest.mark.parametrize("error", [
    ("CUDARuntimeError", "cudaErrorMemoryAllocation: out of memory"),
    ("CUBLASError", "CUBLAS_STATUS_ALLOC_FAILED"),
    ("CUDADriverError", "CUDA_ERROR_OUT_OF_MEMORY: out of memory"),
    ("OutOfMemoryError", "CUDA out of memory. Tried to allocate 2.00 GiB"),
])
def test_cuda_allocation_failures_become_a_clear_memory_error(error, monkeypatch, data):
    name, message = error
    exc = type(name, (RuntimeError,), {})(message)
    assert B.is_out_of_memory(exc)
    X, y = data

    def fail(*args, **kwargs):
        raise exc
    monkeypatch.setattr(training, "run", fail)
    with pytest.raises(MemoryError, match="ran out of memory") as info:
        xpnn.DeepNet(n_iter=5).fit(X, y)
    assert info.value.__cause__ is exc
    assert not B.is_out_of_memory(RuntimeError("CUBLAS_STATUS_EXECUTION_FAILED"))


def test_gpu_status_never_raises(monkeypatch):
    cupy = fakecupy.install(monkeypatch)

    def broken(device):
        raise fakecupy.CUDARuntimeError("cudaErrorUnknown: unspecified launch failure")
    monkeypatch.setattr(cupy.cuda.runtime, "getDeviceProperties", broken)
    usable, reason = B.gpu_status()
    assert not usable and "cudaErrorUnknown" in reason
    monkeypatch.undo()

    def explode():
        raise SystemError("driver crashed mid-probe")
    monkeypatch.setattr(G, "_probe_gpu", explode)
    G.gpu_status.cache_clear()
    try:
        assert B.gpu_status() == (False, "the GPU probe failed: SystemError: driver crashed mid-probe")
    finally:
        G.gpu_status.cache_clear()


@pytest.mark.parametrize("driver,extra", [((13, 0), "xpnn[gpu-cuda13]"), ((12, 8), "xpnn[gpu]"),
                                          (None, "'xpnn[gpu]' (CUDA 12) or 'xpnn[gpu-cuda13]'")])
def test_install_hint_names_the_extra_for_the_installed_cuda(driver, extra, monkeypatch):
    import importlib.metadata

    monkeypatch.setattr(importlib.metadata, "distributions", lambda: [])
    monkeypatch.setattr(G, "cuda_driver_version", lambda: driver)
    assert extra in B.gpu_install_hint()


def test_install_hint_never_suggests_a_second_cupy(monkeypatch):
    import importlib.metadata
    import types

    dist = types.SimpleNamespace(metadata={"Name": "cupy-cuda13x"})
    monkeypatch.setattr(importlib.metadata, "distributions", lambda: [dist])
    hint = B.gpu_install_hint()
    assert "cupy-cuda13x is installed" in hint and "pip install" not in hint


def test_gpu_extras_exist_for_cuda_12_and_13():
    from pathlib import Path

    tomllib = pytest.importorskip("tomllib")

    extras = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    assert any(dep.startswith("cupy-cuda12x") for dep in extras["gpu"])
    assert any(dep.startswith("cupy-cuda13x") for dep in extras["gpu-cuda13"])
    assert set(B.GPU_EXTRAS.values()) <= set(extras)


# ------------------------------------------------------------------ Dask with CuPy chunks

@pytest.fixture
def dask_cupy(cupy_backend, rng):
    """A Dask X whose chunks are CuPy arrays (the stand-in, and the real CuPy where a GPU is
    usable: marked gpu), and its host copy."""
    da = pytest.importorskip("dask.array")
    X = rng.standard_normal((40, 3))
    return da.from_array(cupy_backend.asarray(X), chunks=(10, 3)), X


def test_to_numpy_of_dask_with_cupy_chunks(dask_cupy):
    Xd, X = dask_cupy
    np.testing.assert_array_equal(B.to_numpy(Xd), X)
    be = B.backend_of(Xd)
    assert (be.name, be.is_gpu, be.chunks.name) == ("dask", True, "cupy")


def test_predict_on_dask_with_cupy_chunks_keeps_parameters_beside_the_chunks(dask_cupy):
    Xd, X = dask_cupy
    y = (X[:, 0] > 0).astype(int)
    model = xpnn.DeepNet(hidden_layer_sizes=(4,), n_iter=20, random_state=0).fit(X, y)
    out = model.predict_proba(Xd)
    assert B.backend_of(out).name == "dask"
    assert B.backend_of(out.compute()).name == "cupy"
    np.testing.assert_allclose(B.to_numpy(out), model.predict_proba(X), rtol=1e-12)


def test_fit_on_dask_with_cupy_chunks_equals_numpy(dask_cupy):
    Xd, X = dask_cupy
    y = (X[:, 0] > 0).astype(int)
    kwargs = dict(hidden_layer_sizes=(4,), n_iter=20, random_state=0)
    on_dask = xpnn.DeepNet(**kwargs).fit(Xd, y)
    on_numpy = xpnn.DeepNet(**kwargs).fit(X, y)
    for key in on_numpy.params_:
        np.testing.assert_allclose(on_dask.params_[key], on_numpy.params_[key], rtol=1e-10, atol=1e-12)


def test_dask_with_cupy_chunks_trains_with_dropout_early_stopping_and_streamed_batches(dask_cupy):
    """The one loop's options on CuPy chunks: masks drawn on the chunks' device per step, the
    held-out rows on the host, streamed mini-batches moved to the device one chunk at a time."""
    Xd, X = dask_cupy
    y = (X[:, 0] > 0).astype(int)
    for options in (dict(dropout=0.3), dict(early_stopping=True, validation_fraction=0.25, cost_every=2),
                    dict(batch_size=10, optimizer="adam", learning_rate=0.01)):
        model = xpnn.DeepNet(hidden_layer_sizes=(4,), n_iter=12, random_state=0, **options).fit(Xd, y)
        assert model.backend_.name == "dask" and np.all(np.isfinite(model.costs_))
        assert model.params_["W1"].dtype == np.float64


def test_class_weights_mini_batches_and_pickling_on_every_backend(backend, rng):
    """Class weights and shuffled mini-batches train the same on every backend as on NumPy; the
    fitted model pickles and predicts the same after."""
    X, y = rng.standard_normal((48, 3)), np.r_[np.zeros(36, int), np.ones(12, int)]
    dtype = "float32" if backend.device is not None and "no_float64" in str(backend.device) else "float64"
    kw = dict(hidden_layer_sizes=(5,), n_iter=8, batch_size=16, optimizer="momentum", learning_rate=0.1,
              class_weight="balanced", random_state=0, dtype=dtype, cost_every=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", xpnn.ConvergenceWarning)
        got = xpnn.DeepNet(backend=backend, **kw).fit(X, y)
        want = xpnn.DeepNet(**kw).fit(X, y)
    rtol = 1e-10 if dtype == "float64" else 1e-4
    np.testing.assert_allclose(got.params_["W1"], want.params_["W1"], rtol=rtol, atol=rtol * 1e-2)
    clone = pickle.loads(pickle.dumps(got))
    Xb = backend.asarray(X, dtype)
    np.testing.assert_array_equal(xpnn.to_numpy(clone.predict(Xb)), xpnn.to_numpy(got.predict(Xb)))


@pytest.mark.slow
def test_course_quick_on_the_gpu_backend(monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    from xpnn import cli

    fakecupy.install(monkeypatch)
    assert cli.main(["course", "--quick", "--seeds", "1", "--backend", "gpu"]) == 0
    text = capsys.readouterr().out
    assert "cupy" in text and "fallback" not in text


def test_out_of_memory_while_uploading_x_and_jax_resource_exhausted_are_clear(monkeypatch, data):
    X, y = data
    assert B.is_out_of_memory(RuntimeError("RESOURCE_EXHAUSTED: Out of memory while trying to allocate"))
    import xpnn._base as base

    def fail(*args, **kwargs):
        raise type("OutOfMemoryError", (RuntimeError,), {})("Out of memory allocating 8 GiB")
    monkeypatch.setattr(base, "check_X", fail)
    with pytest.raises(MemoryError, match="ran out of memory receiving X"):
        xpnn.DeepNet(n_iter=2).fit(X, y)


def _devices(tree):
    """The device ids of every array in a nested dict/tuple."""
    if isinstance(tree, dict):
        return {i for v in tree.values() for i in _devices(v)}
    if isinstance(tree, tuple):
        return {i for v in tree for i in _devices(v)}
    return {tree.device.id}


def test_a_second_gpu_gets_every_array_of_training_and_prediction(monkeypatch, data):
    """CuPy allocates on the *current* device (zeros, zeros_like, generators, streams): with the
    model on GPU 1 while GPU 0 is current, the weights, biases, optimizer state, dropout masks,
    batch-norm statistics and predictions must all land on GPU 1 (the stand-in has two GPUs)."""
    fakecupy.install(monkeypatch)
    be = B.get_backend("cupy", device=1)
    X, y = data
    params = initialize_parameters([X.shape[1], 5, 3, 1], scheme="he", seed=0, backend=be, batch_norm=True)
    assert _devices(params) == {1}
    Y = (y == "cat")[None, :] * 1.0
    result = training.run(be.asarray(X.T), be.asarray(Y), params, network.layer_activations(3),
                          optimizer=xpnn.optimizers.get_optimizer("adam", 0.01), n_epochs=2, batch_size=16,
                          dropout=[0.2, 0.1], random_state=0)
    assert _devices(result.params) == {1} and _devices(result.state) == {1}
    model = xpnn.DeepNet((5, 3), n_iter=3, optimizer="lbfgs", batch_norm=True, random_state=0, backend=be)
    model.fit(X, y)
    assert model.predict_proba(be.asarray(X)).device.id == 1
    be.synchronize()
    assert fakecupy.counters()["synchronized_devices"] == [1]


def test_torch_cuda_shuffles_go_up_through_pinned_memory_without_blocking(monkeypatch):
    """On a torch CUDA device an epoch's shuffle is copied from pinned memory with
    non_blocking=True (a pageable copy would make the host wait for the GPU's queued work); the
    same call pattern is checked here on the CPU, the pinning stubbed (it needs CUDA)."""
    torch = pytest.importorskip("torch")
    from xpnn import _layout

    calls, to = [], torch.Tensor.to
    monkeypatch.setattr(torch.Tensor, "pin_memory", lambda self, *a, **k: calls.append("pinned") or self)
    monkeypatch.setattr(torch.Tensor, "to", lambda self, *a, **k: calls.append(k) or to(self, *a, **k))
    order = np.random.default_rng(0).permutation(50)
    uploaded = _layout._pinned_upload(order, torch.device("cpu"))
    assert calls == ["pinned", {"non_blocking": True}]
    np.testing.assert_array_equal(uploaded.numpy(), order)
    for like in (np.zeros(3), torch.zeros(3)):  # elsewhere: the index on the array's own device
        got = B.upload_index(order, like)
        assert type(got) is type(like) and np.array_equal(B.to_numpy(got), order)


@pytest.mark.parametrize("source", ["host", "gpu0", "gpu0-float64-into-float32"])
@pytest.mark.parametrize("make", [
    lambda be, dtype: xpnn.MLPClassifier((5,), max_iter=3, random_state=0, backend=be, dtype=dtype),
    lambda be, dtype: xpnn.DeepNet((4,), n_iter=3, batch_norm=True, random_state=0, backend=be, dtype=dtype),
    lambda be, dtype: xpnn.MLPRegressor(hidden_layer_sizes=(4,), max_iter=3, early_stopping=True,
                                        random_state=0, backend=be, dtype=dtype),
], ids=["mlp-classifier", "deepnet-batch-norm", "mlp-regressor-early-stopping"])
def test_a_model_on_gpu_1_keeps_every_kernel_there(monkeypatch, data, make, source):
    """The strict stand-in refuses any kernel whose operand lives on another GPU than the current
    one, as CuPy does: a model on GPU 1 while GPU 0 is current, fed host X, a GPU-0 array, or a
    float64 GPU-0 array for a float32 model, fits on GPU 1; it answers a GPU-0 array on GPU 0
    (where the data is, the array API's rule: the parameters move, not X) and host X on the host."""
    fakecupy.install(monkeypatch)
    gpu0, gpu1 = B.get_backend("cupy", device=0), B.get_backend("cupy", device=1)
    X, y = data
    y = (y == "cat") * 1.0
    dtype = "float32" if source.endswith("float32") else "float64"
    X_in = X if source == "host" else gpu0.asarray(X, "float64")
    model = make(gpu1, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a three-epoch fit does not converge
        model.fit(X_in, y)  # any kernel with an operand on GPU 0 would have raised here
    answers = [model.predict(X_in)]
    if hasattr(model, "predict_proba"):
        answers.append(model.predict_proba(X_in))
    if hasattr(model, "predict_log_proba"):
        answers.append(model.predict_log_proba(X_in))
    for answer in answers:
        assert B.is_host_array(answer) if source == "host" else answer.device.id == 0


@pytest.mark.parametrize("make", [
    lambda be: xpnn.MLPClassifier((5,), max_iter=3, random_state=0, backend=be),
    lambda be: xpnn.MLPClassifier((5,), max_iter=3, batch_norm=True, random_state=0, backend=be),
    lambda be: xpnn.DeepNet((4,), n_iter=30, cost_every=10, optimizer="adam", dropout=0.1,
                            random_state=0, backend=be),
    lambda be: xpnn.MLPRegressor(hidden_layer_sizes=(4,), max_iter=3, early_stopping=True,
                                 random_state=0, backend=be),
], ids=["mlp-adam", "mlp-batch-norm", "deepnet-dropout", "mlp-regressor-early-stopping"])
def test_no_step_reads_the_host_under_sync_debug(monkeypatch, data, make, cupy_backend):
    """XPNN_SYNC_DEBUG=1 runs every epoch's steps where a host synchronisation raises (CuPy's
    allow_synchronize(False), kept by the stand-in): training passes, the reads by design lie
    between epochs; and a step that did read the host would fail."""
    monkeypatch.setenv("XPNN_SYNC_DEBUG", "1")
    X, y = data
    y = (y == "cat") * 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        make(cupy_backend).fit(X, y)
        real_step = training.ArraySource.stepper

        def reading_stepper(self, **static):
            step = real_step(self, **static)

            def step_that_reads(params, state, t, batch, record):
                out = step(params, state, t, batch, record)
                float(B.namespace(out[2]).sum(out[2]))  # a host read inside the step
                return out
            return step_that_reads
        monkeypatch.setattr(training.ArraySource, "stepper", reading_stepper)
        with pytest.raises(Exception, match="(?i)synchroniz"):
            make(cupy_backend).fit(X, y)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_fused_adam_kernel_equals_the_generic_arithmetic(cupy_backend, dtype):
    """Adam's step as one fused kernel (cupy.fuse on a GPU; the stand-in runs it as one launch)
    gives the per-operation arithmetic's numbers, in the arrays' dtype."""
    from xpnn import optimizers

    rng = np.random.default_rng(0)
    host = [rng.standard_normal(1000).astype(dtype) for _ in range(3)]
    host[2] = np.abs(host[2])  # s >= 0
    p, g, v = (cupy_backend.asarray(a) for a in host[:2] + host[:1])
    s = cupy_backend.asarray(host[2])
    got = optimizers._ADAM_HAT(p, g, v, s, 0.9, 0.999, 1e-3, 1e-8)
    want = optimizers._adam_hat(np, *host[:2], host[0], host[2], 0.9, 0.999, 1e-3, 1e-8)
    for a, b in zip(got, want):
        assert str(a.dtype) == dtype
        np.testing.assert_allclose(B.to_numpy(a), b, rtol=1e-6 if dtype == "float32" else 1e-14)


def _per_step(make, X, y, steps, monkeypatch):
    """(launches, host reads) per step of a fit on the stand-in, warm-up and setup excluded: the
    difference between a fit of 4 epochs and one of 1, over 3 epochs of ``steps`` steps."""
    be = B.get_backend("cupy")
    Xd = be.asarray(X)
    totals = []
    for n in (1, 4, 1, 4):
        before = dict(fakecupy.counters())
        make(be, n).fit(Xd, y)
        after = fakecupy.counters()
        totals.append((after["launches"] - before["launches"], after["host_reads"] - before["host_reads"]))
    (l1, r1), (l4, r4) = totals[2], totals[3]
    return (l4 - l1) / (3 * steps), (r4 - r1) / 3


@pytest.mark.parametrize("name,make,steps,launches", [
    ("mlp-adam-b200", lambda be, n: xpnn.MLPClassifier((100,), max_iter=n, tol=0, random_state=0, backend=be),
     10, 25),
    ("mlp-adam-b200-batch-norm", lambda be, n: xpnn.MLPClassifier(
        (100,), max_iter=n, tol=0, random_state=0, batch_norm=True, backend=be), 10, 36),
    ("deepnet-full-batch", lambda be, n: xpnn.DeepNet((32, 16), n_iter=n, random_state=0, backend=be), 1, 25),
    ("deepnet-full-batch-norm", lambda be, n: xpnn.DeepNet(
        (32, 16), n_iter=n, random_state=0, batch_norm=True, backend=be), 1, 47),
])
def test_launch_budgets_a_step(name, make, steps, launches, monkeypatch):
    """Launches a step counted like FLOPs (one array call = one kernel launch on a GPU), and at
    most one host read an epoch: a regression shows here, on the CPU. Measured (float32,
    m = 2000), the issue's starting point -> the parameters in one buffer with Adam, the sigmoid
    and the binary cross-entropy fused -> the activations' backward, the head's dZ, the L2 terms,
    gradient descent, the loss accumulation and batch norm's elementwise parts fused:
    92 -> 36 -> 24.3, 127 -> 59 -> 35.3, 52 -> 33 -> 24.5, 102 -> 79 -> 46.5 (the stand-in
    counted a concatenation twice before the last step; the budgets are the last figures
    rounded up)."""
    fakecupy.install(monkeypatch)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2000, 50)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        per_step, reads = _per_step(make, X, y, steps, monkeypatch)
    assert per_step <= launches, per_step
    assert reads <= 1.0


def test_lbfgs_reads_the_host_once_per_evaluation(monkeypatch):
    fakecupy.install(monkeypatch)
    from xpnn import lbfgs

    evaluations = []
    real = lbfgs.minimize

    reads = []

    def counting(fg, x0, **kwargs):
        def counted(x):
            evaluations.append(1)
            return fg(x)
        before = fakecupy.counters()["host_reads"]
        solution = real(counted, x0, **kwargs)
        reads.append(fakecupy.counters()["host_reads"] - before)
        return solution
    monkeypatch.setattr(xpnn.training, "minimize", counting)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((200, 5)), (rng.random(200) > 0.5).astype(int)
    be = B.get_backend("cupy")
    Xd = be.asarray(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        xpnn.MLPClassifier((8,), solver="lbfgs", max_iter=30, random_state=0, backend=be).fit(Xd, y)
    assert len(evaluations) > 10 and reads == [len(evaluations)]  # one read per evaluation of f


def test_dask_with_cupy_chunks_sends_the_parameters_once_a_step(dask_cupy, monkeypatch):
    """Full batch over 4 chunks with batch norm (5 rounds over the chunks a step): the
    parameters reach the device once a step, as one buffer, not once per chunk, round and array."""
    from xpnn import distributed

    uploads = []
    real = distributed._upload
    monkeypatch.setattr(distributed, "_upload", lambda *a: uploads.append(1) or real(*a))
    Xd, X = dask_cupy
    y = (X[:, 0] > 0).astype(int)
    kwargs = dict(hidden_layer_sizes=(4,), n_iter=3, random_state=0, batch_norm=True)
    on_dask = xpnn.DeepNet(**kwargs).fit(Xd, y)
    assert len(uploads) == 3
    on_numpy = xpnn.DeepNet(**kwargs).fit(X, y)
    for key in on_numpy.params_:
        np.testing.assert_allclose(on_dask.params_[key], on_numpy.params_[key], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "adam"])
def test_a_fit_continues_across_the_two_forms_of_the_optimizer_state(optimizer, cupy_backend, rng):
    """On a GPU the trainable parameters live in one buffer and the optimizer's state is over it;
    on the CPU it is per array (bundling costs more than a call there). A model warm-started on
    the other side continues its moments: 4 epochs on the GPU then 4 on NumPy, and 4 on NumPy
    then 4 on the GPU, give the 8 of one uninterrupted fit (to rounding)."""
    X = rng.standard_normal((40, 3))
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    kw = dict(hidden_layer_sizes=(5,), learning_rate=0.05, random_state=0, optimizer=optimizer, n_iter=4,
              learning_rate_decay="inverse", decay_rate=0.1)
    whole = xpnn.DeepNet(**{**kw, "n_iter": 8}).fit(X, y)
    for first, then in ((cupy_backend, "numpy"), ("numpy", cupy_backend)):
        model = xpnn.DeepNet(backend=first, warm_start=True, **kw).fit(X, y)
        forms = [type(model._train_state[1]).__name__, sorted(model._train_state[1])[:2]
                 if isinstance(model._train_state[1], dict) else ()]
        model.set_params(backend=then).fit(X, y)
        assert model.n_iter_ == 8
        for key in whole.params_:
            np.testing.assert_allclose(model.params_[key], whole.params_[key], rtol=1e-12, atol=1e-14)
        if optimizer != "gd":  # the GPU's state is over one buffer; the CPU's per array
            assert (forms[1] == ["inner", "theta"]) == (first is cupy_backend), forms
