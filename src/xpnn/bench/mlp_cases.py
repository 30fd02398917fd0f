"""scikit-learn's MLP workloads, xpnn's MLPClassifier beside scikit-learn's in one process: a
mini-batch Adam epoch (fit with ``max_iter=1``, no shuffle, so that every column computes the
same parameters from the same Glorot draws; with the same epoch written out in plain NumPy as
the floor an estimator can approach) and ``predict_proba`` on many rows (both models
fitted alike, so their probabilities agree)."""

from __future__ import annotations

import warnings

import numpy as np

from .case import Case, step_flops, supported_dtypes
from .peers import inline_numpy_mlp_epoch

N_X, HIDDEN, BATCH = 50, 100, 200


def _data(m, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, N_X))
    return X, (X[:, 0] + X[:, 1] ** 2 > 1).astype(int)


def _models(backends, dtypes):
    """(column, dtype, device, cast(host array), make(**options)) for xpnn on each backend and
    for scikit-learn."""
    from ..mlp import MLPClassifier

    for prefix, be in backends:
        for dtype in supported_dtypes(be, dtypes):
            yield (f"xpnn-{prefix}-{dtype}", dtype, str(be.device),
                   lambda a, be=be, dtype=dtype: be.asarray(a, dtype),
                   lambda be=be, dtype=dtype, **kw: MLPClassifier(backend=be, dtype=dtype, **kw))
    try:
        from sklearn.neural_network import MLPClassifier as Theirs
    except ImportError:
        return
    for dtype in dtypes:
        yield (f"sklearn-mlp-{dtype}", dtype, "cpu", lambda a, dtype=dtype: a.astype(dtype),
               lambda **kw: Theirs(**kw))


def _fit(make, X, y, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter reached: on purpose
        return make(hidden_layer_sizes=(HIDDEN,), batch_size=BATCH, shuffle=False, random_state=0,
                    **options).fit(X, y)


def mlp_epoch_cases(m, backends, dtypes):
    """One Adam epoch over m rows in batches of 200 (a fit with max_iter=1: Glorot draws,
    validation and the epoch), returning the fitted weights."""
    X, y = _data(m)
    group, shape = f"mlp-adam-epoch-{m}x{N_X}-b{BATCH}", {"m": m, "n_x": N_X, "batch_size": BATCH}
    flops = step_flops([N_X, HIDDEN, 1], m)
    for column, dtype, device, cast, make in _models(backends, dtypes):
        Xc = cast(X)

        def run(make=make, Xc=Xc):
            model = _fit(make, Xc, y, max_iter=1)
            return {f"W{i}": np.asarray(w, dtype=np.float64) for i, w in enumerate(model.coefs_)}
        yield Case(group, column, run, dtype, flops, "fit, one epoch (max_iter=1, no shuffle)",
                   device=device, shape=shape)
    for dtype in dtypes:  # the floor of plain NumPy: the same epoch written out, no estimator
        yield Case(group, f"numpy-inline-{dtype}", inline_numpy_mlp_epoch(X, y, HIDDEN, BATCH, dtype), dtype,
                   flops, "scikit-learn's epoch written out in NumPy", device="cpu", shape=shape)


def mlp_predict_cases(m, backends, dtypes):
    """predict_proba on m rows from models fitted alike (5 epochs on 2000 rows)."""
    from ..backend import to_numpy

    X_fit, y_fit = _data(2000, seed=1)
    X, _ = _data(m, seed=2)
    group, shape = f"mlp-predict-proba-{m}x{N_X}", {"m": m, "n_x": N_X, "hidden": HIDDEN}
    flops = 2.0 * m * (N_X * HIDDEN + HIDDEN)
    for column, dtype, device, cast, make in _models(backends, dtypes):
        model, Xc = _fit(make, cast(X_fit), y_fit, max_iter=5), cast(X)

        def run(model=model, Xc=Xc):
            return to_numpy(model.predict_proba(Xc))[:, 1]
        yield Case(group, column, run, dtype, flops, "predict_proba", device=device, shape=shape)
