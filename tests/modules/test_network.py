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


# LinearSteps -----------------------------------------------------------------


def test_linear_steps_reads_the_last_real_steps_aligned_on_the_end():
    from skattn.modules import LinearSteps

    linear = LinearSteps(2, 3, 1).double()
    values = torch.arange(20, dtype=torch.float64).reshape(2, 5, 2) + 1
    mask = torch.tensor([[True] * 5, [True, True, False, False, False]])
    steps = linear.steps(values, mask)
    # the first sequence's steps 2 to 4; the second's steps 0 and 1 after
    # one step before its start, which counts as 0
    assert_allclose(steps[0].numpy(), values[0, 2:].numpy())
    assert_allclose(steps[1, 0].numpy(), [0.0, 0.0])
    assert_allclose(steps[1, 1:].numpy(), values[1, :2].numpy())
    # zero weights at the start: the network's output is unchanged
    assert_allclose(linear(values, mask).detach().numpy(), 0.0)
    with torch.no_grad():
        linear.linear.weight.normal_()
        linear.linear.bias.normal_()
    expected = steps.flatten(1) @ linear.linear.weight.T + linear.linear.bias
    assert_allclose(linear(values, mask).detach().numpy(), expected.detach().numpy())


def test_linear_steps_does_not_read_padding():
    from skattn.modules import LinearSteps

    torch.manual_seed(0)
    linear = LinearSteps(3, 4, 2).double()
    with torch.no_grad():
        linear.linear.weight.normal_()
    values = torch.randn(1, 6, 3, dtype=torch.float64)
    mask = torch.ones(1, 6, dtype=torch.bool)
    padded = torch.cat([values, torch.randn(1, 5, 3, dtype=torch.float64)], 1)
    padded_mask = torch.cat([mask, torch.zeros(1, 5, dtype=torch.bool)], 1)
    assert_allclose(
        linear(padded, padded_mask).detach().numpy(),
        linear(values, mask).detach().numpy(),
    )


def test_network_adds_the_linear_term_to_the_head():
    network = recurrent_network(2, 3, hidden_size=4, linear_steps=5).eval()
    values, mask = torch.randn(4, 7, 2), torch.ones(4, 7, dtype=torch.bool)
    with torch.no_grad():
        network.linear.linear.weight.normal_()
        plain = network.head(network.embed(values, mask))
        out, _ = network.attention(values, mask)
        assert_allclose(
            network(values, mask).numpy(),
            (plain + network.linear(values, mask)).numpy(),
            rtol=1e-6,
        )
        assert_allclose(out.numpy(), network(values, mask).numpy(), rtol=1e-6)


def test_linear_steps_needs_a_head_and_numeric_input():
    with pytest.raises(ValueError, match="linear_steps needs a head"):
        recurrent_network(2, 0, hidden_size=4, linear_steps=5)
    with pytest.raises(ValueError, match="linear_steps needs numeric input"):
        recurrent_network(
            1, 2, hidden_size=4, vocab_size=10, embedding_dim=4, linear_steps=5
        )
