"""The input contract (``skattn/_validation.py``): 2D input as scikit-learn's
tabular data, other lengths and the channel checks at predict, targets
aligned with the entities of a long DataFrame."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skattn import LSTMAttentionClassifier, TransformerClassifier

from ._data import make_sequences
from ._params import small


def test_2d_contract_and_3d_lengths(data3d):
    X, y = data3d
    clf = small(TransformerClassifier).fit(X[:, :, 0], y)
    assert clf.n_features_in_ == 10
    with pytest.raises(
        ValueError, match="X has 8 features, but TransformerClassifier is expecting 10"
    ):
        clf.predict(X[:, :8, 0])
    with pytest.raises(ValueError, match="fitted on fixed-length univariate input"):
        clf.predict([np.zeros(4), np.zeros(7)])
    clf3 = small(TransformerClassifier).fit(X, y)
    assert clf3.predict(X[:, :6]).shape == (48,)  # other lengths are fine in 3D
    with pytest.raises(
        ValueError,
        match="X has 10 channels, but TransformerClassifier "
        "was fitted with 3.*from_channels_first",
    ):
        clf3.predict(np.zeros((5, 3, 10)))


def test_pipeline_with_standard_scaler_on_2d():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 16)) * 100 + 5
    y = (X[:, :4].mean(1) > 5).astype(int)
    pipe = make_pipeline(StandardScaler(), small(TransformerClassifier, max_epochs=10))
    pipe.fit(X, y)
    assert pipe.predict(X).shape == (60,)
    assert pipe[-1].n_features_in_ == 16
    with pytest.raises(ValueError, match="16 features"):
        pipe.predict(X[:, :10])


def test_other_lengths_at_predict_and_channel_checks():
    X, y = make_sequences(n=20, n_channels=2)
    clf = TransformerClassifier(d_model=8, num_heads=2, max_epochs=2, random_state=0)
    clf.fit(X, y)
    assert clf.predict([np.ones((40, 2)), np.ones((1, 2))]).shape == (2,)
    with pytest.raises(
        ValueError,
        match="X has 3 channels, but TransformerClassifier was fitted with 2",
    ):
        clf.predict([np.ones((4, 3))])
    with pytest.raises(ValueError, match="empty sequence"):
        clf.predict([np.ones((4, 2)), np.ones((0, 2))])


def test_long_frame_y_is_aligned_by_entity(transactions):
    frame = transactions.set_index(["customer", "day"])[["amount", "items"]]
    y = pd.Series({"c": "low", "a": "high", "b": "low"})  # not in sorted order
    clf = LSTMAttentionClassifier(hidden_size=4, max_epochs=2, random_state=0)
    clf.fit(frame, y)
    same = LSTMAttentionClassifier(hidden_size=4, max_epochs=2, random_state=0)
    same.fit(frame, ["high", "low", "low"])
    assert_array_equal(clf.predict_proba(frame), same.predict_proba(frame))
    with pytest.raises(ValueError, match="not the entity ids of X"):
        clf.fit(frame, pd.Series(["x", "y", "z"], index=["p", "q", "r"]))
    renamed = frame.rename(columns={"items": "quantity"})
    with pytest.raises(ValueError, match="value columns \\['amount', 'quantity'\\]"):
        clf.predict(renamed)
