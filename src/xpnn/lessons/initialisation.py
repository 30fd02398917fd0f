"""Lesson 5: zeros vs large (x10) vs He initialisation on two circles, [2, 10, 5, 1]."""

from __future__ import annotations

import numpy as np

from ..datasets import make_circles
from ..estimators import DeepNet
from . import _common

SCHEMES = ("zeros", "large", "he")
COURSE = {"zeros": (50.0, 50.0), "large": (83.0, 86.0), "he": (99.33, 96.0)}  # train %, test %


def run(*, backend=None, out="lessons", quick=False):
    X_train, y_train = make_circles(300, noise=0.05, random_state=1)
    X_test, y_test = make_circles(100, noise=0.05, random_state=2)
    n_iter = 1500 if quick else 15000
    models = {s: DeepNet((10, 5), learning_rate=0.01, n_iter=n_iter, init=s, random_state=3,
                         cost_every=1000 if not quick else 100, backend=backend).fit(X_train, y_train)
              for s in SCHEMES}
    _common.report_backend(models["he"])
    print(f"two circles, [2, 10, 5, 1] relu net, learning rate 0.01, {n_iter} iterations")
    accuracy = {s: (100 * m.score(X_train, y_train), 100 * m.score(X_test, y_test))
                for s, m in models.items()}
    _common.table([(s, f"{a[0]:.2f}", f"{a[1]:.2f}", f"{COURSE[s][0]:.2f} / {COURSE[s][1]:.2f}")
                   for s, a in accuracy.items()], ("init", "train %", "test %", "course train / test %"))
    W1 = models["zeros"].params_["W1"]
    spread = float(np.ptp(W1, axis=0).max())
    print(f"zeros init: the 10 hidden units of layer 1 differ by at most {spread:.1e} (symmetric: "
          f"they stay identical), and the cost stays at {models['zeros'].costs_[-1]:.6f} (log 2 = 0.693147)")
    fig, axes = _common.figure(1, 4, size=(3.0, 2.8))
    for scheme, model in models.items():
        axes[0].plot(np.arange(len(model.costs_)) * model.cost_every, model.costs_, label=scheme)
    axes[0].set(yscale="log", xlabel="iteration", ylabel="cost (log)", title="cost")
    axes[0].legend(fontsize=7)
    for ax, (scheme, model) in zip(axes[1:], models.items()):
        _common.plot_boundary(ax, model, X_train, y_train, f"{scheme}: train {accuracy[scheme][0]:.0f}%")
    _common.save(fig, out, "initialisation.png")
    return {"accuracy": accuracy, "zeros_spread": spread}
