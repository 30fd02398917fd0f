"""Data-parallel training on Dask: X chunked along samples, the core's own forward/backward on
every chunk, contributions tree-summed and weighted by chunk size, the small parameters updated
on the client and sent with the next iteration's tasks.

Each iteration builds a fresh graph of one task per chunk plus the tree of sums, so the graph
never grows with the iteration count; X stays persisted in the cluster's memory (or, for
mini-batches, streams from its source one chunk at a time). Works with the threaded scheduler,
a ``dask.distributed`` Client the user started (it is used automatically), or one started with
:func:`local_client`; chunks may be NumPy or CuPy arrays (dask-cuda).
"""

from __future__ import annotations


import numpy as np

from . import network
from .backend import backend_of, rng_from, to_numpy
from .heads import cost_from_logits
from .training import CostLog, Result, move_state


def local_client(n_workers=None, *, gpu=False, **kwargs):
    """Start a local cluster (single-threaded worker processes, one per core or ``n_workers``)
    and return its ``dask.distributed.Client``; ``client.shutdown()`` stops the cluster.
    ``gpu=True`` starts dask-cuda's LocalCUDACluster instead, one worker per GPU."""
    from dask.distributed import Client

    if gpu:
        from dask_cuda import LocalCUDACluster

        return Client(LocalCUDACluster(**kwargs))
    return Client(n_workers=n_workers, threads_per_worker=1, **kwargs)


def _chunk_contribution(X_rows, Y_rows, w, params, activations, head, total_weight):
    """One chunk's share of the full-batch gradient and cost, as one flat host vector.

    X_rows (m_c, n_x), Y_rows (m_c, k) and weights w (m_c,) (or None: m_c ones) are the chunk;
    the result is (chunk weight / total weight) * [grads..., cost] of the chunk's own weighted
    mean cost, so the chunks sum to the full batch's."""
    be = backend_of(X_rows)
    X, Y = X_rows.T, be.asarray(to_numpy(Y_rows).T, dtype=X_rows.dtype)
    S = None if w is None else be.asarray(np.reshape(to_numpy(w), (1, -1)), dtype=X_rows.dtype)
    params = {k: be.asarray(v, dtype=X_rows.dtype) for k, v in params.items()}
    AL, caches = network.forward(X, params, activations)
    grads = network.backward(AL, Y, caches, params, activations, head=head, S=S)
    cost = cost_from_logits(caches[-1][1], Y, head, S)
    weight = X_rows.shape[0] if w is None else float(np.sum(to_numpy(w)))
    parts = [to_numpy(grads[f"d{k}"]).ravel() for k in params] + [np.atleast_1d(to_numpy(cost))]
    return np.concatenate(parts).astype(np.float64) * (weight / total_weight)


def _tree_sum(parts):
    """Pairwise sums of delayed vectors: a tree of depth log2(n_chunks)."""
    import dask

    add = dask.delayed(np.add)
    while len(parts) > 1:
        parts = [add(a, b) if b is not None else a for a, b in zip(parts[::2], parts[1::2] + [None])]
    return parts[0]


def _unflatten(vector, like):
    out, start = {}, 0
    for key, p in like.items():
        out[key] = vector[start:start + p.size].reshape(p.shape).astype(p.dtype)
        start += p.size
    return out, float(vector[start])


def _persisted_rows(array, chunks):
    """A host array cut along rows like ``chunks`` and persisted (the caller keeps it alive
    while its blocks are used), with its delayed blocks; None gives None blocks."""
    import dask.array as da

    if array is None:
        return None, [None] * len(chunks)
    rechunked = da.asarray(array).rechunk((chunks,) + tuple(-1 for _ in array.shape[1:])).persist()
    return rechunked, list(rechunked.to_delayed().ravel())


def train(X_rows, Y_rows, params, activations, *, optimizer, n_epochs, batch_size=None,
          head="sigmoid", sample_weight=None, alpha=0.0, random_state=None, cost_every=100,
          on_divergence="raise", callback=None, state=None, t=0, learning_rate=None):
    """Train on a Dask X (m, n_x) chunked along rows, targets Y (m, k) (0/1 for sigmoid, one-hot
    for softmax, values for identity) and optional weights (m,): full batch (data-parallel over
    the chunks) or mini-batches streamed one chunk at a time. The optimizer (any of
    :mod:`xpnn.optimizers`) updates the small parameters on the client, where they stay as NumPy
    arrays. Returns a :class:`xpnn.training.Result` like :func:`xpnn.training.run`.
    """
    state = optimizer.init(params) if state is None else move_state(state)
    options = dict(optimizer=optimizer, head=head, alpha=alpha, state=state, t=t,
                   log=CostLog(params, learning_rate, on_divergence, callback,
                               "iteration" if batch_size is None else "epoch"))
    if batch_size is None:
        return _full_batch(X_rows, Y_rows, sample_weight, params, activations, n_epochs, cost_every,
                           **options)
    return _minibatch(X_rows, Y_rows, sample_weight, params, activations, n_epochs, cost_every,
                      batch_size, rng_from(random_state), **options)


def _with_l2(grads, cost, params, alpha, m):
    """The L2 term added on the client: dW += alpha/m W, cost += alpha/(2m) Σ ||W||²."""
    if not alpha:
        return grads, cost
    grads = {k: g + (alpha / m) * params[k] if k[0] == "W" else g for k, g in grads.items()}
    return grads, cost + float(network.l2_penalty(params, alpha, m))


def _full_batch(X_rows, Y_rows, sample_weight, params, activations, n_epochs, cost_every, *,
                optimizer, head, alpha, state, t, log):
    """Costs are read back with every iteration's gradient (they travel in the same small
    vector). Same results as :func:`xpnn.training.run` on the whole X, up to the order of sums."""
    import dask

    X_rows = X_rows.rechunk({1: -1}).persist()
    m = X_rows.shape[0]
    total_weight = m if sample_weight is None else float(np.sum(sample_weight))
    Y_rows, y_blocks = _persisted_rows(Y_rows, X_rows.chunks[0])
    weights, w_blocks = _persisted_rows(sample_weight, X_rows.chunks[0])
    blocks = list(zip(X_rows.to_delayed().ravel(), y_blocks, w_blocks))
    for i in range(n_epochs):
        shared = dask.delayed(params, traverse=False)  # one key, sent once per worker
        parts = [dask.delayed(_chunk_contribution)(xb, yb, wb, shared, activations, head, total_weight)
                 for xb, yb, wb in blocks]
        try:
            (total,) = dask.compute(_tree_sum(parts))
        except Exception as exc:
            raise RuntimeError(f"Dask failed in iteration {i} ({type(exc).__name__}: {exc}); a worker "
                               "may have died or run out of memory. The estimator was not changed; "
                               "fit again, or give the workers more memory.") from exc
        grads, cost = _with_l2(*_unflatten(total, params), params, alpha, m)
        if i % cost_every == 0:
            stopped = log.record(i, cost, params)
            if stopped is not None:
                return Result(stopped, log.costs, i + 1, state, t)
        t += 1
        params, state = optimizer.update(params, {f"d{k}": g for k, g in grads.items()}, state, t)
    return Result(log.finish(params), log.costs, n_epochs, state, t)


def _minibatch(X_rows, Y_rows, sample_weight, params, activations, n_epochs, cost_every, batch_size,
               rng, *, optimizer, head, alpha, state, t, log):
    """Streams one chunk of ``batch_size`` rows at a time from a Dask X (which may live on disk,
    larger than memory): each epoch visits the chunks in a shuffled order and shuffles the rows
    within each chunk; one step per chunk. ``costs[k]`` is the mean cost over epoch
    ``k * cost_every`` of each batch before its update."""
    import dask
    import dask.array as da

    X_rows = X_rows.rechunk((batch_size, -1))
    Y_rows = da.asarray(Y_rows).rechunk((batch_size, -1))
    weights = np.ones(X_rows.shape[0]) if sample_weight is None else np.asarray(sample_weight)
    starts = np.cumsum((0,) + X_rows.chunks[0])
    for epoch in range(n_epochs):
        record, total = epoch % cost_every == 0, 0.0
        for b in rng.permutation(X_rows.numblocks[0]):
            Xb, Yb = dask.compute(X_rows.blocks[int(b)], Y_rows.blocks[int(b)])  # one batch in memory
            be = backend_of(Xb)
            order = rng.permutation(Xb.shape[0])
            Y = be.asarray(to_numpy(Yb)[order].T, dtype=Xb.dtype)
            wb = weights[starts[b]:starts[b + 1]][order]
            S = None if sample_weight is None else be.asarray(wb[None, :], dtype=Xb.dtype)
            device = {k: be.asarray(v, dtype=Xb.dtype) for k, v in params.items()}
            Xb = be.xp.take(Xb, be.asarray(order), axis=0).T
            AL, caches = network.forward(Xb, device, activations)
            grads = network.backward(AL, Y, caches, device, activations, head=head, S=S, alpha=alpha)
            if record:  # the batch's cost, only in the epochs whose mean cost is recorded
                cost = cost_from_logits(caches[-1][1], Y, head, S)
                if alpha:
                    cost = cost + network.l2_penalty(device, alpha, Xb.shape[1])
                total = total + float(cost) * float(np.sum(wb))
            t += 1
            params, state = optimizer.update(params, {k: to_numpy(g) for k, g in grads.items()}, state, t)
        if record:
            stopped = log.record(epoch, total / float(np.sum(weights)), params)
            if stopped is not None:
                return Result(stopped, log.costs, epoch + 1, state, t)
    return Result(log.finish(params), log.costs, n_epochs, state, t)
