import json
import os
import pickle

import numpy as np
import pytest

import xpnn
from xpnn import persistence
from xpnn.datasets import make_planar

X, y = make_planar(60, random_state=0)
LABELS = np.array(["no", "yes"])[y]


@pytest.fixture(params=["LogisticRegression", "ShallowNet", "DeepNet"])
def fitted(request):
    cls = getattr(xpnn, request.param)
    return cls(n_iter=50, random_state=0, learning_rate=0.1).fit(X, LABELS)


def test_roundtrip_is_exact(fitted, tmp_path):
    path = fitted.save(tmp_path / "model.npz")
    loaded = xpnn.load(path)
    assert type(loaded) is type(fitted) and loaded.get_params() == fitted.get_params()
    for key in fitted.params_:
        np.testing.assert_array_equal(loaded.params_[key], fitted.params_[key])
    np.testing.assert_array_equal(loaded.costs_, fitted.costs_)
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))
    assert type(fitted).load(path).n_features_in_ == 2


def test_loads_on_another_backend_and_predicts_identically(tmp_path):
    model = xpnn.DeepNet((6, 3), n_iter=40, random_state=1).fit(X, y)
    model.save(tmp_path / "m.npz")
    elsewhere = xpnn.load(tmp_path / "m.npz", backend="array_api_strict")
    assert elsewhere.backend_.name == "array_api_strict"
    np.testing.assert_allclose(elsewhere.predict_proba(X), model.predict_proba(X), rtol=1e-12)


def test_loading_as_the_wrong_class_is_refused(fitted, tmp_path):
    fitted.save(tmp_path / "m.npz")
    other = xpnn.DeepNet if not isinstance(fitted, xpnn.DeepNet) else xpnn.ShallowNet
    with pytest.raises(ValueError, match=f"holds a '{type(fitted).__name__}'; expected {other.__name__}"):
        other.load(tmp_path / "m.npz")


def test_save_before_fit_is_refused(tmp_path):
    with pytest.raises(xpnn.NotFittedError):
        xpnn.DeepNet().save(tmp_path / "m.npz")


def _rewrite(path, **changes):
    """Rewrite a model file with ``changes`` as a consistent file would hold them: the header's
    dtype, shape and SHA-256 of every array updated (so only the check under test can fail)."""
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    header = json.loads(arrays["header"].tobytes())
    header.update(changes.pop("header", {}))
    arrays.update(changes)
    header["arrays"] = {k: {"dtype": v.dtype.str, "shape": list(v.shape), "sha256": persistence._digest(v)}
                        for k, v in arrays.items() if k != "header"}
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(path, **arrays)


@pytest.mark.parametrize("damage,pattern", [
    ("truncate", "corrupt or truncated"),
    ("garbage", "not an xpnn model file"),
    ("version", r"format version 99; this xpnn reads versions \[1, 2, 3\]"),
    ("class", r"holds a 'os.system'; expected"),
    ("shapes", "inconsistent: parameter shapes"),
    ("header", "no readable xpnn header"),
], ids=lambda v: v if " " not in v else "")
def test_damaged_files_are_refused(damage, pattern, tmp_path):
    path = tmp_path / "m.npz"
    xpnn.ShallowNet(n_iter=5).fit(X, y).save(path)
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x93NUMPY not really" + data[:50])
    elif damage == "version":
        _rewrite(path, header={"version": 99})
    elif damage == "class":
        _rewrite(path, header={"class": "os.system"})
    elif damage == "shapes":
        _rewrite(path, W1=np.zeros((3, 2)))
    elif damage == "header":
        _rewrite(path, header={})
        with np.load(path) as npz:
            arrays = {k: npz[k] for k in npz.files if k != "header"}
        np.savez(path, **arrays)
    with pytest.raises(ValueError, match=pattern):
        xpnn.load(path)


class _Bomb:
    exploded = False

    def __reduce__(self):
        return (_Bomb._explode, ())

    @staticmethod
    def _explode():
        _Bomb.exploded = True
        return "boom"


def test_pickled_objects_are_refused_unread(tmp_path):
    path = tmp_path / "evil.npz"
    xpnn.ShallowNet(n_iter=5).fit(X, y).save(path)
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["classes"] = np.array([_Bomb(), _Bomb()], dtype=object)
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="pickled objects.*refused"):
        xpnn.load(path)
    assert not _Bomb.exploded
    plain_pickle = tmp_path / "model.pkl"
    plain_pickle.write_bytes(pickle.dumps(_Bomb()))
    with pytest.raises(ValueError, match="pickled objects"):
        xpnn.load(plain_pickle)
    assert not _Bomb.exploded


def test_an_interrupted_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    first = xpnn.ShallowNet(n_iter=5, random_state=0).fit(X, y)
    first.save(path)
    before = path.read_bytes()

    def crash(f, **arrays):
        f.write(b"partial")
        raise KeyboardInterrupt
    monkeypatch.setattr(persistence.np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        xpnn.ShallowNet(n_iter=5, random_state=1).fit(X, y).save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.npz"]


def test_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        xpnn.load(tmp_path / "nope.npz")
