"""The encoder modules (``skattn/modules/encoders.py``)."""

import torch
from numpy.testing import assert_allclose

from skattn.modules import TransformerEncoderLayer

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
