"""The course's L-layer network as pure functions, in course notation.

X (n_x, m), Y (k, m), W[l] (n[l], n[l-1]), b[l] (n[l], 1). Hidden layers use any activation
of the registry; the output layer is a *head* (:mod:`xpnn.heads`): k sigmoid units with binary
cross-entropy (the course's, k = 1), softmax with categorical cross-entropy, or identity with
half the squared error. Logistic regression is the L = 1 case of the same code. Optional
per-example weights S (1, m) make the cost Σ S·loss / Σ S. Hidden layers may be
batch-normalised (:mod:`xpnn.normalization`: γ[l], β[l] in place of b[l]). Every function takes its namespace
from its arguments and runs unchanged on NumPy, CuPy, torch and array_api_strict.
"""

from __future__ import annotations

import numbers
import operator

from ._layout import elementwise
from .activations import Activation, get_activation
from .backend import namespace, read_scalars, samples_as_rows, samples_contiguous
from .heads import cost_from_logits, cost_gradient, get_head, total_weight
from .normalization import folded, is_normalized, normalize, normalize_backward
from .optimizers import gd

__all__ = ["layer_activations", "n_layers", "layer_product", "backward_product", "linear_forward", "forward",
           "batch_moments", "backward", "l2_penalty", "cost", "decision_function", "predict_proba", "step",
           "all_finite", "examples"]


def layer_activations(n_layers, hidden="relu", head="sigmoid"):
    """The L activations of a net: ``hidden`` (a name, or one per hidden layer), then the output
    activation of ``head`` (its derivative is never needed: the head gives dZ[L] directly)."""
    names = [hidden] * (n_layers - 1) if isinstance(hidden, str) else list(hidden)
    if len(names) != n_layers - 1:
        raise ValueError(f"need {n_layers - 1} hidden activations for {n_layers} layers; got {names}")
    return [get_activation(name) for name in names] + [Activation(get_head(head).activation, None)]


def n_layers(params):
    """L, the number of weight layers in ``params``."""
    return sum(k[0] == "W" for k in params)


def layer_product(W, A_prev, workspace=None, key=None):
    """W @ A_prev (n[l], m), a fresh array (or, with a training step's ``workspace``, its array
    for ``key``: see :func:`xpnn.backend.workspace_for`). When A_prev is the estimators' transposed
    view of row-major samples, :func:`xpnn.backend.samples_as_rows` may choose (A_prev.T @ W.T).T:
    the same product with the samples as the BLAS call's rows, faster for thin layers on OpenBLAS."""
    if samples_as_rows(A_prev, W):
        return _product(A_prev.T, W.T, workspace, key).T
    return _product(W, A_prev, workspace, key)


def backward_product(W, dZ, Z_prev, workspace=None, key=None):
    """dA[l-1] = W[l].T @ dZ[l] (n[l-1], m), a fresh array (or the ``workspace``'s, as in
    :func:`layer_product`) laid out like Z[l-1] (see :func:`xpnn.backend.samples_contiguous`),
    so that multiplying g'(Z[l-1]) into it in place runs along memory. With one output unit it is
    an outer product, formed by broadcasting (the same single products, exactly, without a
    matrix product of inner size 1)."""
    if samples_contiguous(Z_prev):  # (m, n[l-1]) rows, as a view
        return (_outer(dZ.T, W, workspace, key) if W.shape[0] == 1 else _product(dZ.T, W, workspace, key)).T
    return _outer(W.T, dZ, workspace, key) if W.shape[0] == 1 else _product(W.T, dZ, workspace, key)


def _product(a, b, workspace, key):
    return a @ b if workspace is None else workspace.matmul(key, a, b)


def _outer(a, b, workspace, key):
    return a * b if workspace is None else workspace.apply(key, "multiply", a, b)


def linear_forward(A_prev, W, b, workspace=None, key=None):
    """Z = W @ A_prev + b.  A_prev (n[l-1], m), W (n[l], n[l-1]), b (n[l], 1) -> Z (n[l], m).

    b is added in place into the fresh product of :func:`layer_product` (on immutable arrays,
    such as JAX's, ``+=`` makes a new one)."""
    Z = layer_product(W, A_prev, workspace, key)
    Z += b
    return Z


def forward(X, params, activations, masks=None, *, S=None, training=False, moments=None, workspace=None):
    """Forward pass.  X (n_x, m) -> (AL (k, m), caches); caches[l-1] = (A[l-1], Z[l]), Z[l] the
    activation's input, and for a batch-normalised layer in training (A[l-1], Z̃[l], norm) with
    norm = (Ẑ, 1/√(σ² + ε), μ, σ²) (see :mod:`xpnn.normalization`).

    ``masks`` (training with dropout only): one array (n[l], m) per hidden layer (or None for a
    layer without dropout), 0 or 1/keep_prob, multiplied into A[l] (inverted dropout).
    ``training``: batch-normalised layers use the batch's statistics (weighted by S (1, m) when
    given; or ``moments`` {l: (μ, σ²)} when given, those of a larger batch), else (inference)
    their running statistics; nets without batch norm ignore it. ``workspace``: a training
    step's (:func:`xpnn.backend.workspace_for`), whose arrays Z[l] and A[l] are written again by
    the next step's forward pass."""
    _check_layout(X, params)
    A, caches, share = X, [], None
    L = len(activations)
    for l, activation in enumerate(activations, start=1):
        if training and is_normalized(params, l):
            share = _share(X, S) if share is None else share
            Z, norm = normalize(layer_product(params[f"W{l}"], A), params[f"gamma{l}"], params[f"beta{l}"],
                                None if S is None else share, None if moments is None else moments.get(l))
            caches.append((A, Z, norm))
        else:
            Z = linear_forward(A, *folded(params, l), workspace, ("Z", l))
            caches.append((A, Z))
        A = activation.forward(Z) if workspace is None or activation.into is None else \
            activation.into(Z, workspace, ("A", l))
        if masks is not None and l < L and masks[l - 1] is not None:
            A = A * masks[l - 1]
    return A, caches


def _check_layout(X, params, Y=None):
    """ValueError naming the course's layout when X is not (n_x, m) or Y not (k, m): shapes only,
    no data read (a transposed Y (m, 1) would otherwise broadcast to (m, m) in silence)."""
    n_x, k = params["W1"].shape[1], params[f"W{n_layers(params)}"].shape[0]
    if len(X.shape) != 2 or X.shape[0] != n_x:
        hint = ": pass X.T" if len(X.shape) == 2 and X.shape[1] == n_x else ""
        raise ValueError(f"X must be (n_x, m) = ({n_x}, m) in the course's layout (one column per "
                         f"example); got {tuple(X.shape)}{hint}")
    if Y is not None and tuple(Y.shape) != (k, X.shape[1]):
        hint = ": pass Y.T" if tuple(Y.shape) == (X.shape[1], k) else ""
        raise ValueError(f"Y must be ({k}, {X.shape[1]}) (k, m): one column per example of X; got "
                         f"{tuple(Y.shape)}{hint}")


def _share(X, S):
    """Each example's share of the batch statistics: 1/m, or S / Σ S (1, m) (zeros for a batch
    whose weights are all 0, as in the cost: see :func:`xpnn.heads.total_weight`)."""
    return 1.0 / X.shape[1] if S is None else S / total_weight(S)


def batch_moments(caches):
    """{l: (μ, σ²)}: the batch statistics of the normalised layers of a training forward pass."""
    return {l: cache[2][2:] for l, cache in enumerate(caches, start=1) if len(cache) == 3}


def backward(AL, Y, caches, params, activations, *, head="sigmoid", S=None, alpha=0.0, masks=None,
             sums=None, workspace=None):
    """Gradients {"dW1", "db1", ...} of the head's cost (mean, or weighted by S (1, m)), plus
    the L2 term alpha/m W[l] in dW[l] when alpha > 0 (m: Σ S with weights, so integer weights
    equal repeated examples); with dropout ``masks`` (those of the forward pass) dA[l] is masked
    the same way. A batch-normalised layer (a training forward pass) gives dgamma[l] and
    dbeta[l] instead of db[l]; ``sums`` {l: (dβ, dγ)} of a larger batch replace the batch's own
    (see :func:`xpnn.normalization.normalize_backward`). dA of the input X is never formed;
    with a training step's ``workspace`` (see :func:`forward`) each dA[l] is its array."""
    xp = namespace(AL, Y)
    if tuple(Y.shape) != tuple(AL.shape):
        hint = ": pass Y.T" if tuple(Y.shape) == tuple(AL.shape)[::-1] else ""
        raise ValueError(f"Y must be {tuple(AL.shape)} like AL (k, m), one column per example; got "
                         f"{tuple(Y.shape)}{hint}")
    L, m = len(caches), examples(AL.shape[1], S)
    dZ = cost_gradient(AL, Y, head, S)  # 1/m (or S / Σ S) applied once, here
    grads, share = {}, None
    for l in range(L, 0, -1):
        A_prev = caches[l - 1][0]
        if is_normalized(params, l):  # batch-normalised: dZ̃ -> dZ, and dγ, dβ
            share = _share(AL, S) if share is None else share
            dZ, grads[f"dgamma{l}"], grads[f"dbeta{l}"] = normalize_backward(
                dZ, caches[l - 1][2], params[f"gamma{l}"], share, None if sums is None else sums.get(l))
        else:
            grads[f"db{l}"] = xp.sum(dZ, axis=1, keepdims=True)
        grads[f"dW{l}"] = dZ @ A_prev.T
        if alpha:
            grads[f"dW{l}"] = _ADD_L2(grads[f"dW{l}"], _per_example(alpha, m), params[f"W{l}"])
        if l > 1:
            Z_prev = caches[l - 2][1]
            dA = backward_product(params[f"W{l}"], dZ, Z_prev, workspace, ("dA", l - 1))
            mask, g = None if masks is None else masks[l - 2], activations[l - 2]
            if mask is not None:  # A_prev was masked: the derivative recomputes g(Z) rather than reuse it
                dA *= mask
                A_prev = None
            if workspace is not None and g.backward_into is not None:
                dZ = g.backward_into(dA, Z_prev, A_prev, workspace, ("mask", l - 1))
            elif g.backward is not None:  # dA g'(Z) as one fused kernel
                dZ = g.backward(dA, Z_prev, A_prev)
            else:
                dA *= g.derivative(Z_prev, A_prev)
                dZ = dA  # dA, a fresh product, was multiplied in place
    return grads


def examples(m, S=None):
    """How many examples a batch of m counts as: m, or Σ S with per-example weights S (1, m)."""
    return m if S is None else namespace(S).sum(S)


def l2_penalty(params, alpha, m):
    """The L2 term of the cost, alpha/(2m) Σ_l ||W[l]||² (biases are not penalised); m is
    :func:`examples` of the batch."""
    return _per_example(alpha / 2, m) * _squared_weights(params)


def with_l2(cost, params, alpha, m):
    """``cost + l2_penalty(params, alpha, m)``, the scaling and the sum as one fused kernel."""
    return _ADD_SCALED(cost, _per_example(alpha / 2, m), _squared_weights(params))


def _squared_weights(params):
    """Σ_l ||W[l]||², one dot product per layer (scikit-learn's ``np.dot(s.ravel(), s.ravel())``)."""
    xp = namespace(*params.values())
    squares = [w @ w for w in (xp.reshape(W, (-1,)) for k, W in params.items() if k[0] == "W")]
    total = squares[0]
    for square in squares[1:]:
        total = total + square
    return total


_ADD_SCALED = elementwise(lambda xp, a, c, b: a + c * b, "xpnn_add_scaled")  # a + c b, one kernel


# dW + (alpha/m) W, dW a product just made: on NumPy added into it
_ADD_L2 = elementwise(lambda xp, g, c, W: g + c * W, "xpnn_add_l2", lambda g, c, W: operator.iadd(g, c * W))


def _per_example(alpha, m):
    """alpha / m; 0 for a mini-batch whose weights are all 0 (m = Σ S = 0 on the device), which
    then trains nothing, the L2 term included."""
    if isinstance(m, numbers.Real):  # a host number (NumPy's sums are host scalars)
        return alpha / m if m > 0 else 0.0
    xp = namespace(m)
    return xp.where(m > 0, alpha / xp.maximum(m, xp.finfo(m.dtype).smallest_normal), 0.0)


def cost(X, Y, params, activations, *, head="sigmoid", S=None, alpha=0.0, masks=None):
    """The head's training cost of the net on (X, Y) (weighted by S when given, plus the L2 term
    when alpha > 0, through the dropout ``masks`` when given; batch norm with the batch's
    statistics), a 0-d device array."""
    _check_layout(X, params, Y)
    _, caches = forward(X, params, activations, masks, S=S, training=True)
    total = cost_from_logits(caches[-1][1], Y, head, S)
    return with_l2(total, params, alpha, examples(X.shape[1], S)) if alpha else total


def decision_function(X, params, activations):
    """Logits Z[L] (k, m) of the output units."""
    _, caches = forward(X, params, activations)
    return caches[-1][1]


def predict_proba(X, params, activations):
    """The output activation A[L] (k, m): P(y = 1 | x) for sigmoid units, class probabilities
    for softmax, the prediction itself for identity."""
    return forward(X, params, activations)[0]


def step(X, Y, params, activations, learning_rate, *, head="sigmoid", S=None, workspace=None):
    """One batch gradient-descent step: forward, backward, update — what
    :func:`xpnn.training.train` runs each iteration.  Returns (new params, grads, Z[L] of the
    forward pass before the update). With a ``workspace`` (:func:`xpnn.backend.workspace_for`,
    the same one every step, as training passes it) the step's large arrays are reused, and the
    returned Z[L] is the workspace's: the next step writes it again."""
    AL, caches = forward(X, params, activations, workspace=workspace)
    grads = backward(AL, Y, caches, params, activations, head=head, S=S, workspace=workspace)
    return gd(learning_rate).update(params, grads, (), 1)[0], grads, caches[-1][1]


def all_finite(params):
    """True when every parameter is finite (one device-to-host read for all of them)."""
    xp = namespace(*params.values())
    everything = xp.all(xp.stack([xp.all(xp.isfinite(p)) for p in params.values()]))
    return read_scalars(xp.astype(everything, params["W1"].dtype))[0] == 1.0
