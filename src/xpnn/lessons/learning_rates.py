"""Lesson 3: logistic regression on the cat data with three learning rates."""

from __future__ import annotations

from ..course import cat_data
from ..estimators import LogisticRegression
from . import _common

RATES = (0.01, 0.001, 0.0001)
COURSE = {0.01: (99.52, 68.0), 0.001: (88.99, 64.0), 0.0001: (68.42, 36.0)}  # train %, test %


def run(*, backend=None, out="lessons", quick=False):
    X_train, y_train, X_test, y_test = cat_data()
    n_iter, cost_every = (100, 5) if quick else (1500, 100)
    fig, (ax,) = _common.figure(size=(5.0, 3.4))
    rows, figures = [], {}
    for rate in RATES:
        model = LogisticRegression(learning_rate=rate, n_iter=n_iter, cost_every=cost_every,
                                   backend=backend).fit(X_train, y_train)
        train, test = 100 * model.score(X_train, y_train), 100 * model.score(X_test, y_test)
        figures[rate] = (train, test)
        rows.append((rate, f"{train:.2f}", f"{test:.2f}", f"{COURSE[rate][0]:.2f}", f"{COURSE[rate][1]:.2f}"))
        ax.plot(range(0, n_iter, model.cost_every), model.costs_, label=f"learning rate {rate}")
    _common.report_backend(model)
    print(f"logistic regression on the cat images, {n_iter} iterations, zero init")
    _common.table(rows, ("learning rate", "train %", "test %", "course train %", "course test %"))
    ax.set(xlabel="iteration", ylabel="cost", title="cost per learning rate")
    ax.legend()
    _common.save(fig, out, "learning-rates.png")
    return {"accuracy": figures}
