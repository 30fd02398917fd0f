"""The course's data: the cat-vs-non-cat images (shipped, checksummed) and toy 2-D sets."""

from __future__ import annotations

import hashlib
from importlib import resources

import numpy as np

from ..backend import rng_from

__all__ = ["load_catvnoncat", "make_planar", "make_circles", "make_moons"]

_FILES = ("train_catvnoncat.h5", "test_catvnoncat.h5")


def _expected_sums():
    text = resources.files(__package__).joinpath("data/SHA256SUMS").read_text()
    return {name: digest for digest, name in (line.split() for line in text.splitlines() if line)}


def _read_verified(name, expected):
    data = resources.files(__package__).joinpath("data", name).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected[name]:
        raise ValueError(f"{name} is corrupt: SHA-256 {digest}, expected {expected[name]}; "
                         "reinstall xpnn")
    return data


def load_catvnoncat():
    """The course's cat-vs-non-cat images, checksum-verified.

    Returns
    -------
    X_train : uint8 array (209, 64, 64, 3); y_train : int64 array (209,) with 1 = cat
    X_test : uint8 array (50, 64, 64, 3); y_test : int64 array (50,)
    classes : array of str ["non-cat", "cat"] (index = label)
    """
    import io

    import h5py

    expected = _expected_sums()
    out = []
    for name, split in zip(_FILES, ("train", "test")):
        with h5py.File(io.BytesIO(_read_verified(name, expected)), "r") as f:
            out.append(np.asarray(f[f"{split}_set_x"][:], dtype=np.uint8))
            out.append(np.asarray(f[f"{split}_set_y"][:], dtype=np.int64))
            classes = np.asarray([c.decode() for c in f["list_classes"][:]])
    return (*out, classes)


def make_planar(n_samples=400, noise=0.2, random_state=None):
    """The course's two-class "flower": X (n_samples, 2) float64, y (n_samples,) int64.

    For class j in {0, 1}, n_samples / 2 points with t = linspace(3.12 j, 3.12 (j + 1)) +
    noise N(0, 1), r = 4 sin(4 t) + noise N(0, 1), x = (r sin t, r cos t).
    """
    if n_samples < 2 or n_samples % 2:
        raise ValueError(f"n_samples must be an even number >= 2; got {n_samples}")
    rng = rng_from(random_state)
    half = n_samples // 2
    X, y = np.zeros((n_samples, 2)), np.repeat(np.arange(2), half)
    for j in range(2):
        t = np.linspace(3.12 * j, 3.12 * (j + 1), half) + noise * rng.standard_normal(half)
        r = 4 * np.sin(4 * t) + noise * rng.standard_normal(half)
        X[j * half:(j + 1) * half] = np.c_[r * np.sin(t), r * np.cos(t)]
    return X, y


def make_circles(n_samples=300, noise=0.05, factor=0.8, random_state=None):
    """Two noisy concentric circles (the course's initialisation data): X (n, 2), y (n,).

    Class 0 on the outer circle of radius 1, class 1 on the inner of radius ``factor``.
    """
    if n_samples < 2:
        raise ValueError(f"n_samples must be >= 2; got {n_samples}")
    if not 0 < factor < 1:
        raise ValueError(f"factor must be in (0, 1); got {factor}")
    rng = rng_from(random_state)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    angles = [np.linspace(0, 2 * np.pi, n, endpoint=False) for n in (n_out, n_in)]
    X = np.vstack([np.c_[np.cos(a), np.sin(a)] * r for a, r in zip(angles, (1.0, factor))])
    y = np.r_[np.zeros(n_out, dtype=np.int64), np.ones(n_in, dtype=np.int64)]
    X += noise * rng.standard_normal(X.shape)
    order = rng.permutation(n_samples)
    return X[order], y[order]


def make_moons(n_samples=300, noise=0.2, random_state=None):
    """Two interleaving half circles (the course's "Optimization methods" data): X (n, 2), y (n,).

    Class 0 on the upper half circle of radius 1 centred at 0, class 1 on the lower one centred
    at (1, 0.5), each point moved by noise N(0, noise²); shuffled.
    """
    if n_samples < 2:
        raise ValueError(f"n_samples must be >= 2; got {n_samples}")
    rng = rng_from(random_state)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    outer, inner = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    X = np.vstack([np.c_[np.cos(outer), np.sin(outer)],
                   np.c_[1 - np.cos(inner), 0.5 - np.sin(inner)]])
    y = np.r_[np.zeros(n_out, dtype=np.int64), np.ones(n_in, dtype=np.int64)]
    X += noise * rng.standard_normal(X.shape)
    order = rng.permutation(n_samples)
    return X[order], y[order]
