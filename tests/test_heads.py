"""Output heads in the core: costs, gradients, stability and weights, on every backend."""

import numpy as np
import pytest

from xpnn import heads, network, training
from xpnn.activations import ACTIVATIONS
from xpnn.gradcheck import gradient_check
from xpnn.initializers import initialize_parameters


def targets(head, k, m, rng):
    """Y (k, m) for a head: 0/1 for sigmoid, one-hot for softmax, reals for identity."""
    if head == "softmax":
        return np.eye(k)[:, rng.integers(0, k, m)]
    if head == "sigmoid":
        return (rng.random((k, m)) > 0.5).astype(float)
    return rng.standard_normal((k, m))


@pytest.mark.parametrize("head", sorted(heads.HEADS))
@pytest.mark.parametrize("hidden", sorted(ACTIVATIONS))
@pytest.mark.parametrize("weighted", [False, True], ids=["mean", "weighted"])
def test_gradient_check_every_head_and_activation(head, hidden, weighted, rng):
    X = rng.standard_normal((3, 6))
    Y = targets(head, 3, 6, rng)
    S = rng.integers(0, 4, (1, 6)).astype(float) + (np.arange(6) == 0) if weighted else None
    params = initialize_parameters([3, 4, 3], scheme="he", seed=1)
    activations = network.layer_activations(2, hidden, head)
    assert gradient_check(X, Y, params, activations, head=head, S=S) < 1e-7


def test_course_cost_and_gradient_are_the_sigmoid_head(rng):
    """The default head is the course's sigmoid + BCE, bit for bit."""
    Z, Y = rng.standard_normal((1, 9)), (rng.random((1, 9)) > 0.5) * 1.0
    m = Z.shape[1]
    course = np.sum(np.maximum(Z, 0.0) - Z * Y + np.log1p(np.exp(-np.abs(Z)))) / m
    assert heads.cost_from_logits(Z, Y) == course
    A = heads.get_head("sigmoid").activation(Z)
    np.testing.assert_array_equal(heads.cost_gradient(A, Y), (A - Y) / m)


def test_softmax_with_two_classes_is_the_sigmoid(rng):
    z = rng.standard_normal((1, 7)) * 5
    Z = np.concatenate([np.zeros_like(z), z])
    np.testing.assert_allclose(heads.softmax(Z)[1], heads.sigmoid(z)[0], rtol=1e-14)
    Y = (rng.random((1, 7)) > 0.5) * 1.0
    np.testing.assert_allclose(heads.cost_from_logits(Z, np.concatenate([1 - Y, Y]), "softmax"),
                               heads.cost_from_logits(z, Y, "sigmoid"), rtol=1e-14)


def test_half_squared_error_is_the_course_formula(rng):
    Z, Y = rng.standard_normal((2, 5)), rng.standard_normal((2, 5))
    assert heads.cost_from_logits(Z, Y, "identity") == pytest.approx(np.sum((Z - Y) ** 2) / (2 * 5))
    np.testing.assert_allclose(heads.cost_gradient(Z, Y, "identity"), (Z - Y) / 5)


def test_softmax_cross_entropy_is_finite_for_huge_logits(backend, dtype):
    Z = backend.asarray(np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [0.0, 0.0, -1e4]]), dtype=dtype)
    Y = backend.asarray(np.eye(3), dtype=dtype)
    A = backend.to_numpy(heads.softmax(Z))
    assert np.all(np.isfinite(A)) and np.allclose(A.sum(axis=0), 1.0)
    cost = float(backend.to_numpy(heads.cost_from_logits(Z, Y, "softmax")))
    # columns are examples: the first two are right by 2e4 (loss 0), the third is wrong by 2e4
    assert cost == pytest.approx(2e4 / 3, rel=1e-6)


def test_weighted_cost_is_the_cost_of_repeated_examples(rng):
    """Integer weights give exactly the cost and gradients of the data with columns repeated."""
    X, counts = rng.standard_normal((3, 8)), np.array([1, 0, 3, 2, 1, 4, 1, 2])
    params = initialize_parameters([3, 5, 4], scheme="he", seed=0)
    for head in heads.HEADS:
        Y = targets(head, 4, 8, rng)
        acts = network.layer_activations(2, "tanh", head)
        AL, caches = network.forward(X, params, acts)
        weighted = network.backward(AL, Y, caches, params, acts, head=head, S=counts[None, :] * 1.0)
        Xr, Yr = np.repeat(X, counts, axis=1), np.repeat(Y, counts, axis=1)
        AL, caches = network.forward(Xr, params, acts)
        repeated = network.backward(AL, Yr, caches, params, acts, head=head)
        for key in repeated:
            np.testing.assert_allclose(weighted[key], repeated[key], rtol=1e-12, atol=1e-15, err_msg=key)
        assert network.cost(X, Y, params, acts, head=head, S=counts[None, :] * 1.0) == pytest.approx(
            network.cost(Xr, Yr, params, acts, head=head), rel=1e-12)


def test_a_batch_whose_weights_are_all_zero_contributes_nothing(rng):
    A, Y = rng.random((1, 4)), (rng.random((1, 4)) > 0.5) * 1.0
    dZ = heads.cost_gradient(A, Y, "sigmoid", np.zeros((1, 4)))
    assert np.all(dZ == 0)


@pytest.mark.parametrize("head", ["softmax", "identity"])
def test_every_head_trains_the_same_on_every_backend(head, backend, dtype, rng):
    """Multi-class and regression training match NumPy (rel 1e-12 in float64; float32 as in
    test_network's arithmetic bound)."""
    import xpnn

    X, Y = rng.standard_normal((4, 30)), targets(head, 3, 30, rng)
    S = rng.random((1, 30)) + 0.5
    tol = 1e-12 if dtype == "float64" else 20 * (30 + 8) * float(np.finfo(dtype).eps) / 2
    trained = []
    for be in (xpnn.get_backend("numpy"), backend):
        params = initialize_parameters([4, 5, 3], scheme="he", seed=3, backend=be, dtype=dtype)
        acts = network.layer_activations(2, "relu", head)
        out, costs = training.train(be.asarray(X, dtype), be.asarray(Y, dtype), params, acts,
                                   learning_rate=0.05, n_iter=20, cost_every=5, head=head,
                                   S=be.asarray(S, dtype))
        trained.append(({k: be.to_numpy(v) for k, v in out.items()}, costs))
    (want, want_costs), (got, got_costs) = trained
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=tol, atol=tol * np.abs(want[key]).max())
    np.testing.assert_allclose(got_costs, want_costs, rtol=tol)


def test_train_checks_weights_and_output_units(rng):
    X, Y = rng.standard_normal((2, 5)), np.eye(3)[:, [0, 1, 2, 0, 1]]
    params = initialize_parameters([2, 3], scheme="he", seed=0)
    acts = network.layer_activations(1, head="softmax")
    with pytest.raises(ValueError, match=r"S \(sample weights\) must be finite, >= 0 and not all 0"):
        training.train(X, Y, params, acts, learning_rate=0.1, n_iter=1, head="softmax", S=-np.ones((1, 5)))
    with pytest.raises(ValueError, match=r"must be \(1, 5\)"):
        training.train(X, Y, params, acts, learning_rate=0.1, n_iter=1, head="softmax", S=np.ones((5,)))
    with pytest.raises(ValueError, match="unknown head 'tanh'"):
        network.layer_activations(1, head="tanh")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_categorical_cross_entropy_is_never_nan_for_finite_logits(dtype):
    from xpnn.heads import categorical_cross_entropy_loss

    big = float(np.finfo(dtype).max)
    Z = np.array([[big, -big], [-big, big]], dtype=dtype)
    Y = np.array([[1.0, 1.0], [0.0, 0.0]], dtype=dtype)  # right, then as wrong as can be
    loss = categorical_cross_entropy_loss(Z, Y)
    assert not np.any(np.isnan(loss)) and loss[0, 0] == 0.0 and loss[0, 1] > 1e30
