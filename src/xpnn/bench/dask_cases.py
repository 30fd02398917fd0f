"""Dask scaling cases: one full-batch step of a net on X chunked along samples, with the
threaded scheduler and with 1 and 2 single-threaded worker processes, against plain NumPy
(with its BLAS on 1 thread, and on all threads). Optional: needs the ``dask`` extra."""

from __future__ import annotations

import contextlib


from .. import distributed, network
from ..initializers import initialize_parameters
from ..optimizers import gd
from .case import Case, step_flops

SIZES = {"quick": 100_000, "full": 400_000, "smoke": 4_000}
DIMS, HIDDEN = [100, 64, 1], "tanh"


@contextlib.contextmanager
def dask_cases(profile="quick", n_chunks=8):
    """Yields the cases; the local clusters they use close when the block ends."""
    import dask.array as da
    from dask.distributed import Client, LocalCluster
    from threadpoolctl import threadpool_limits

    m = SIZES[profile]
    rows = -(-m // n_chunks)
    rng = da.random.default_rng(0)  # made where it is used: no large data in the graphs
    Xd = rng.standard_normal((m, DIMS[0]), chunks=(rows, -1))
    yd = (rng.random(m, chunks=rows) > 0.5).astype(float)
    X_rows, y = Xd.compute(), yd.compute()
    params = initialize_parameters(DIMS, scheme="xavier", seed=0)
    activations = network.layer_activations(len(DIMS) - 1, HIDDEN)
    group, flops = f"dask-step-{DIMS}-m{m}", step_flops(DIMS, m)
    shape = {"layers": DIMS, "m": m, "chunks": n_chunks}

    def numpy_step(threads=None):
        def run():
            with threadpool_limits(threads) if threads else contextlib.nullcontext():
                _, grads, _ = network.step(X_rows.T, y[None, :], params, activations, 0.1)
            return grads
        return run

    def dask_step(client=None):
        Xp = client.persist(Xd) if client else Xd.persist()

        def run():
            with contextlib.nullcontext() if client is None else client.as_current():
                new = distributed.train(Xp, y[:, None], params, activations, optimizer=gd(0.1),
                                        n_epochs=1).params
            return {k: (params[k] - new[k]) / 0.1 for k in params}  # the gradient it applied
        return run

    cases = [Case(group, "numpy-1-thread", numpy_step(1), "float64", flops, "BLAS on 1 thread", shape=shape),
             Case(group, "numpy", numpy_step(), "float64", flops, "BLAS on all threads", shape=shape),
             Case(group, "dask-threads", dask_step(), "float64", flops, "threaded scheduler", shape=shape)]
    with contextlib.ExitStack() as stack:
        for workers in (1, 2):
            cluster = stack.enter_context(LocalCluster(n_workers=workers, threads_per_worker=1,
                                                       processes=True, dashboard_address=None))
            client = stack.enter_context(Client(cluster, set_as_default=False))
            cases.append(Case(group, f"dask-{workers}-worker{'s' * (workers > 1)}", dask_step(client),
                              "float64", flops, "LocalCluster, 1 thread per worker", shape=shape))
        yield cases


def scaling(results):
    """Overhead per iteration and parallel efficiency from the dask group's minimum times."""
    t = {r["column"]: r["min"] for r in results if r["group"].startswith("dask-step")}
    if not {"numpy-1-thread", "dask-1-worker", "dask-2-workers"} <= set(t):
        return {}
    speedup = t["dask-1-worker"] / t["dask-2-workers"]
    return {"overhead_per_iteration_s": t["dask-1-worker"] - t["numpy-1-thread"],
            "speedup_2_workers": speedup, "efficiency_2_workers": speedup / 2}
