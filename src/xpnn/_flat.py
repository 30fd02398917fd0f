"""The trainable parameters in one flat buffer (each layer's W, b, γ, β a view of it) where a
call is a kernel launch (:func:`xpnn._layout.calls_are_launches`: CuPy, torch on CUDA), so that
an optimizer's arithmetic runs once a step over the buffer: one launch per operation instead of
one per operation and array. Elsewhere (NumPy, torch on the CPU, array_api_strict, JAX's
compiled step, Dask's host parameters) the optimizer runs over the parameter dict, where a
call costs less than bundling would. Every optimizer of :mod:`xpnn.optimizers` runs unchanged
either way (over the buffer it sees one array named "theta"), with the same numbers bit for bit;
a state of one form continues in the other (a model fitted on a GPU, continued on the CPU)."""

from __future__ import annotations

import math

from ._layout import calls_are_launches
from .backend import namespace
from .normalization import running_averages, trainable


def init_state(optimizer, params, state=None):
    """The training state over the trainable parameters: on a launch-bound backend {"theta":
    the buffer, "inner": the optimizer's state over it}, packed afresh from ``params`` (once a
    fit); elsewhere the optimizer's own state over the parameter dict. ``state`` (a previous
    fit's, of either form) keeps its optimizer moments."""
    like = trainable(params)
    if not calls_are_launches(next(iter(like.values()))):
        if state is None:
            return optimizer.init(like)
        return _unpacked(state["inner"], like) if _is_flat(state) else state
    theta = _pack(like)
    if state is None:
        return {"theta": theta, "inner": optimizer.init({"theta": theta})}
    return {"theta": theta, "inner": state["inner"] if _is_flat(state) else _packed(state, like)}


def update(params, grads, state, t, optimizer, batch_moments=None, momentum=0.9):
    """The optimizer's step on the trainable parameters (in one pass over their flat buffer
    where the state is one: one concatenation of the gradients, then the optimizer's arithmetic
    once, and the new parameters views of the new buffer), and, with batch norm, the running
    statistics' step towards ``batch_moments`` (see :mod:`xpnn.normalization`). Each element
    sees the optimizer's own arithmetic: the two forms give the same numbers, bit for bit."""
    like = trainable(params)
    if _is_flat(state):
        dtheta = _pack({k: grads[f"d{k}"] for k in like})
        flat, inner = optimizer.update({"theta": state["theta"]}, {"dtheta": dtheta}, state["inner"], t)
        new, state = _views(flat["theta"], like), {"theta": flat["theta"], "inner": inner}
    else:
        new, state = optimizer.update(like, grads, state, t)
    new = {**params, **new}
    if batch_moments:
        new.update(running_averages(params, batch_moments, momentum, t))
    return new, state


def _is_flat(state):
    return isinstance(state, dict) and state.keys() == {"theta", "inner"}


def _packed(inner, like):
    """A per-array optimizer state ({name: leaf or tuple of leaves}, or a stateless ()) as the
    same state over the flat buffer."""
    if not isinstance(inner, dict):
        return inner

    def pack(*leaves):
        if isinstance(leaves[0], tuple):
            return tuple(pack(*parts) for parts in zip(*leaves))
        return _pack(dict(zip(sorted(like), leaves)))
    return {"theta": pack(*(inner[k] for k in sorted(like)))}


def _unpacked(inner, like):
    """A flat-buffer optimizer state as the same state per array (views of its buffers)."""
    if not isinstance(inner, dict):
        return inner

    def split(tree):
        if isinstance(tree, tuple):
            parts = [split(leaf) for leaf in tree]
            return {k: tuple(part[k] for part in parts) for k in like}
        return _views(tree, like)
    return split(inner["theta"])


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
