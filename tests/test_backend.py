import importlib.util
import sys
import types
import warnings

import numpy as np
import pytest

import xpnn
from xpnn import _gpu as G
from xpnn import backend as B

needs_no_gpu = pytest.mark.skipif(B.gpu_available(), reason="a GPU is usable here: no fallback")


@needs_no_gpu
def test_gpu_falls_back_to_numpy_with_one_warning():
    with pytest.warns(xpnn.XpnnFallbackWarning) as record:
        be = xpnn.get_backend("gpu")
    assert len(record) == 1 and record[0].filename == __file__  # points at the caller's line
    assert "running on NumPy" in str(record[0].message) and B.gpu_status()[1] in str(record[0].message)
    assert (be.name, be.requested, be.is_gpu) == ("numpy", "gpu", False)
    assert be.fallback_reason == B.gpu_status()[1]
    assert "fallback" in repr(be)


@needs_no_gpu
@pytest.mark.parametrize("how", ["argument", "env"])
def test_gpu_strict_raises(how, monkeypatch):
    if how == "env":
        monkeypatch.setenv("XPNN_STRICT_GPU", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(xpnn.GPUUnavailableError, match="needs a usable GPU"):
            xpnn.get_backend("gpu", strict=(how == "argument"))


@needs_no_gpu
def test_auto_is_cpu_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        be = xpnn.get_backend("auto")
    assert (be.name, be.requested, be.is_gpu, be.fallback_reason) == ("numpy", "auto", False, None)


def test_names_modules_and_aliases():
    import array_api_strict

    assert xpnn.get_backend("cpu").name == "numpy"
    assert xpnn.get_backend("numpy").requested == "numpy"
    assert xpnn.get_backend(np).name == "numpy"
    assert xpnn.get_backend(array_api_strict).name == "array_api_strict"
    be = xpnn.get_backend("array_api_strict")
    assert xpnn.get_backend(be) is be


def test_unknown_backend_lists_choices():
    with pytest.raises(ValueError, match=r"unknown backend 'tpu'.*'cpu', 'gpu'"):
        xpnn.get_backend("tpu")
    with pytest.raises(ValueError, match="unknown backend"):
        xpnn.set_backend("tpu")


def test_default_precedence(monkeypatch):
    assert B.resolve_backend(None, np.zeros((2, 2))).name == "numpy"
    monkeypatch.setenv("XPNN_BACKEND", "array_api_strict")
    assert B.resolve_backend(None, np.zeros((2, 2))).name == "array_api_strict"
    xpnn.set_backend("numpy")
    assert B.resolve_backend(None, np.zeros(2)).name == "numpy"
    with xpnn.use_backend("array_api_strict"):
        assert B.resolve_backend(None, np.zeros(2)).name == "array_api_strict"
        assert B.resolve_backend("numpy", np.zeros(2)).name == "numpy"
    assert B.resolve_backend(None, np.zeros(2)).name == "numpy"


def test_non_numpy_input_selects_its_namespace():
    import array_api_strict

    x = array_api_strict.asarray([[1.0]])
    assert B.resolve_backend(None, x).name == "array_api_strict"
    assert B.resolve_backend("cpu", x).name == "numpy"


def test_asarray_roundtrip_and_dtype(backend, dtype, rng):
    host = rng.standard_normal((3, 4))
    x = backend.asarray(host, dtype=dtype)
    assert x.dtype == backend.dtype(dtype)
    assert backend.asarray(x, dtype=dtype) is x  # already there: no copy
    np.testing.assert_allclose(backend.to_numpy(x), host.astype(dtype))
    backend.synchronize()


def test_dtype_errors():
    be = xpnn.get_backend("array_api_strict", device="no_float64")
    with pytest.raises(ValueError, match="float64.*not supported.*float32"):
        be.dtype("float64")
    with pytest.raises(ValueError, match=r"unknown dtype 'float16'; choose from \['float64', 'float32'\]"):
        xpnn.get_backend("cpu").dtype("float16")


def test_same_seed_same_numbers_on_every_backend(backend, dtype):
    reference = xpnn.get_backend("numpy")
    got = backend.random_normal((5, 3), seed=42, dtype=dtype)
    want = reference.random_normal((5, 3), seed=42, dtype=dtype)
    np.testing.assert_array_equal(backend.to_numpy(got), want)


def test_legacy_random_state_is_refused():
    with pytest.raises(TypeError, match="RandomState"):
        B.rng_from(np.random.RandomState(0))


# ----------------------------------------------------- simulated CUDA faults (fake CuPy)

class _CUDARuntimeError(RuntimeError):
    pass


def _fake_cupy(*, available=True, kernel_error=None):
    cupy = types.ModuleType("cupy")
    cupy.__version__ = "13.0.0-fake"
    cupy.float32 = np.float32
    cupy.cuda = types.SimpleNamespace(is_available=lambda: available)

    def arange(n, dtype=None):
        if kernel_error is not None:
            raise kernel_error
        return np.arange(n, dtype=dtype)
    cupy.arange = arange
    return cupy


FAULTS = {
    "no-device": (dict(available=False), "found no usable CUDA device"),
    "old-driver": (dict(kernel_error=_CUDARuntimeError(
        "cudaErrorInsufficientDriver: CUDA driver version is insufficient for CUDA runtime version")),
        "cudaErrorInsufficientDriver"),
    "no-nvrtc": (dict(kernel_error=RuntimeError(
        "CuPy failed to load libnvrtc.so.12: OSError: libnvrtc.so.12: cannot open shared object file")),
        "libnvrtc"),
}


@pytest.fixture
def fake_cupy(monkeypatch):
    def install(**kwargs):
        monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(**kwargs))
        G.gpu_status.cache_clear()
    yield install
    G.gpu_status.cache_clear()


@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
def test_cuda_faults_fall_back_with_the_real_reason(fault, fake_cupy):
    kwargs, reason = FAULTS[fault]
    fake_cupy(**kwargs)
    assert B.gpu_available() is False
    with pytest.warns(xpnn.XpnnFallbackWarning, match=reason):
        be = xpnn.get_backend("gpu")
    assert (be.name, be.is_gpu) == ("numpy", False)
    with pytest.raises(xpnn.GPUUnavailableError, match=reason):
        xpnn.get_backend("gpu", strict=True)


def test_cupy_import_failure_is_reported(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # makes `import cupy` raise ImportError
    G.gpu_status.cache_clear()
    try:
        usable, reason = B.gpu_status()
        assert not usable and "not importable" in reason and "xpnn[gpu]" in reason
    finally:
        G.gpu_status.cache_clear()


def test_set_backend_and_get_backend_agree(monkeypatch):
    name = "torch" if importlib.util.find_spec("torch") else "array_api_strict"
    xpnn.set_backend(name)
    assert xpnn.get_backend().requested == name
    xpnn.set_backend(None)
    assert xpnn.get_backend().name == "numpy"  # "cpu" unless $XPNN_BACKEND says otherwise
    monkeypatch.setenv("XPNN_BACKEND", "array_api_strict")
    assert xpnn.get_backend().name == "array_api_strict"


@needs_no_gpu
def test_strict_gpu_from_set_backend_use_backend_and_estimators(rng):
    X, y = rng.standard_normal((10, 2)), np.arange(10) % 2
    with pytest.raises(xpnn.GPUUnavailableError):  # checked when set, not at the next fit
        xpnn.set_backend("gpu", strict=True)
    xpnn.get_backend()  # the default stayed as it was
    with pytest.raises(xpnn.GPUUnavailableError):
        with xpnn.use_backend("gpu", strict=True):
            xpnn.ShallowNet(n_iter=2).fit(X, y)
    with pytest.raises(xpnn.GPUUnavailableError):  # $XPNN_STRICT_GPU is read at each fit
        import os
        os.environ["XPNN_STRICT_GPU"] = "1"
        try:
            xpnn.DeepNet(n_iter=2, backend="gpu").fit(X, y)
        finally:
            del os.environ["XPNN_STRICT_GPU"]
    with pytest.raises(xpnn.GPUUnavailableError):
        xpnn.ShallowNet(n_iter=2, backend="gpu", strict=True).fit(X, y)
    with pytest.warns(xpnn.XpnnFallbackWarning):
        assert xpnn.ShallowNet(n_iter=2, backend="gpu").fit(X, y).backend_.requested == "gpu"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_numpys_fast_reductions_equal_numpys_own_bit_for_bit(dtype, rng):
    """The NumPy namespace's sum, max and mean skip NumPy's Python layers, not its arithmetic."""
    from xpnn._layout import NUMPY_NAMESPACE as fast

    for shape in [(1, 200), (100, 200), (7,), (3, 5, 11), (1, 1)]:
        x = (rng.standard_normal(shape) * 1e3).astype(dtype)
        for axis in [None, *range(len(shape))]:
            for keepdims in (False, True):
                for mine, numpys in ((fast.sum, np.sum), (fast.max, np.max), (fast.mean, np.mean)):
                    got, want = np.asarray(mine(x, axis=axis, keepdims=keepdims)), np.asarray(
                        numpys(x, axis=axis, keepdims=keepdims))
                    assert got.dtype == want.dtype and got.shape == want.shape
                    assert got.tobytes() == want.tobytes(), (mine, shape, axis, keepdims)
        flat = fast.reshape(x, (-1,))  # a view, as np.reshape's; a transposed array's: a copy, in C order
        assert np.shares_memory(flat, x) and np.array_equal(flat, np.reshape(x, (-1,)))
        assert np.array_equal(fast.reshape(x.T, (-1,)), np.reshape(x.T, (-1,)))
