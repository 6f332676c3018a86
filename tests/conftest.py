import numpy as np
import pandas as pd
import pytest
import torch

from ._data import make_sequences
from ._params import CLASSIFIERS, small


@pytest.fixture(scope="session")
def ragged():
    return make_sequences()


@pytest.fixture(scope="module")
def data3d():
    """48 equal-length sequences of 3 channels; labels "pos"/"neg"."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(48, 10, 3))
    y = np.where(X[:, :, 0].mean(1) > 0, "pos", "neg")
    return X, y


@pytest.fixture(scope="module")
def fitted_classifiers(data3d):
    """Both classifiers, ``small`` settings, fitted on ``data3d``."""
    X, y = data3d
    torch.set_num_threads(1)
    return {cls: small(cls).fit(X, y) for cls in CLASSIFIERS}


@pytest.fixture(scope="module")
def data():
    """80 sequences of 12 steps and 2 channels; labels "a"/"b" carried by the
    first 6 steps of channel 0."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 12, 2))
    y = np.where(np.arange(80) % 2, "a", "b")
    X[:, :6, 0] += np.where(y == "a", 1.0, -1.0)[:, None]  # the class signal
    return X, y


@pytest.fixture
def transactions():
    """A long table of purchases: 3 customers, a string column among others."""
    return pd.DataFrame(
        {
            "customer": ["b", "a", "a", "b", "a", "c"],
            "day": [3, 2, 1, 1, 5, 7],
            "amount": [30.0, 20.0, 10.0, 5.0, 50.0, 1.0],
            "items": [3, 2, 1, 1, 5, 1],
            "channel": ["web", "app", "app", "web", "web", "app"],
        }
    )
