"""Model files that cannot lie: saved models load identically (on any backend, as their own class
only); every damaged or foreign file gives a ValueError that says what is wrong; saves are atomic
and clean up after themselves."""

import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

import xpnn
from models import HEADS, head_data
from xpnn import persistence
from xpnn.datasets import make_planar

X, y = make_planar(60, random_state=0)
LABELS = np.array(["no", "yes"])[y]
X3 = np.random.default_rng(0).standard_normal((40, 3))
y3 = (X3[:, 0] > 0).astype(int)


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
    header["header_sha256"] = persistence._header_digest(header)
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(path, **arrays)


@pytest.mark.parametrize("damage,pattern", [
    ("truncate", "corrupt or truncated"),
    ("garbage", "not an xpnn model file"),
    ("version", r"format version 99; this xpnn reads versions \[1, 2, 3, 4\]"),
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


@pytest.fixture
def saved(tmp_path):
    model = xpnn.ShallowNet(n_hidden=3, n_iter=20, random_state=0).fit(X3, y3)
    return model, model.save(tmp_path / "m.npz")


def _same(model, other):
    return all(np.array_equal(model.params_[k], other.params_[k]) for k in model.params_) \
        and np.array_equal(model.classes_, other.classes_) and np.array_equal(model.costs_, other.costs_)


def test_every_single_bit_flip_is_refused_or_harmless(saved, tmp_path):
    """One bit flipped in each byte of the file (the bit varies with the position): load raises
    ValueError or returns the identical model; nothing else (no RuntimeError, NotImplementedError,
    KeyError, TypeError, MemoryError, ... and never a different model)."""
    model, path = saved
    data = bytearray(open(path, "rb").read())
    damaged = tmp_path / "d.npz"
    outcomes = {"refused": 0, "identical": 0}
    for position in range(len(data)):
        flipped = bytearray(data)
        flipped[position] ^= 1 << (position * 5 % 8)
        damaged.write_bytes(flipped)
        try:
            loaded = xpnn.load(damaged)
        except ValueError:
            outcomes["refused"] += 1
            continue
        assert _same(model, loaded), position
        outcomes["identical"] += 1
    assert outcomes["refused"] > len(data) // 2, outcomes


def _zip_members(path):
    with zipfile.ZipFile(path) as z:
        return {info.filename: z.read(info) for info in z.infolist()}


def _write_zip(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as z:
        for name, data in members.items():
            z.writestr(name, data)


def test_a_shrunk_npy_header_is_caught_by_the_digest(tmp_path):
    """A member larger than 4 KiB whose .npy header says fewer items than it holds: NumPy reads
    fewer bytes, the zip CRC is never reached; the SHA-256 in the header catches it."""
    model = xpnn.ShallowNet(n_hidden=3, n_iter=1000, cost_every=1, random_state=0).fit(X3, y3)
    path = model.save(tmp_path / "m.npz")
    members = _zip_members(path)
    assert len(members["costs.npy"]) > 4096
    members["costs.npy"] = members["costs.npy"].replace(b"(1000,)", b"(100 ,)", 1)
    _write_zip(path, members)
    with pytest.raises(ValueError, match="'costs' does not match its SHA-256"):
        xpnn.load(path)


@pytest.mark.parametrize("change,match", [
    (dict(header={"n_iter": None}), "'n_iter' must be a int"),
    (dict(header={"hyperparameters": {"n_hidden": 3, "surprise": 1}}),
     r"unknown hyperparameter\(s\) \['surprise'\]"),
    (dict(header={"dtype": "foo"}), "dtype must be 'float64' or 'float32'"),
    (dict(header={"hyperparameters": {"n_hidden": 3, "dtype": "foo"}}), "unknown dtype 'foo'"),
    (dict(header={"head": "softmax"}), r"2 classes for a softmax head with 1 unit"),
    (dict(W1=np.full((3, 3), np.nan)), "parameters hold NaN or infinity"),
    (dict(classes=np.array([0, 1, 2])), r"'classes'.*allow at most 2 element"),
    (dict(W1=np.zeros((3, 2))), "inconsistent: parameter shapes"),
], ids=["missing-n_iter", "extra-hyperparameter", "dtype", "hyper-dtype", "head", "nan", "classes", "shapes"])
def test_headers_and_arrays_are_validated(change, match, saved):
    _, path = saved
    _rewrite(path, **change)
    with pytest.raises(ValueError, match=match):
        xpnn.load(path)


def _replace_header(path, header_bytes):
    members = _zip_members(path)
    buffer = io.BytesIO()
    np.save(buffer, np.frombuffer(header_bytes, dtype=np.uint8))
    members["header.npy"] = buffer.getvalue()
    _write_zip(path, members)


def test_deeply_nested_and_huge_declarations_are_refused(saved):
    _, path = saved
    _replace_header(path, b"[" * 100000 + b"]" * 100000)
    with pytest.raises(ValueError, match=r"no readable xpnn header \(RecursionError\)"):
        xpnn.load(path)
    model, path = saved
    model.save(path)
    header = json.loads(_zip_members(path)["header.npy"][128:].rstrip(b"\x00"))
    header["arrays"]["W1"]["shape"] = [2**40, 1]
    header["header_sha256"] = persistence._header_digest(header)  # a crafted, self-consistent header
    _replace_header(path, json.dumps(header).encode())
    with pytest.raises(ValueError, match="array 'W1'.*out of range"):
        xpnn.load(path)


def test_only_the_formats_members_are_read(saved, tmp_path, monkeypatch):
    """An extra member (here 64 MiB of deflated zeros) is refused unread; a defined member larger
    than its header allows is refused before it is decompressed."""
    model, path = saved
    members = _zip_members(path)
    bomb = np.zeros(8 << 20)  # 64 MiB, deflates to ~64 KiB
    buffer = io.BytesIO()
    np.save(buffer, bomb)
    reads = []
    original = zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open",
                        lambda self, name, *a, **k: reads.append(getattr(name, "filename", name))
                        or original(self, name, *a, **k))
    for target in ("extra.npy", "costs.npy"):
        _write_zip(path, {**members, target: buffer.getvalue()}, compression=zipfile.ZIP_DEFLATED)
        reads.clear()
        with pytest.raises(ValueError, match="unexpected member|declares 67108992 bytes|are compressed"):
            xpnn.load(path)
        assert target not in reads


@pytest.mark.parametrize("content,match", [
    (b"hello", r"not a zip archive \(it starts with b'hello'\)"),
    ("npy", "a single NumPy .npy array"),
    ("directory", "is a directory"),
    ("zip", "zip archive without one"),
])
def test_foreign_files_say_what_they_are(content, match, tmp_path):
    path = tmp_path / "x.npz"
    if content == "npy":
        np.save(path.with_suffix(".npy"), np.arange(3))
        path = path.with_suffix(".npy")
    elif content == "directory":
        path.mkdir()
    elif content == "zip":
        _write_zip(path, {"notes.txt": b"hi"})
    else:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=match):
        xpnn.load(path)


@pytest.mark.parametrize("labels", [[0, 1], [False, True], ["no", "yes"], [1.5, 2.5]], ids=str)
def test_object_labels_round_trip_by_value_and_type(labels, tmp_path):
    pd = pytest.importorskip("pandas")
    series = pd.Series([labels[int(v)] for v in y3], dtype=object)
    model = xpnn.ShallowNet(n_iter=300, random_state=0).fit(X3, series)
    loaded = xpnn.load(model.save(tmp_path / "m.npz"))
    assert loaded.classes_.dtype == object and loaded.classes_.tolist() == model.classes_.tolist()
    assert [type(v) for v in loaded.classes_] == [type(v) for v in model.classes_]
    assert loaded.score(X3, series) == model.score(X3, series) > 0.9


def test_ctrl_c_just_after_the_rename_surfaces_as_keyboard_interrupt(saved, monkeypatch):
    model, path = saved
    replace = os.replace

    def rename_then_interrupt(src, dst):
        replace(src, dst)
        raise KeyboardInterrupt
    monkeypatch.setattr(persistence.os, "replace", rename_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        model.save(path)
    monkeypatch.undo()
    assert _same(model, xpnn.load(path))
    assert os.listdir(os.path.dirname(path)) == ["m.npz"]


def test_stale_temporaries_of_dead_processes_are_cleaned_up(saved, tmp_path):
    model, path = saved
    dead = tmp_path / ".m.npz.xpnn-tmp-999999999-abc"   # no such process
    alive = tmp_path / f".m.npz.xpnn-tmp-{os.getppid()}-def"  # a running process may still write
    other = tmp_path / ".n.npz.xpnn-tmp-999999999-ghi"   # another model's: not this save's business
    for stale in (dead, alive, other):
        stale.write_bytes(b"x" * 100)
    model.save(path)
    assert sorted(os.listdir(tmp_path)) == sorted([alive.name, other.name, "m.npz"])


@pytest.mark.parametrize("name", HEADS)
def test_every_head_saves_loads_and_pickles(name, rng, tmp_path):
    import pickle

    make, kind = HEADS[name]
    X, y = head_data(kind, rng)
    model = make().fit(X, y)
    for clone in (xpnn.load(model.save(tmp_path / "m.npz")), pickle.loads(pickle.dumps(model))):
        assert type(clone) is type(model) and clone.out_activation_ == model.out_activation_
        np.testing.assert_array_equal(clone.predict(X), model.predict(X))


def _resigned(path, edit):
    """Edit the header of a saved file and recompute every digest, as anyone can (no key)."""
    import hashlib
    import zipfile

    from xpnn import persistence

    with zipfile.ZipFile(path) as z:
        members = {name: z.read(name) for name in z.namelist()}
    arrays = {name[:-4]: np.lib.format.read_array(io.BytesIO(data)) for name, data in members.items()}
    header = json.loads(arrays.pop("header").tobytes())
    edit(header, arrays)
    header["arrays"] = {k: {"dtype": v.dtype.str, "shape": list(v.shape),
                            "sha256": hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest()}
                        for k, v in arrays.items()}
    header.pop("header_sha256", None)
    header["header_sha256"] = persistence._header_digest(header)
    arrays["header"] = np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def test_a_signed_model_refuses_edits_that_recomputed_every_digest(tmp_path):
    X, y = xpnn.datasets.make_planar(60, random_state=0)
    model = xpnn.ShallowNet(n_iter=50, random_state=0).fit(X, y)
    path = model.save(tmp_path / "m.npz", key=b"secret")
    np.testing.assert_array_equal(xpnn.load(path, key=b"secret").predict(X), model.predict(X))
    with pytest.raises(ValueError, match="not signed with this key"):
        xpnn.load(path, key="another")

    def edit(header, arrays):
        arrays["W1"] = arrays["W1"] * 2
    _resigned(path, edit)
    xpnn.load(path)  # without a key the digests only detect damage, and these were recomputed
    with pytest.raises(ValueError, match="not signed with this key"):
        xpnn.load(path, key=b"secret")
    unsigned = model.save(tmp_path / "u.npz")
    with pytest.raises(ValueError, match="is not signed"):
        xpnn.load(unsigned, key=b"secret")


@pytest.mark.parametrize("version", [1, 2, 3])
def test_versions_without_a_header_digest_load_only_when_asked_knowingly(version, tmp_path):
    X, y = xpnn.datasets.make_planar(60, random_state=0)
    model = xpnn.ShallowNet(n_iter=50, random_state=0).fit(X, y)
    path = model.save(tmp_path / "m.npz")

    def downgrade(header, arrays):
        header["version"] = version
        arrays["W1"] = arrays["W1"] * 2  # an edit no digest of these versions would catch
    _resigned(path, downgrade)
    with pytest.raises(ValueError, match=f"version {version}.*unverified_ok=True"):
        xpnn.load(path)
    loaded = xpnn.load(path, unverified_ok=True)
    assert not np.array_equal(loaded.params_["W1"], model.params_["W1"])


@pytest.mark.parametrize("edit,message", [
    (lambda h, a: h.__setitem__("feature_names", ["a"]), "distinct names"),
    (lambda h, a: h.__setitem__("feature_names", ["a", "a"]), "distinct names"),
])
def test_semantic_checks_a_crafted_file_must_pass(edit, message, tmp_path):
    X, y = xpnn.datasets.make_planar(60, random_state=0)
    path = xpnn.ShallowNet(n_iter=5, random_state=0).fit(X, y).save(tmp_path / "m.npz")
    _resigned(path, edit)
    with pytest.raises(ValueError, match=message):
        xpnn.load(path)


def test_a_zero_running_variance_is_refused(tmp_path):
    X, y = xpnn.datasets.make_planar(60, random_state=0)
    path = xpnn.DeepNet((3,), n_iter=5, batch_norm=True, random_state=0).fit(X, y).save(tmp_path / "m.npz")

    def zero(header, arrays):
        arrays["var1"] = np.zeros_like(arrays["var1"])
    _resigned(path, zero)
    with pytest.raises(ValueError, match="running variance is negative or zero"):
        xpnn.load(path)


def test_a_header_whose_digest_is_not_a_string_is_refused_even_under_python_O(tmp_path):
    """The header's per-array checks are real checks, not asserts (which ``python -O`` drops)."""
    import subprocess
    import sys

    X, y = xpnn.datasets.make_planar(40, random_state=0)
    path = xpnn.ShallowNet(n_iter=5, random_state=0).fit(X, y).save(tmp_path / "m.npz")
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    header = json.loads(arrays["header"].tobytes())
    header["arrays"]["W1"]["sha256"] = 5
    header.pop("header_sha256", None)
    header["header_sha256"] = persistence._header_digest(header)  # a self-consistent header
    arrays["header"] = np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8)
    np.savez(path, **arrays)
    code = ("import sys, xpnn\ntry:\n    xpnn.load(sys.argv[1])\n"
            "except ValueError as e:\n    print('refused:', e)\n")
    for flags in ([], ["-O"]):
        done = subprocess.run([sys.executable, *flags, "-c", code, str(path)], capture_output=True, text=True)
        assert "refused:" in done.stdout and "sha256 is int, not a string" in done.stdout, done.stderr[-2000:]
