"""xpnn's MLPClassifier/MLPRegressor beyond scikit-learn's own tests (test_mlp_sklearn.py): the
same numbers as scikit-learn from the same seed, the same model on every backend, L-BFGS."""

import warnings

import numpy as np
import pytest

import xpnn

sk = pytest.importorskip("sklearn.neural_network")
datasets = pytest.importorskip("sklearn.datasets")


def _digits():
    X, y = datasets.load_digits(n_class=3, return_X_y=True)
    return X[:150] / 16.0, y[:150]


def _quiet(fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit()


def _standard(load, regression=False):
    from sklearn.preprocessing import StandardScaler

    X, y = load(return_X_y=True)
    return StandardScaler().fit_transform(X), (y - y.mean()) / y.std() if regression else y


DEFAULT_CASES = {  # scikit-learn's defaults: adam, batch 200, shuffled every epoch
    "iris": (lambda: _standard(datasets.load_iris), False, {}),
    "iris-early-stopping": (lambda: _standard(datasets.load_iris), False, dict(early_stopping=True)),
    "digits": (lambda: _standard(datasets.load_digits), False, dict(max_iter=40)),
    "digits-early-stopping": (lambda: _standard(datasets.load_digits), False, dict(early_stopping=True)),
    "diabetes": (lambda: _standard(datasets.load_diabetes, True), True, {}),
    "diabetes-early-stopping": (lambda: _standard(datasets.load_diabetes, True), True,
                                dict(early_stopping=True)),
    "breast-cancer-sgd-early-stopping": (lambda: _standard(datasets.load_breast_cancer), False,
                                         dict(solver="sgd", early_stopping=True, batch_size=64)),
}


@pytest.mark.parametrize("case", DEFAULT_CASES)
def test_default_settings_give_scikit_learns_model(case):
    """Change one import: the weights, the hold-out and every epoch's shuffle come from the one
    RandomState as in scikit-learn, so the default fit is scikit-learn's model, not one like it:
    the same n_iter_, loss curve and validation scores to rounding (measured: <= 2e-15
    relative), the same predictions."""
    load, regression, options = DEFAULT_CASES[case]
    X, y = load()
    kw = dict(random_state=0, **options)
    make = (xpnn.MLPRegressor, sk.MLPRegressor) if regression else (xpnn.MLPClassifier, sk.MLPClassifier)
    ours, theirs = (_quiet(lambda: cls(**kw).fit(X, y)) for cls in make)
    assert (ours.n_iter_, ours.t_) == (theirs.n_iter_, theirs.t_)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-12)
    if options.get("early_stopping"):
        np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_, rtol=1e-12)
    if regression:
        np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-10, atol=1e-12)
    else:
        np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


def test_default_settings_give_scikit_learns_model_on_every_backend(backend):
    """The same shuffles on every backend (host RNG, one index array an epoch): scikit-learn's
    model on array_api_strict, torch and the CuPy stand-in too (float32 devices to rounding)."""
    X, y = _standard(datasets.load_iris)
    float32 = "no_float64" in str(backend.device)
    dtype = "float32" if float32 else "float64"
    kw = dict(random_state=0, early_stopping=True)
    theirs = _quiet(lambda: sk.MLPClassifier(**kw).fit(X.astype(dtype), y))
    ours = _quiet(lambda: xpnn.MLPClassifier(backend=backend, dtype=dtype, **kw).fit(X, y))
    rtol = 1e-5 if float32 else 1e-12
    k = 10 if float32 else len(theirs.loss_curve_)  # float32 rounding may part the stopping epoch
    np.testing.assert_allclose(ours.loss_curve_[:k], theirs.loss_curve_[:k], rtol=rtol)
    if not float32:
        assert ours.n_iter_ == theirs.n_iter_
        got = xpnn.to_numpy(ours.predict(backend.asarray(X, dtype)))
        np.testing.assert_array_equal(got, theirs.predict(X))


@pytest.mark.parametrize("solver,options", [
    ("sgd", dict(momentum=0.9, nesterovs_momentum=True)),
    ("sgd", dict(momentum=0.5, nesterovs_momentum=False)),
    ("sgd", dict(learning_rate="invscaling", learning_rate_init=0.5)), ("adam", {})],
    ids=["nesterov", "momentum", "invscaling", "adam"])
def test_full_batch_training_equals_scikit_learns(solver, options):
    """Same seed, same Glorot weights, same updates: one batch per epoch and no shuffle leave
    nothing to chance, so xpnn and scikit-learn agree to rounding over 30 epochs."""
    X, y = _digits()
    kw = dict(hidden_layer_sizes=(7,), solver=solver, batch_size=len(y), shuffle=False, max_iter=30,
              random_state=3, alpha=1e-3, **options)
    ours = _quiet(lambda: xpnn.MLPClassifier(**kw).fit(X, y))
    theirs = _quiet(lambda: sk.MLPClassifier(**kw).fit(X, y))
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)
    assert (ours.n_iter_, ours.t_) == (theirs.n_iter_, theirs.t_)


def test_regressor_equals_scikit_learns_and_lbfgs_goes_as_low_as_scipy():
    X, y = datasets.make_regression(80, 5, noise=5.0, random_state=0)
    y = (y - y.mean()) / y.std()
    kw = dict(hidden_layer_sizes=(6,), solver="sgd", batch_size=80, shuffle=False, max_iter=25,
              random_state=0, learning_rate_init=0.01)
    ours = _quiet(lambda: xpnn.MLPRegressor(**kw).fit(X, y))
    theirs = _quiet(lambda: sk.MLPRegressor(**kw).fit(X, y))
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-9, atol=1e-12)
    kw = dict(hidden_layer_sizes=(6,), solver="lbfgs", max_iter=500, tol=1e-9, random_state=0, alpha=1e-2)
    ours, theirs = xpnn.MLPRegressor(**kw).fit(X, y), sk.MLPRegressor(**kw).fit(X, y)
    assert ours.loss_ <= theirs.loss_ * (1 + 1e-3)  # as low as SciPy's L-BFGS-B from the same start
    assert ours.score(X, y) >= theirs.score(X, y) - 1e-3


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_the_same_model_on_every_backend(solver, backend):
    X, y = _digits()
    dtype = "float32" if backend.device is not None and "no_float64" in str(backend.device) else "float64"
    kw = dict(hidden_layer_sizes=(5,), solver=solver, max_iter=15, random_state=0, batch_size=50,
              dtype=dtype, early_stopping=solver != "lbfgs")
    want = _quiet(lambda: xpnn.MLPClassifier(**kw).fit(X, y))
    got = _quiet(lambda: xpnn.MLPClassifier(backend=backend, **kw).fit(X, y))
    rtol = 1e-9 if dtype == "float64" else 2e-3
    for a, b in zip(got.coefs_, want.coefs_):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * 1e-2)
    assert got.n_iter_ == want.n_iter_
    np.testing.assert_array_equal(xpnn.to_numpy(got.predict(backend.asarray(X, dtype))), want.predict(X))


def test_dask_trains_the_stochastic_solvers_and_refuses_lbfgs_clearly():
    da = pytest.importorskip("dask.array")
    X, y = _digits()
    kw = dict(hidden_layer_sizes=(5,), solver="sgd", max_iter=10, random_state=0, batch_size=150)
    got = _quiet(lambda: xpnn.MLPClassifier(**kw).fit(da.from_array(X, chunks=(50, 64)), y))
    want = _quiet(lambda: xpnn.MLPClassifier(**kw).fit(X, y))
    assert got.backend_.name == "dask" and got.n_iter_ == want.n_iter_
    np.testing.assert_allclose(got.loss_curve_, want.loss_curve_, rtol=1e-9)
    # scikit-learn's rule on Dask too
    kw.update(max_iter=40, early_stopping=True, tol=0.0, n_iter_no_change=3)
    got = _quiet(lambda: xpnn.MLPClassifier(**kw).fit(da.from_array(X, chunks=(50, 64)), y))
    want = _quiet(lambda: xpnn.MLPClassifier(**kw).fit(X, y))
    assert got.n_iter_ == want.n_iter_ < 40
    np.testing.assert_allclose(got.validation_scores_, want.validation_scores_)
    with pytest.raises(ValueError, match="lbfgs.*Dask"):
        xpnn.MLPClassifier(solver="lbfgs").fit(da.from_array(X, chunks=(50, 64)), y)


def test_mlp_models_save_and_load(tmp_path):
    X, y = _digits()
    for model in (xpnn.MLPClassifier((4,), max_iter=5, random_state=0),
                  xpnn.MLPRegressor(hidden_layer_sizes=(4,), max_iter=5)):
        _quiet(lambda: model.fit(X, y))
        loaded = xpnn.load(model.save(tmp_path / "m.npz"))
        assert type(loaded) is type(model) and loaded.out_activation_ == model.out_activation_
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_feature_names_are_checked_like_scikit_learn():
    pd = pytest.importorskip("pandas")
    X, y = _digits()
    frame = pd.DataFrame(X[:, :4], columns=list("abcd"))
    model = _quiet(lambda: xpnn.MLPClassifier((4,), max_iter=5, random_state=0).fit(frame, y))
    assert list(model.feature_names_in_) == list("abcd")
    with pytest.raises(ValueError, match="must be in the same order"):
        model.predict(frame[list("dcba")])
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        model.predict(X[:, :4])


def _gallery_datasets():
    X, y = datasets.make_classification(n_features=2, n_redundant=0, n_informative=2, random_state=1,
                                        n_clusters_per_class=1)
    X += 2 * np.random.RandomState(2).uniform(size=X.shape)
    return {"moons": datasets.make_moons(noise=0.3, random_state=0),
            "circles": datasets.make_circles(noise=0.2, factor=0.5, random_state=1),
            "linearly-separable": (X, y)}


@pytest.mark.parametrize("name", ["moons", "circles", "linearly-separable"])
def test_plot_classifier_comparison_draws_scikit_learns_surface(name):
    """scikit-learn's gallery example plot_classifier_comparison with the import swapped: the same
    printed score and the same decision surface (DecisionBoundaryDisplay in auto mode draws
    probabilities, as for scikit-learn's MLP, which has no decision_function)."""
    pytest.importorskip("matplotlib")
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from sklearn.inspection import DecisionBoundaryDisplay
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _gallery_datasets()[name]
    X = StandardScaler().fit_transform(X)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.4, random_state=42)
    assert not hasattr(xpnn.MLPClassifier(), "decision_function")
    surfaces, scores = [], []
    for cls in (xpnn.MLPClassifier, sk.MLPClassifier):
        clf = make_pipeline(StandardScaler(), cls(alpha=1, max_iter=1000, random_state=42))
        clf.fit(X_train, y_train)
        scores.append(clf.score(X_test, y_test))
        surfaces.append(DecisionBoundaryDisplay.from_estimator(clf, X, eps=0.5).response)
    assert scores[0] == scores[1]
    assert 0.0 <= surfaces[0].min() and surfaces[0].max() <= 1.0  # probabilities, not logits
    np.testing.assert_allclose(surfaces[0], surfaces[1], rtol=1e-9, atol=1e-12)


SCIKIT_LEARN_FITTED = ["loss_", "loss_curve_", "best_loss_", "best_validation_score_", "t_",
                       "validation_scores_", "n_iter_", "n_layers_", "n_outputs_", "out_activation_",
                       "classes_", "n_features_in_"]


@pytest.mark.parametrize("options", [{}, dict(early_stopping=True), dict(solver="lbfgs"),
                                     dict(solver="sgd", warm_start=True)],
                         ids=["adam", "early-stopping", "lbfgs", "sgd-warm-start"])
def test_every_fitted_attribute_survives_save_load_and_pickling(options, tmp_path):
    import pickle

    X, y = _digits()
    model = _quiet(lambda: xpnn.MLPClassifier((4,), max_iter=5, random_state=0, **options).fit(X, y))
    if options.get("warm_start"):
        _quiet(lambda: model.fit(X, y))
    reference = sk.MLPClassifier((4,), max_iter=5, random_state=0, **options)
    _quiet(lambda: reference.fit(X, y))
    for copy in (xpnn.load(model.save(tmp_path / "m.npz")), pickle.loads(pickle.dumps(model))):
        for name in SCIKIT_LEARN_FITTED:
            assert hasattr(copy, name) == hasattr(model, name) == hasattr(reference, name), name
            if hasattr(model, name):
                assert repr(getattr(copy, name)) == repr(getattr(model, name)), name


def test_sample_weight_is_routed_as_for_scikit_learns_mlp():
    """With scikit-learn's metadata routing on, a requested sample_weight reaches fit through
    GridSearchCV (clone keeps the request); an unrequested one is refused as scikit-learn does."""
    import sklearn
    from sklearn.model_selection import GridSearchCV

    X, y = _digits()
    w = np.where(y == 1, 3.0, 1.0)
    with sklearn.config_context(enable_metadata_routing=True):
        model = xpnn.MLPClassifier((4,), max_iter=5, random_state=0).set_fit_request(sample_weight=True)
        model.set_score_request(sample_weight=False)
        search = GridSearchCV(model, {"alpha": [1e-4]}, cv=2, refit=True)
        _quiet(lambda: search.fit(X, y, sample_weight=w))
        direct = xpnn.MLPClassifier((4,), max_iter=5, random_state=0)
        _quiet(lambda: direct.fit(X, y, sample_weight=w))
        np.testing.assert_allclose(search.best_estimator_.coefs_[0], direct.coefs_[0])
        assert search.best_estimator_.get_metadata_routing().fit.requests == {"sample_weight": True}
        unrequested = xpnn.MLPClassifier((4,), max_iter=5, random_state=0)
        with pytest.raises(Exception, match="sample_weight"):
            GridSearchCV(unrequested, {"alpha": [1e-4]}, cv=2).fit(X, y, sample_weight=w)
