"""Data-parallel training on Dask with the threaded scheduler (see test_dask_cluster.py for a
LocalCluster)."""

import numpy as np
import pytest

import xpnn
from models import COURSE

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("dask.distributed")

X, y = xpnn.datasets.make_planar(400, random_state=0)
UNEVEN = ((70, 130, 200), (2,))
MODELS = {kind: (lambda make: lambda **kw: make(**{"n_iter": 30, "cost_every": 5, "random_state": 0,
                                                   **kw}))(make)
          for kind, make in COURSE.items()}


def assert_same_fit(got, want):
    for key in want.params_:
        np.testing.assert_allclose(got.params_[key], want.params_[key], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(got.costs_, want.costs_, rtol=1e-10)


@pytest.mark.parametrize("kind", MODELS)
def test_full_batch_parity_threaded_uneven_chunks(kind):
    Xd = da.from_array(X, chunks=UNEVEN)
    got = MODELS[kind]().fit(Xd, y)
    assert got.backend_.name == "dask"
    assert_same_fit(got, MODELS[kind]().fit(X, y))


def test_dask_input_is_never_pulled_into_memory_whole(monkeypatch):
    def refuse(self, *args, **kwargs):
        raise AssertionError("X was converted to one in-memory array")
    monkeypatch.setattr(da.Array, "__array__", refuse)
    model = MODELS["shallow"]().fit(da.from_array(X, chunks=100), y)
    proba = model.predict_proba(da.from_array(X, chunks=100))
    assert isinstance(proba, da.Array) and proba.shape == (400, 2)


@pytest.mark.slow
def test_minibatch_converges_on_numpy_and_dask():
    for data in (X, da.from_array(X, chunks=100)):
        model = xpnn.ShallowNet(n_iter=300, batch_size=50, learning_rate=1.2, random_state=0,
                                cost_every=50).fit(data, y)
        assert model.score(X, y) > 0.85
        assert model.costs_[-1] < 0.5 * model.costs_[0]


@pytest.mark.slow
def test_lazily_loaded_on_disk_dataset(tmp_path):
    """X lives in .npy files, 8 chunks, read one chunk at a time."""
    big_X, big_y = xpnn.datasets.make_planar(800, random_state=2)
    da.to_npy_stack(str(tmp_path), da.from_array(big_X, chunks=(100, 2)))
    on_disk = da.from_npy_stack(str(tmp_path))
    assert on_disk.numblocks == (8, 1)
    full = MODELS["deep"]().fit(on_disk, big_y)
    assert_same_fit(full, MODELS["deep"]().fit(big_X, big_y))
    streamed = xpnn.ShallowNet(n_iter=300, batch_size=100, learning_rate=1.2, random_state=0)
    streamed.fit(on_disk, big_y)
    assert streamed.score(big_X, big_y) > 0.85


def test_divergence_on_dask():
    with pytest.raises(xpnn.DivergenceError, match="smaller learning_rate"):
        with np.errstate(all="ignore"):
            xpnn.DeepNet((8,), learning_rate=1e6, n_iter=100, cost_every=1).fit(
                da.from_array(X * 1e3, chunks=100), y)


def test_dask_backend_by_name_moves_numpy_input():
    model = MODELS["logistic"](backend="dask").fit(X, y)
    assert model.backend_.name == "dask"
    assert_same_fit(model, MODELS["logistic"]().fit(X, y))


@pytest.mark.parametrize("batch_norm", [False, True])
def test_an_empty_chunk_contributes_nothing(batch_norm):
    """A Dask X with a chunk of 0 rows trains as the same X without it (was NaN at iteration 0,
    or a ZeroDivisionError reported as a dead worker, with batch norm)."""
    import warnings

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((60, 3)), (rng.standard_normal(60) > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", xpnn.ConvergenceWarning)  # five iterations
        on_dask = xpnn.DeepNet((4,), n_iter=5, batch_norm=batch_norm, random_state=0)
        on_dask.fit(da.from_array(X, chunks=((20, 0, 40), (3,))), y)
        on_numpy = xpnn.DeepNet((4,), n_iter=5, batch_norm=batch_norm, random_state=0).fit(X, y)
    np.testing.assert_allclose(on_dask.params_["W1"], on_numpy.params_["W1"], rtol=1e-10, atol=1e-14)
