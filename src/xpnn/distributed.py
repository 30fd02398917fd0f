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

import threading
import uuid

import numpy as np

from .backend import backend_of, move_tree, rng_from, to_numpy, uniform_sampler
from .gradcheck import flatten, unflatten
from .network import forward, l2_penalty
from .normalization import check_batch_size, is_normalized, trainable
from ._flat import _pack, _views, update
from .training import dropout_masks, gradients, loop, options_of

__all__ = ["local_client", "train", "FullBatch", "Streamed"]


def local_client(n_workers=None, *, gpu=False, **kwargs):
    """Start a local cluster (single-threaded worker processes, one per core or ``n_workers``)
    and return its ``dask.distributed.Client``; ``client.shutdown()`` stops the cluster.
    ``gpu=True`` starts dask-cuda's LocalCUDACluster instead, one worker per GPU."""
    from dask.distributed import Client

    if gpu:
        from dask_cuda import LocalCUDACluster

        return Client(LocalCUDACluster(**kwargs))
    return Client(n_workers=n_workers, threads_per_worker=1, **kwargs)


def train(X_rows, Y_rows, params, activations, options=None, *, sample_weight=None, state=None, t=0,
          **settings):
    """Train on a Dask X (m, n_x) chunked along rows, host targets Y (m, k) (0/1 for sigmoid,
    one-hot for softmax, values for identity) and optional host weights (m,), through
    :func:`xpnn.training.loop` as ``options`` say (a :class:`xpnn.training.Options`, or its fields
    as keywords; ``shuffle`` aside: chunks stream in order). ``early_stopping`` holds host arrays
    (course notation). Returns a :class:`xpnn.training.Result`; parameters stay NumPy arrays.
    """
    options = options_of(options, settings)
    check_batch_size(params, options.batch_size)
    rng = rng_from(options.random_state)
    params = {k: np.asarray(v) for k, v in params.items()}
    hidden = [params[f"W{l}"].shape[0] for l in range(1, len(activations))]
    dropout = options.dropout
    rates = None if dropout is None or not any(dropout) else list(dropout)
    seed = None if rates is None else int(rng.integers(2**63))
    kind = FullBatch if options.batch_size is None else Streamed
    source = kind(X_rows, Y_rows, sample_weight, options.batch_size, (rates, hidden, seed))
    return loop(source, params, activations, options, rng=rng,
                state=None if state is None else move_tree(state), t=t)


def _masks(dropout, X, t, part):
    """Dropout masks for the step ``t`` on one chunk (``part``) of X (n_x, m_c), from a seed
    derived from (seed, t, part): reproducible, and the same when a step is replayed."""
    rates, hidden, seed = dropout
    if rates is None:
        return None
    sampler = uniform_sampler(X, int(np.random.SeedSequence([seed, t, part]).generate_state(1)[0]))
    return dropout_masks(sampler, rates, hidden, X.shape[1], X)


_ON_DEVICE: dict = {}  # this process's copies of the current step's parameters, by device and dtype
_ON_DEVICE_LOCK = threading.Lock()


def _params_on(params, be, dtype, step):
    """The step's parameters on ``be``, sent once per step and device in each process (its chunk
    tasks share them; another step's copies are dropped), as one buffer (one transfer, the
    arrays views of it). ``step``: the step's token (None: not shared)."""
    if step is None:
        return _upload(params, be, dtype)
    key = (step, str(be.device), dtype)
    with _ON_DEVICE_LOCK:
        if key not in _ON_DEVICE:
            for old in [k for k in _ON_DEVICE if k[0] != step]:
                del _ON_DEVICE[old]
            _ON_DEVICE[key] = _upload(params, be, dtype)
        return _ON_DEVICE[key]


def _upload(params, be, dtype):
    return _views(be.asarray(_pack(params), dtype=dtype), params)


def _on_chunk(X_rows, Y_rows, w, params, options):
    """The chunk in course notation on its backend: X, Y, S, the parameters, the dropout masks,
    and ``options`` for :func:`xpnn.training.gradients` (batch-norm statistics and sums moved to
    the chunk's backend)."""
    be = backend_of(X_rows)
    X, Y = X_rows.T, be.asarray(to_numpy(Y_rows).T, dtype=X_rows.dtype)
    S = None if w is None else be.asarray(np.reshape(to_numpy(w), (1, -1)), dtype=X_rows.dtype)
    device = _params_on(params, be, str(X_rows.dtype), options.pop("step", None))
    masks = _masks(options.pop("dropout"), X, options.pop("t"), options.pop("part"))
    for name in ("moments", "sums"):
        options[name] = None if options.get(name) is None else move_tree(options[name], be, str(X_rows.dtype))
    return X, Y, S, device, masks, options


def _chunk_gradients(X_rows, Y_rows, w, params, record, **options):
    """The chunk's (grads, cost, batch-norm statistics) from the core."""
    X, Y, S, device, masks, options = _on_chunk(X_rows, Y_rows, w, params, options)
    return gradients(device, X, Y, S, masks, record=record, **options)


def _share(X_rows, w, total_weight):
    """The chunk's weight over the whole batch's."""
    return (X_rows.shape[0] if w is None else float(np.sum(to_numpy(w)))) / total_weight


def _chunk_contribution(X_rows, Y_rows, w, params, total_weight, **options):
    """One chunk's share of the full-batch gradient and cost, as one flat host vector: (chunk
    weight / total weight) * [grads..., cost] of the chunk's own weighted mean cost, so the
    chunks sum to the full batch's."""
    grads, cost, _ = _chunk_gradients(X_rows, Y_rows, w, params, True, alpha=0.0, **options)
    vector = np.concatenate([to_numpy(flatten({k: grads[f"d{k}"] for k in trainable(params)})),
                             np.atleast_1d(to_numpy(cost))])
    return vector.astype(np.float64) * _share(X_rows, w, total_weight)


def _chunk_moments(X_rows, Y_rows, w, params, total_weight, *, layer, activations, head, **options):
    """(the chunk's share, μ, σ²) of batch-normalised layer ``layer`` on the chunk, the layers
    below it normalised with the whole batch's statistics (``moments``)."""
    X, _, S, device, masks, options = _on_chunk(X_rows, Y_rows, w, params, options)
    _, caches = forward(X, device, activations[:layer], masks, S=S, training=True, moments=options["moments"])
    mean, var = caches[-1][2][2:]
    return _share(X_rows, w, total_weight), to_numpy(mean), to_numpy(var)


def _chunk_sums(X_rows, Y_rows, w, params, total_weight, *, layer, **options):
    """The chunk's share of the whole batch's (dβ, dγ) of batch-normalised layer ``layer``, the
    layers above it given the whole batch's (``sums``), as one flat host vector."""
    grads, _, _ = _chunk_gradients(X_rows, Y_rows, w, params, False, alpha=0.0, **options)
    vector = np.concatenate([to_numpy(grads[f"dbeta{layer}"])[:, 0], to_numpy(grads[f"dgamma{layer}"])[:, 0]])
    return vector.astype(np.float64) * _share(X_rows, w, total_weight)


def _combined_moments(parts):
    """The whole batch's (μ, σ²) from its chunks' (share, μ_c, σ²_c): μ = Σ share μ_c and
    σ² = Σ share (σ²_c + (μ_c - μ)²), the chunks' sums combined without cancellation (Chan et
    al.'s parallel variance)."""
    mean = sum(share * m for share, m, _ in parts)
    return mean, sum(share * (v + (m - mean) ** 2) for share, m, v in parts)


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
    def steps(batch):
        return 1

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
        blocks = zip(X_rows.to_delayed().ravel(), y_blocks, w_blocks, X_rows.chunks[0])
        self.blocks = [(x, y, w) for x, y, w, rows in blocks if rows > 0]  # an empty chunk adds nothing

    def epoch(self, rng):
        yield None

    def stepper(self, *, activations, head, alpha, optimizer, momentum):
        def step(params, state, t, batch, record):
            shared = _delayed(params)  # one key, sent once per worker, and to each device once
            options = dict(activations=activations, head=head, dropout=self.dropout, t=t,
                           step=uuid.uuid4().hex)
            moments, sums = self._batch_norm(shared, params, options)
            total = self._compute(_tree_sum(self._map(_chunk_contribution, shared, moments=moments, sums=sums,
                                                      **options)), t)
            grads = unflatten(total[:-1], trainable(params))
            grads = {f"d{k}": g.astype(params[k].dtype) for k, g in grads.items()}
            cost = float(total[-1])
            if alpha:  # the L2 term over all the examples (their total weight), added on the client
                grads = {k: g + (alpha / self.total_weight) * params[k[1:]] if k[1] == "W" else g
                         for k, g in grads.items()}
                cost += float(l2_penalty(params, alpha, self.total_weight))
            moments = {l: tuple(v.astype(params["W1"].dtype) for v in ms) for l, ms in moments.items()}
            new_params, state = update(params, grads, state, t, optimizer, moments, momentum)
            return new_params, state, cost
        return step

    def _map(self, function, shared, **options):
        """``function`` on every chunk, delayed."""
        import dask

        return [dask.delayed(function)(xb, yb, wb, shared, self.total_weight, part=i, **options)
                for i, (xb, yb, wb) in enumerate(self.blocks)]

    def _compute(self, delayed, t):
        import dask

        try:
            (value,) = dask.compute(delayed)
        except Exception as exc:
            raise RuntimeError(f"Dask failed in step {t} ({type(exc).__name__}: {exc}); a worker "
                               "may have died or run out of memory. The estimator was not "
                               "changed; fit again, or give the workers more memory.") from exc
        return value

    def _batch_norm(self, shared, params, options):
        """Synchronised batch norm: the whole batch's statistics of each normalised layer, bottom
        up (each a round over the chunks, given those below), then its backward sums (dβ, dγ),
        top down (given those above): the chunks then compute their exact shares of the whole
        batch's gradient. No rounds without batch norm."""
        layers = [l for l in range(1, len(options["activations"])) if is_normalized(params, l)]
        moments, sums = {}, {}
        for l in layers:
            rounds = self._map(_chunk_moments, shared, layer=l, moments=dict(moments), **options)
            parts = self._compute(rounds, options["t"])
            moments[l] = _combined_moments(parts)
        for l in reversed(layers):
            total = self._compute(_tree_sum(self._map(_chunk_sums, shared, layer=l, moments=moments,
                                                      sums=dict(sums), **options)), options["t"])
            half = total.shape[0] // 2
            sums[l] = (total[:half, None], total[half:, None])
        return moments, sums


def _delayed(value):
    import dask

    return dask.delayed(value, traverse=False)


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

    def stepper(self, *, activations, head, alpha, optimizer, momentum):
        import dask

        def step(params, state, t, batch, record):
            b, order, w = batch.index
            # one batch in memory
            X_chunk, Y_chunk = dask.compute(self.X_rows.blocks[b], self.Y_rows.blocks[b])
            be = backend_of(X_chunk)
            X_chunk = be.xp.take(X_chunk, be.asarray(order), axis=0)
            grads, cost, moments = _chunk_gradients(X_chunk, to_numpy(Y_chunk)[order], w, params, record,
                                                    activations=activations, head=head, alpha=alpha,
                                                    dropout=self.dropout, t=t, part=b)
            moments = move_tree(moments)
            params, state = update(params, move_tree(grads), state, t, optimizer, moments, momentum)
            return params, state, None if cost is None else float(to_numpy(cost))
        return step
