"""scikit-learn's MLP rules that :mod:`xpnn.mlp` follows: its parameter checks, its weight
initialisation, its hold-out (``train_test_split``) and per-epoch shuffles drawn from the same
RandomState, its learning-rate schedules — gathered in :class:`ScikitLearnRules`, which the one
driver (:mod:`xpnn._driver`) reads — and its per-epoch plateau rule on the training loss
(:class:`xpnn._monitors.Plateau`)."""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._constraints import (check_backend_spec, check_boolean, check_choice, check_fraction,
                           check_hidden_sizes, check_non_negative_float, check_positive_float,
                           check_positive_int, check_solver, fraction, one_of)
from ._driver import Rules
from ._monitors import AdaptiveRate, Plateau
from ._sklearn_face import _check_as_scikit_learn, _RateView
from ._validation import train_test_rows
from .activations import NAMES
from .backend import warn
from .exceptions import convergence_warning
from .heads import get_head
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
    PARAMETERS = {
        "hidden_layer_sizes": check_hidden_sizes, "activation": one_of(NAMES),
        "solver": check_solver, "alpha": check_non_negative_float,
        "batch_size": check_batch_size, "learning_rate": one_of({"constant", "invscaling", "adaptive"}),
        "learning_rate_init": check_positive_float, "power_t": check_non_negative_float,
        "max_iter": check_positive_int, "shuffle": check_boolean, "tol": check_non_negative_float,
        "warm_start": check_boolean, "momentum": lambda v, n: check_fraction(v, n),
        "nesterovs_momentum": check_boolean, "early_stopping": check_boolean,
        "validation_fraction": lambda v, n: check_fraction(v, n, upper_open=True),
        "beta_1": lambda v, n: check_fraction(v, n, upper_open=True),
        "beta_2": lambda v, n: check_fraction(v, n, upper_open=True),
        "epsilon": check_positive_float, "n_iter_no_change": check_patience, "max_fun": check_positive_int,
        "dtype": check_optional_dtype, "loss": one_of({"squared_error", "poisson"}),
        "backend": check_backend_spec,
        "batch_norm": check_boolean, "batch_norm_momentum": fraction(upper_open=True),
    }
    EXTRAS = {"loss_": (float,), "best_loss_": (float, type(None)), "t_": (int,),  # kept in files
              "best_validation_score_": (float, type(None))}
    ACCEPT_SPARSE = True  # densified (the device computes on dense arrays)
    COSTS_SPAN_FITS = True  # loss_curve_ grows over warm-started fits, as scikit-learn's does
    PROGRESS_BAR = False  # verbose: scikit-learn's line per epoch
    OUT_ACTIVATIONS = {"sigmoid": "logistic", "softmax": "softmax", "identity": "identity", "poisson": "exp"}

    def __init__(self, estimator, hp):
        super().__init__(estimator, hp)
        self.rs, self.run = random_state_of(estimator.random_state), None

    @staticmethod
    def check_first(name, hp):
        """scikit-learn's own checks first (its InvalidParameterError), and a bad random_state
        named before any work."""
        _check_as_scikit_learn(name, hp)
        random_state_of(hp["random_state"])

    @staticmethod
    def dtype_of(X, hp):
        """``dtype`` None: float32 for float32 X, else float64."""
        if hp["dtype"] is not None:
            return hp["dtype"]
        return "float32" if str(getattr(X, "dtype", "")) in ("float32", "torch.float32") else "float64"

    @staticmethod
    def published(model, state):
        if model.solver == "lbfgs":  # scikit-learn's L-BFGS leaves no validation scores
            model.__dict__.pop("validation_scores_", None)
        elif state.extras is not None:  # a loaded model: its loss curve
            model.loss_curve_ = [float(c) for c in state.costs]

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
        stratify = Y.shape[1] == 1 and get_head(head).n_classes(1) is not None  # a single-output classifier
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


def fit_as_scikit_learn(model, X, y, sample_weight, *, warm, incremental, classes=None):
    """Fit ``model`` (an MLP class) as scikit-learn's MLP fits (``incremental``: one epoch of
    partial_fit) and set the fitted attributes scikit-learn's sets; its ConvergenceWarnings."""
    n_epochs = 1 if incremental else model.max_iter
    early_stopping = bool(model.early_stopping) and not incremental
    run = model._fit(X, y, sample_weight, None, n_epochs=n_epochs, warm=warm, early_stopping=early_stopping,
                     classes=classes, incremental=incremental).run
    if model.solver == "lbfgs":
        model.n_iter_, model.loss_, model.t_ = run["n_iter"], run["loss"], 0  # scikit-learn's t_
        if run["status"] != 0:
            warn(f"lbfgs failed to converge after {model.n_iter_} iteration(s) (status={run['status']}):\n"
                 f"{run['message']}\n\nIncrease the number of iterations to improve the convergence "
                 "(max_iter=...) or scale the data.", convergence_warning())
        return model
    fitted = model.__dict__
    model.loss_curve_ = (fitted.get("loss_curve_", []) if warm else []) + run["losses"]
    model.n_iter_, model.loss_ = len(run["losses"]), run["losses"][-1]
    model.t_ = (fitted.get("t_", 0) if warm else 0) + run["n_samples"] * model.n_iter_
    model._no_improvement_count = run["no_improvement"]  # scikit-learn's private names, read by its
    if model.solver == "sgd":                            # test_mlp.py: views, nothing more
        model._optimizer = _RateView(run["rate"], model)
    else:
        fitted.pop("_optimizer", None)
    if early_stopping:
        scores = [float(s) for s in run["scores"]]
        model.validation_scores_ = (fitted.get("validation_scores_") or [] if warm else []) + scores
        model.best_validation_score_ = float(np.nanmax(model.validation_scores_)) \
            if np.any(np.isfinite(model.validation_scores_)) else -np.inf
        model.best_loss_ = None
    else:
        model.validation_scores_ = model.best_validation_score_ = None
        model.best_loss_ = run["best_loss"]
    if not incremental and not run["stopped"] and model.n_iter_ == model.max_iter:
        warn(f"Stochastic Optimizer: Maximum iterations ({model.max_iter}) reached and the optimization "
             "hasn't converged yet.", convergence_warning())
    return model


def check_partial_fit(model):
    """partial_fit exists for the stochastic solvers only, and not with early stopping."""
    if model.solver == "lbfgs":
        raise AttributeError(f"partial_fit is only available for stochastic optimizers. {model.solver} is "
                             "not stochastic.")
    if model.early_stopping:
        raise ValueError("partial_fit does not support early_stopping=True")
