"""The course's published results, reproduced on the CPU in float64 (about a minute in all)."""

import numpy as np
import pytest

import xpnn
from xpnn.course import cat_data, planar_data

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cats():
    return cat_data()


def test_logistic_regression_on_cats_matches_the_course_exactly(cats):
    X_train, y_train, X_test, y_test = cats
    model = xpnn.LogisticRegression().fit(X_train, y_train)  # course defaults, zero init
    assert np.sum(model.predict(X_train) == y_train) == 207  # 99.04 %
    assert np.sum(model.predict(X_test) == y_test) == 35     # 70 %
    assert model.costs_[0] == pytest.approx(0.693147, abs=5e-7)
    assert model.costs_[1] == pytest.approx(0.584508, abs=5e-7)
    assert len(model.costs_) == 20


def test_planar_logistic_regression_is_near_chance_and_shallow_net_is_not():
    """A line cannot separate the flower's interleaved petals: the course's LR gets 47 %
    (our RNG draws other points; any linear model lands near chance, 0.40-0.60).
    The 4-unit tanh net gets ~90 % (course: 90.5 %); we require >= 88 % for every seed."""
    X, y, _, _ = planar_data()
    assert 0.40 <= xpnn.LogisticRegression().fit(X, y).score(X, y) <= 0.60
    for seed in range(3):
        assert xpnn.ShallowNet(random_state=seed).fit(X, y).score(X, y) >= 0.88


@pytest.fixture(scope="module")
def deep_fits(cats):
    """(train, test) accuracy of DeepNet(hidden) for seeds 0-2, float64, fitted once."""
    X_train, y_train, X_test, y_test = cats
    fits = {}
    for hidden in [(7,), (20, 7, 5)]:
        for seed in range(3):
            model = xpnn.DeepNet(hidden, random_state=seed).fit(X_train, y_train)
            fits[hidden, seed] = (model.score(X_train, y_train), model.score(X_test, y_test))
    return fits


@pytest.mark.parametrize("hidden,low,high", [((7,), 0.64, 0.80), ((20, 7, 5), 0.68, 0.82)],
                         ids=["2-layer", "4-layer"])
def test_deep_nets_on_cats_over_seeds(deep_fits, hidden, low, high):
    """The course's 0.72 ([7]) and 0.80 ([20, 7, 5]) test accuracies come from one draw of the
    legacy RNG. Over seeds 0-7 of our generator the test accuracy of [7] was 0.72 ± 0.047 (mean ±
    sd, range 0.66-0.78) and of [20, 7, 5] 0.74 ± 0.043 (range 0.68-0.82). The mean of 3 seeds has
    an sd of about 0.027, so the band is that 8-seed mean ± ~3 sd of a 3-seed mean. Always
    answering "cat" scores 0.66 on the test set, so the train accuracy >= 0.98 required of every
    seed is what rules out a degenerate net."""
    train, test = zip(*(deep_fits[hidden, seed] for seed in range(3)))
    assert min(train) >= 0.98
    assert low <= np.mean(test) <= high


def test_float32_reaches_the_float64_accuracy(cats, deep_fits):
    X_train, y_train, X_test, y_test = cats
    model = xpnn.LogisticRegression(dtype="float32").fit(X_train, y_train)
    assert model.params_["W1"].dtype == np.float32
    assert (np.sum(model.predict(X_train) == y_train), np.sum(model.predict(X_test) == y_test)) == (207, 35)
    X, y, _, _ = planar_data()
    assert xpnn.ShallowNet(random_state=0, dtype="float32").fit(X, y).score(X, y) >= 0.88
    deep = xpnn.DeepNet(random_state=0, dtype="float32").fit(X_train, y_train)
    _, test64 = deep_fits[(20, 7, 5), 0]
    assert deep.score(X_train, y_train) >= 0.98
    n_test = len(y_test)
    assert abs(round(deep.score(X_test, y_test) * n_test) - round(test64 * n_test)) <= 1  # one image
