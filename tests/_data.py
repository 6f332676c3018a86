"""Small synthetic sequence data shared by the tests."""

import numpy as np


def make_sequences(n=40, n_channels=2, min_length=5, max_length=12, seed=0):
    """Ragged sequences whose class is the sign of the first channel's mean."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(min_length, max_length + 1, size=n)
    y = np.arange(n) % 2
    X = []
    for length, label in zip(lengths, y, strict=True):
        s = rng.normal(size=(length, n_channels))
        s[:, 0] += 1.5 if label else -1.5
        X.append(s)
    return X, np.where(y == 1, "up", "down")


def pad(X, length=None, fill=np.nan):
    """NaN-pad a list of (L, C) arrays into (n, length, C)."""
    length = length or max(len(s) for s in X)
    out = np.full((len(X), length, X[0].shape[1]), fill)
    for i, s in enumerate(X):
        out[i, : len(s)] = s
    return out
