"""One fixture parametrises the tests over every namespace xpnn runs on."""

import numpy as np
import pytest

from xpnn import backend as B

BACKENDS = [
    pytest.param(("numpy", None), id="numpy"),
    pytest.param(("array_api_strict", None), id="strict"),
    pytest.param(("array_api_strict", "no_float64"), id="strict-no-float64"),
    pytest.param(("torch", "cpu"), id="torch-cpu"),
    pytest.param(("cupy", None), id="cupy", marks=pytest.mark.gpu),
]
TOL = {"float64": 1e-12, "float32": 1e-5}


def make_backend(name, device):
    if name == "cupy" and not B.gpu_available():
        pytest.skip(f"CuPy with a CUDA device is not usable here: {B.gpu_status()[1]}")
    if name == "torch":
        pytest.importorskip("torch", reason="torch is not installed (optional peer)")
    pytest.importorskip(name if name != "cupy" else "cupy")
    return B.get_backend(name, device=device)


@pytest.fixture(params=BACKENDS)
def backend(request):
    """A Backend: numpy, array_api_strict (default and no-float64 devices), torch-CPU, cupy."""
    return make_backend(*request.param)


@pytest.fixture(params=["float64", "float32"])
def dtype(request, backend):
    """Float dtypes the current backend supports (float64 is skipped on no-float64 devices)."""
    try:
        backend.dtype(request.param)
    except ValueError as exc:
        pytest.skip(str(exc))
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _reset_default_backend(monkeypatch):
    monkeypatch.delenv("XPNN_BACKEND", raising=False)
    monkeypatch.delenv("XPNN_STRICT_GPU", raising=False)
    yield
    B.set_backend(None)
