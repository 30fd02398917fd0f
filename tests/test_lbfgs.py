"""xpnn's L-BFGS against SciPy's L-BFGS-B (the solver scikit-learn's MLP calls): the same
algorithm, so the same iterates to rounding, the same stopping rules and messages."""

import warnings

import numpy as np
import pytest

import xpnn
from xpnn.lbfgs import minimize

so = pytest.importorskip("scipy.optimize")


def _scipy(fg, x0, **options):
    values = []
    result = so.minimize(fg, x0, jac=True, method="L-BFGS-B", options=options,
                         callback=lambda intermediate_result: values.append(intermediate_result.fun))
    return result, np.array(values)


def _ours(fg, x0, **kw):
    values = []
    solution = minimize(fg, x0, callback=lambda n_iter, f: values.append(f), **kw)
    return solution, np.array(values)


def _rosenbrock(x):
    return so.rosen(x), so.rosen_der(x)


def _quadratic(n=30, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n))
    H, b = A @ A.T + np.eye(n), rng.standard_normal(n)
    return lambda x: (0.5 * x @ H @ x - b @ x, H @ x - b), H, b


@pytest.mark.parametrize("n", [2, 5, 10])
def test_the_iterates_are_scipys_on_rosenbrock(n):
    x0 = np.full(n, -1.2)
    theirs, their_f = _scipy(_rosenbrock, x0)
    ours, our_f = _ours(_rosenbrock, x0)
    k = min(len(our_f), len(their_f), 25)  # rounding (not the algorithm) may part them later
    np.testing.assert_allclose(our_f[:k], their_f[:k], rtol=1e-9, atol=1e-12)
    assert ours.status == theirs.status == 0 and ours.f <= theirs.fun * 10 + 1e-12


def test_a_quadratic_is_solved_and_each_limit_stops_as_scipys_does():
    fg, H, b = _quadratic()
    ours, our_f = _ours(fg, np.zeros(30), gtol=1e-7, ftol=0.0)
    assert ours.status == 0 and "PROJECTED GRADIENT" in ours.message
    np.testing.assert_allclose(ours.x, np.linalg.solve(H, b), rtol=1e-6)
    for limits, scipy_limits, words in [(dict(max_iter=3), dict(maxiter=3), "ITERATIONS"),
                                        (dict(max_fun=5), dict(maxfun=5), "EVALUATIONS")]:
        ours, our_f = _ours(fg, np.zeros(30), **limits)
        theirs, their_f = _scipy(fg, np.zeros(30), **scipy_limits)
        assert ours.status == theirs.status == 1
        assert (ours.n_iter, ours.n_fun) == (theirs.nit, theirs.nfev)
        assert words in ours.message and ours.message == theirs.message
        np.testing.assert_allclose(our_f, their_f, rtol=1e-12)


def test_relative_reduction_stops_with_scipys_message():
    fg, _, _ = _quadratic()
    ours, our_f = _ours(fg, np.zeros(30))
    theirs, their_f = _scipy(fg, np.zeros(30))
    assert ours.message == theirs.message == "CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH"
    np.testing.assert_allclose(ours.f, theirs.fun, rtol=1e-10)


def test_a_line_search_that_cannot_descend_restarts_then_ends_abnormally():
    # the gradient points the wrong way: every line search fails, first with memory (impossible
    # here at the start), then without it, as L-BFGS-B's ABNORMAL_TERMINATION_IN_LNSRCH
    ours = minimize(lambda x: (np.sum(x * x), -x), np.ones(3))
    theirs = so.minimize(lambda x: (float(np.sum(x * x)), -x), np.ones(3), jac=True, method="L-BFGS-B")
    assert ours.status == theirs.status == 2 and ours.n_iter == theirs.nit == 0
    assert "ABNORMAL" in ours.message and "ABNORMAL" in theirs.message
    np.testing.assert_array_equal(ours.x, np.ones(3))


def test_a_non_finite_start_is_named_not_blamed_on_the_line_search():
    ours = minimize(lambda x: (np.sum(x) * np.nan, x * np.nan), np.ones(3))
    assert ours.status == 2 and "NOT FINITE AT THE START" in ours.message


def test_an_overflowing_trial_step_is_halved_not_accepted():
    # f = exp(x) - 2x overflows far to the right: the first steps are huge, yet the run converges
    def fg(x):
        with np.errstate(over="ignore"):
            return np.sum(np.exp(x) - 2 * x), np.exp(x) - 2
    ours = minimize(fg, np.full(2, -40.0))
    assert ours.status == 0 and np.allclose(ours.x, np.log(2), atol=1e-4)


def _mlp_alpha_circles():
    datasets = pytest.importorskip("sklearn.datasets")
    preprocessing = pytest.importorskip("sklearn.preprocessing")
    X, y = datasets.make_circles(noise=0.2, factor=0.5, random_state=1)
    return preprocessing.StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("alpha", [0.1, 1.0, 10.0])
def test_an_mlp_takes_scipys_steps_and_stops_cleanly(alpha, monkeypatch):
    # scikit-learn's plot_mlp_alpha case: the losses after each iteration are SciPy's to rounding
    # for the first iterations (a non-convex loss magnifies rounding later), and no warning
    sk = pytest.importorskip("sklearn.neural_network")
    mlp_module = pytest.importorskip("sklearn.neural_network._multilayer_perceptron")
    X, y = _mlp_alpha_circles()
    kw = dict(solver="lbfgs", alpha=alpha, random_state=1, max_iter=2000, hidden_layer_sizes=[10, 10])
    theirs_f, ours_f = [], []
    scipy_minimize = mlp_module.scipy.optimize.minimize

    def spy(fun, x0, *args, **kwargs):
        kwargs["callback"] = lambda intermediate_result: theirs_f.append(intermediate_result.fun)
        return scipy_minimize(fun, x0, *args, **kwargs)
    monkeypatch.setattr(mlp_module.scipy.optimize, "minimize", spy)
    ours_minimize = xpnn.training.minimize

    def ours_spy(*args, callback, **kwargs):
        return ours_minimize(*args, callback=lambda n, f: (ours_f.append(f), callback(n, f)), **kwargs)
    monkeypatch.setattr(xpnn.training, "minimize", ours_spy)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = xpnn.MLPClassifier(**kw).fit(X, y)
        sk.MLPClassifier(**kw).fit(X, y)
    k = min(40, len(theirs_f))
    np.testing.assert_allclose(ours_f[:k], theirs_f[:k], rtol=1e-8)
    assert ours.n_iter_ < 2000  # stopped by a convergence rule (a ConvergenceWarning would have raised)
