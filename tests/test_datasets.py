import numpy as np
import pytest

from xpnn import datasets
from xpnn.preprocessing import Standardizer, flatten_images, scale_pixels, standardize


def test_load_catvnoncat_shapes_and_sanity_values():
    X_train, y_train, X_test, y_test, classes = datasets.load_catvnoncat()
    assert X_train.shape == (209, 64, 64, 3) and X_train.dtype == np.uint8
    assert X_test.shape == (50, 64, 64, 3) and y_test.shape == (50,)
    assert list(classes) == ["non-cat", "cat"]
    assert (y_train.sum(), y_test.sum()) == (72, 33)
    np.testing.assert_array_equal(flatten_images(X_train).T[0:5, 0], [17, 31, 56, 22, 33])


def test_corrupt_data_is_refused(monkeypatch):
    sums = datasets._expected_sums()
    monkeypatch.setattr(datasets, "_expected_sums", lambda: {**sums, "test_catvnoncat.h5": "0" * 64})
    with pytest.raises(ValueError, match="test_catvnoncat.h5 is corrupt"):
        datasets.load_catvnoncat()


def test_make_planar_follows_the_course_recipe():
    X, y = datasets.make_planar(400, noise=0.0, random_state=0)
    assert X.shape == (400, 2) and np.bincount(y).tolist() == [200, 200]
    t = np.linspace(3.12, 6.24, 200)
    r = 4 * np.sin(4 * t)
    np.testing.assert_allclose(X[200:], np.c_[r * np.sin(t), r * np.cos(t)])
    X2, _ = datasets.make_planar(400, random_state=0)
    np.testing.assert_array_equal(X2, datasets.make_planar(400, random_state=0)[0])
    with pytest.raises(ValueError, match="even"):
        datasets.make_planar(3)


def test_make_circles():
    X, y = datasets.make_circles(300, noise=0.0, factor=0.5, random_state=0)
    radius = np.hypot(*X.T)
    np.testing.assert_allclose(radius[y == 0], 1.0)
    np.testing.assert_allclose(radius[y == 1], 0.5)


def test_preprocessing(backend):
    images = np.arange(2 * 4 * 4 * 3, dtype=np.uint8).reshape(2, 4, 4, 3)
    flat = flatten_images(backend.asarray(images))
    assert flat.shape == (2, 48)
    np.testing.assert_array_equal(backend.to_numpy(flat), images.reshape(2, -1))
    scaled = backend.to_numpy(scale_pixels(flat, "float32"))
    assert scaled.dtype == np.float32 and scaled.max() == pytest.approx(95 / 255)


def test_standardize_uses_train_statistics(rng):
    train, test = rng.normal(5, 2, (100, 3)), rng.normal(5, 2, (20, 3))
    train_s, test_s = standardize(train, test)
    np.testing.assert_allclose(train_s.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(test_s, (test - train.mean(0)) / train.std(0))
    constant = np.ones((4, 2))
    np.testing.assert_array_equal(Standardizer().fit_transform(constant), 0.0)
    with pytest.raises(ValueError, match="not fitted"):
        Standardizer().transform(train)
