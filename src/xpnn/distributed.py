"""Dask as a source of gradients for the one training loop (:func:`xpnn.training.loop`).

Full batch: X chunked along samples and persisted in the cluster's memory; every step sends
the small parameters once per worker, runs the core's forward and backward on every chunk
(:func:`xpnn.training.gradients`), and tree-sums the chunks' contributions weighted by their
size, with the cost travelling in the same small vector. Mini-batches: X streams from its
source (which may be larger than memory) one chunk of ``batch_size`` rows at a time, the chunks
in a shuffled order and the rows of each shuffled. The parameters stay on the client as NumPy
arrays, where the optimizer updates them. Each step builds a fresh graph, so the graph never
grows with the iteration count.

Works with the threaded scheduler, a ``dask.distributed`` Client the user started (it is used
automatically), or one started with :func:`local_client`; chunks may be NumPy or CuPy arrays
(dask-cuda).
"""

from __future__ import annotations

import numpy as np

from .backend import backend_of, move_tree, rng_from, to_numpy, uniform_sampler
from .gradcheck import flatten, unflatten
from .network import l2_penalty
from .training import dropout_masks, gradients, loop


def local_client(n_workers=None, *, gpu=False, **kwargs):
    """Start a local cluster (single-threaded worker processes, one per core or ``n_workers``)
    and return its ``dask.distributed.Client``; ``client.shutdown()`` stops the cluster.
    ``gpu=True`` starts dask-cuda's LocalCUDACluster instead, one worker per GPU."""
    from dask.distributed import Client

    if gpu:
        from dask_cuda import LocalCUDACluster

        return Client(LocalCUDACluster(**kwargs))
    return Client(n_workers=n_workers, threads_per_worker=1, **kwargs)


def train(X_rows, Y_rows, params, activations, *, optimizer, n_epochs, batch_size=None,
          head="sigmoid", sample_weight=None, alpha=0.0, dropout=None, random_state=None,
          cost_every=100, on_divergence="raise", callback=None, early_stopping=None, state=None,
          t=0, learning_rate=None, curve=False, on_epoch=None, progress=None):
    """Train on a Dask X (m, n_x) chunked along rows, host targets Y (m, k) (0/1 for sigmoid,
    one-hot for softmax, values for identity) and optional host weights (m,), through
    :func:`xpnn.training.loop` with every option it has. ``early_stopping`` holds host arrays
    (course notation). Returns a :class:`xpnn.training.Result`; parameters stay NumPy arrays.
    """
    rng = rng_from(random_state)
    params = {k: np.asarray(v) for k, v in params.items()}
    hidden = [params[f"W{l}"].shape[0] for l in range(1, len(activations))]
    rates = None if dropout is None or not any(dropout) else list(dropout)
    seed = None if rates is None else int(rng.integers(2**63))
    kind = FullBatch if batch_size is None else Streamed
    source = kind(X_rows, Y_rows, sample_weight, batch_size, (rates, hidden, seed))
    return loop(source, params, activations, optimizer=optimizer, n_epochs=n_epochs, head=head,
                alpha=alpha, rng=rng, cost_every=cost_every, on_divergence=on_divergence,
                callback=callback, early_stopping=early_stopping,
                state=None if state is None else move_tree(state), t=t, learning_rate=learning_rate,
                curve=curve, on_epoch=on_epoch, progress=progress)


def _masks(dropout, X, t, part):
    """Dropout masks for the step ``t`` on one chunk (``part``) of X (n_x, m_c), from a seed
    derived from (seed, t, part): reproducible, and the same when a step is replayed."""
    rates, hidden, seed = dropout
    if rates is None:
        return None
    sampler = uniform_sampler(X, int(np.random.SeedSequence([seed, t, part]).generate_state(1)[0]))
    return dropout_masks(sampler, rates, hidden, X.shape[1], X)


def _on_chunk(X_rows, Y_rows, w, params, record, **options):
    """The chunk's backend arrays in course notation, and its (grads, cost) from the core."""
    be = backend_of(X_rows)
    X, Y = X_rows.T, be.asarray(to_numpy(Y_rows).T, dtype=X_rows.dtype)
    S = None if w is None else be.asarray(np.reshape(to_numpy(w), (1, -1)), dtype=X_rows.dtype)
    device = {k: be.asarray(v, dtype=X_rows.dtype) for k, v in params.items()}
    masks = _masks(options.pop("dropout"), X, options.pop("t"), options.pop("part"))
    return gradients(device, X, Y, S, masks, record=record, **options)


def _chunk_contribution(X_rows, Y_rows, w, params, total_weight, **options):
    """One chunk's share of the full-batch gradient and cost, as one flat host vector: (chunk
    weight / total weight) * [grads..., cost] of the chunk's own weighted mean cost, so the
    chunks sum to the full batch's."""
    grads, cost = _on_chunk(X_rows, Y_rows, w, params, True, alpha=0.0, **options)
    weight = X_rows.shape[0] if w is None else float(np.sum(to_numpy(w)))
    vector = np.concatenate([to_numpy(flatten({k: grads[f"d{k}"] for k in params})),
                             np.atleast_1d(to_numpy(cost))])
    return vector.astype(np.float64) * (weight / total_weight)


def _tree_sum(parts):
    """Pairwise sums of delayed vectors: a tree of depth log2(n_chunks)."""
    import dask

    add = dask.delayed(np.add)
    while len(parts) > 1:
        parts = [add(a, b) if b is not None else a for a, b in zip(parts[::2], parts[1::2] + [None])]
    return parts[0]


def _persisted_rows(array, chunks):
    """A host array cut along rows like ``chunks`` and persisted (the caller keeps it alive
    while its blocks are used), with its delayed blocks; None gives None blocks."""
    import dask.array as da

    if array is None:
        return None, [None] * len(chunks)
    rechunked = da.asarray(array).rechunk((chunks,) + tuple(-1 for _ in array.shape[1:])).persist()
    return rechunked, list(rechunked.to_delayed().ravel())


class _DaskSource:
    """What both Dask sources share: the update on the client, the held-out set on the host."""

    def __init__(self, Y_rows, sample_weight, dropout):
        self.dropout = dropout
        self.total_weight = Y_rows.shape[0] if sample_weight is None else float(np.sum(sample_weight))
        self.replayable = False

    @staticmethod
    def weight(batch):
        return batch.weight

    @staticmethod
    def validation(early_stopping):
        """The held-out set as host arrays, where the client's parameters are."""
        return early_stopping._replace(X=to_numpy(early_stopping.X), Y=to_numpy(early_stopping.Y))


class FullBatch(_DaskSource):
    """Every step: the full-batch gradient as a map-reduce over the persisted chunks. Same
    results as :class:`xpnn.training.ArraySource` on the whole X, up to the order of sums."""

    def __init__(self, X_rows, Y_rows, sample_weight, batch_size, dropout):
        super().__init__(Y_rows, sample_weight, dropout)
        self.full_batch = True
        self.replayable = dropout[0] is None
        X_rows = X_rows.rechunk({1: -1}).persist()
        self._keep = [X_rows]  # the persisted arrays live as long as the source
        Y, y_blocks = _persisted_rows(Y_rows, X_rows.chunks[0])
        weights, w_blocks = _persisted_rows(sample_weight, X_rows.chunks[0])
        self._keep += [Y, weights]
        self.blocks = list(zip(X_rows.to_delayed().ravel(), y_blocks, w_blocks))

    def epoch(self, rng):
        yield None

    def stepper(self, *, activations, head, alpha, optimizer):
        import dask

        def step(params, state, t, batch, record):
            shared = dask.delayed(params, traverse=False)  # one key, sent once per worker
            parts = [dask.delayed(_chunk_contribution)(xb, yb, wb, shared, self.total_weight,
                                                       activations=activations, head=head,
                                                       dropout=self.dropout, t=t, part=i)
                     for i, (xb, yb, wb) in enumerate(self.blocks)]
            try:
                (total,) = dask.compute(_tree_sum(parts))
            except Exception as exc:
                raise RuntimeError(f"Dask failed in step {t} ({type(exc).__name__}: {exc}); a worker "
                                   "may have died or run out of memory. The estimator was not "
                                   "changed; fit again, or give the workers more memory.") from exc
            grads = unflatten(total[:-1], params)
            grads = {f"d{k}": g.astype(params[k].dtype) for k, g in grads.items()}
            cost = float(total[-1])
            if alpha:  # the L2 term over all the examples (their total weight), added on the client
                grads = {k: g + (alpha / self.total_weight) * params[k[1:]] if k[1] == "W" else g
                         for k, g in grads.items()}
                cost += float(l2_penalty(params, alpha, self.total_weight))
            new_params, state = optimizer.update(params, grads, state, t)
            return new_params, state, cost
        return step


class _Chunk:
    def __init__(self, index, weight):
        self.index, self.weight = index, weight


class Streamed(_DaskSource):
    """Mini-batches: one chunk of ``batch_size`` rows in memory at a time, its rows shuffled; the
    core's forward and backward on the chunk's backend, the update on the client."""

    def __init__(self, X_rows, Y_rows, sample_weight, batch_size, dropout):
        import dask.array as da

        super().__init__(Y_rows, sample_weight, dropout)
        self.full_batch = False
        self.X_rows = X_rows.rechunk((batch_size, -1))
        self.Y_rows = da.asarray(Y_rows).rechunk((batch_size, -1))
        self.weights = None if sample_weight is None else np.asarray(sample_weight)
        self.starts = np.cumsum((0,) + self.X_rows.chunks[0])

    def epoch(self, rng):
        for b in rng.permutation(self.X_rows.numblocks[0]):
            order = rng.permutation(self.X_rows.chunks[0][b])
            w = None if self.weights is None else self.weights[self.starts[b]:self.starts[b + 1]][order]
            yield _Chunk((int(b), order, w), len(order) if w is None else float(np.sum(w)))

    def stepper(self, *, activations, head, alpha, optimizer):
        import dask

        def step(params, state, t, batch, record):
            b, order, w = batch.index
            # one batch in memory
            X_chunk, Y_chunk = dask.compute(self.X_rows.blocks[b], self.Y_rows.blocks[b])
            be = backend_of(X_chunk)
            X_chunk = be.xp.take(X_chunk, be.asarray(order), axis=0)
            grads, cost = _on_chunk(X_chunk, to_numpy(Y_chunk)[order], w, params, record,
                                    activations=activations, head=head, alpha=alpha,
                                    dropout=self.dropout, t=t, part=b)
            grads = {k: to_numpy(g) for k, g in grads.items()}
            params, state = optimizer.update(params, grads, state, t)
            return params, state, None if cost is None else float(to_numpy(cost))
        return step
