"""The trainable parameters living in one flat buffer (each layer's W, b, γ, β a view of it), so
that an optimizer's arithmetic runs once a step over the buffer instead of once per array: on a
GPU one launch per operation instead of one per operation and array, on the CPU one NumPy call.
Every optimizer of :mod:`xpnn.optimizers` runs unchanged (it sees one array named "theta")."""

from __future__ import annotations

import math

from .backend import namespace
from .normalization import running_averages, trainable


def init_state(optimizer, params, state=None):
    """The training state over the trainable parameters living in one flat buffer: {"theta":
    the buffer, "inner": the optimizer's state over it}. ``state`` (a previous fit's) keeps its
    optimizer moments; the buffer is always packed afresh from ``params`` (once a fit)."""
    theta = _pack(trainable(params))
    if not (isinstance(state, dict) and "inner" in state):
        return {"theta": theta, "inner": optimizer.init({"theta": theta})}
    return {"theta": theta, "inner": state["inner"]}


def update(params, grads, state, t, optimizer, batch_moments=None, momentum=0.9):
    """The optimizer's step on the trainable parameters, in one pass over their flat buffer (one
    concatenation of the gradients, then the optimizer's arithmetic once, not once per array:
    launches on a GPU, calls on the CPU), and, with batch norm, the running statistics' step
    towards ``batch_moments`` (see :mod:`xpnn.normalization`). The new parameters are views of
    the new buffer. Each element sees the optimizer's own arithmetic: results are those of a
    per-array update, bit for bit."""
    like = trainable(params)
    grads = {"dtheta": _pack({k: grads[f"d{k}"] for k in like})}
    flat, inner = optimizer.update({"theta": state["theta"]}, grads, state["inner"], t)
    theta = flat["theta"]
    new = {**params, **_views(theta, like)}
    if batch_moments:
        new.update(running_averages(params, batch_moments, momentum, t))
    return new, {"theta": theta, "inner": inner}


def _pack(tree):
    """The arrays of ``tree`` end to end in one 1-D buffer (one concatenation), in the order of
    their sorted names: the one order a dict has everywhere (JAX rebuilds the dicts a compiled
    step receives with sorted keys)."""
    xp = namespace(*tree.values())
    return xp.concat([xp.reshape(tree[k], (-1,)) for k in sorted(tree)])


def _views(theta, like):
    """{name: view of ``theta`` shaped like ``like[name]``} (no copies), the names in ``like``'s
    order, the buffer in their sorted order (see :func:`_pack`)."""
    xp, views, start = namespace(theta), {}, 0
    for k in sorted(like):
        size = math.prod(like[k].shape)
        views[k] = xp.reshape(theta[start:start + size], tuple(like[k].shape))
        start += size
    return {k: views[k] for k in like}
