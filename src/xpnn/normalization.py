"""Batch normalization (course 2, week 3) as pure functions, in course notation.

A batch-normalised hidden layer l has no bias b[l]: its pre-activation is

    Z = W[l] A[l-1];  μ, σ² = the batch's (weighted) mean and variance of Z, per unit;
    Ẑ = (Z - μ) / √(σ² + ε);  Z̃ = γ[l] Ẑ + β[l];  A[l] = g(Z̃)

with γ[l], β[l] (n[l], 1) learned ("gamma{l}", "beta{l}" in the parameter dict), and running
averages of μ and σ² ("mean{l}", "var{l}") used in their place at inference, so that a row's
prediction never depends on the batch it comes in. Per-example weights S (1, m) weight the
statistics too (integer weights equal repeated examples; rows of weight 0 do not count).

The running averages are the course's exponentially weighted averages with bias correction:
after step t, mean <- mean + (μ - mean) (1 - β)/(1 - β^t), which is v_t / (1 - β^t) of the
course's v_t = β v_{t-1} + (1 - β) μ: the first step takes the batch's statistics as they are,
so no zero start drags the averages. σ² is the biased (population) variance, as in the course.
"""

from __future__ import annotations

from ._layout import elementwise
from .backend import namespace

__all__ = ["parameter_shapes", "add_batch_norm", "trainable", "is_normalized", "moments", "normalize",
           "normalize_backward", "folded", "running_averages", "statistics", "normalized_layers"]

EPSILON = 1e-5            # ε inside √(σ² + ε)
STATISTICS = ("mean", "var")  # the running averages: state carried with the parameters, not trained


def is_normalized(params, l):
    """True when layer ``l`` of ``params`` is batch-normalised (it has γ[l]): the one place, with
    :func:`normalized_layers`, that reads batch norm from the parameters' names."""
    return f"gamma{l}" in params


def normalized_layers(params):
    """The batch-normalised layers of ``params``, in order (empty for a plain net)."""
    return sorted(int(k[len("gamma"):]) for k in params if k.startswith("gamma"))


def trainable(params):
    """The parameters an optimizer updates: all but the running statistics."""
    return {k: v for k, v in params.items() if not k.startswith(STATISTICS)}


def parameter_shapes(dims, batch_norm=False):
    """{"W1": (n1, n_x), "b1": (n1, 1), ...} of a net with layer sizes ``dims`` = [n_x, n1, ...,
    nL]; with ``batch_norm``, each hidden layer has gamma, beta, mean and var (n[l], 1) instead
    of b[l]. The order is :func:`add_batch_norm`'s."""
    shapes, L = {}, len(dims) - 1
    for l in range(1, L + 1):
        shapes[f"W{l}"] = (dims[l], dims[l - 1])
        names = ("gamma", "beta", *STATISTICS) if batch_norm and l < L else ("b",)
        shapes.update({f"{name}{l}": (dims[l], 1) for name in names})
    return shapes


def check_batch_size(params, batch_size, m=None):
    """ValueError for batches of one example with batch norm (mini-batches of one, or a full
    batch of one sample): a batch of one has no variance, so its normalised values are all 0 and
    its statistics are no estimate. (A trailing mini-batch of one is merged into the batch before
    it: see :class:`xpnn.training.ArraySource`.)"""
    if not normalized_layers(params):
        return
    if batch_size == 1 or m == 1:
        what = "batch_size=1" if batch_size == 1 else "a full batch of 1 sample"
        raise ValueError("batch_norm needs mini-batches of at least 2 examples: a batch of one sample "
                         f"has no variance ({what}); use a larger batch_size, more samples, or "
                         "batch_norm=False")


def add_batch_norm(params):
    """``params`` of a plain net with every hidden layer batch-normalised instead: its b[l]
    replaced by γ[l] = 1, β[l] = 0 and the running statistics mean[l] = 0, var[l] = 1 (the
    output layer keeps its bias). Weights are kept as given (the same draws as without)."""
    xp = namespace(*params.values())
    L = sum(k[0] == "W" for k in params)
    out = {}
    for l in range(1, L + 1):
        out[f"W{l}"], b = params[f"W{l}"], params[f"b{l}"]
        if l == L:
            out[f"b{l}"] = b
        else:
            out[f"gamma{l}"], out[f"beta{l}"] = xp.ones_like(b), xp.zeros_like(b)
            out[f"mean{l}"], out[f"var{l}"] = xp.zeros_like(b), xp.ones_like(b)
    return out


def moments(Z, w=None):
    """(μ, σ², Z - μ): the mean and variance (n, 1) of Z (n, m) over its examples, weighted by
    ``w`` (1, m) summing to 1 when given."""
    xp = namespace(Z)
    if w is None:
        mean = xp.mean(Z, axis=1, keepdims=True)
        centred = Z - mean
        return mean, xp.mean(centred * centred, axis=1, keepdims=True), centred
    mean = xp.sum(Z * w, axis=1, keepdims=True)
    centred = Z - mean
    return mean, xp.sum(centred * centred * w, axis=1, keepdims=True), centred


def normalize(Z, gamma, beta, w=None, given=None):
    """Training: (Z̃, norm) with the batch's statistics (or ``given`` (μ, σ²): those of a larger
    batch, as Dask's synchronised batch norm passes them); norm = (Ẑ, 1/√(σ² + ε), μ, σ²) is
    what :func:`normalize_backward` and the running averages need."""
    if given is None:
        mean, var, centred = moments(Z, w)
    else:
        (mean, var), centred = given, Z - given[0]
    inv_std = _INV_STD(var, EPSILON)
    Zhat = centred * inv_std
    return _AFFINE(gamma, Zhat, beta), (Zhat, inv_std, mean, var)


def normalize_backward(dZt, norm, gamma, w, sums=None):
    """(dZ, dγ, dβ) from dZ̃ (n, m) of a cost that is a (weighted) mean over the batch.

    With dẐ = γ dZ̃, Σ dẐ = γ dβ and Σ dẐ Ẑ = γ dγ, the chain rule through μ and σ² gives

        dZ = γ/√(σ² + ε) (dZ̃ - w (dβ + Ẑ dγ))

    with w the examples' share of the batch statistics (1/m, or S/ΣS). ``sums`` (dβ, dγ) of
    the whole batch replace this part's own when the batch is cut in parts (Dask: the parts'
    sums, added), so that each part's dZ is its share of the whole batch's.
    """
    xp = namespace(dZt)
    Zhat, inv_std = norm[0], norm[1]
    dgamma = xp.sum(dZt * Zhat, axis=1, keepdims=True)
    dbeta = xp.sum(dZt, axis=1, keepdims=True)
    total_beta, total_gamma = (dbeta, dgamma) if sums is None else sums
    return _NORMALIZE_BACKWARD(gamma, inv_std, dZt, w, total_beta, Zhat, total_gamma), dgamma, dbeta


def folded(params, l):
    """(W, b) of layer l at inference: a normalised layer's running statistics, γ and β folded
    into its weights, W' = s W and b' = β - s mean with s = γ/√(var + ε) (the same affine map)."""
    if not is_normalized(params, l):
        return params[f"W{l}"], params[f"b{l}"]
    xp = namespace(params[f"W{l}"])
    scale = params[f"gamma{l}"] / xp.sqrt(params[f"var{l}"] + EPSILON)
    return scale * params[f"W{l}"], params[f"beta{l}"] - scale * params[f"mean{l}"]


def running_averages(params, batch_moments, momentum, t):
    """The running statistics after step ``t`` (1, 2, ...) saw ``batch_moments`` {l: (μ, σ²)}:
    bias-corrected exponentially weighted averages with β = ``momentum`` (see the module)."""
    rate = (1.0 - momentum) / (1.0 - momentum ** t)
    out = {}
    for l, (mean, var) in batch_moments.items():
        out[f"mean{l}"] = _TOWARDS(params[f"mean{l}"], rate, mean)
        out[f"var{l}"] = _TOWARDS(params[f"var{l}"], rate, var)
    return out


# The elementwise parts as one fused kernel each on CuPy (the same operations in the same order)
_INV_STD = elementwise(lambda xp, var, eps: 1.0 / xp.sqrt(var + eps), "xpnn_bn_inv_std")
_AFFINE = elementwise(lambda xp, gamma, Zhat, beta: gamma * Zhat + beta, "xpnn_bn_affine")
_NORMALIZE_BACKWARD = elementwise(
    lambda xp, gamma, inv_std, dZt, w, total_beta, Zhat, total_gamma:
    (gamma * inv_std) * (dZt - w * (total_beta + Zhat * total_gamma)), "xpnn_bn_backward")
_TOWARDS = elementwise(lambda xp, old, rate, new: old + rate * (new - old), "xpnn_bn_running_average")


def statistics(batch_moments):
    """{"mean{l}": μ, "var{l}": σ²} of ``batch_moments`` {l: (μ, σ²)}: running statistics set
    to one batch's (L-BFGS: the full batch's, for the final parameters)."""
    out = {}
    for l, (mean, var) in batch_moments.items():
        out[f"mean{l}"], out[f"var{l}"] = mean, var
    return out
