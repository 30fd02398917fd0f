"""L-BFGS written against the array API, so the parameters never leave the device.

:func:`minimize` runs the two-loop recursion (Nocedal & Wright, Algorithm 7.4) over the last
``memory`` steps, with a line search that satisfies the strong Wolfe conditions (Algorithms 3.5
and 3.6, cubic interpolation in the zoom). Its stopping rules are those of SciPy's L-BFGS-B,
which scikit-learn's MLP uses: the largest gradient component at most ``gtol``, a relative
reduction of f at most ``ftol``, ``max_iter`` iterations or ``max_fun`` evaluations.

The vectors stay on their device; what crosses to the host is two numbers per evaluation of f
(its value and the directional derivative, in one read) and the curvature of each accepted step,
read with them.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from .backend import namespace, read_scalars

FTOL = 2.220446049250313e-09  # SciPy's default: factr 1e7 times float64's machine epsilon


class Solution(NamedTuple):
    x: Any            # the final point, on the device
    f: float
    n_iter: int
    n_fun: int
    status: int       # 0 converged, 1 a limit was reached, 2 the line search failed
    message: str


def minimize(fg, x0, *, max_iter=15000, max_fun=15000, gtol=1e-5, ftol=FTOL, memory=10, callback=None):
    """Minimise f from ``x0`` (a 1-D device array); ``fg(x) -> (f, g)`` gives f as a 0-d array and
    its gradient like x. ``callback(n_iter, f)`` is called after each iteration (host float).
    Returns a :class:`Solution`."""
    xp = namespace(x0)
    x = x0
    f, g = fg(x)
    counter = _Counter(fg, max_fun)
    f_host, g_max = read_scalars(f, xp.max(xp.abs(g)))
    history = []  # (s, y, rho) of the last ``memory`` accepted steps
    for k in range(max_iter):
        if g_max <= gtol:
            return Solution(x, f_host, k, counter.n, 0, "CONVERGENCE: NORM OF PROJECTED GRADIENT <= PGTOL")
        if counter.exhausted:
            return Solution(x, f_host, k, counter.n, 1, "STOP: TOTAL NO. OF F,G EVALUATIONS EXCEEDS LIMIT")
        d = -_two_loop(g, history, xp)
        g_d = read_scalars(xp.sum(g * d))[0]
        if not g_d < 0:  # not a descent direction (a poor curvature pair): restart from -g
            history.clear()
            d, g_d = -g, -read_scalars(xp.sum(g * g))[0]
        first = 1.0 / math.sqrt(-g_d) if k == 0 else 1.0  # SciPy's first step: 1 / ||g||
        found = _line_search(counter, x, d, f_host, g_d, first)
        if found is None:
            return Solution(x, f_host, k, counter.n, 2, "ABNORMAL_TERMINATION_IN_LNSRCH")
        alpha, f_new, g_new, f_new_host = found
        s, y = alpha * d, g_new - g
        curvature, y_y, g_max = read_scalars(xp.sum(s * y), xp.sum(y * y), xp.max(xp.abs(g_new)))
        if curvature > 2.2e-16 * y_y:  # a pair that keeps H positive definite (else skipped)
            history.append((s, y, 1.0 / curvature))
            del history[:-memory]
        reduction = (f_host - f_new_host) / max(abs(f_host), abs(f_new_host), 1.0)
        x, f, g, f_host = x + s, f_new, g_new, f_new_host
        if callback is not None:
            callback(k + 1, f_host)
        if reduction <= ftol:
            return Solution(x, f_host, k + 1, counter.n, 0, "CONVERGENCE: REL_REDUCTION_OF_F <= FACTR*EPSMCH")
    return Solution(x, f_host, max_iter, counter.n, 1, "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT")


class _Counter:
    """``fg`` counted against ``max_fun``."""

    def __init__(self, fg, max_fun):
        self.fg, self.max_fun, self.n = fg, max_fun, 1  # the caller's first evaluation

    @property
    def exhausted(self):
        return self.n >= self.max_fun

    def __call__(self, x):
        self.n += 1
        return self.fg(x)


def _two_loop(g, history, xp):
    """H g for the L-BFGS inverse-Hessian estimate H of ``history`` (H = I without history)."""
    q, alphas = g, []
    for s, y, rho in reversed(history):
        a = rho * xp.sum(s * q)
        alphas.append(a)
        q = q - a * y
    if history:
        s, y, _ = history[-1]
        q = q * (xp.sum(s * y) / xp.sum(y * y))  # the scaling gamma of N&W (7.20)
    for (s, y, rho), a in zip(history, reversed(alphas)):
        q = q + s * (a - rho * xp.sum(y * q))
    return q


def _line_search(fg, x, d, f0, g0, alpha, c1=1e-4, c2=0.9, max_steps=20):
    """A step alpha along d with f(x + alpha d) <= f0 + c1 alpha g0 and |f'| <= c2 |g0| (strong
    Wolfe): (alpha, f, g, f as a host float), or None when none is found within the budget."""
    xp = namespace(x)

    def phi(a):
        f, g = fg(x + a * d)
        f_host, slope = read_scalars(f, xp.sum(g * d))
        return f, g, f_host, slope

    previous, f_prev, slope_prev = 0.0, f0, g0
    for i in range(max_steps):
        f, g, f_host, slope = phi(alpha)
        if not math.isfinite(f_host) or f_host > f0 + c1 * alpha * g0 or (i > 0 and f_host >= f_prev):
            return _zoom(phi, fg, f0, g0, (previous, f_prev, slope_prev), (alpha, f_host, slope), c1, c2)
        if abs(slope) <= -c2 * g0:
            return alpha, f, g, f_host
        if slope >= 0:
            return _zoom(phi, fg, f0, g0, (alpha, f_host, slope), (previous, f_prev, slope_prev), c1, c2)
        if fg.exhausted:
            return alpha, f, g, f_host  # the last sufficient step within the evaluation budget
        previous, f_prev, slope_prev, alpha = alpha, f_host, slope, 2.0 * alpha
    return None


def _zoom(phi, fg, f0, g0, low, high, c1, c2, max_steps=30):
    """Algorithm 3.6: shrink [low, high] (each (alpha, f, slope)) to a strong-Wolfe step."""
    best = None
    for _ in range(max_steps):
        alpha = _cubic_minimum(low, high)
        f, g, f_host, slope = phi(alpha)
        if not math.isfinite(f_host) or f_host > f0 + c1 * alpha * g0 or f_host >= low[1]:
            high = (alpha, f_host, slope)
        else:
            best = (alpha, f, g, f_host)
            if abs(slope) <= -c2 * g0:
                return best
            if slope * (high[0] - low[0]) >= 0:
                high = low
            low = (alpha, f_host, slope)
        if fg.exhausted or abs(high[0] - low[0]) <= 1e-12 * max(1.0, abs(low[0])):
            break
    return best  # a step with sufficient decrease, if any was found


def _cubic_minimum(low, high):
    """The minimiser of the cubic through both ends' values and slopes, kept inside the
    interval (bisection where the cubic gives nothing usable)."""
    (a, fa, da), (b, fb, db) = low, high
    lo, hi = min(a, b), max(a, b)
    if not all(math.isfinite(v) for v in (fa, fb, da, db)):
        return 0.5 * (a + b)
    d1 = da + db - 3 * (fa - fb) / (a - b)
    radicand = d1 * d1 - da * db
    if radicand < 0:
        return 0.5 * (a + b)
    d2 = math.copysign(math.sqrt(radicand), b - a)
    denominator = db - da + 2 * d2
    if denominator == 0:
        return 0.5 * (a + b)
    t = b - (b - a) * (db + d2 - d1) / denominator
    margin = 0.1 * (hi - lo)
    return min(max(t, lo + margin), hi - margin)
