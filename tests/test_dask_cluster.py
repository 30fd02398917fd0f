"""Data-parallel training on a 2-worker dask.distributed LocalCluster (worker processes)."""

import os

import pytest

pytest.importorskip("dask.array")
distributed = pytest.importorskip("dask.distributed")

from test_dask import MODELS, UNEVEN, X, assert_same_fit, da, y  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.mark.parametrize("kind", MODELS)
def test_full_batch_parity_local_cluster(kind, client):
    Xd = da.from_array(X, chunks=UNEVEN)
    assert_same_fit(MODELS[kind]().fit(Xd, y), MODELS[kind]().fit(X, y))


def test_a_worker_killed_mid_fit(client):
    """The lost chunks are recomputed and the fit ends with the right model (or a clear error)."""
    Xd = da.from_array(X, chunks=UNEVEN)
    victim = sorted(client.scheduler_info()["workers"])[0]

    def kill(iteration, cost):
        if iteration == 2:
            try:
                client.run(os._exit, 1, workers=[victim])
            except Exception:
                pass  # the worker dies before it can answer
    try:
        model = MODELS["shallow"]().set_params(cost_every=1).fit(Xd, y, callback=kill)
    except Exception as exc:  # a clear error, and no half-fitted model
        assert "worker" in str(exc).lower()
        return
    assert victim not in client.scheduler_info()["workers"]  # it really died (the nanny restarts it)
    assert_same_fit(model, MODELS["shallow"]().set_params(cost_every=1).fit(X, y))




def test_local_client_starts_a_cluster_that_trains():
    import xpnn

    client = xpnn.distributed.local_client(n_workers=1, dashboard_address=":0")
    try:
        assert len(client.scheduler_info()["workers"]) == 1
        Xd = da.from_array(X, chunks=UNEVEN)
        assert_same_fit(MODELS["logistic"]().fit(Xd, y), MODELS["logistic"]().fit(X, y))
    finally:
        client.shutdown()
