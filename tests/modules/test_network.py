"""The networks (``skattn/modules/network.py``): recurrent and Transformer
networks never read padding."""

import pytest
import torch
from numpy.testing import assert_allclose

from skattn.modules import NetworkEnsemble, recurrent_network, transformer_network

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


@pytest.mark.parametrize("build", [recurrent_network, transformer_network])
def test_max_pooling_joins_the_largest_real_state_and_ignores_padding(build):
    torch.manual_seed(0)
    net = build(2, 3, conv_stem=2, max_pooling=True).double().eval()
    values, mask = random_batch(d=2)
    states, pooled, _ = net.encode(values, mask)
    d = states.shape[-1]
    assert pooled.shape == (4, 2 * d) and net.output_size == 2 * d
    # the second half is each channel's maximum over the stem's real steps
    stem_mask = net.stem.output_mask(mask)
    for i in range(4):
        real = states[i, stem_mask[i]]
        assert_allclose(pooled[i, d:].detach(), real.amax(0).detach(), rtol=1e-12)
    # padding of large values never wins the maximum
    _assert_padding_is_never_read(net, values, mask)


@pytest.mark.parametrize("build", [recurrent_network, transformer_network])
def test_stem_pooling_joins_the_stem_mean_and_maximum_over_real_steps(build):
    torch.manual_seed(0)
    net = build(2, 3, conv_stem=2, max_pooling=True, stem_pooling=True)
    net = net.double().eval()
    values, mask = random_batch(d=2)
    states, pooled, _ = net.encode(values, mask)
    d, c = states.shape[-1], net.stem.output_size
    assert pooled.shape == (4, 2 * d + 2 * c) and net.output_size == 2 * d + 2 * c
    # after attention and the states' maxima: the stem's mean, then maximum,
    # over its real steps
    assert net.series_norm is None  # the stem reads the values as they are
    features, stem_mask = net.stem(values, mask)
    for i in range(4):
        real = features[i, stem_mask[i]]
        assert_allclose(
            pooled[i, 2 * d : 2 * d + c].detach(), real.mean(0).detach(), rtol=1e-10
        )
        assert_allclose(
            pooled[i, 2 * d + c :].detach(), real.amax(0).detach(), rtol=1e-12
        )
    _assert_padding_is_never_read(net, values, mask)


def _assert_padding_is_never_read(net, values, mask):
    """Padding of large values changes nothing, and each sequence alone,
    unpadded, gives the batch's output."""
    out = net(values, mask)
    noisy = values.masked_fill(~mask[..., None], 1e3)
    assert_allclose(net(noisy, mask).detach(), out.detach(), rtol=1e-10)
    for i in range(4):
        n = int(mask[i].sum())
        alone = net(values[i : i + 1, :n], mask[i : i + 1, :n])
        assert_allclose(alone[0].detach(), out[i].detach(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("build", [recurrent_network, transformer_network])
def test_differences_reach_the_stem_and_never_read_padding(build):
    torch.manual_seed(0)
    net = build(2, 3, conv_stem=2, differences=2, series_norm="stats").double().eval()
    # values, their first and second differences, then the level and scale
    # of each of those six channels
    assert net.differences.output_size == 6 and net.series_norm.output_size == 18
    values, mask = random_batch(d=2)
    _assert_padding_is_never_read(net, values, mask)


def test_differences_need_numeric_input():
    with pytest.raises(ValueError, match="differences needs numeric input"):
        transformer_network(1, 3, d_model=8, vocab_size=10, differences=1)


def test_stem_pooling_needs_a_stem():
    with pytest.raises(ValueError, match="stem_pooling.*conv_stem is None"):
        transformer_network(2, 3, d_model=8, conv_stem=None, stem_pooling=True)


def test_max_pooling_does_not_join_the_maximum_to_itself():
    net = transformer_network(2, 3, d_model=8, pooling="max", max_pooling=True)
    assert net.max_pooling is None and net.output_size == 8


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


def test_network_weight_scales_the_head_and_older_states_load_with_ones():
    torch.manual_seed(0)
    network = recurrent_network(2, 2, hidden_size=4, linear_steps=5).eval()
    values, mask = torch.randn(4, 7, 2), torch.ones(4, 7, dtype=torch.bool)
    with torch.no_grad():
        network.linear.linear.weight.normal_()
        plain = network.head(network.embed(values, mask))
        linear = network.linear(values, mask)
        network.linear.network_weight.copy_(torch.tensor([0.5, 0.0]))
        expected = plain * torch.tensor([0.5, 0.0]) + linear
        assert_allclose(network(values, mask).numpy(), expected.numpy(), rtol=1e-6)
        assert_allclose(network.attention(values, mask)[0].numpy(), expected.numpy())
    # a state saved before the buffer existed adds the network whole
    state = network.state_dict()
    del state["linear.network_weight"]
    network.load_state_dict(state)
    assert_allclose(network.linear.network_weight.numpy(), [1.0, 1.0])


def test_linear_steps_needs_a_head_and_numeric_input():
    with pytest.raises(ValueError, match="linear_steps needs a head"):
        recurrent_network(2, 0, hidden_size=4, linear_steps=5)
    with pytest.raises(ValueError, match="linear_steps needs numeric input"):
        recurrent_network(
            1, 2, hidden_size=4, vocab_size=10, embedding_dim=4, linear_steps=5
        )


# NetworkEnsemble -----------------------------------------------------------------


def _members(n, n_outputs=3):
    torch.manual_seed(0)
    return [recurrent_network(2, n_outputs, hidden_size=4) for _ in range(n)]


def test_ensemble_averages_the_members_probabilities():
    members = _members(3)
    ensemble = NetworkEnsemble(members, combine="probabilities").eval()
    values, mask = torch.randn(4, 6, 2), torch.ones(4, 6, dtype=torch.bool)
    with torch.no_grad():
        each = torch.stack([m(values, mask).softmax(-1) for m in members])
        out = ensemble(values, mask)
        torch.testing.assert_close(out.softmax(-1), each.mean(0))
        torch.testing.assert_close(out.exp(), each.mean(0))
        # training mode: every member's output, for a loss per member
        stacked = ensemble.train()(values, mask)
    assert stacked.shape == (3, 4, 3)


def test_ensemble_of_regressors_averages_outputs_and_weights():
    members = _members(2, n_outputs=1)
    ensemble = NetworkEnsemble(members, combine="mean").eval()
    values, mask = torch.randn(3, 5, 2), torch.ones(3, 5, dtype=torch.bool)
    mask[2, 3:] = False
    with torch.no_grad():
        outs, weights = zip(*(m.attention(values, mask) for m in members), strict=True)
        out, mean_weights = ensemble.attention(values, mask)
        torch.testing.assert_close(out, (outs[0] + outs[1]) / 2)
        torch.testing.assert_close(mean_weights, (weights[0] + weights[1]) / 2)
        torch.testing.assert_close(ensemble(values, mask), out)
        pooled = ensemble.embed(values, mask)
    assert pooled.shape == (3, 2 * members[0].output_size)
    assert (mean_weights[2, :, 3:] == 0).all()


def test_ensemble_needs_two_members_and_a_known_combination():
    with pytest.raises(ValueError, match="2 or more members"):
        NetworkEnsemble(_members(1), combine="mean")
    with pytest.raises(ValueError, match="combine must be"):
        NetworkEnsemble(_members(2), combine="vote")
