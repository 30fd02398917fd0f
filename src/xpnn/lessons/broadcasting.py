"""Lesson 2: broadcasting — the course's calories table and (m, n) with (1, n) and (m, 1)."""

from __future__ import annotations

import numpy as np

from ..backend import resolve_backend
from . import _common

FOODS = ("apples", "beef", "eggs", "potatoes")
NUTRIENTS = ("carb", "protein", "fat")
CALORIES = [[56.0, 0.0, 4.4, 68.0], [1.2, 104.0, 52.0, 8.0], [1.8, 135.0, 99.0, 0.9]]
COURSE_PERCENT = [[94.91525424, 0.0, 2.83140283, 88.42652796],
                  [2.03389831, 43.51464435, 33.46203346, 10.40312094],
                  [3.05084746, 56.48535565, 63.70656371, 1.17035111]]


def _loop_percent(A):
    totals = [sum(A[i][j] for i in range(len(A))) for j in range(len(A[0]))]
    return [[100 * A[i][j] / totals[j] for j in range(len(A[0]))] for i in range(len(A))]


def _show(title, left, right, result, expected):
    equal = np.allclose(result, expected)
    print(f"{title}: {tuple(left.shape)} with {tuple(right.shape)} -> {tuple(result.shape)}; "
          f"equals the explicit loop: {equal}")
    print(np.array2string(result, precision=2, suppress_small=True))
    return equal


def run(*, backend=None, out="lessons", quick=False):
    be = resolve_backend(backend)
    _common.report_backend(be)
    xp = be.xp
    A = be.asarray(CALORIES, dtype="float64")
    total = xp.sum(A, axis=0, keepdims=True)                 # (1, 4)
    percent = 100 * A / total                                # (3, 4) / (1, 4)
    host = be.to_numpy(percent)
    checks = [_show("calories per food, as % of the food's total", A, total, host, _loop_percent(CALORIES))]
    print("course:\n" + np.array2string(np.array(COURSE_PERCENT), precision=2, suppress_small=True))
    M = be.asarray([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    row, col = be.asarray([[100.0, 200.0, 300.0]]), be.asarray([[100.0], [200.0]])
    plain = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    checks.append(_show("(m, n) + (1, n)", M, row, be.to_numpy(M + row),
                        [[plain[i][j] + [100, 200, 300][j] for j in range(3)] for i in range(2)]))
    checks.append(_show("(m, n) + (m, 1)", M, col, be.to_numpy(M + col),
                        [[plain[i][j] + [100, 200][i] for j in range(3)] for i in range(2)]))
    checks.append(_show("(m, n) + scalar", M, be.asarray([[100.0]]), be.to_numpy(M + 100.0),
                        [[v + 100 for v in r] for r in plain]))
    fig, (ax,) = _common.figure(size=(5.0, 2.8))
    image = ax.imshow(host, cmap="viridis")
    ax.set(xticks=range(4), xticklabels=FOODS, yticks=range(3), yticklabels=NUTRIENTS,
           title="% of each food's calories (100 * A / A.sum(axis=0))")
    for (i, j), v in np.ndenumerate(host):
        ax.text(j, i, f"{v:.1f}", ha="center", va="center", color="w", fontsize=8)
    fig.colorbar(image, ax=ax)
    _common.save(fig, out, "broadcasting.png")
    return {"percent": host, "all_equal_loops": all(checks)}
