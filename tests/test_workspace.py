"""A training step's reused arrays on NumPy (:class:`xpnn._layout.Workspace`): the same numbers as
fresh arrays, bit for bit, and no large array made afresh at each step."""

import tracemalloc

import numpy as np
import pytest

from xpnn import network, optimizers, training
from xpnn._layout import Workspace
from xpnn.backend import workspace_for
from xpnn.initializers import initialize_parameters


def _problem(dims, m, dtype, head="sigmoid", seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, dims[0])).astype(dtype).T  # the estimators' view of row-major samples
    if head == "softmax":
        Y = np.eye(dims[-1])[rng.integers(0, dims[-1], m)].T.astype(dtype)
    else:  # one 0/1 label per unit
        Y = (rng.random((dims[-1], m)) > 0.5).astype(dtype)
    params = {k: v.astype(dtype) for k, v in initialize_parameters(dims, scheme="xavier", seed=seed).items()}
    return X, Y, params


def test_a_workspace_only_for_numpy_arrays_above_the_mmap_threshold():
    """Small steps (an iris-size net) and other libraries' arrays get none: there the lookups
    would cost more than the allocations they save."""
    assert isinstance(workspace_for(np.zeros((2, 2)), 64, 5000), Workspace)
    assert workspace_for(np.zeros((2, 2)), 8, 150) is None                        # 9.6 KB
    assert workspace_for(np.zeros((2, 2), np.float32), 64, 500) is None           # 125 KiB
    assert isinstance(workspace_for(np.zeros((2, 2), np.float32), 64, 512), Workspace)  # 128 KiB
    strict = pytest.importorskip("array_api_strict")
    assert workspace_for(strict.zeros((2, 2)), 64, 5000) is None


def test_mini_batches_get_a_workspace_only_from_8_mib_arrays():
    """Where the set is cut into mini-batches, malloc serves arrays up to the epoch's gathered
    copy of the data from its heap: a workspace only pays from 8 MiB (measured, see
    workspace_for), so MLPClassifier's batches of 200 get none."""
    assert workspace_for(np.zeros((2, 2)), 100, 200, batches=True) is None         # 156 KiB
    assert workspace_for(np.zeros((2, 2)), 100, 5000, batches=True) is None        # 3.9 MiB
    assert workspace_for(np.zeros((2, 2)), 256, 4095, batches=True) is None        # just below 8 MiB
    assert isinstance(workspace_for(np.zeros((2, 2)), 256, 4096, batches=True), Workspace)


@pytest.mark.parametrize("options, batches", [({}, False), ({"batch_size": 200}, True),
                                              ({"batch_size": 200, "dropout": [0.2]}, True)])
def test_training_asks_for_a_workspace_of_its_batches(monkeypatch, options, batches):
    """training.run asks workspace_for once a fit, saying whether the set is cut into batches,
    with the size of a batch's widest array."""
    X, Y, params = _problem([20, 64, 1], 1000, "float64")
    asked = []

    def spy(x, rows, columns, **kwargs):
        asked.append((rows, columns, kwargs))
        return workspace_for(x, rows, columns, **kwargs)
    monkeypatch.setattr(training, "workspace_for", spy)
    training.run(X, Y, params, network.layer_activations(2, "relu"), optimizer=optimizers.adam(0.01),
                 n_epochs=2, random_state=0, **options)
    assert asked == [(64, 200 if batches else 1000, {"batches": batches})]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("hidden, head, dims", [
    ("relu", "sigmoid", [100, 64, 64, 1]),      # the outer-product dA of one output unit
    ("tanh", "softmax", [30, 96, 40, 5]),
    ("sigmoid", "sigmoid", [30, 80, 3]),        # three sigmoid units (multilabel)
])
@pytest.mark.parametrize("row_major", [True, False])
def test_steps_with_a_workspace_equal_steps_without_bit_for_bit(dtype, hidden, head, dims, row_major):
    """Three steps in a row through one workspace give the parameters and gradients of fresh
    arrays exactly, in either layout of X; Z[L] is the workspace's array each time (reused)."""
    X, Y, params = _problem(dims, 3000, dtype, head)
    X = X if row_major else np.ascontiguousarray(X)
    activations = network.layer_activations(len(dims) - 1, hidden, head)
    workspace, fresh, reused, logits = Workspace(), params, params, []
    for _ in range(3):
        fresh, want, _ = network.step(X, Y, fresh, activations, 0.1, head=head)
        reused, got, Z = network.step(X, Y, reused, activations, 0.1, head=head, workspace=workspace)
        logits.append(Z)
        for key in want:
            np.testing.assert_array_equal(got[key], want[key], err_msg=key)
        for key in fresh:
            np.testing.assert_array_equal(reused[key], fresh[key], err_msg=key)
    assert np.shares_memory(logits[0], logits[1]) and np.shares_memory(logits[1], logits[2])


def _peak_of_step(X, Y, params, activations, workspace):
    network.step(X, Y, params, activations, 0.1, workspace=workspace)  # the workspace's arrays made
    tracemalloc.start()
    try:
        network.step(X, Y, params, activations, 0.1, workspace=workspace)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_step_with_a_workspace_makes_no_layer_sized_array():
    """What a step allocates at its peak (NumPy reports its arrays to tracemalloc): with a
    workspace less than the relu derivative's boolean mask of one hidden layer (n, m), an
    eighth of its float64 array; with fresh arrays several layer arrays at once."""
    X, Y, params = _problem([100, 64, 64, 1], 5000, "float64")
    activations = network.layer_activations(3, "relu")
    layer = 64 * 5000 * 8
    assert _peak_of_step(X, Y, params, activations, Workspace()) < layer / 8
    assert _peak_of_step(X, Y, params, activations, None) > 3 * layer


@pytest.mark.parametrize("options", [
    {},                                                     # full batch
    {"batch_size": 1000},                                   # mini-batches, the last one shorter
    {"batch_size": 1000, "dropout": [0.2, 0.0]},            # masks multiplied into A
])
def test_training_through_its_workspace_trains_as_without(monkeypatch, options):
    """training.run through one workspace for the fit (made here whatever the batches' size)
    trains exactly as with fresh arrays: the same costs and parameters, bit for bit."""
    X, Y, params = _problem([40, 64, 32, 3], 2600, "float64", head="softmax")
    activations = network.layer_activations(3, "relu", "softmax")
    made = []

    def spy(*args, **kwargs):
        made.append(Workspace())
        return made[-1]

    def fit():
        return training.run(X, Y, params, activations, optimizer=optimizers.adam(0.01), n_epochs=6,
                            head="softmax", cost_every=1, random_state=0, **options)
    monkeypatch.setattr(training, "workspace_for", spy)
    reused = fit()
    assert len(made) == 1
    monkeypatch.setattr(training, "workspace_for", lambda *args, **kwargs: None)
    fresh = fit()
    assert reused.costs == fresh.costs
    for key in fresh.params:
        np.testing.assert_array_equal(reused.params[key], fresh.params[key], err_msg=key)


def test_a_shorter_last_batch_keeps_its_own_arrays():
    """Batches of 3000 and 1200 in turn (an epoch's last, shorter batch) through one workspace:
    once both sizes have been seen, neither makes its layer arrays again (the smallest of them,
    64 x 1200 float64, is above the step's peak)."""
    X, Y, params = _problem([100, 64, 64, 1], 4200, "float64")
    activations = network.layer_activations(3, "relu")
    batches = [(X[:, :3000], Y[:, :3000]), (X[:, 3000:], Y[:, 3000:])]
    workspace = Workspace()
    for Xb, Yb in batches:
        network.step(Xb, Yb, params, activations, 0.1, workspace=workspace)
    tracemalloc.start()
    try:
        for Xb, Yb in batches * 2:
            network.step(Xb, Yb, params, activations, 0.1, workspace=workspace)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1200 * 8


def test_a_workspace_gives_numpys_result_dtype():
    """Mixed float32 and float64 operands give float64, as a fresh result would: never a silent
    cast into the first operand's dtype."""
    workspace = Workspace()
    small, big = np.ones((300, 1), np.float32), np.full((1, 200), 1 / 3)
    np.testing.assert_array_equal(workspace.apply("outer", "multiply", small, big), small * big)
    assert workspace.apply("outer", "multiply", small, big).dtype == np.float64
    assert workspace.apply("mask", "greater", big, 0.0, dtype="bool").dtype == np.bool_


def test_lbfgs_evaluations_through_a_workspace_equal_fresh_ones(monkeypatch):
    """Every L-BFGS evaluation of the full batch goes through one workspace (this problem is
    above the threshold) and the solution is that of fresh arrays, bit for bit."""
    X, Y, params = _problem([40, 64, 32, 1], 3000, "float64")
    activations = network.layer_activations(3, "relu")
    made = []

    def spy(*args):
        made.append(workspace_for(*args))
        return made[-1]
    monkeypatch.setattr(training, "workspace_for", spy)
    reused, _ = training.run_lbfgs(X, Y, params, activations, alpha=1e-4, max_iter=15)
    assert isinstance(made[-1], Workspace)
    monkeypatch.setattr(training, "workspace_for", lambda *args: None)
    fresh, _ = training.run_lbfgs(X, Y, params, activations, alpha=1e-4, max_iter=15)
    assert reused.costs == fresh.costs and reused.n_iter == fresh.n_iter == 15
    for key in fresh.params:
        np.testing.assert_array_equal(reused.params[key], fresh.params[key], err_msg=key)
