"""Padding never matters: for every estimator and every attention variant,
adding padding or regrouping sequences into other batches changes no
prediction, probability, embedding or attention weight, and attention puts
exactly zero weight on padding."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skattn import (
    AttentionPoolingTransformer,
    LSTMAttentionClassifier,
    LSTMAttentionRegressor,
    TransformerClassifier,
    TransformerRegressor,
)
from skattn.modules import ATTENTION_SCORES

from ._data import make_sequences, pad

SMALL = {
    LSTMAttentionClassifier: dict(hidden_size=4),
    LSTMAttentionRegressor: dict(hidden_size=4),
    TransformerClassifier: dict(d_model=8, num_heads=2, dim_feedforward=8),
    TransformerRegressor: dict(d_model=8, num_heads=2, dim_feedforward=8),
    AttentionPoolingTransformer: dict(d_model=8, num_heads=2, dim_feedforward=8),
}


def assert_same(actual, expected):
    if expected.dtype.kind == "f":
        assert_allclose(actual, expected, rtol=1e-10, atol=1e-12)
    else:
        assert_array_equal(actual, expected)


def outputs(est, X):
    """Every array the estimator produces for X."""
    out = {}
    for method in ("predict", "predict_proba", "transform"):
        if hasattr(est, method):
            out[method] = getattr(est, method)(X)
    return out


@pytest.mark.parametrize("attention", ATTENTION_SCORES)
@pytest.mark.parametrize("cls", list(SMALL), ids=lambda c: c.__name__)
def test_padding_changes_nothing(cls, attention):
    X, labels = make_sequences(n=24, n_channels=2, min_length=3, max_length=11)
    y = labels if "Regressor" not in cls.__name__ else (labels == "up") * 1.0
    est = cls(
        attention=attention, max_epochs=2, batch_size=8, random_state=0, **SMALL[cls]
    ).fit(X, y)

    reference = outputs(est, X)
    for method, values in outputs(est, pad(X, 19)).items():  # 8 extra padded steps
        assert_same(values, reference[method])
    # each sequence alone: no batch mates, no padding at all
    alone = {m: np.concatenate([outputs(est, [s])[m] for s in X]) for m in reference}
    for method, values in alone.items():
        assert_same(values, reference[method])

    weights = est.attention_weights(X)
    assert weights.shape == (24, 11)
    lengths = np.array([len(s) for s in X])
    padding = np.arange(11) >= lengths[:, None]
    assert np.all(weights[padding] == 0)
    assert_allclose(weights.sum(1), 1.0, rtol=1e-12)
    padded_weights = est.attention_weights(pad(X, 19))
    assert np.all(padded_weights[:, 11:] == 0)
    assert_allclose(padded_weights[:, :11], weights, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cls", list(SMALL), ids=lambda c: c.__name__)
def test_training_on_padded_input_gives_the_same_model(cls):
    X, labels = make_sequences(n=24, n_channels=2, min_length=3, max_length=11)
    y = labels if "Regressor" not in cls.__name__ else (labels == "up") * 1.0
    params = dict(max_epochs=2, batch_size=8, random_state=0, **SMALL[cls])
    ragged = cls(**params).fit(X, y)
    padded = cls(**params).fit(pad(X, 30), y)
    for method, values in outputs(ragged, X).items():
        assert_array_equal(outputs(padded, X)[method], values)


@pytest.mark.parametrize("pooling", ["mean", "max", "last"])
@pytest.mark.parametrize("cls", [LSTMAttentionClassifier, TransformerClassifier])
def test_pooling_baselines_ignore_padding(cls, pooling):
    X, y = make_sequences(n=24, n_channels=2, min_length=3, max_length=11)
    est = cls(pooling=pooling, max_epochs=2, random_state=0, **SMALL[cls]).fit(X, y)
    assert_allclose(
        est.predict_proba(pad(X, 25)), est.predict_proba(X), rtol=1e-10, atol=1e-12
    )


@pytest.mark.parametrize("cls", [LSTMAttentionClassifier, TransformerClassifier])
def test_token_padding_is_masked(cls):
    rng = np.random.default_rng(0)
    tokens = [rng.integers(1, 20, size=rng.integers(2, 9)) for _ in range(30)]
    y = np.array(["has 7" if 7 in t else "no 7" for t in tokens])
    est = cls(vocab_size=20, padding_idx=0, max_epochs=2, random_state=0, **SMALL[cls])
    est.fit(tokens, y)
    padded = np.zeros((30, 12), dtype=int)  # padding id 0 at the end
    for i, t in enumerate(tokens):
        padded[i, : len(t)] = t
    assert_allclose(est.predict_proba(padded), est.predict_proba(tokens), rtol=1e-10)
    weights = est.attention_weights(padded)
    assert np.all(weights[padded == 0] == 0)
    with pytest.raises(
        ValueError, match="token ids must be integers in \\[0, vocab_size=20\\)"
    ):
        est.predict([np.array([3, 25])])


def test_batches_group_similar_lengths():
    import torch

    from skattn._net import BatchIterator, SequenceData

    lengths = torch.tensor([5] * 63 + [500])  # one long outlier
    data = SequenceData(
        torch.zeros(64, 500, 1), lengths, torch.zeros(64), torch.ones(64)
    )
    gen = torch.Generator().manual_seed(0)
    widths = [
        X["values"].shape[1]
        for X, _ in BatchIterator(data, 8, shuffle=True, generator=gen)
    ]
    assert sorted(widths) == [5] * 7 + [500]  # only the outlier's batch is wide
