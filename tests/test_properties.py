"""Property tests: random shapes, depths and activations."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import xpnn
from xpnn import loops, network, training
from xpnn.activations import ACTIVATIONS
from xpnn.gradcheck import gradient_check
from xpnn.initializers import initialize_parameters

SETTINGS = settings(max_examples=25, deadline=None)


@st.composite
def problems(draw, max_depth=4):
    """A random net and data: (X (n_x, m), Y (1, m), params, activations)."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    dims = [draw(st.integers(1, 5)) for _ in range(draw(st.integers(1, max_depth)))] + [1]
    m = draw(st.integers(1, 8))
    hidden = draw(st.lists(st.sampled_from(sorted(ACTIVATIONS)), min_size=len(dims) - 2,
                           max_size=len(dims) - 2))
    X = rng.standard_normal((dims[0], m))
    Y = (rng.random((1, m)) > 0.5).astype(float)
    params = initialize_parameters(dims, scheme="he", seed=rng)
    params = {k: v + (0.05 if k[0] == "b" else 0.0) for k, v in params.items()}
    return X, Y, params, network.layer_activations(len(dims) - 1, hidden)


def gradients(X, Y, params, activations):
    AL, caches = network.forward(X, params, activations)
    return network.backward(AL, Y, caches, params, activations)


def _away_from_kinks(X, params, activations):
    """True when no pre-activation is within 1e-4 of relu's kink (finite differences jump)."""
    _, caches = network.forward(X, params, activations)
    return all(np.abs(Z).min() > 1e-4 for _, Z in caches[:-1]) if len(caches) > 1 else True


@SETTINGS
@given(problems())
def test_backprop_equals_finite_differences(problem):
    X, Y, params, activations = problem
    if not _away_from_kinks(X, params, activations):
        return
    assert gradient_check(X, Y, params, activations, epsilon=1e-6) < 1e-5


@SETTINGS
@given(st.integers(1, 6), st.integers(1, 9), st.integers(0, 2**32 - 1))
def test_vectorised_logistic_regression_equals_loops(n_x, m, seed):
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((n_x, m)), (rng.random((1, m)) > 0.5).astype(float)
    w, b = rng.standard_normal(n_x), float(rng.standard_normal())
    dw, db, cost = loops.propagate(list(w), b, X.tolist(), Y[0].tolist())
    params = {"W1": w[None, :], "b1": np.array([[b]])}
    acts = network.layer_activations(1)
    grads = gradients(X, Y, params, acts)
    np.testing.assert_allclose(grads["dW1"][0], dw, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(grads["db1"][0, 0], db, rtol=1e-10, atol=1e-14)
    assert float(network.cost(X, Y, params, acts)) == pytest.approx(cost, rel=1e-12)


@SETTINGS
@given(st.integers(1, 6), st.integers(2, 30), st.integers(0, 2**32 - 1))
def test_a_small_step_never_increases_the_convex_logistic_cost(n_x, m, seed):
    """The LR cost is (||X||_2^2 / 4m)-smooth, so a step of 1/that never increases it."""
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((n_x, m)) * 3, (rng.random((1, m)) > 0.5).astype(float)
    params = {"W1": rng.standard_normal((1, n_x)), "b1": rng.standard_normal((1, 1))}
    X1 = np.vstack([X, np.ones((1, m))])  # the bias is a weight on a constant feature
    smoothness = np.linalg.norm(X1, 2) ** 2 / (4 * m)
    acts = network.layer_activations(1)
    before = float(network.cost(X, Y, params, acts))
    after_params, _, _ = network.step(X, Y, params, acts, 1.0 / smoothness)
    assert float(network.cost(X, Y, after_params, acts)) <= before + 1e-12


@SETTINGS
@given(problems(), st.integers(0, 2**32 - 1))
def test_gradients_do_not_depend_on_sample_order(problem, seed):
    X, Y, params, activations = problem
    order = np.random.default_rng(seed).permutation(X.shape[1])
    grads = [gradients(X, Y, params, activations),
             gradients(X[:, order], Y[:, order], params, activations)]
    for key in grads[0]:
        np.testing.assert_allclose(grads[1][key], grads[0][key], rtol=1e-10, atol=1e-14)


@SETTINGS
@given(problems(max_depth=3))
def test_numpy_and_array_api_strict_agree(problem):
    X, Y, params, activations = problem
    strict = xpnn.get_backend("array_api_strict")
    results = []
    for be in (xpnn.get_backend("numpy"), strict):
        p = {k: be.asarray(v) for k, v in params.items()}
        trained, costs = training.train(be.asarray(X), be.asarray(Y), p, activations,
                                       learning_rate=0.1, n_iter=5, cost_every=1)
        results.append(({k: be.to_numpy(v) for k, v in trained.items()}, costs))
    for key in params:
        np.testing.assert_allclose(results[1][0][key], results[0][0][key], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-12)


@SETTINGS
@given(st.lists(st.floats(-800.0, 800.0), min_size=1, max_size=50))
def test_sigmoid_is_accurate_in_both_tails(zs):
    """Against the exact value (math.exp, in the branch that cannot overflow): a relative error
    of at most 4 eps wherever the result is a normal number (exp's own error of a couple of ulp,
    then the rounding of 1 + e and of the division; 600 000 random logits measured at most 2 eps),
    in float64 and float32; below z = log(smallest normal) the result stays in
    [0, 2 x smallest normal] instead of underflowing."""
    import math

    from xpnn.activations import sigmoid

    def exact(z):
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))

    tiny64, tiny32 = np.finfo(np.float64).smallest_normal, np.finfo(np.float32).smallest_normal
    got64 = sigmoid(np.array([zs]))[0]
    got32 = sigmoid(np.array([zs], dtype=np.float32))[0]
    for z, g64, g32 in zip(zs, got64, got32):
        want = exact(z)
        if want >= tiny64:
            assert abs(g64 - want) <= 4 * np.finfo(np.float64).eps * want, z
        else:
            assert 0.0 <= g64 <= 2 * tiny64, z
        want32 = exact(float(np.float32(z)))  # the float32 input is z rounded to float32
        if want32 >= tiny32:
            assert abs(float(g32) - want32) <= 4 * float(np.finfo(np.float32).eps) * want32, z
        else:
            assert 0.0 <= g32 <= 2 * tiny32, z
