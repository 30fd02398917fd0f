"""L-BFGS written against the array API, so the parameters never leave the device.

:func:`minimize` is SciPy's L-BFGS-B (Byrd, Lu, Nocedal & Zhu; the algorithm scikit-learn's MLP
uses) without bounds, step for step:

- the direction is the L-BFGS two-loop recursion (Nocedal & Wright, Algorithm 7.4) over the last
  ``memory`` pairs, scaled by the newest pair's s'y / y'y (L-BFGS-B's 1 / theta); with no pairs it
  is -g;
- the first trial step is 1 / ||d|| on the first iteration, 1 afterwards;
- the line search is Moré & Thuente's ``dcsrch`` (MINPACK-2) with L-BFGS-B's constants (ftol 1e-3,
  gtol 0.9, xtol 0.1, step in [0, 1e10]) and at most ``MAX_LINE_SEARCH`` evaluations; it ends at
  its last trial on convergence or on one of its warnings (rounding errors, the xtol test);
- a pair (s, y) enters the memory only when s'y > eps * (-s'g) (else it is skipped);
- a failed line search restores the previous point and restarts from -g with an empty memory;
  with the memory already empty it ends the run (``ABNORMAL_TERMINATION_IN_LNSRCH``);
- the stopping rules, in SciPy's order after each iteration: ``max_iter`` iterations, more than
  ``max_fun`` evaluations, max abs(g) <= ``gtol``, a relative reduction of f <= ``ftol``.

One addition, where SciPy's behaviour is undefined: a trial step whose loss or slope is not finite
(an overflow) is never handed to ``dcsrch``; the search halves the step towards its best point and
never goes that far again.

The vectors stay on their device; what crosses to the host is one read per evaluation of f: its
value, the slope along d, max abs(g) and, on a line search's first trial, the slope at its start and
||d||.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from .backend import namespace, read_scalars

__all__ = ["minimize", "Solution"]

FTOL = 2.220446049250313e-09  # SciPy's default: factr 1e7 times float64's machine epsilon
EPS = 2.220446049250313e-16   # float64's machine epsilon (L-BFGS-B's epsmch)
MAX_LINE_SEARCH = 20          # SciPy's maxls
STEP_MAX = 1e10               # L-BFGS-B's largest step without bounds
GRADIENT_SMALL = "CONVERGENCE: NORM OF PROJECTED GRADIENT <= PGTOL"  # SciPy's messages
REDUCTION_SMALL = "CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH"
NOT_FINITE = "ABNORMAL: THE LOSS OR ITS GRADIENT IS NOT FINITE AT THE START"  # xpnn's own


class Solution(NamedTuple):
    x: Any            # the final point, on the device
    f: float
    n_iter: int
    n_fun: int
    status: int       # 0 converged, 1 a limit was reached, 2 the line search failed or f is not finite
    message: str


def minimize(fg, x0, *, max_iter=15000, max_fun=15000, gtol=1e-5, ftol=FTOL, memory=10, callback=None):
    """Minimise f from ``x0`` (a 1-D device array); ``fg(x) -> (f, g)`` gives f as a 0-d array and
    its gradient like x. ``callback(n_iter, f)`` is called after each iteration (host float).
    Returns a :class:`Solution`."""
    xp = namespace(x0)
    x = x0
    f, g = fg(x)
    f_host, g_max = read_scalars(f, xp.max(xp.abs(g)))
    n_iter, n_fun = 0, 1
    if not (math.isfinite(f_host) and math.isfinite(g_max)):
        return Solution(x, f_host, 0, n_fun, 2, NOT_FINITE)
    if g_max <= gtol:
        return Solution(x, f_host, 0, n_fun, 0, GRADIENT_SMALL)
    history = []  # (s, y, 1 / s'y) of the last ``memory`` accepted pairs
    while True:
        d = -_two_loop(g, history, xp)
        found, evaluations = _line_search(fg, x, d, f_host, g, first=n_iter == 0)
        n_fun += evaluations
        if found is None:  # restore the previous point (never left), restart from -g, or give up
            if not history:
                return Solution(x, f_host, n_iter, n_fun, 2, "ABNORMAL: ABNORMAL_TERMINATION_IN_LNSRCH")
            history.clear()
            continue
        step, x_new, f_new, g_new, f_new_host, slope, slope0, g_max = found
        n_iter += 1
        s_y = (slope - slope0) * step  # s'y with s = step d, y = g_new - g, from the read slopes
        if s_y > EPS * (-slope0 * step):
            history.append((step * d, g_new - g, 1.0 / s_y))
            del history[:-memory]
        reduction = (f_host - f_new_host) / max(abs(f_host), abs(f_new_host), 1.0)
        x, f, g, f_host = x_new, f_new, g_new, f_new_host
        if callback is not None:
            callback(n_iter, f_host)
        if n_iter >= max_iter:
            return Solution(x, f_host, n_iter, n_fun, 1, "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT")
        if n_fun > max_fun:
            return Solution(x, f_host, n_iter, n_fun, 1, "STOP: TOTAL NO. OF F,G EVALUATIONS EXCEEDS LIMIT")
        if g_max <= gtol:
            return Solution(x, f_host, n_iter, n_fun, 0, GRADIENT_SMALL)
        if reduction <= ftol:
            return Solution(x, f_host, n_iter, n_fun, 0, REDUCTION_SMALL)


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


def _line_search(fg, x, d, f0, g, *, first):
    """L-BFGS-B's line search along d from x (f0 = f(x), g its gradient): ``(found, evaluations)``,
    where ``found`` is (step, x + step d, f, gradient, f as a host float, slope there, slope at 0,
    max |gradient|), or None when d does not descend or ``MAX_LINE_SEARCH`` evaluations found no step."""
    xp = namespace(x)
    if first:  # 1 / ||d||, evaluated on the device: its value arrives with the first read
        step_array = 1.0 / xp.maximum(xp.sqrt(xp.sum(d * d)), 1.0 / STEP_MAX)
        x_try = x + step_array * d
    else:
        step_array, x_try = None, x + d
    f, g_new = fg(x_try)
    reads = (f, xp.sum(g_new * d), xp.max(xp.abs(g_new)), xp.sum(g * d))
    f_host, slope, g_max, slope0, *step = read_scalars(*reads, *([] if step_array is None else [step_array]))
    step = step[0] if step else 1.0
    if not slope0 < 0:  # not a descent direction: SciPy never evaluates it
        return None, 0
    search, trials, evaluations, cap = _MoreThuente(f0, slope0, step), 1, 1, math.inf
    while True:
        tried = step
        if math.isfinite(f_host) and math.isfinite(slope) and math.isfinite(g_max):
            done, step = search.iterate(step, f_host, slope)
            if done:
                return (step, x_try, f, g_new, f_host, slope, slope0, g_max), evaluations
        else:  # an overflow: halve towards the best point, and never step that far again
            cap = step
            step = search.stx + 0.5 * (step - search.stx)
        if step >= cap:
            step = search.stx + 0.5 * (cap - search.stx)
        if trials >= MAX_LINE_SEARCH:
            return None, evaluations
        trials += 1
        if step != tried:  # the same step again is not evaluated again (nor counted, as in SciPy)
            x_try = x + d if step == 1.0 else x + step * d
            f, g_new = fg(x_try)
            f_host, slope, g_max = read_scalars(f, xp.sum(g_new * d), xp.max(xp.abs(g_new)))
            evaluations += 1


class _MoreThuente:
    """Moré & Thuente's ``dcsrch`` (MINPACK-2) on phi(step) = f(x + step d), with L-BFGS-B's
    constants. ``iterate(step, f, slope)`` takes phi and phi' at ``step`` and answers (True, step)
    when the search ends there, or (False, the next step to evaluate)."""

    def __init__(self, f0, slope0, step, ftol=1e-3, gtol=0.9, xtol=0.1, step_min=0.0, step_max=STEP_MAX):
        self.ftol, self.gtol, self.xtol, self.step_min, self.step_max = ftol, gtol, xtol, step_min, step_max
        self.finit, self.ginit, self.gtest = f0, slope0, ftol * slope0
        self.bracketed, self.stage = False, 1
        self.width = step_max - step_min
        self.width1 = 2.0 * self.width
        self.stx, self.fx, self.gx = 0.0, f0, slope0   # the best step so far
        self.sty, self.fy, self.gy = 0.0, f0, slope0   # the interval's other end
        self.stmin, self.stmax = 0.0, step + 4.0 * step

    def iterate(self, stp, f, g):
        ftest = self.finit + stp * self.gtest
        if self.stage == 1 and f <= ftest and g >= 0:
            self.stage = 2
        if f <= ftest and abs(g) <= self.gtol * -self.ginit:
            return True, stp  # convergence: the strong Wolfe conditions hold
        if self._stuck(stp):
            return True, stp  # dcsrch's warnings: rounding errors, or the xtol test
        if stp == self.step_max and f <= ftest and g <= self.gtest:
            return True, stp
        if stp == self.step_min and (f > ftest or g >= self.gtest):
            return True, stp
        if self.stage == 1 and self.fx >= f > ftest:  # the modified function psi
            gt = self.gtest
            stx, fx, gx, sty, fy, gy, stp = _step(
                self.stx, self.fx - self.stx * gt, self.gx - gt, self.sty, self.fy - self.sty * gt,
                self.gy - gt, stp, f - stp * gt, g - gt, self)
            self.fx, self.fy, self.gx, self.gy = fx + stx * gt, fy + sty * gt, gx + gt, gy + gt
        else:
            stx, self.fx, self.gx, sty, self.fy, self.gy, stp = _step(
                self.stx, self.fx, self.gx, self.sty, self.fy, self.gy, stp, f, g, self)
        self.stx, self.sty = stx, sty
        if self.bracketed:
            if abs(sty - stx) >= 0.66 * self.width1:
                stp = stx + 0.5 * (sty - stx)
            self.width1, self.width = self.width, abs(sty - stx)
            self.stmin, self.stmax = min(stx, sty), max(stx, sty)
        else:
            self.stmin, self.stmax = stp + 1.1 * (stp - stx), stp + 4.0 * (stp - stx)
        stp = min(max(stp, self.step_min), self.step_max)
        if self._stuck(stp):
            stp = stx  # no further progress is possible: the best step so far
        return False, stp

    def _stuck(self, stp):
        """Bracketed, and stp at an end of the interval or the interval within xtol."""
        return self.bracketed and (stp <= self.stmin or stp >= self.stmax
                                   or self.stmax - self.stmin <= self.xtol * self.stmax)


def _step(stx, fx, dx, sty, fy, dy, stp, fp, dp, search):
    """``dcstep``: a safeguarded step from the interval's ends (stx, sty) and the trial stp (values
    f, derivatives d); updates ``search.bracketed``. Returns (stx, fx, dx, sty, fy, dy, next stp)."""
    sgnd = math.copysign(1.0, dp) * math.copysign(1.0, dx) if dp and dx else 0.0
    try:
        stpf = _trial(stx, fx, dx, sty, fy, dy, stp, fp, dp, sgnd, search)
    except ZeroDivisionError:  # a degenerate cubic (where MINPACK's C would divide by zero): bisect
        stpf = 0.5 * (stx + stp)
        search.bracketed = search.bracketed or fp > fx or sgnd < 0
    if fp > fx:
        sty, fy, dy = stp, fp, dp
    else:
        if sgnd < 0:
            sty, fy, dy = stx, fx, dx
        stx, fx, dx = stp, fp, dp
    return stx, fx, dx, sty, fy, dy, stpf


def _trial(stx, fx, dx, sty, fy, dy, stp, fp, dp, sgnd, search):
    """``dcstep``'s four cases: the next trial step."""
    lo, hi = (search.stmin, search.stmax)
    if fp > fx:  # a higher value: the minimum is bracketed
        theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
        gamma = _gamma(theta, dx, dp, negate=stp < stx)
        stpc = stx + (((gamma - dx) + theta) / (((gamma - dx) + gamma) + dp)) * (stp - stx)
        stpq = stx + ((dx / ((fx - fp) / (stp - stx) + dx)) / 2.0) * (stp - stx)
        stpf = stpc if abs(stpc - stx) <= abs(stpq - stx) else stpc + (stpq - stpc) / 2.0
        search.bracketed = True
    elif sgnd < 0:  # a lower value, derivatives of opposite sign: bracketed
        theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
        gamma = _gamma(theta, dx, dp, negate=stp > stx)
        stpc = stp + (((gamma - dp) + theta) / (((gamma - dp) + gamma) + dx)) * (stx - stp)
        stpq = stp + (dp / (dp - dx)) * (stx - stp)
        stpf = stpc if abs(stpc - stp) > abs(stpq - stp) else stpq
        search.bracketed = True
    elif abs(dp) < abs(dx):  # lower, same sign, the derivative's magnitude decreases
        theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
        gamma = _gamma(theta, dx, dp, negate=stp > stx)
        r = ((gamma - dp) + theta) / ((gamma + (dx - dp)) + gamma)
        if r < 0 and gamma != 0:
            stpc = stp + r * (stx - stp)
        else:
            stpc = hi if stp > stx else lo
        stpq = stp + (dp / (dp - dx)) * (stx - stp)
        if search.bracketed:
            stpf = stpc if abs(stpc - stp) < abs(stpq - stp) else stpq
            bound = stp + 0.66 * (sty - stp)
            stpf = min(bound, stpf) if stp > stx else max(bound, stpf)
        else:
            stpf = stpc if abs(stpc - stp) > abs(stpq - stp) else stpq
            stpf = min(max(stpf, lo), hi)
    elif search.bracketed:  # lower, same sign, the derivative does not decrease
        theta = 3.0 * (fp - fy) / (sty - stp) + dy + dp
        gamma = _gamma(theta, dy, dp, negate=stp > sty)
        stpf = stp + (((gamma - dp) + theta) / (((gamma - dp) + gamma) + dy)) * (sty - stp)
    else:
        stpf = hi if stp > stx else lo
    return stpf


def _gamma(theta, a, b, *, negate):
    """The cubic's discriminant root s sqrt((theta/s)^2 - (a/s)(b/s)), s the largest magnitude
    (a negative radicand, which rounding alone can make, counts as 0)."""
    s = max(abs(theta), abs(a), abs(b))
    gamma = s * math.sqrt(max(0.0, (theta / s) ** 2 - (a / s) * (b / s)))
    return -gamma if negate else gamma
