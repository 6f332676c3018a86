"""The encoder modules (``skattn/modules/encoders.py``)."""

import math

import pytest
import torch
from numpy.testing import assert_allclose

from skattn.modules import (
    RelativePositionBias,
    SinusoidalPositionalEncoding,
    TimeAbsolutePositionalEncoding,
    TransformerEncoder,
    TransformerEncoderLayer,
)

from ._batches import random_batch


def test_self_attention_layer_matches_torch_multihead_attention():
    torch.manual_seed(0)
    d, h = 8, 2
    layer = TransformerEncoderLayer(d, h, 16, dropout=0.0).double().eval()
    mha = torch.nn.MultiheadAttention(d, h, batch_first=True).double()
    with torch.no_grad():
        mha.in_proj_weight.copy_(layer.qkv.weight)
        mha.in_proj_bias.copy_(layer.qkv.bias)
        mha.out_proj.weight.copy_(layer.out_proj.weight)
        mha.out_proj.bias.copy_(layer.out_proj.bias)
    x, mask = random_batch(d=d)
    normed = layer.norm1(x)
    attended, _ = mha(normed, normed, normed, key_padding_mask=~mask)
    after_attention = x + attended
    expected = after_attention + layer.feedforward(layer.norm2(after_attention))
    out = layer(x, mask)
    assert_allclose(out[mask].detach(), expected[mask].detach(), rtol=1e-10, atol=1e-12)


def test_time_absolute_positions_follow_the_paper():
    """tAPE: sin/cos(p * 10000^(-2k/d) * d / L) on dimensions 2k and 2k + 1."""
    d, length, t = 6, 40, 55  # longer than ``length``: any length works
    codes = TimeAbsolutePositionalEncoding(d, length)(torch.zeros(1, t, d))[0]
    for p in (0, 1, 17, 54):
        for k in range(d // 2):
            angle = p * 10000 ** (-2 * k / d) * d / length
            assert codes[p, 2 * k].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert codes[p, 2 * k + 1].item() == pytest.approx(
                math.cos(angle), abs=1e-6
            )
    # fitted to a length of d_model, the codes are the standard ones
    x = torch.randn(2, 9, 8)
    assert torch.equal(
        TimeAbsolutePositionalEncoding(8, 8)(x), SinusoidalPositionalEncoding(8)(x)
    )


def test_time_absolute_positions_change_smoothly_across_a_long_series():
    """With 16 dimensions and 1,000 steps, the similarity of the standard
    codes to the first step's swings up and down along the series (its fast
    frequencies repeat every few steps); tAPE's changes gradually."""
    d, length = 16, 1000
    swings = []
    for encoding in [
        SinusoidalPositionalEncoding(d),
        TimeAbsolutePositionalEncoding(d, length),
    ]:
        codes = encoding(torch.zeros(1, length, d, dtype=torch.float64))[0]
        similarity = codes @ codes[0] / d  # 1 at step 0
        swings.append(similarity.diff().abs().sum().item())
    standard, tape = swings
    assert tape < 2 < 20 < standard


def test_encoder_checks_the_positional_encoding():
    with pytest.raises(ValueError, match="'tape' positional encoding needs max_length"):
        TransformerEncoder(2, 8, positional_encoding="tape")
    with pytest.raises(ValueError, match="'tape', 'learned' or None, got 'rope'"):
        TransformerEncoder(2, 8, positional_encoding="rope", max_length=4)
    encoder = TransformerEncoder(2, 8, positional_encoding="tape", max_length=12)
    assert encoder.positional_encoding.length == 12
    with pytest.raises(ValueError, match="relative positions need max_length"):
        TransformerEncoder(2, 8, relative_positions=True)
    encoder = TransformerEncoder(2, 8, relative_positions=True, max_length=12)
    assert [layer.relative_bias.max_distance for layer in encoder.layers] == [11, 11]


def test_relative_position_bias_depends_on_the_distance_only():
    torch.manual_seed(0)
    relative = RelativePositionBias(num_heads=2, max_distance=3)
    torch.nn.init.normal_(relative.bias)
    bias = relative(9)  # [h, query, key]
    for i in range(9):
        for j in range(9):
            # j - i, with distances beyond 3 sharing the bias of 3
            column = min(max(j - i, -3), 3) + 3
            assert torch.equal(bias[:, i, j], relative.bias[:, column])
    with pytest.raises(ValueError, match="max_distance must be at least 0"):
        RelativePositionBias(2, -1)


def test_layer_with_relative_positions_adds_them_to_the_scores():
    """The layer's attention is softmax(q k^T / sqrt(dh) + bias) v over the
    real keys, computed here by hand; zero biases change nothing."""
    torch.manual_seed(0)
    d, h = 8, 2
    x, mask = random_batch(d=d)
    plain = TransformerEncoderLayer(d, h, 16).double()
    layer = TransformerEncoderLayer(d, h, 16, max_distance=2).double()
    layer.load_state_dict(plain.state_dict(), strict=False)
    assert_allclose(
        layer(x, mask)[mask].detach(), plain(x, mask)[mask].detach(), rtol=1e-12
    )

    torch.nn.init.normal_(layer.relative_bias.bias)
    b, t, _ = x.shape
    q, k, v = layer.qkv(layer.norm1(x)).view(b, t, 3, h, d // h).unbind(2)
    scores = torch.einsum("bihe,bjhe->bhij", q, k) / math.sqrt(d // h)
    scores = scores + layer.relative_bias(t)
    scores = scores.masked_fill(~mask[:, None, None, :], float("-inf"))
    attended = torch.einsum("bhij,bjhe->bihe", scores.softmax(-1), v)
    x_attended = x + layer.out_proj(attended.reshape(b, t, d))
    expected = x_attended + layer.feedforward(layer.norm2(x_attended))
    out = layer(x, mask)
    assert_allclose(out[mask].detach(), expected[mask].detach(), rtol=1e-10, atol=1e-12)
    assert not torch.allclose(out[mask], plain(x, mask)[mask])
