"""Serving anywhere: ONNX exports checked by onnxruntime against xpnn's own predictions, and the
round trip through scikit-learn's own MLPs."""

import warnings

import numpy as np
import pytest

import xpnn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
datasets = pytest.importorskip("sklearn.datasets")
sk = pytest.importorskip("sklearn.neural_network")


def _quiet(fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit()


def _run(proto, X):
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {"X": X})))


def _data(kind, rng):
    X = rng.standard_normal((80, 5))
    if kind == "binary":
        return X, np.where(X[:, 0] + X[:, 1] > 0, 3, 7)
    if kind == "strings":
        return X, np.array(["cat", "dog", "owl"])[(X[:, 0] > 0.5).astype(int) + (X[:, 1] > 0)]
    if kind == "multiclass":
        return X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 0) + (X[:, 2] > 0)
    if kind == "multilabel":
        return X, np.stack([X[:, 0] > 0, X[:, 1] > 0.3, X[:, 2] < 0], axis=1).astype(int)
    if kind == "regression":
        return X, X[:, 0] - 2 * X[:, 1]
    if kind == "two-targets":
        return X, np.stack([X[:, 0], X[:, 1] * X[:, 2]], axis=1)
    return X, np.exp(0.3 * X[:, 0])  # poisson


ESTIMATORS = {
    "LogisticRegression": (lambda **kw: xpnn.LogisticRegression(n_iter=50, **kw), ["binary", "strings"]),
    "ShallowNet": (lambda **kw: xpnn.ShallowNet(n_iter=50, random_state=0, **kw), ["binary", "multiclass"]),
    "DeepNet": (lambda **kw: xpnn.DeepNet((6, 4), n_iter=50, random_state=0, learning_rate=0.1, **kw),
                ["binary", "strings", "multiclass", "multilabel"]),
    "ShallowNetRegressor": (lambda **kw: xpnn.ShallowNetRegressor(n_iter=50, random_state=0, **kw),
                            ["regression"]),
    "DeepNetRegressor": (lambda **kw: xpnn.DeepNetRegressor((6, 4), n_iter=50, random_state=0, **kw),
                         ["regression", "two-targets"]),
    "MLPClassifier": (lambda **kw: xpnn.MLPClassifier((6,), max_iter=20, random_state=0, **kw),
                      ["binary", "strings", "multiclass", "multilabel"]),
    "MLPRegressor": (lambda **kw: xpnn.MLPRegressor(hidden_layer_sizes=(6,), max_iter=20, random_state=0,
                                                    **kw), ["regression", "two-targets"]),
}
CASES = [(name, kind, activation, bn)
         for name, (_, kinds) in ESTIMATORS.items() for kind in kinds
         for activation in (["relu", "tanh", "sigmoid"] if name != "LogisticRegression" else [None])
         for bn in ([False, True] if name not in ("LogisticRegression",) else [False])]


@pytest.mark.parametrize("name,kind,activation,batch_norm", CASES)
def test_onnxruntime_gives_xpnns_predictions(name, kind, activation, batch_norm):
    make, _ = ESTIMATORS[name]
    X, y = _data(kind, np.random.default_rng(0))
    kw = {}
    if activation is not None:
        kw["activation"] = "logistic" if (activation == "sigmoid" and name.startswith("MLP")) else activation
    if batch_norm:
        kw.update(batch_norm=True, **({} if name.startswith("MLP") else {"batch_size": 16}))
    model = _quiet(lambda: make(**kw).fit(X, y))
    proto = xpnn.to_onnx(model)
    onnx.checker.check_model(proto)
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta == {"xpnn_version": xpnn.__version__, "estimator": name}
    got = _run(proto, X.astype(np.float32))
    if "variable" in got:
        want = np.asarray(model.predict(X), dtype=np.float64).reshape(len(X), -1)
        np.testing.assert_allclose(got["variable"], want, rtol=1e-5, atol=1e-5)
    else:
        np.testing.assert_allclose(got["probabilities"], model.predict_proba(X), rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(got["label"], model.predict(X))


def test_real_data_digits_and_diabetes_in_float32_and_float64():
    X, y = datasets.load_digits(return_X_y=True)
    clf = _quiet(lambda: xpnn.MLPClassifier((32,), max_iter=30, random_state=0).fit(X / 16, y))
    for dtype in ("float32", "float64"):
        got = _run(xpnn.to_onnx(clf, dtype=dtype), (X / 16).astype(dtype))
        np.testing.assert_allclose(got["probabilities"], clf.predict_proba(X / 16), rtol=1e-5, atol=1e-5)
        assert np.mean(got["label"] == clf.predict(X / 16)) > 0.999
    X, y = datasets.load_diabetes(return_X_y=True)
    reg = _quiet(lambda: xpnn.MLPRegressor(hidden_layer_sizes=(16,), max_iter=50, random_state=0).fit(X, y))
    got = _run(xpnn.to_onnx(reg, dtype="float64"), X)
    np.testing.assert_allclose(got["variable"][:, 0], reg.predict(X), rtol=1e-10)


def test_zipmap_gives_scikit_learns_converter_layout_and_skl2onnx_agrees():
    skl2onnx = pytest.importorskip("skl2onnx")
    from skl2onnx.common.data_types import FloatTensorType

    X, y = _data("strings", np.random.default_rng(1))
    model = _quiet(lambda: xpnn.MLPClassifier((6,), max_iter=30, random_state=0).fit(X, y))
    ours = _run(xpnn.to_onnx(model, zipmap=True), X.astype(np.float32))
    theirs_proto = skl2onnx.convert_sklearn(xpnn.to_sklearn(model),
                                            initial_types=[("X", FloatTensorType([None, 5]))])
    theirs = _run(theirs_proto, X.astype(np.float32))
    assert set(ours) == set(theirs) == {"output_label", "output_probability"}  # skl2onnx's default names
    np.testing.assert_array_equal(ours["output_label"], theirs["output_label"])
    for a, b in zip(ours["output_probability"], theirs["output_probability"]):
        assert a.keys() == b.keys() and all(abs(a[k] - b[k]) < 1e-5 for k in a)
    est = xpnn.to_sklearn(model)  # and without ZipMap: "label" and "probabilities", tensors
    plain = skl2onnx.convert_sklearn(est, initial_types=[("X", FloatTensorType([None, 5]))],
                                     options={id(est): {"zipmap": False}})
    ours, theirs = _run(xpnn.to_onnx(model), X.astype(np.float32)), _run(plain, X.astype(np.float32))
    assert set(ours) == set(theirs) == {"label", "probabilities"}
    np.testing.assert_array_equal(ours["label"], theirs["label"])
    np.testing.assert_allclose(ours["probabilities"], theirs["probabilities"], rtol=1e-5, atol=1e-6)


def test_the_cli_exports_a_saved_model(tmp_path):
    from xpnn.cli import main

    X, y = _data("binary", np.random.default_rng(0))
    model = xpnn.ShallowNet(n_iter=50, random_state=0).fit(X, y)
    saved = model.save(tmp_path / "m.npz")
    assert main(["export", str(saved), str(tmp_path / "m.onnx")]) == 0
    got = _run(onnx.load(str(tmp_path / "m.onnx")), X.astype(np.float32))
    np.testing.assert_array_equal(got["label"], model.predict(X))


def test_what_cannot_be_exported_is_named():
    X, y = _data("binary", np.random.default_rng(0))
    model = xpnn.DeepNet((4,), n_iter=5, activation="leaky_relu", random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="leaky_relu"):
        xpnn.to_sklearn(model)
    with pytest.raises(ValueError, match="no hidden layer"):
        xpnn.to_sklearn(xpnn.LogisticRegression(n_iter=5).fit(X, y))
    floats = xpnn.ShallowNet(n_iter=5).fit(X, y.astype(float))  # labels 3.0 and 7.0
    with pytest.raises(ValueError, match="integers or strings"):
        xpnn.to_onnx(floats)


@pytest.mark.parametrize("name,kind", [("MLPClassifier", "strings"), ("MLPClassifier", "multilabel"),
                                       ("MLPRegressor", "two-targets"), ("DeepNet", "multiclass")])
def test_to_sklearn_computes_what_xpnn_computes(name, kind):
    make, _ = ESTIMATORS[name]
    X, y = _data(kind, np.random.default_rng(0))
    kw = {"batch_norm": True} if name.startswith("MLP") else {"batch_norm": True, "batch_size": 16}
    model = _quiet(lambda: make(**kw).fit(X, y))
    est = xpnn.to_sklearn(model)
    if hasattr(model, "classes_"):
        np.testing.assert_allclose(est.predict_proba(X), model.predict_proba(X), rtol=1e-12, atol=1e-14)
        np.testing.assert_array_equal(est.predict(X), model.predict(X))
    else:
        np.testing.assert_allclose(est.predict(X), model.predict(X), rtol=1e-12, atol=1e-12)


def test_from_sklearn_predicts_the_same_and_trains_on(backend):
    X, y = _data("multiclass", np.random.default_rng(0))
    est = _quiet(lambda: sk.MLPClassifier((6,), max_iter=30, random_state=0).fit(X, y))
    dtype = "float32" if "no_float64" in str(backend.device) else "float64"
    model = xpnn.from_sklearn(est, backend=backend, dtype=dtype)
    got = xpnn.to_numpy(model.predict_proba(backend.asarray(X, dtype)))
    rtol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(got, est.predict_proba(X), rtol=rtol, atol=1e-7)
    assert model.loss_curve_ == est.loss_curve_
    before = model.coefs_[0].copy()
    model.partial_fit(X, y)
    assert not np.allclose(model.coefs_[0], before) and len(model.loss_curve_) == len(est.loss_curve_) + 1
