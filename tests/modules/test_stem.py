"""The convolutional stem: strides, padding masks, attention at input resolution."""

import numpy as np
import pytest
import torch

from skattn import (
    LSTMAttentionClassifier,
    LSTMAttentionRegressor,
    TransformerClassifier,
    TransformerRegressor,
)
from skattn.modules.stem import ConvStem, auto_stem_stride, stem_strides


@pytest.mark.parametrize(
    "length, stride",
    [
        (10, 1),
        (127, 1),
        (128, 2),
        (255, 2),
        (256, 4),
        (361, 4),
        (4096, 64),
        (8192, 128),
    ],
)
def test_auto_stride_leaves_at_least_64_steps(length, stride):
    assert auto_stem_stride(length) == stride
    assert length / stride >= 64 or stride == 1


@pytest.mark.parametrize(
    "stride, layers, expected",
    [
        (1, 3, (1, 1, 1)),
        (2, 3, (2, 1, 1)),
        (4, 3, (2, 2, 1)),
        (8, 3, (2, 2, 2)),
        (64, 3, (4, 4, 4)),
        (128, 3, (8, 4, 4)),
    ],
)
def test_strides_split_over_layers(stride, layers, expected):
    assert stem_strides(stride, layers) == expected
    assert np.prod(expected) == stride


def test_stride_must_be_a_power_of_two():
    with pytest.raises(ValueError, match="power of two"):
        stem_strides(6, 3)


def _padded(lengths, t, c, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(len(lengths), t, c, generator=g)
    mask = torch.arange(t) < torch.tensor(lengths)[:, None]
    return x, mask


@pytest.mark.parametrize("stride", [1, 2, 4, 8])
def test_stem_keeps_ceil_length_and_ignores_padding(stride):
    torch.manual_seed(0)
    stem = ConvStem(3, 8, stride=stride).eval()
    lengths = [37, 20, 5, 1]
    x, mask = _padded(lengths, 37, 3)
    garbage = x.masked_fill(mask.unsqueeze(-1), 0.0) * 1e3
    y, out_mask = stem(x + garbage, mask)  # padding holds large values
    assert out_mask.sum(1).tolist() == [-(-n // stride) for n in lengths]
    assert torch.equal(out_mask, stem.output_mask(mask))
    for i, n in enumerate(lengths):
        alone, alone_mask = stem(x[i : i + 1, :n], mask[i : i + 1, :n])
        k = alone.shape[1]
        assert alone_mask.all() and k == -(-n // stride)
        torch.testing.assert_close(y[i, :k], alone[0], rtol=1e-5, atol=1e-5)
        assert (y[i, k:] == 0).all()


def test_upsample_spreads_weights_over_real_steps():
    stem = ConvStem(1, 4, stride=4)
    lengths = [13, 4, 1]
    _, mask = _padded(lengths, 13, 1)
    out_mask = stem.output_mask(mask)  # [3, 4]
    scores = torch.randn(3, 2, out_mask.shape[1]).masked_fill(
        ~out_mask.unsqueeze(1), float("-inf")
    )
    weights = torch.softmax(scores, -1)
    spread = stem.upsample(weights, mask)
    assert spread.shape == (3, 2, 13)
    torch.testing.assert_close(spread.sum(-1), torch.ones(3, 2))
    assert (spread.masked_select(~mask.unsqueeze(1).expand_as(spread)) == 0).all()
    # the last block of the 13-step sequence stands for one step only
    torch.testing.assert_close(spread[0, :, 12], weights[0, :, 3])
    torch.testing.assert_close(spread[0, :, 0], weights[0, :, 0] / 4)


def _ragged_data(n=24, t=40, c=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, t, c)).astype(np.float32)
    lengths = rng.integers(5, t + 1, n)
    lengths[0] = t
    for i, n_real in enumerate(lengths):
        X[i, n_real:] = np.nan
    y = (np.nanmean(X[:, :, 0], axis=1) > 0).astype(int)
    return X, y, lengths


@pytest.mark.parametrize("Model", [TransformerClassifier, LSTMAttentionClassifier])
def test_attention_weights_at_input_resolution(Model):
    X, y, lengths = _ragged_data()
    clf = Model(conv_stem=4, max_epochs=2, random_state=0, n_threads=1).fit(X, y)
    assert clf.net_.module_.stem.stride == 4
    w = clf.attention_weights(X)
    assert w.shape == (len(X), X.shape[1])
    np.testing.assert_allclose(w.sum(1), 1.0, rtol=1e-9)
    for i, n_real in enumerate(lengths):
        assert (w[i, n_real:] == 0).all()
        assert (w[i, :n_real] > 0).all()


@pytest.mark.parametrize("Model", [TransformerClassifier, LSTMAttentionClassifier])
def test_predictions_do_not_depend_on_padding(Model):
    X, y, lengths = _ragged_data()
    clf = Model(conv_stem="auto", max_epochs=2, random_state=0, n_threads=1).fit(X, y)
    together = clf.predict_proba(X)
    alone = np.vstack(
        [clf.predict_proba(X[i : i + 1, :n]) for i, n in enumerate(lengths)]
    )
    np.testing.assert_allclose(together, alone, atol=1e-10)


@pytest.mark.parametrize("Model", [TransformerRegressor, LSTMAttentionRegressor])
def test_stem_fits_regression_and_learned_positions(Model):
    X, _, _ = _ragged_data()
    y = np.nan_to_num(X[:, :, 0]).sum(1)
    extra = {"positional_encoding": "learned"} if Model is TransformerRegressor else {}
    reg = Model(conv_stem=2, max_epochs=2, random_state=0, n_threads=1, **extra)
    assert reg.fit(X, y).predict(X).shape == (len(X),)


def test_no_stem_means_no_stem_module():
    X, y, _ = _ragged_data()
    clf = TransformerClassifier(conv_stem=None, max_epochs=1, random_state=0)
    assert clf.fit(X, y).net_.module_.stem is None


@pytest.mark.parametrize("bad", [3, 6, "conv", 0])
def test_invalid_conv_stem(bad):
    X, y, _ = _ragged_data()
    with pytest.raises(ValueError, match="conv_stem"):
        TransformerClassifier(conv_stem=bad, max_epochs=1).fit(X, y)
