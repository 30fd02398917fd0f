"""The course's own names (xpnn.assignments) do what the assignment's functions do."""

import numpy as np
import pytest

from xpnn import assignments, loops, network
from xpnn.estimators import DeepNet


def test_one_assignment_iteration_matches_xpnns_core_and_its_oracle():
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((4, 30)), (rng.random((1, 30)) > 0.5) * 1.0
    parameters = assignments.initialize_parameters_deep([4, 5, 3, 1], seed=0)
    AL, caches = assignments.L_model_forward(X, parameters)
    cost = assignments.compute_cost(AL, Y)
    want = -np.mean(Y * np.log(AL) + (1 - Y) * np.log(1 - AL))
    assert cost == pytest.approx(want, rel=1e-15)
    activations = network.layer_activations(3, "relu", "sigmoid")
    assert cost == pytest.approx(float(network.cost(X, Y, parameters, activations)), rel=1e-12)
    grads = assignments.L_model_backward(AL, Y, caches, parameters)
    updated = assignments.update_parameters(parameters, grads, 0.1)
    for key in parameters:
        np.testing.assert_allclose(updated[key], parameters[key] - 0.1 * grads[f"d{key}"], rtol=1e-15)
    looped = loops.network_gradients(X.tolist(), Y[0].tolist(),
                                     {k: v.tolist() if k[0] == "W" else v[:, 0].tolist()
                                      for k, v in parameters.items()}, ["relu", "relu"])
    for key, value in grads.items():  # the pure-Python oracle, one weight at a time
        want = value if key[1] == "W" else value[:, 0]
        np.testing.assert_allclose(np.array(looped[key]), want, rtol=1e-10, atol=1e-15, err_msg=key)


def test_predict_is_zero_one_and_agrees_with_deepnet():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((40, 3)), (rng.random(40) > 0.5).astype(int)
    model = DeepNet((4,), n_iter=50, learning_rate=0.1, random_state=0).fit(X, y)
    got = assignments.predict(X.T, dict(model.params_))
    assert set(np.unique(got)) <= {0.0, 1.0} and got.shape == (1, 40)
    np.testing.assert_array_equal(got[0].astype(int), model.predict(X))


def test_the_course_layout_is_named_when_transposed():
    AL, Y = np.full((1, 5), 0.5), np.ones((5, 1))
    with pytest.raises(ValueError, match=r"got \(1, 5\) and \(5, 1\): pass Y\.T"):
        assignments.compute_cost(AL, Y)
