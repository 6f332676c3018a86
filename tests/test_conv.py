"""The fully convolutional estimators (``skattn/_conv.py``): the network they
build, its checks, attention weights, padding and saving. sklearn's checks,
the shared estimator tests, ONNX export and persistence cover them through
``tests/_params.py`` and the model lists of those tests."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.utils._param_validation import InvalidParameterError

from skattn import ConvAttentionClassifier, ConvAttentionRegressor
from skattn.modules import ConvStates, ConvStem, conv_network

from .test_architectures import _fit_padding_and_saving, _ragged_data

SMALL = dict(channels=8, num_heads=2, max_epochs=2, random_state=0, n_threads=1)


def test_default_network_is_three_convolutions_at_half_the_length():
    X, y, _ = _ragged_data()
    clf = ConvAttentionClassifier(max_epochs=1, random_state=0, n_threads=1).fit(X, y)
    network = clf.net_.module_
    assert isinstance(network.stem, ConvStem)
    assert network.stem.strides == (2, 1, 1)
    assert [conv.out_channels for conv in network.stem.convs] == [64, 64, 64]
    assert isinstance(network.encoder, ConvStates)
    # attention pooling reads the convolutions' states as they are
    assert network.output_size == 64


@pytest.mark.parametrize("num_layers, stride", [(1, 1), (2, 4), (4, 2)])
def test_layers_and_stride_follow_the_parameters(num_layers, stride):
    X, y, _ = _ragged_data()
    clf = ConvAttentionClassifier(num_layers=num_layers, conv_stem=stride, **SMALL)
    stem = clf.fit(X, y).net_.module_.stem
    assert len(stem.convs) == num_layers
    assert stem.stride == stride


def test_conv_stem_none_is_refused_by_name(data3d):
    X, y = data3d
    with pytest.raises(InvalidParameterError, match="conv_stem"):
        ConvAttentionClassifier(conv_stem=None).fit(X, y)
    with pytest.raises(ValueError, match="conv_stem must be 'auto' or a power"):
        conv_network(2, 3, conv_stem=None)
    with pytest.raises(ValueError, match="conv_stem=3 must be a power of two"):
        ConvAttentionRegressor(conv_stem=3).fit(X, X[:, :, 0].sum(1))


def test_multihead_needs_channels_divisible_by_heads(data3d):
    X, y = data3d
    with pytest.raises(ValueError, match="channels=10 .* num_heads=4"):
        ConvAttentionClassifier(channels=10).fit(X, y)
    # other pooling has no heads to divide by
    ConvAttentionClassifier(channels=10, pooling="mean", max_epochs=1).fit(X, y)


def test_attention_weights_cover_the_input_steps():
    X, y, lengths = _ragged_data()
    clf = ConvAttentionClassifier(conv_stem=4, **SMALL).fit(X, y)
    w = clf.attention_weights(X)
    assert w.shape == (len(X), X.shape[1])
    np.testing.assert_allclose(w.sum(1), 1.0, rtol=1e-9)
    for i, n_real in enumerate(lengths):
        assert (w[i, n_real:] == 0).all()
        assert (w[i, :n_real] > 0).all()


@pytest.mark.parametrize(
    "Model, params",
    [
        (ConvAttentionClassifier, {}),
        (ConvAttentionClassifier, dict(series_norm="instance", max_pooling=True)),
        (ConvAttentionRegressor, dict(pooling="mean", stem_norm="layer")),
    ],
)
def test_predictions_ignore_padding_and_survive_saving(Model, params, tmp_path):
    _fit_padding_and_saving(Model(**SMALL, **params), tmp_path)


def test_conv_states_are_zero_on_padding_with_the_last_real_state():
    x = torch.arange(12.0).reshape(2, 3, 2)
    mask = torch.tensor([[True, True, True], [True, True, False]])
    states, last = ConvStates(2)(x, mask)
    assert states[1, 2].tolist() == [0.0, 0.0]
    assert torch.equal(states[0], x[0])
    assert last.tolist() == [x[0, 2].tolist(), x[1, 1].tolist()]


def test_learns_a_local_shape_that_a_linear_model_on_the_values_misses():
    # class 1: a short up-and-down bump at a random place in noise; the
    # mean, the overall level and any fixed step carry nothing
    rng = np.random.default_rng(0)
    n, t = 240, 64
    X = rng.normal(scale=0.3, size=(n, t, 1))
    y = np.arange(n) % 2
    for i in np.flatnonzero(y):
        start = rng.integers(0, t - 6)
        X[i, start : start + 6, 0] += [1, 2, 3, -3, -2, -1]
    linear = LogisticRegression(max_iter=1000).fit(X[:160, :, 0], y[:160])
    assert linear.score(X[160:, :, 0], y[160:]) < 0.75
    torch.set_num_threads(1)
    clf = ConvAttentionClassifier(
        channels=16, num_heads=2, max_epochs=30, random_state=0, n_threads=1
    )
    clf.fit(X[:160], y[:160])
    assert clf.score(X[160:], y[160:]) >= 0.9
