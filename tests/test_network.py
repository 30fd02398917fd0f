import math

import numpy as np
import pytest

import xpnn
from xpnn import loops, network, training
from xpnn.activations import ACTIVATIONS, get_activation, sigmoid
from xpnn.gradcheck import gradient_check
from xpnn.initializers import SCHEMES, initialize_parameters
from xpnn.heads import cost_from_logits

W_COURSE = np.array([[1.0, 2.0]])          # the course's w = [[1], [2]] as W1 (1, n_x)
B_COURSE = np.array([[2.0]])
X_COURSE = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]])
Y_COURSE = np.array([[1.0, 0.0, 1.0]])


def course_problem(backend, dtype):
    params = {"W1": backend.asarray(W_COURSE, dtype), "b1": backend.asarray(B_COURSE, dtype)}
    return backend.asarray(X_COURSE, dtype), backend.asarray(Y_COURSE, dtype), params


def test_sigmoid_course_values(backend, dtype):
    z = backend.asarray([0.0, 2.0], dtype=dtype)
    np.testing.assert_allclose(backend.to_numpy(sigmoid(z)), [0.5, 0.88079708], rtol=1e-7)


def test_propagate_course_example(backend, dtype):
    X, Y, params = course_problem(backend, dtype)
    activations = network.layer_activations(1)
    AL, caches = network.forward(X, params, activations)
    grads = network.backward(AL, Y, caches, params, activations)
    cost = cost_from_logits(caches[-1][1], Y)
    rtol = {"float64": 1e-8, "float32": 1e-5}[dtype]
    np.testing.assert_allclose(backend.to_numpy(grads["dW1"]).T, [[0.99845601], [2.39507239]], rtol=rtol)
    atol = {"float64": 0.0, "float32": 1e-7}[dtype]  # db sums terms of size ~1 down to 1e-3
    np.testing.assert_allclose(float(grads["db1"][0, 0]), 0.00145557813678, rtol=rtol, atol=atol)
    np.testing.assert_allclose(float(cost), 5.801545319394553, rtol=max(rtol, 1e-14))


def test_optimize_course_example(backend, dtype):
    X, Y, params = course_problem(backend, dtype)
    params, costs = training.train(X, Y, params, network.layer_activations(1), learning_rate=0.009,
                                  n_iter=100, cost_every=100)
    atol = {"float64": 5e-9, "float32": 1e-5}[dtype]  # the course prints 8 decimals
    np.testing.assert_allclose(backend.to_numpy(params["W1"]).T, [[0.19033591], [0.12259159]], atol=atol)
    np.testing.assert_allclose(float(params["b1"][0, 0]), 1.92535983008, atol=atol)
    assert costs == pytest.approx([5.801545319394553], abs=atol)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("L", [1, 2, 4])
def test_gradient_check(name, L, rng):
    dims = [3, 4, 3, 2, 1][-(L + 1):] if L < 4 else [3, 4, 3, 2, 1]
    X = rng.standard_normal((dims[0], 6))
    Y = (rng.random((1, 6)) > 0.5).astype(float)
    params = initialize_parameters(dims, scheme="he", seed=1)
    params = {k: v + (0.1 if k.startswith("b") else 0.0) for k, v in params.items()}  # off relu's kink
    assert gradient_check(X, Y, params, network.layer_activations(L, name)) < 1e-7


def test_gradient_check_detects_a_wrong_gradient(rng, monkeypatch):
    X, Y = rng.standard_normal((3, 5)), np.array([[0.0, 1, 1, 0, 1]])
    params = initialize_parameters([3, 4, 1], scheme="he", seed=0)
    activations = network.layer_activations(2, "tanh")
    wrong = network.backward

    def doubled(*args, **kwargs):
        grads = wrong(*args, **kwargs)
        grads["dW1"] = 2 * grads["dW1"]
        return grads
    monkeypatch.setattr("xpnn.gradcheck.backward", doubled)
    assert gradient_check(X, Y, params, activations) > 1e-2


def test_vectorised_equals_loop_reference(rng):
    X, Y = rng.standard_normal((4, 7)), (rng.random((1, 7)) > 0.5).astype(float)
    w, b = list(rng.standard_normal(4)), 0.3
    dw, db, cost = loops.propagate(w, b, X.tolist(), Y[0].tolist())
    params = {"W1": np.array([w]), "b1": np.array([[b]])}
    activations = network.layer_activations(1)
    AL, caches = network.forward(X, params, activations)
    grads = network.backward(AL, Y, caches, params, activations)
    np.testing.assert_allclose(grads["dW1"][0], dw, rtol=1e-12)
    np.testing.assert_allclose(grads["db1"][0, 0], db, rtol=1e-12)
    assert float(cost_from_logits(caches[-1][1], Y)) == pytest.approx(cost, rel=1e-12)

    w_loop, b_loop, costs_loop = loops.optimize(w, b, X.tolist(), Y[0].tolist(), 30, 0.1)
    trained, costs = training.train(X, Y, params, activations, learning_rate=0.1, n_iter=30, cost_every=1)
    np.testing.assert_allclose(trained["W1"][0], w_loop, rtol=1e-10)
    np.testing.assert_allclose(costs, costs_loop, rtol=1e-12)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_per_example_loop_equals_vectorised(name, rng):
    X, Y = rng.standard_normal((5, 9)), (rng.random((1, 9)) > 0.5).astype(float)
    params = initialize_parameters([5, 4, 3, 1], scheme="he", seed=3)
    activations = network.layer_activations(3, name)
    AL, caches = network.forward(X, params, activations)
    grads = network.backward(AL, Y, caches, params, activations)
    looped = loops.network_gradients_per_example(X, Y, params, activations)
    for key in grads:
        np.testing.assert_allclose(looped[key], grads[key], rtol=1e-10, atol=1e-15)


def test_dot_loop():
    assert loops.dot([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]) == 32.0


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_derivatives_match_finite_differences(name):
    g = get_activation(name)
    z = np.linspace(-3, 3, 13) + 0.05  # avoids relu's kink at 0
    h = 1e-6
    numeric = (g.forward(z + h) - g.forward(z - h)) / (2 * h)
    np.testing.assert_allclose(g.derivative(z, g.forward(z)), numeric, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(g.derivative(z), numeric, rtol=1e-6, atol=1e-9)


def test_leaky_relu_slope():
    g = get_activation("leaky_relu", slope=0.2)
    np.testing.assert_allclose(g.forward(np.array([-1.0, 2.0])), [-0.2, 2.0])
    np.testing.assert_allclose(get_activation("leaky_relu").forward(np.array([-1.0])), [-0.01])
    with pytest.raises(ValueError, match="takes no parameter"):
        get_activation("relu", slope=0.2)
    with pytest.raises(ValueError, match=r"unknown activation 'swish'; choose from \['identity'"):
        get_activation("swish")


def test_extreme_logits_stay_finite(backend, dtype):
    z = backend.asarray([[-1e4, -50.0, 0.0, 50.0, 1e4]], dtype=dtype)
    for y in (0.0, 1.0):
        Y = backend.asarray([[y] * 5], dtype=dtype)
        cost = float(cost_from_logits(z, Y))
        assert math.isfinite(cost)
        assert cost == pytest.approx(sum(max(v, 0) - v * y + math.log1p(math.exp(-abs(v)))
                                         for v in (-1e4, -50.0, 0.0, 50.0, 1e4)) / 5, rel=1e-6)
    A = backend.to_numpy(sigmoid(z))
    tiny = float(np.finfo(dtype).smallest_normal)  # the floor below z = log(tiny)
    assert np.all(np.isfinite(A)) and 0.0 <= A[0, 0] <= 2 * tiny and A[0, -1] == 1.0
    X = backend.asarray([[-1.0, -0.005, 0.0, 0.005, 1.0]], dtype=dtype)   # W = 1e4 gives the logits
    params = {"W1": backend.asarray([[1e4]], dtype=dtype), "b1": backend.asarray([[0.0]], dtype=dtype)}
    acts = network.layer_activations(1)
    AL, caches = network.forward(X, params, acts)
    Y = backend.asarray([[1.0, 0.0, 1.0, 0.0, 1.0]], dtype=dtype)
    grads = network.backward(AL, Y, caches, params, acts)
    assert all(np.all(np.isfinite(backend.to_numpy(g))) for g in grads.values())
    assert A[0, 1] == pytest.approx(math.exp(-50), rel=1e-5)  # accurate in the tail


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_init_schemes(scheme):
    params = initialize_parameters([400, 30, 1], scheme=scheme, seed=0)
    assert params["W1"].shape == (30, 400) and params["b1"].shape == (30, 1)
    assert not params["b1"].any()
    expected = {"zeros": 0.0, "random": 0.01, "xavier": math.sqrt(1 / 400),
                "he": math.sqrt(2 / 400), "large": 10.0}[scheme]
    assert params["W1"].std() == pytest.approx(expected, rel=0.05)


def test_init_errors():
    with pytest.raises(ValueError, match=r"unknown init 'glorot'; choose from \['he', 'large'"):
        initialize_parameters([2, 1], scheme="glorot")
    with pytest.raises(ValueError, match="positive integers"):
        initialize_parameters([2, 0, 1])


def test_same_seed_same_training_on_every_backend(backend, dtype, rng):
    """Weights, gradients, trained parameters and costs agree with NumPy from one seed.

    The tolerance comes from the arithmetic, not from a run. Backends may differ by an ulp or
    two per operation (GEMM summation order and FMA, libm tanh/exp within 2 ulp on CUDA, CuPy's
    flush-to-zero), so an entry's error is bounded by its terms, not by its value: a bias near
    1e-3 that is a difference of O(1) terms carries their absolute error. So the check is
    normwise, |got - want| <= tol * (|want| + max|want| of the tensor), with tol the worst case
    of one rounding u per term summed: n_iter iterations x (m examples + 4 ops per layer for
    L layers), i.e. 20 * (20 + 12) * u = 3.8e-5 in float32 and 7.1e-14 in float64.
    """
    import xpnn

    n_iter, m, dims = 20, 20, [6, 5, 3, 1]
    X, Y = rng.standard_normal((6, m)), (rng.random((1, m)) > 0.5).astype(float)
    tol = n_iter * (m + 4 * (len(dims) - 1)) * float(np.finfo(dtype).eps) / 2
    reference = xpnn.get_backend("numpy")
    results = []
    for be in (reference, backend):
        params = initialize_parameters(dims, scheme="he", seed=7, backend=be, dtype=dtype)
        activations = network.layer_activations(3, "tanh")
        Xb, Yb = be.asarray(X, dtype), be.asarray(Y, dtype)
        AL, caches = network.forward(Xb, params, activations)
        grads = network.backward(AL, Yb, caches, params, activations)
        trained, costs = training.train(Xb, Yb, params, activations, learning_rate=0.5, n_iter=n_iter,
                                       cost_every=5)
        results.append(({k: be.to_numpy(v) for k, v in {**params, **grads, **{
            f"trained_{k}": v for k, v in trained.items()}}.items()}, costs))
    (want, want_costs), (got, got_costs) = results
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=tol, atol=tol * np.abs(want[key]).max(),
                                   err_msg=key)
    np.testing.assert_allclose(got_costs, want_costs, rtol=tol)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's overflow notes on the way to NaN
def test_divergence_raises_or_keeps_last_finite_params(rng):
    X = rng.standard_normal((3, 50)) * 1e3
    Y = (rng.random((1, 50)) > 0.5).astype(float)
    params = initialize_parameters([3, 8, 1], scheme="he", seed=0)
    acts = network.layer_activations(2, "relu")
    with pytest.raises(xpnn.DivergenceError, match=r"iteration \d+.*smaller learning_rate"):
        training.train(X, Y, params, acts, learning_rate=1e6, n_iter=200, cost_every=1)
    with pytest.warns(xpnn.DivergenceWarning, match="keeping the last parameters"):
        kept, costs = training.train(X, Y, params, acts, learning_rate=1e6, n_iter=200, cost_every=1,
                                    on_divergence="warn")
    assert network.all_finite(kept) and all(math.isfinite(c) for c in costs)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_between_cost_reads_is_caught(rng):
    X = rng.standard_normal((3, 50)) * 1e3
    Y = (rng.random((1, 50)) > 0.5).astype(float)
    params = initialize_parameters([3, 8, 1], scheme="he", seed=0)
    with pytest.raises(xpnn.DivergenceError):
        training.train(X, Y, params, network.layer_activations(2, "relu"), learning_rate=1e6,
                      n_iter=200, cost_every=1000)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_pure_python_network_equals_vectorised(name, rng):
    X, Y = rng.standard_normal((3, 5)), (rng.random((1, 5)) > 0.5).astype(float)
    params = initialize_parameters([3, 4, 2, 1], scheme="he", seed=2)
    activations = network.layer_activations(3, name)
    _, grads, _ = network.step(X, Y, params, activations, 0.1)
    looped = loops.network_gradients(X.tolist(), Y[0].tolist(),
                                     {k: v.tolist() if k[0] == "W" else v[:, 0].tolist()
                                      for k, v in params.items()}, [name, name])
    for key, value in grads.items():
        want = value if key[1] == "W" else value[:, 0]
        np.testing.assert_allclose(np.array(looped[key]), want, rtol=1e-10, atol=1e-15, err_msg=key)


@pytest.mark.parametrize("n_iter,cost_every", [(50, 10), (7, 100), (30, 1)])
def test_train_reads_the_device_only_every_cost_every_iterations(n_iter, cost_every, strict_reads, rng):
    """No host synchronisation inside the loop: on array_api_strict we count every conversion of
    an array to a Python scalar (float/bool/int) during train()."""
    import xpnn

    be = xpnn.get_backend("array_api_strict")
    reads = strict_reads
    X = be.asarray(rng.standard_normal((3, 20)))
    Y = be.asarray((rng.random((1, 20)) > 0.5).astype(float))
    params = initialize_parameters([3, 4, 1], scheme="he", seed=0, backend=be)
    _, costs = training.train(X, Y, params, network.layer_activations(2, "tanh"), learning_rate=0.1,
                             n_iter=n_iter, cost_every=cost_every)
    cost_reads = -(-n_iter // cost_every)
    assert len(costs) == cost_reads
    # one bool for the input check, one float per recorded cost, one for the final finiteness check
    assert reads == ["__bool__"] + ["__float__"] * (cost_reads + 1)


def test_samples_as_rows_only_for_a_thin_layer_on_transposed_row_major_input(rng):
    """The layout choice is made in one place, for the estimators' X (a transposed view of
    row-major samples) on NumPy, and only where the product is large and the layer thin."""
    from xpnn.backend import samples_as_rows

    X_rows = rng.standard_normal((300, 4096))
    W_thin, W_wide = rng.standard_normal((16, 4096)), rng.standard_normal((400, 4096))
    assert samples_as_rows(X_rows.T, W_thin)
    assert not samples_as_rows(np.ascontiguousarray(X_rows.T), W_thin)  # already column-major samples
    assert not samples_as_rows(X_rows.T, W_wide)                        # n[1] >= m: no gain measured
    assert not samples_as_rows(X_rows[:10, :40].T, W_thin[:, :40])      # too small to matter
    batch = rng.standard_normal((200, 50))
    assert samples_as_rows(batch.T, rng.standard_normal((100, 50)))    # 200 rows into 100 units
    assert not samples_as_rows(batch[:64].T, W_thin[:, :50])           # 64 rows into 16: no gain
    strict = pytest.importorskip("array_api_strict")
    assert not samples_as_rows(strict.asarray(X_rows).T, strict.asarray(W_thin))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_either_layout_gives_the_same_step(dtype, rng):
    """The course net's step on the estimators' layout (layer 1 computed with the samples as
    rows) equals the step on a column-major copy of X, to a few roundings of the longest sum."""
    dims, m = [5000, 20, 7, 1], 230
    X_rows = rng.standard_normal((m, dims[0])).astype(dtype)
    Y = (rng.random((1, m)) > 0.5).astype(dtype)
    params = {k: v.astype(dtype) for k, v in initialize_parameters(dims, scheme="xavier", seed=0).items()}
    activations = network.layer_activations(3, "relu")
    assert network.linear_forward(X_rows.T, params["W1"], params["b1"]).flags.f_contiguous  # rows first
    view = network.step(X_rows.T, Y, params, activations, 0.01)
    copy = network.step(np.ascontiguousarray(X_rows.T), Y, params, activations, 0.01)
    tol = dims[0] * float(np.finfo(dtype).eps)  # one rounding per term of a 5000-term dot product
    for got, want in zip(view[:2], copy[:2]):
        for key in want:
            np.testing.assert_allclose(got[key], want[key], rtol=tol, atol=tol * np.abs(want[key]).max(),
                                       err_msg=key)


def test_mini_batches_on_either_layout_train_alike(rng):
    """Mini-batches of the estimators' layout (slices of a row-major shuffle: the products take
    the samples as rows, dA follows) train like a column-major copy of X, to rounding."""
    from xpnn import optimizers, training

    X_rows = rng.standard_normal((1000, 50))
    Y = (X_rows[:, :1].T + rng.standard_normal((1, 1000)) > 0).astype(float)
    params = initialize_parameters([50, 100, 1], scheme="he", seed=0)
    runs = [training.run(X, Y, params, network.layer_activations(2, "relu"), n_epochs=3, batch_size=200,
                         optimizer=optimizers.adam(0.01), random_state=0).params
            for X in (X_rows.T, np.ascontiguousarray(X_rows.T))]
    for key in params:
        np.testing.assert_allclose(runs[0][key], runs[1][key], rtol=1e-9, atol=1e-12, err_msg=key)


@pytest.mark.parametrize("n", [1, 7])
def test_backward_products_keep_the_layout_and_the_numbers(n, rng):
    """dA[l-1] = W[l].T @ dZ[l] is made in Z[l-1]'s layout (samples contiguous when layer l-1
    was computed with the samples as rows), so g'(Z[l-1]) multiplies into it along memory; one
    output unit's outer product comes from broadcasting, bit for bit the matrix product."""
    m = 300
    W, dZ = rng.standard_normal((n, 64)), rng.standard_normal((n, m))
    samples_first = rng.standard_normal((m, 64)).T  # what a samples-as-rows product gives
    for Z_prev, layout in ((samples_first, "F_CONTIGUOUS"),
                           (np.ascontiguousarray(samples_first), "C_CONTIGUOUS")):
        dA = network.backward_product(W, dZ, Z_prev)
        assert dA.shape == (64, m) and dA.flags[layout]
        if n == 1:
            np.testing.assert_array_equal(dA, W.T @ dZ)
        else:
            np.testing.assert_allclose(dA, W.T @ dZ, rtol=1e-13)


def test_numpy_namespace_sums_bit_for_bit_as_numpy(rng):
    """The NumPy namespace's faster sum and max (np.add / np.maximum .reduce, without np.sum's and
    np.max's wrapping) are np.sum's and np.max's."""
    from xpnn.backend import namespace

    xp = namespace(np.ones(1))
    for x in (rng.standard_normal((7, 301)), rng.standard_normal((7, 301)).astype("float32")):
        for axis, keepdims in ((None, False), (0, True), (1, True), (1, False), ((0, 1), False)):
            got, want = xp.sum(x, axis=axis, keepdims=keepdims), np.sum(x, axis=axis, keepdims=keepdims)
            assert got.dtype == want.dtype and np.shape(got) == np.shape(want)
            np.testing.assert_array_equal(got, want)
    assert xp.sum(np.array([True, True, False])) == 2  # not floating: the array API's rules
    assert xp.sum(np.ones(3, "float32"), dtype=np.float64).dtype == np.float64
    x = rng.standard_normal((5, 9))
    x[2, 3] = np.nan
    for axis, keepdims in ((None, False), (0, True), (1, False)):
        np.testing.assert_array_equal(xp.max(x, axis=axis, keepdims=keepdims),
                                      np.max(x, axis=axis, keepdims=keepdims))  # NaN propagates too
    with pytest.raises(ValueError):
        xp.max(np.ones((0, 3)))  # an empty max raises, as np.max does


def test_a_step_changes_nothing_it_was_given(backend, dtype, rng):
    """In-place work happens only on fresh temporaries: X, Y, the parameters (which CostLog may
    hold as the last finite ones) and the gradients a step returns are never written to."""
    dims, m = [6, 5, 3, 2], 40
    X = backend.asarray(rng.standard_normal((6, m)), dtype)
    Y = backend.asarray((rng.random((2, m)) > 0.5).astype(float), dtype)
    params = initialize_parameters(dims, scheme="he", seed=3, backend=backend, dtype=dtype)
    activations = network.layer_activations(3, "tanh")
    before = {k: backend.to_numpy(v).copy() for k, v in {**params, "X": X, "Y": Y}.items()}
    new, grads, _ = network.step(X, Y, params, activations, 0.1)
    grads_then = {k: backend.to_numpy(v).copy() for k, v in grads.items()}
    new_then = {k: backend.to_numpy(v).copy() for k, v in new.items()}
    network.step(X, Y, new, activations, 0.1)               # a later step from the new parameters
    training.train(X, Y, params, activations, learning_rate=0.1, n_iter=3, cost_every=1)
    for key, value in {**params, "X": X, "Y": Y}.items():
        np.testing.assert_array_equal(backend.to_numpy(value), before[key], err_msg=key)
    for held, then in ((grads, grads_then), (new, new_then)):
        for key, value in held.items():
            np.testing.assert_array_equal(backend.to_numpy(value), then[key], err_msg=key)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_descend_is_p_minus_rate_times_step_bit_for_bit(dtype, rng):
    from xpnn.optimizers import descend

    p, g = rng.standard_normal((50, 70)).astype(dtype), rng.standard_normal((50, 70)).astype(dtype)
    for rate in (0.0075, 1.2, 1e-7):
        np.testing.assert_array_equal(descend(p, g, rate), p - rate * g)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_sigmoid_and_its_gradients_are_the_course_expressions_bit_for_bit(dtype, rng):
    """The in-place forms (1 + e, (1 - A) A, dZ scaled in place) round exactly as the course's
    out-of-place NumPy expressions, wherever exp(-Z) is finite; their inputs are left as given."""
    from xpnn.activations import sigmoid_prime
    from xpnn.heads import cost_gradient

    cap = -math.log(float(np.finfo(dtype).smallest_normal))
    Z = np.linspace(-cap, cap, 20001).astype(dtype).reshape(1, -1)  # exp(-Z) finite throughout
    Z_given = Z.copy()
    A = sigmoid(Z)
    np.testing.assert_array_equal(A, 1 / (1 + np.exp(-Z)))
    np.testing.assert_array_equal(sigmoid_prime(Z, A), A * (1 - A))
    Y = (rng.random(Z.shape) > 0.5).astype(dtype)
    S = rng.integers(0, 4, Z.shape).astype(dtype) + 1
    A_given = A.copy()
    np.testing.assert_array_equal(cost_gradient(A, Y), (A - Y) / Z.shape[1])
    total = np.sum(S) + np.finfo(dtype).smallest_normal  # as heads._total
    np.testing.assert_array_equal(cost_gradient(A, Y, S=S), (A - Y) * (S / total))
    np.testing.assert_array_equal(A, A_given)
    np.testing.assert_array_equal(Z, Z_given)


def test_the_course_functions_name_the_layout_when_shapes_are_transposed():
    """A Y of shape (m, 1) would broadcast against (1, m) to (m, m) and give a wrong cost in
    silence; X as (m, n_x) would fail deep in a matmul: both are named, with the fix."""
    from xpnn.initializers import initialize_parameters

    rng = np.random.default_rng(0)
    X, Y = rng.random((3, 20)), (rng.random((1, 20)) > 0.5) * 1.0
    params, activations = initialize_parameters([3, 4, 1], scheme="he", seed=0), network.layer_activations(2)
    with pytest.raises(ValueError, match=r"Y must be \(1, 20\).*got \(20, 1\): pass Y\.T"):
        network.cost(X, Y.T, params, activations)
    with pytest.raises(ValueError, match=r"X must be \(n_x, m\) = \(3, m\).*got \(20, 3\): pass X\.T"):
        network.forward(X.T, params, activations)
    AL, caches = network.forward(X, params, activations)
    with pytest.raises(ValueError, match=r"got \(20, 1\): pass Y\.T"):
        network.backward(AL, Y.T, caches, params, activations)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_numpys_in_place_fused_steps_give_the_kernels_numbers_bit_for_bit(dtype):
    """On NumPy the fused steps (dA g'(Z), (A - Y)/m, dW + (alpha/m) W) run in place; on
    array_api_strict the kernels themselves run: the same numbers, bit for bit."""
    strict = pytest.importorskip("array_api_strict")
    from xpnn.activations import ACTIVATIONS
    from xpnn.heads import cost_gradient

    rng = np.random.default_rng(0)
    Z, dA = rng.standard_normal((5, 40)).astype(dtype), rng.standard_normal((5, 40)).astype(dtype)
    for name in ("sigmoid", "tanh", "relu", "identity"):
        g = ACTIVATIONS[name]
        A = g.forward(Z)
        mine = g.backward(dA.copy(), Z, A)
        theirs = g.backward(strict.asarray(dA), strict.asarray(Z), strict.asarray(A))
        assert np.asarray(theirs).tobytes() == mine.tobytes(), name
        want = dA * g.derivative(Z, A)  # the unfused product
        assert want.tobytes() == mine.tobytes(), name
    A1, Y1 = rng.random((1, 40)).astype(dtype), (rng.random((1, 40)) > 0.5).astype(dtype)
    assert np.asarray(cost_gradient(strict.asarray(A1), strict.asarray(Y1))).tobytes() == \
        cost_gradient(A1, Y1).tobytes()
    params = initialize_parameters([3, 4, 1], scheme="he", seed=0)
    params = {k: v.astype(dtype) for k, v in params.items()}
    X, Y = rng.standard_normal((3, 40)).astype(dtype), (rng.random((1, 40)) > 0.5).astype(dtype)
    acts = network.layer_activations(2, "relu")
    sp = {k: strict.asarray(v) for k, v in params.items()}
    grads, sgrads = (network.backward(*_with_y(network.forward(x, p, acts, training=True), y), p, acts,
                                      alpha=0.3)
                     for x, y, p in ((X, Y, params), (strict.asarray(X), strict.asarray(Y), sp)))
    for k in grads:
        assert np.asarray(sgrads[k]).tobytes() == grads[k].tobytes(), k


def _with_y(forward, Y):
    AL, caches = forward
    return AL, Y, caches
