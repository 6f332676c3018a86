"""Input standardisation (``skattn/_scaling.py``): float64 statistics make
the scale of X irrelevant, and constant channels and length-one sequences
train."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from skattn import LSTMAttentionClassifier

from ._params import CLASSIFIERS, REGRESSORS, small


@pytest.mark.parametrize("scale", [1e-30, 1e30, 1e200])
def test_inputs_on_any_scale_train_the_same_model(scale):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 8, 2))
    y = np.where(X[:, :, 0].mean(1) > 0, "up", "down")
    reference = small(LSTMAttentionClassifier).fit(X, y).predict_proba(X)
    # values of 1e-30 used to count as a constant channel (not divided by
    # their std): the model saw zeros. Squares of 1e200 overflowed the std.
    scaled = small(LSTMAttentionClassifier).fit(X * scale + 3 * scale, y)
    assert_allclose(scaled.predict_proba(X * scale + 3 * scale), reference, atol=1e-5)


# Sequences of one step with 2 channels are what this test is about; fit
# warns that they look channels-first (tests/test_validation.py tests that).
@pytest.mark.filterwarnings("ignore::skattn.exceptions.DataLayoutWarning")
@pytest.mark.parametrize("cls", [*CLASSIFIERS, *REGRESSORS])
def test_constant_and_length_one_sequences_train(cls):
    y = np.arange(12) % 2
    for X in (
        np.full((12, 5, 2), 7.0),
        np.random.default_rng(0).normal(size=(12, 1, 2)),
    ):
        model = small(cls).fit(X, y)
        out = model.predict_proba(X) if hasattr(model, "predict_proba") else None
        assert np.isfinite(model.predict(X).astype(float)).all()
        assert out is None or np.isfinite(out).all()


def test_sequence_smoothness_is_the_spread_of_steps_over_that_of_values():
    from skattn._scaling import sequence_smoothness

    rng = np.random.default_rng(0)
    X = np.full((3, 50, 2), np.nan)
    X[0] = rng.normal(size=(50, 2))
    X[1, :30] = np.cumsum(rng.normal(size=(30, 2)), axis=0)
    X[2, :2] = 1.0  # too short to measure
    ratios = sequence_smoothness(X, np.array([50, 30, 2]))
    for i, n in ((0, 50), (1, 30)):
        x = X[i, :n]
        assert_allclose(ratios[i], np.diff(x, axis=0).std(0) / x.std(0), rtol=1e-12)
    assert np.isnan(ratios[2]).all()
