"""One fixture parametrises the tests over every namespace xpnn runs on.

GPU parameters (real CuPy, torch on CUDA) skip where no GPU is usable, unless
``XPNN_REQUIRE_GPU=1``: then a GPU that is not usable fails the test instead, so a GPU run
cannot pass by skipping. The ``fake-cupy`` parameter runs everything through a NumPy-backed
stand-in that keeps CuPy's rules (tests/fakecupy.py) on every machine.
"""

import os

import numpy as np
import pytest

import fakecupy
from xpnn import backend as B

REQUIRE_GPU = os.environ.get("XPNN_REQUIRE_GPU", "").strip().lower() in {"1", "true", "yes", "on"}

BACKENDS = [
    pytest.param(("numpy", None), id="numpy"),
    pytest.param(("array_api_strict", None), id="strict"),
    pytest.param(("array_api_strict", "no_float64"), id="strict-no-float64"),
    pytest.param(("torch", "cpu"), id="torch-cpu"),
    pytest.param(("fake-cupy", None), id="fake-cupy"),
    pytest.param(("cupy", None), id="cupy", marks=pytest.mark.gpu),
    pytest.param(("torch", "cuda"), id="torch-cuda", marks=pytest.mark.gpu),
]
TOL = {"float64": 1e-12, "float32": 1e-5}


def skip_without_gpu(reason):
    """Skip a GPU test, or fail it when XPNN_REQUIRE_GPU=1 (a GPU run must not pass by skipping)."""
    if REQUIRE_GPU:
        pytest.fail(f"XPNN_REQUIRE_GPU=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def make_backend(name, device, monkeypatch=None):
    """The Backend of a BACKENDS entry (``fake-cupy`` needs ``monkeypatch`` to install itself)."""
    if name == "fake-cupy":
        fakecupy.install(monkeypatch)
        return B.get_backend("cupy")
    if name == "cupy" and not B.gpu_available():
        skip_without_gpu(f"CuPy with a CUDA device is not usable here: {B.gpu_status()[1]}")
    if name == "torch":
        if device == "cuda":
            torch = pytest.importorskip("torch", reason="torch is not installed (optional peer)")
            if not torch.cuda.is_available():
                skip_without_gpu("torch sees no CUDA device here")
        pytest.importorskip("torch", reason="torch is not installed (optional peer)")
    pytest.importorskip(name)
    return B.get_backend(name, device=device)


@pytest.fixture(params=BACKENDS)
def backend(request, monkeypatch):
    """A Backend: numpy, array_api_strict (default and no-float64 devices), torch-CPU, the
    CuPy stand-in, and CuPy and torch-CUDA where a GPU is usable."""
    return make_backend(*request.param, monkeypatch)


@pytest.fixture(params=["float64", "float32"])
def dtype(request, backend):
    """Float dtypes the current backend supports (float64 is skipped on no-float64 devices)."""
    try:
        backend.dtype(request.param)
    except ValueError as exc:
        pytest.skip(str(exc))
    return request.param


@pytest.fixture(params=[pytest.param("fake", id="fake-cupy"),
                        pytest.param("real", id="cupy", marks=pytest.mark.gpu)])
def cupy_backend(request, monkeypatch):
    """CuPy's Backend: the stand-in everywhere, the real one where a GPU is usable."""
    return make_backend("fake-cupy" if request.param == "fake" else "cupy", None, monkeypatch)


@pytest.fixture
def strict_reads(monkeypatch):
    """A list that records every conversion of an array_api_strict array to a Python scalar
    (float/bool/int/index): each is a device-to-host read on a real device."""
    import array_api_strict

    Array = type(array_api_strict.asarray(0.0))
    reads = []
    for method in ("__float__", "__bool__", "__int__", "__index__"):
        original = getattr(Array, method)
        monkeypatch.setattr(Array, method, lambda self, _m=method, _o=original: reads.append(_m) or _o(self))
    return reads


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _reset_default_backend(monkeypatch):
    monkeypatch.delenv("XPNN_BACKEND", raising=False)
    monkeypatch.delenv("XPNN_STRICT_GPU", raising=False)
    yield
    B.set_backend(None)
