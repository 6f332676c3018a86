"""The networks (``skattn/modules/network.py``): recurrent and Transformer
networks never read padding."""

import pytest
import torch
from numpy.testing import assert_allclose

from skattn.modules import recurrent_network, transformer_network

from ._batches import random_batch


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_recurrent_network_does_not_read_padding(cell, bidirectional):
    torch.manual_seed(0)
    net = (
        recurrent_network(
            2, 3, hidden_size=4, cell=cell, bidirectional=bidirectional, query="last"
        )
        .double()
        .eval()
    )
    values, mask = random_batch(d=2)
    out, weights = net.attention(values, mask)
    noisy = values.masked_fill(~mask[..., None], 123.0)
    out2, weights2 = net.attention(noisy, mask)
    assert_allclose(out2.detach(), out.detach(), rtol=1e-12)
    assert_allclose(weights2.detach(), weights.detach(), rtol=1e-12)
    # and equals running each sequence alone, unpadded
    for i in range(4):
        n = int(mask[i].sum())
        alone, _ = net.attention(values[i : i + 1, :n], mask[i : i + 1, :n])
        assert_allclose(alone[0].detach(), out[i].detach(), rtol=1e-10)


@pytest.mark.parametrize("pooling", ["attention", "cls", "mean", "max", "last"])
def test_transformer_network_does_not_read_padding(pooling):
    torch.manual_seed(0)
    net = (
        transformer_network(2, 3, d_model=8, num_heads=2, pooling=pooling)
        .double()
        .eval()
    )
    values, mask = random_batch(d=2)
    out = net(values, mask)
    noisy = values.masked_fill(~mask[..., None], -50.0)
    assert_allclose(net(noisy, mask).detach(), out.detach(), rtol=1e-10)
    for i in range(4):
        n = int(mask[i].sum())
        alone = net(values[i : i + 1, :n], mask[i : i + 1, :n])
        assert_allclose(alone[0].detach(), out[i].detach(), rtol=1e-10, atol=1e-12)
