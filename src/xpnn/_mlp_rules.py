"""scikit-learn's MLP rules that :mod:`xpnn.mlp` follows: its parameter checks, its weight
initialisation, its hold-out (``train_test_split``) and per-epoch shuffles drawn from the same
RandomState, its learning-rate schedules and its per-epoch plateau rule on the training loss."""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._parameters import check_choice, check_positive_int
from .optimizers import decay_schedule

ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}


def check_patience(value, name):
    if value == math.inf:
        return math.inf
    return check_positive_int(value, name)


def check_batch_size(value, name):
    return value if isinstance(value, str) and value == "auto" else check_positive_int(value, name)


def check_optional_dtype(value, name):
    return None if value is None else check_choice(getattr(value, "__name__", str(value)), name,
                                                   {"float64", "float32"})


def random_state_of(seed):
    """scikit-learn's ``check_random_state``: a RandomState from None, an int or itself."""
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        if not 0 <= seed < 2**32:
            raise ValueError(f"random_state must be between 0 and 2**32 - 1; got {seed}")
        return np.random.RandomState(seed)
    if isinstance(seed, np.random.RandomState):
        return seed
    if isinstance(seed, np.random.Generator):
        return np.random.RandomState(seed.integers(2**32))
    raise ValueError(f"random_state must be None, an int, a numpy.random.RandomState or Generator; "
                     f"got {seed!r}")


def train_test_rows(n, test_fraction, rs, strata=None):
    """scikit-learn's ``train_test_split`` row for row (ShuffleSplit, or StratifiedShuffleSplit
    with ``strata``), drawn from ``rs`` as it draws: (training rows, held-out rows), each in the
    order scikit-learn returns them, which is the order its MLP then trains in."""
    n_test = math.ceil(test_fraction * n)
    n_train = n - n_test
    if n_train <= 0:
        raise ValueError(f"With n_samples={n}, test_size={test_fraction} and train_size=None, the resulting "
                         "train set will be empty. Adjust any of the aforementioned parameters.")
    if strata is None:
        permutation = rs.permutation(n)
        return permutation[n_test:n_test + n_train], permutation[:n_test]
    classes, index = np.unique(strata, return_inverse=True)
    counts = np.bincount(index)
    if counts.min() < 2:
        few = [str(c) for c, k in zip(classes, counts) if k < 2]
        raise ValueError("The least populated classes in y have only 1 member, which is too few. The "
                         "minimum number of groups for any class cannot be less than 2. Classes with "
                         f"too few members are: {few}")
    for size, name in ((n_train, "train_size"), (n_test, "test_size")):
        if size < len(classes):
            raise ValueError(f"The {name} = {size} should be greater or equal to the number of "
                             f"classes = {len(classes)}")
    members = np.split(np.argsort(index, kind="mergesort"), np.cumsum(counts)[:-1])
    n_i = _approximate_mode(counts, n_train, rs)
    t_i = _approximate_mode(counts - n_i, n_test, rs)
    train, test = [], []
    for i in range(len(classes)):
        rows = members[i].take(rs.permutation(counts[i]), mode="clip")
        train.extend(rows[:n_i[i]])
        test.extend(rows[n_i[i]:n_i[i] + t_i[i]])
    return rs.permutation(train), rs.permutation(test)


def _approximate_mode(counts, n_draws, rs):
    """scikit-learn's ``_approximate_mode``: ``n_draws`` split over the classes in proportion to
    ``counts``, the largest remainders first, ties broken by ``rs``."""
    continuous = counts / counts.sum() * n_draws
    floored = np.floor(continuous)
    need = int(n_draws - floored.sum())
    if need > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (tied,) = np.where(remainder == value)
            now = min(len(tied), need)
            floored[rs.choice(tied, size=now, replace=False)] += 1
            need -= now
            if need == 0:
                break
    return floored.astype(int)


class EpochShuffle:
    """scikit-learn's per-epoch shuffle: the sample order is itself shuffled by ``rs`` each
    epoch (``sample_idx = shuffle(sample_idx, random_state=rs)``), so epoch k's order is the
    composition of k permutations drawn from the RandomState that drew the weights."""

    def __init__(self, rs):
        self.rs, self.order = rs, None

    def __call__(self, m):
        if self.order is None or self.order.shape[0] != m:
            self.order = np.arange(m)
        self.order = self.order[self.rs.permutation(m)]
        return self.order


def glorot_uniform(dims, activation, rs):
    """scikit-learn's initialisation: W and b uniform in ±sqrt(factor / (fan_in + fan_out)),
    factor 2 for logistic units, else 6, drawn from ``rs`` layer by layer (weights, then
    biases), in float64. Returned in course notation."""
    factor = 2.0 if activation == "logistic" else 6.0
    params = {}
    for l, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:]), start=1):
        bound = math.sqrt(factor / (fan_in + fan_out))
        params[f"W{l}"] = rs.uniform(-bound, bound, (fan_in, fan_out)).T
        params[f"b{l}"] = rs.uniform(-bound, bound, fan_out)[:, None]
    return params


class AdaptiveRate:
    """The "adaptive" learning rate: the current value, divided by 5 on a plateau."""

    def __init__(self, value):
        self.value = value

    def __call__(self, t):
        return self.value


def schedule(hp, m, steps_per_epoch):
    lr0 = hp["learning_rate_init"]
    if hp["solver"] != "sgd" or hp["learning_rate"] == "constant":
        return lr0
    if hp["learning_rate"] == "adaptive":
        return AdaptiveRate(lr0)
    return decay_schedule(lr0, "invscaling", decay_rate=hp["power_t"], decay_interval=m,
                          steps_per_epoch=steps_per_epoch)


class Plateau:
    """scikit-learn's per-epoch rule on the training loss: an epoch that does not lower the best
    loss by ``tol`` counts; after more than ``n_iter_no_change`` of them in a row, stop (or, with
    the adaptive rate, divide it by 5 while it is above 1e-6). Prints the verbose lines."""

    def __init__(self, hp, rate, verbose, early_stopping, best):
        self.tol, self.patience, self.rate = hp["tol"], hp["n_iter_no_change"], rate
        self.verbose, self.early_stopping = verbose, early_stopping
        self.best, self.count, self.stopped = (np.inf if best is None else best), 0, False

    def __call__(self, epoch, loss):
        if self.verbose:
            print(f"Iteration {epoch + 1}, loss = {loss:.8f}")
        if self.early_stopping:
            return None
        self.count = self.count + 1 if loss > self.best - self.tol else 0
        self.best = min(self.best, loss)
        if self.count <= self.patience:
            return None
        what = (f"Training loss did not improve more than tol={self.tol:f} for {self.patience} "
                "consecutive epochs.")
        if isinstance(self.rate, AdaptiveRate) and self.rate.value > 1e-6:
            self.rate.value /= 5.0
            self.count = 0
            if self.verbose:
                print(f"{what} Setting learning rate to {self.rate.value:f}")
            return None
        if self.verbose:
            print(what + " Stopping.")
        self.stopped = True
        return False
