"""The training loop's types: what it is told (:class:`Options`, :class:`EarlyStopping`) and
what it returns (:class:`Result`). Read them as ``xpnn.training.Options`` and so on."""

from __future__ import annotations

from typing import Any, NamedTuple


class Result(NamedTuple):
    """What :func:`run` returns. ``n_iter`` counts the epochs (iterations for full batch)
    actually run; ``state`` and ``t`` let a later call continue (warm start, partial_fit);
    ``curve`` holds every epoch's cost when asked for (``curve=True``)."""
    params: dict
    costs: list
    n_iter: int
    state: Any
    t: int
    validation_scores: list | None = None
    best_iteration: int | None = None
    curve: list | None = None


class EarlyStopping(NamedTuple):
    """Held-out (X (n_x, m_v), Y (k, m_v)) scored by the head's ``score`` at every recorded
    epoch; training stops after ``n_iter_no_change`` checks without a ``tol`` improvement (a
    score above the best by more than ``tol``; by at least ``tol`` when ``inclusive``, as
    scikit-learn counts). ``by_loss``: score by minus the held-out cost instead (where the
    head's score is undefined: R² of a constant target)."""
    X: Any
    Y: Any
    n_iter_no_change: float = 10
    tol: float = 1e-4
    inclusive: bool = False
    by_loss: bool = False


class Options(NamedTuple):
    """How the loop trains: one object that every path (:func:`xpnn.training.run`,
    :func:`xpnn.training.loop`, :func:`xpnn.distributed.train`) reads, built once by the
    estimators' driver.

    Parameters
    ----------
    optimizer : Optimizer
        See :mod:`xpnn.optimizers`.
    n_epochs : int
        Epochs to run (iterations for full batch).
    head : str or Head
        The output head (a name of ``xpnn.heads.HEADS``).
    batch_size : int or None
        None for full batch (the course's), else examples per mini-batch; each epoch shuffles
        the examples once (host RNG, the same order on every backend) into one copy of X and
        takes consecutive slices of it.
    alpha : float
        L2 strength.
    dropout : list of float or None
        One drop rate per hidden layer.
    random_state : int, Generator or None
        Seeds the shuffles and the dropout masks.
    cost_every : int
        The cost is recorded every ``cost_every`` epochs (full batch: the cost of the parameters
        before that iteration's update; mini-batch: the mean cost of the epoch's batches).
    on_divergence : {"raise", "warn", "continue"}
        A non-finite cost raises, warns and keeps the last finite parameters, or is recorded
        and training goes on (scikit-learn's MLP behaviour).
    callback : callable(epoch, cost) or None
        Called with each recorded cost; returning False stops training.
    early_stopping : EarlyStopping or None
        The parameters of the best check are returned, whether training stopped early or ran
        all ``n_epochs``.
    learning_rate : float or None
        Only named in divergence messages.
    shuffle : bool or callable(m)
        False: slices of X in its order; a callable gives each epoch's order itself
        (scikit-learn's rule, say).
    curve : bool
        Every epoch's cost is computed too, kept on the device and read with the next recorded
        one (one transfer per ``cost_every`` epochs, and one at the end), into ``Result.curve``.
    on_epoch : callable(epoch, cost) or None
        With ``curve``: sees each epoch's cost in order and stops training by returning False.
    progress : callable(int) or None
        Called with 1 after every epoch (a progress bar's update; host only, no read).
    batch_norm_momentum : float
        β of the running statistics of batch-normalised layers (if any).
    """
    optimizer: Any
    n_epochs: int
    head: Any = "sigmoid"
    batch_size: int | None = None
    alpha: float = 0.0
    dropout: Any = None
    random_state: Any = None
    cost_every: int = 100
    on_divergence: str = "raise"
    callback: Any = None
    early_stopping: EarlyStopping | None = None
    learning_rate: Any = None
    shuffle: Any = True
    curve: bool = False
    on_epoch: Any = None
    progress: Any = None
    batch_norm_momentum: float = 0.9


def options_of(options, settings):
    """``options`` (an :class:`Options`) with ``settings`` replaced, or ``Options(**settings)``."""
    return Options(**settings) if options is None else options._replace(**settings)
