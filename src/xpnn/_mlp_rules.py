"""scikit-learn's MLP rules that :mod:`xpnn.mlp` follows: its parameter checks, its weight
initialisation, its hold-out (``train_test_split``) and per-epoch shuffles drawn from the same
RandomState, its learning-rate schedules — gathered in :class:`ScikitLearnRules`, which the one
driver (:mod:`xpnn._driver`) reads — and its per-epoch plateau rule on the training loss
(:class:`xpnn._monitors.Plateau`)."""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._driver import Rules
from ._monitors import AdaptiveRate, Plateau
from ._constraints import check_choice, check_positive_int
from .backend import warn
from .network import all_finite
from .normalization import add_batch_norm
from .optimizers import decay_schedule, get_optimizer
from .optimizers import hyperparameters as optimizer_hyperparameters
from .training import EarlyStopping

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
    factor = 2.0 if activation in ("logistic", "sigmoid") else 6.0
    params = {}
    for l, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:]), start=1):
        bound = math.sqrt(factor / (fan_in + fan_out))
        params[f"W{l}"] = rs.uniform(-bound, bound, (fan_in, fan_out)).T
        params[f"b{l}"] = rs.uniform(-bound, bound, fan_out)[:, None]
    return params


class ScikitLearnRules(Rules):
    """scikit-learn's MLP rules for the one driver (:func:`xpnn._driver.train`): Glorot-uniform
    weights, the hold-out, the per-epoch shuffles and (for Dask) the seed all drawn from the one
    RandomState of ``random_state``, in scikit-learn's order; its batch size and learning-rate
    schedules; its plateau rule; what its fitted attributes record (``run``)."""

    SOLVER, RATE = "solver", "learning_rate_init"

    def __init__(self, estimator, hp):
        super().__init__(estimator, hp)
        self.rs, self.run = random_state_of(estimator.random_state), None

    def batch_size(self, m):
        batch = min(200, m) if self.hp["batch_size"] == "auto" else self.hp["batch_size"]
        return min(batch, m)

    def initial(self, dims, backend):
        initial = glorot_uniform(dims, self.estimator._hidden_activation(), self.rs)
        initial = add_batch_norm(initial) if self.estimator._batch_norm() else initial
        host = backend.is_lazy  # Dask: the parameters stay on the host
        dtype = self.hp["dtype"]
        return {k: np.asarray(v, dtype=dtype) if host else backend.asarray(v, dtype=dtype)
                for k, v in initial.items()}

    def hold_out(self, Y, head):
        """``train_test_split`` with this fit's RandomState, stratified for a single-output
        classifier; (training rows, held-out rows) in its order; at least two held out."""
        stratify = self.estimator._stratified_hold_out and Y.shape[1] == 1
        rows, held = train_test_rows(Y.shape[0], self.hp["validation_fraction"], self.rs,
                                     strata=Y[:, 0] > 0.5 if stratify else None)
        if held.shape[0] < 2:
            raise ValueError("The validation set is too small. Increase 'validation_fraction' or the "
                             "size of your dataset.")
        return rows, held

    def early_stopping(self, X_val, Y_val, head, backend):
        hp = self.hp
        return EarlyStopping(X_val, self.targets(Y_val, backend), hp["n_iter_no_change"] + 1, hp["tol"],
                             inclusive=True)

    def optimizer(self, m, steps_per_epoch, backend):
        """The solver with the hyperparameters it declares, by name (Adam in scikit-learn's
        form, ε added to the corrected root); sgd's "invscaling" and "adaptive" rates."""
        hp, name = self.hp, self.solver
        if self.hp["batch_size"] != "auto" and hp["batch_size"] > m:  # said once a fit, as scikit-learn does
            warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped",
                 UserWarning)
        rate = hp["learning_rate_init"]
        if name == "sgd" and hp["learning_rate"] == "adaptive":
            rate = AdaptiveRate(rate)
            if backend.is_compiled:
                raise ValueError(f"learning_rate='adaptive' changes the rate from the host between epochs, "
                                 f"which the compiled {backend.name} step cannot follow; use 'constant' or "
                                 "'invscaling' there, or another backend")
        elif name == "sgd" and hp["learning_rate"] == "invscaling":
            rate = decay_schedule(rate, "invscaling", decay_rate=hp["power_t"], decay_interval=m,
                                  steps_per_epoch=steps_per_epoch)
        self.rate = rate
        declared = optimizer_hyperparameters(name)
        options = {k: hp[k] for k in declared if k in hp}
        if "epsilon_hat" in declared:
            options["epsilon_hat"] = True
        return get_optimizer(name, rate, **options)

    def loop_options(self, task):
        self.plateau = Plateau(self.hp, self.rate, bool(self.estimator.verbose), task.early_stopping,
                               self.estimator.__dict__.get("best_loss_") if task.warm else None)
        return dict(cost_every=1, on_divergence="continue", callback=self.plateau)

    def seed(self, t, backend):
        """Dask's chunk order: a seed drawn from the RandomState; else none (the shuffles are
        :meth:`shuffle`'s)."""
        return int(self.rs.randint(2**31 - 1)) if backend.is_lazy else None

    def shuffle(self):
        """scikit-learn's shuffles: each epoch's order from the RandomState of the weights."""
        return EpochShuffle(self.rs) if self.hp["shuffle"] else False

    def after_stochastic(self, task, result, m, validation):
        plateau = self.plateau
        self.run = {"losses": list(result.costs), "n_samples": m, "stopped": plateau.stopped or (
            validation is not None and len(result.costs) < task.n_epochs),
            "best_loss": plateau.best, "scores": result.validation_scores or [],
            "no_improvement": plateau.count, "rate": self.rate}
        return _finite(result)

    def check_lbfgs(self, task):
        if task.backend.is_lazy:
            raise ValueError("solver='lbfgs' does not run on Dask input (its line search needs the "
                             "whole data per evaluation); use solver='sgd' or 'adam', or compute X")

    def lbfgs_options(self, task):
        report = (lambda i, cost: print(f"Iteration {i}, loss = {cost:.8f}")) if self.estimator.verbose \
            else None
        return dict(max_fun=self.hp["max_fun"], tol=self.hp["tol"], callback=report)

    def after_lbfgs(self, result, solution):
        self.run = {"n_iter": min(solution.n_iter, self.hp["max_iter"]), "loss": solution.f,
                    "status": solution.status, "message": solution.message}
        return _finite(result)


def _finite(result):
    if not all_finite(result.params):
        raise ValueError("Solver produced non-finite parameter weights. The input data may contain "
                         "large values and need to be preprocessed.")
    return result
