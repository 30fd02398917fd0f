"""Lesson 7 (course 2): gradient descent, momentum and Adam on the moons, with and without
learning-rate decay."""

from __future__ import annotations

from ..datasets import make_moons
from ..estimators import DeepNet
from . import _common

OPTIMIZERS = ("gd", "momentum", "adam")
SETTINGS = {  # the course's two runs: a small constant rate, and lr0 = 0.1 with scheduled decay
    "constant": dict(learning_rate=0.0007),
    "decay": dict(learning_rate=0.1, learning_rate_decay="scheduled", decay_rate=1.0, decay_interval=1000),
}
COURSE = {("gd", "constant"): 79.7, ("adam", "constant"): 94.0}  # training accuracy %


def run(*, backend=None, out="lessons", quick=False):
    X, y = make_moons(300, noise=0.2, random_state=3)
    n_epochs = 300 if quick else 5000
    models, accuracy = {}, {}
    for setting, options in SETTINGS.items():
        if quick:
            options = {**options, "decay_interval": 100} if "decay_interval" in options else options
        for name in OPTIMIZERS:
            model = DeepNet((5, 2), n_iter=n_epochs, init="he", batch_size=64, optimizer=name,
                            random_state=0, cost_every=max(1, n_epochs // 100), backend=backend,
                            **options).fit(X, y)
            models[name, setting] = model
            accuracy[name, setting] = 100 * model.score(X, y)
    _common.report_backend(model)
    print(f"moons, 300 points; layers [2, 5, 2, 1], He init, mini-batches of 64, {n_epochs} epochs")
    _common.table([(name, setting, f"{accuracy[name, setting]:.2f}",
                    f"{COURSE[name, setting]:.1f}" if (name, setting) in COURSE else "-")
                   for setting in SETTINGS for name in OPTIMIZERS],
                  ("optimizer", "learning rate", "train accuracy %", "course %"))
    fig, axes = _common.figure(3, 3, size=(2.6, 2.4))
    for ax, (key, model) in zip(axes, models.items()):
        label = "lr 0.0007" if key[1] == "constant" else "lr 0.1, decay"
        _common.plot_boundary(ax, model, X, y, f"{key[0]}, {label}: {accuracy[key]:.1f}%")
    for ax, setting in zip(axes[6:8], SETTINGS):
        for name in OPTIMIZERS:
            model = models[name, setting]
            ax.plot(range(0, n_epochs, model.cost_every), model.costs_, label=name)
        ax.set(xlabel="epoch", ylabel="cost", title=f"cost, {setting} learning rate")
        ax.legend(fontsize=7)
    axes[8].axis("off")
    _common.save(fig, out, "optimizers.png")
    return {"accuracy": accuracy}
