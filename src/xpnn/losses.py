"""Binary cross-entropy, computed stably from the logits of the last layer."""

from __future__ import annotations

from .backend import namespace, scalar


def binary_cross_entropy_from_logits(Z, Y):
    """Mean BCE of sigmoid(Z) against Y.  Z, Y (1, m) -> 0-d array (stays on the device).

    Uses -[y log s(z) + (1-y) log(1-s(z))] = max(z, 0) - z y + log1p(e^-|z|), finite for any z.
    """
    xp = namespace(Z, Y)
    m = Z.shape[-1]
    return xp.sum(xp.maximum(Z, scalar(0.0, Z)) - Z * Y + xp.log1p(xp.exp(-xp.abs(Z)))) / m


def binary_cross_entropy_grad(A, Y):
    """dZ[L] = A[L] - Y for a sigmoid output and BCE cost.  A, Y (1, m) -> (1, m)."""
    return A - Y
