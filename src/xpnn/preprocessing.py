"""Image flattening and normalisation, on any array-API array."""

from __future__ import annotations

from .backend import namespace

__all__ = ["flatten_images", "scale_pixels", "Standardizer", "standardize"]


def flatten_images(images):
    """(m, h, w, c) images -> (m, h*w*c) rows, one image per row (scikit-learn layout).

    The course's ``X.reshape(X.shape[0], -1).T`` is ``flatten_images(X).T``.
    """
    xp = namespace(images)
    if images.ndim < 2:
        raise ValueError(f"images must be (m, h, w, c) (or any (m, ...)); got shape {tuple(images.shape)}")
    return xp.reshape(images, (images.shape[0], -1))


def scale_pixels(X, dtype="float64"):
    """8-bit pixel values to [0, 1]: X / 255 as ``dtype``."""
    xp = namespace(X)
    return xp.astype(X, getattr(xp, dtype)) / 255.0


class Standardizer:
    """Per-feature (x - mean) / std, fitted on the training rows and reused on the test rows.

    Features with zero spread are centred and left unscaled.
    """

    def fit(self, X):
        xp = namespace(X)
        self.mean_ = xp.mean(X, axis=0, keepdims=True)
        std = xp.std(X, axis=0, keepdims=True)
        self.scale_ = xp.where(std > 0, std, xp.ones_like(std))
        return self

    def transform(self, X):
        if not hasattr(self, "mean_"):
            raise ValueError("Standardizer is not fitted; call fit(X_train) first")
        if X.shape[1:] != self.mean_.shape[1:]:
            raise ValueError(f"X has shape {tuple(X.shape)}; fitted on (m, {self.mean_.shape[1]})")
        return (X - self.mean_) / self.scale_

    def fit_transform(self, X):
        return self.fit(X).transform(X)


def standardize(X_train, X_test=None):
    """Standardise with train statistics: X_train' (and X_test' when given, same mean/std)."""
    scaler = Standardizer().fit(X_train)
    if X_test is None:
        return scaler.transform(X_train)
    return scaler.transform(X_train), scaler.transform(X_test)
