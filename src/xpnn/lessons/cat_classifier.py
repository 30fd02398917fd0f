"""Lesson 6: the 4-layer net on the cat images, and the test images it gets wrong."""

from __future__ import annotations

import numpy as np

from ..datasets import load_catvnoncat
from ..estimators import DeepNet
from ..preprocessing import flatten_images, scale_pixels
from . import _common


def run(*, backend=None, out="lessons", quick=False):
    X_train, y_train, X_test, y_test, classes = load_catvnoncat()
    model = DeepNet((20, 7, 5), n_iter=200 if quick else 2500, random_state=1, backend=backend)
    model.fit(scale_pixels(flatten_images(X_train)), y_train)
    _common.report_backend(model)
    test_rows = scale_pixels(flatten_images(X_test))
    proba = model.predict_proba(test_rows)[:, 1]
    train, test = model.score(scale_pixels(flatten_images(X_train)), y_train), model.score(test_rows, y_test)
    print(f"[12288, 20, 7, 5, 1] net, {model.n_iter} iterations: train {100 * train:.2f}%, "
          f"test {100 * test:.2f}% (course: 98.56% / 80%, from one draw of its RNG)")
    wrong = np.flatnonzero((proba > 0.5).astype(int) != y_test)
    print(f"mislabelled test images: {len(wrong)}: " + ", ".join(
        f"#{i} {classes[y_test[i]]} (P(cat) = {proba[i]:.2f})" for i in wrong))
    cols = 6
    rows = max(1, -(-len(wrong) // cols))
    fig, axes = _common.figure(rows, cols, size=(1.6, 1.9))
    for ax in axes:
        ax.axis("off")
    for ax, i in zip(axes, wrong):
        ax.imshow(X_test[i])
        ax.set_title(f"#{i}: is {classes[y_test[i]]}\nP(cat) = {proba[i]:.2f}", fontsize=7)
    _common.save(fig, out, "cat-classifier.png")
    return {"train": train, "test": test, "mislabelled": wrong.tolist()}
