"""Lesson 4: the planar flower with 1 to 50 hidden units, and logistic regression's line."""

from __future__ import annotations

from ..course import planar_data
from ..estimators import LogisticRegression, ShallowNet
from . import _common

SIZES = (1, 2, 3, 4, 5, 20, 50)
COURSE = {1: 67.5, 2: 67.25, 3: 90.75, 4: 90.5, 5: 91.25, 20: 90.0, 50: 90.25, "LR": 47.0}


def run(*, backend=None, out="lessons", quick=False):
    X, y, _, _ = planar_data()
    sizes, n_iter = ((1, 4), 300) if quick else (SIZES, 5000)
    models = {"LR": LogisticRegression(backend=backend, n_iter=2000 if not quick else 300).fit(X, y)}
    for size in sizes:
        models[size] = ShallowNet(n_hidden=size, n_iter=n_iter, random_state=0, backend=backend).fit(X, y)
    _common.report_backend(models["LR"])
    accuracy = {key: 100 * model.score(X, y) for key, model in models.items()}
    print(f"planar data, 400 points; shallow nets: tanh, learning rate 1.2, {n_iter} iterations")
    _common.table([(k if k != "LR" else "logistic regression", f"{a:.2f}", f"{COURSE[k]:.2f}")
                   for k, a in accuracy.items()], ("hidden units", "accuracy %", "course %"))
    fig, axes = _common.grid(len(models))
    for ax, (key, model) in zip(axes, models.items()):
        name = "logistic regression" if key == "LR" else f"{key} hidden units"
        _common.plot_boundary(ax, model, X, y, f"{name}: {accuracy[key]:.1f}%")
    _common.save(fig, out, "hidden-sizes.png")
    return {"accuracy": accuracy}
