"""Targets (``skattn/_targets.py``): label checks, classes and class
weights, regression targets and their scaling."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skattn import (
    AttentionPoolingTransformer,
    LSTMAttentionClassifier,
    LSTMAttentionRegressor,
    TransformerClassifier,
)

from ._params import REGRESSORS, SMALL_TRANSFORMER, small

# Class labels ------------------------------------------------------------------


def test_labels_of_mixed_types_are_named(data3d):
    X, _ = data3d
    y = np.array([1, "a", None] * 16, dtype=object)
    for est in (small(LSTMAttentionClassifier), small(AttentionPoolingTransformer)):
        # sklearn's own message said "unknown" type, regression-like
        with pytest.raises(ValueError, match="mixes labels of types.*None.*str"):
            est.fit(X, y)


def test_partial_fit_classes_are_checked(data):
    X, y = data
    clf = LSTMAttentionClassifier(hidden_size=4, max_epochs=1, random_state=0)
    with pytest.raises(ValueError, match="Input classes contains NaN"):
        clf.partial_fit(X, y == "a", classes=[0, 1, np.nan])  # NaN became a class
    with pytest.raises(ValueError, match="classes must be a 1D array"):
        clf.partial_fit(X, y, classes=[["a", "b"]])  # was a message about y
    with pytest.raises(ValueError, match="but classes contains only 1 class: 'a'"):
        clf.partial_fit(X, y, classes=["a"])


def test_class_weight(data):
    X, _ = data
    y = np.where(np.arange(80) < 70, "common", "rare")
    y[70:] = "rare"
    X = X.copy()
    X[70:, :, 0] += 0.5  # a weak signal for the rare class
    params = dict(max_epochs=10, lr=1e-2, **SMALL_TRANSFORMER)
    plain = TransformerClassifier(**params).fit(X, y)
    balanced = TransformerClassifier(class_weight="balanced", **params).fit(X, y)
    assert (balanced.predict(X) == "rare").sum() > (plain.predict(X) == "rare").sum()
    as_dict = TransformerClassifier(class_weight={"common": 1.0, "rare": 7.0}, **params)
    by_weight = TransformerClassifier(**params)
    sample_weight = np.where(y == "rare", 7.0, 1.0)
    assert_array_equal(
        as_dict.fit(X, y).predict_proba(X),
        by_weight.fit(X, y, sample_weight=sample_weight).predict_proba(X),
    )
    with pytest.raises(ValueError, match="class_weight has keys \\['other'\\]"):
        TransformerClassifier(class_weight={"other": 2.0}, **params).fit(X, y)


def test_negative_class_weight_is_an_error(data):
    X, y = data
    clf = LSTMAttentionClassifier(class_weight={"a": -1.0, "b": 1.0}, max_epochs=1)
    with pytest.raises(ValueError, match="class_weight gives negative weights"):
        clf.fit(X, y)  # the samples of "a" were dropped silently


@pytest.mark.parametrize("Model", [TransformerClassifier, LSTMAttentionClassifier])
def test_label_smoothing_keeps_probabilities_off_0_and_1(data, Model):
    """Trained to fit the training set, the network gives its classes
    probabilities near 1 and 0; with label smoothing 0.4 the training
    targets are 0.8 and 0.2 (two classes), and the probabilities stay near
    them."""
    X, y = data
    params = dict(max_epochs=60, lr=1e-2, random_state=0, n_threads=1)
    plain = small(Model, **params).fit(X, y).predict_proba(X).max(1)
    smooth = small(Model, label_smoothing=0.4, **params).fit(X, y)
    smoothed = smooth.predict_proba(X).max(1)
    assert np.median(plain) > 0.95
    assert 0.6 < np.median(smoothed) < 0.9
    assert smooth.score(X, y) >= 0.9  # still fits the labels


@pytest.mark.parametrize("bad", [1.0, -0.1, "0.1"])
def test_invalid_label_smoothing(data, bad):
    X, y = data
    with pytest.raises(ValueError, match="label_smoothing"):
        TransformerClassifier(label_smoothing=bad, max_epochs=1).fit(X, y)


# Regression targets ------------------------------------------------------------


@pytest.mark.parametrize("cls", REGRESSORS)
def test_regressor_targets_keep_their_shape(cls, data3d):
    X, _ = data3d
    y1 = X[:, :, 0].sum(1) * 1000 + 50  # large scale: standardised internally
    reg = small(cls, max_epochs=30, lr=1e-2).fit(X, y1)
    pred = reg.predict(X)
    assert pred.shape == (48,) and pred.dtype == np.float64
    assert reg.score(X, y1) > 0.5
    y2 = np.column_stack([y1, -y1, np.ones(48)])
    pred2 = small(cls).fit(X, y2).predict(X)
    assert pred2.shape == (48, 3) and np.isfinite(pred2).all()
    # a constant target has no spread to scale by; it is still predicted on
    # its own scale: measured within 0.03 (LSTM) and 0.16 (Transformer) of 1
    # after 4 epochs, where the scale of the other targets (std 3200) would
    # put it hundreds away
    assert np.abs(pred2[:, 2] - 1.0).max() < 0.5
    column = small(cls).fit(X, y1[:, None]).predict(X)
    assert column.shape == (48, 1)


@pytest.mark.parametrize("scale", [1e-12, 1e12, 1e300])
def test_targets_on_any_scale_are_predicted_on_their_scale(scale):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 6, 1))
    y = X[:, :, 0].mean(1)
    reference = small(LSTMAttentionRegressor).fit(X, y).predict(X)
    # targets of 1e300 gave an inf scale and inf predictions
    scaled = small(LSTMAttentionRegressor).fit(X, y * scale).predict(X)
    assert np.isfinite(scaled).all()
    assert_allclose(scaled / scale, reference, rtol=1e-5, atol=1e-9)
