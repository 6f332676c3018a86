"""The attention modules (``skattn/modules/attention.py``): textbook
formulas and the corrected worked example."""

import pytest
import torch
import torch.nn.functional as F
from numpy.testing import assert_allclose

from skattn.modules import (
    AGGREGATIONS,
    ATTENTION_SCORES,
    AdditiveScore,
    AttentionPooling,
    DotScore,
    GeneralScore,
    ScaledDotScore,
    TransformerEncoderLayer,
    aggregate,
    masked_softmax,
    transformer_network,
)

from ._batches import random_batch

X = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0], dtype=torch.float64)
SCORES = torch.tensor([0.05, 0.08, 0.09, 0.08, 0.05], dtype=torch.float64)


def worked_example_inputs():
    """A query and 5-dim keys whose dot products are the example's scores."""
    query = torch.zeros(1, 5, dtype=torch.float64)
    query[0, 0] = 1.0
    keys = torch.zeros(1, 5, 5, dtype=torch.float64)
    keys[0, :, 0] = SCORES
    mask = torch.ones(1, 5, dtype=torch.bool)
    return query, keys, X.view(1, 5, 1), mask


def test_worked_example_dot_attention():
    query, keys, values, mask = worked_example_inputs()
    weights = masked_softmax(DotScore()(query, keys), mask)
    assert_allclose(
        weights[0], [0.196012, 0.201982, 0.204012, 0.201982, 0.196012], atol=1e-6
    )
    assert_allclose(
        (weights[0] * X),
        [0.196012, 0.403964, 0.612035, 0.807927, 0.980062],
        atol=1e-6,
    )
    assert_allclose(aggregate(weights, values, mask, "sum")[0, 0], 3.0, atol=1e-6)
    assert_allclose(aggregate(weights, values, mask, "mean")[0, 0], 0.6, atol=1e-6)
    assert_allclose(aggregate(weights, values, mask, "max")[0, 0], 0.980062, atol=1e-6)


def test_worked_example_scaled_dot_attention():
    query, keys, values, mask = worked_example_inputs()
    weights = masked_softmax(ScaledDotScore()(query, keys), mask)
    # the 1/sqrt(5) scale acts inside the softmax
    assert_allclose(
        weights[0], [0.198214, 0.200891, 0.201791, 0.200891, 0.198214], atol=1e-6
    )
    assert_allclose(aggregate(weights, values, mask, "sum")[0, 0], 3.0, atol=1e-6)


def test_additive_score_is_bahdanau():
    torch.manual_seed(0)
    score = AdditiveScore(4, 3, 6).double()
    q, h = torch.randn(2, 4).double(), torch.randn(2, 5, 3).double()
    W_q, W_k, b = score.query_proj.weight, score.key_proj.weight, score.key_proj.bias
    v = score.v.weight[0]
    expected = torch.tanh((q @ W_q.T)[:, None, :] + h @ W_k.T + b) @ v
    assert_allclose(score(q, h).detach(), expected.detach(), rtol=1e-12)


def test_general_score_is_luong_bilinear():
    torch.manual_seed(0)
    score = GeneralScore(3, 3).double()
    q, h = torch.randn(2, 3).double(), torch.randn(2, 5, 3).double()
    W = score.weight.weight  # maps keys to query space
    expected = torch.einsum("bd,de,bte->bt", q, W, h)
    assert_allclose(score(q, h).detach(), expected.detach(), rtol=1e-12)


def test_masked_softmax_gives_padding_exactly_zero():
    scores = torch.randn(3, 6)
    mask = torch.tensor(
        [[1, 1, 1, 1, 1, 1], [1, 1, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0]]
    ).bool()
    weights = masked_softmax(scores, mask)
    assert torch.all(weights[~mask] == 0)
    assert_allclose(weights.sum(1), 1.0, rtol=1e-6)
    assert torch.all(weights[2, 0] == 1)


@pytest.mark.parametrize("attention", ATTENTION_SCORES)
@pytest.mark.parametrize("aggregation", AGGREGATIONS)
@pytest.mark.parametrize("learned_query", [True, False])
def test_pooling_ignores_padding(attention, aggregation, learned_query):
    torch.manual_seed(0)
    pool = AttentionPooling(
        8,
        attention=attention,
        aggregation=aggregation,
        num_heads=2,
        learned_query=learned_query,
    ).double()
    states, mask = random_batch()
    query = None if learned_query else torch.randn(4, 8, dtype=torch.float64)
    pooled, weights = pool(states, mask, query)
    assert pooled.shape == (4, 8)
    assert weights.shape == (4, 2 if attention == "multihead" else 1, 7)
    assert torch.all(weights.masked_select(~mask[:, None, :]) == 0)
    assert_allclose(weights.sum(-1).detach(), 1.0, rtol=1e-12)
    # changing the padded states changes nothing
    noisy = states.masked_fill(~mask[..., None], 1e6)
    pooled2, weights2 = pool(noisy, mask, query)
    assert_allclose(pooled2.detach(), pooled.detach(), rtol=1e-12)
    assert_allclose(weights2.detach(), weights.detach(), rtol=1e-12)


def test_multihead_pooling_matches_torch_multihead_attention():
    torch.manual_seed(0)
    d, h = 8, 2
    pool = AttentionPooling(d, attention="multihead", num_heads=h).double()
    mha = torch.nn.MultiheadAttention(d, h, batch_first=True).double()
    with torch.no_grad():
        mha.in_proj_weight.copy_(
            torch.cat(
                [pool.query_proj.weight, pool.key_proj.weight, pool.value_proj.weight]
            )
        )
        mha.in_proj_bias.copy_(
            torch.cat([pool.query_proj.bias, pool.key_proj.bias, pool.value_proj.bias])
        )
        mha.out_proj.weight.copy_(pool.out_proj.weight)
        mha.out_proj.bias.copy_(pool.out_proj.bias)
    states, mask = random_batch(d=d)
    pooled, weights = pool(states, mask)
    query = pool.query.expand(4, 1, d)
    expected, expected_weights = mha(
        query, states, states, key_padding_mask=~mask, average_attn_weights=False
    )
    assert_allclose(pooled.detach(), expected[:, 0].detach(), rtol=1e-10, atol=1e-12)
    assert_allclose(weights.detach(), expected_weights[:, :, 0].detach(), atol=1e-12)


def test_self_attention_never_uses_attention_dropout(monkeypatch):
    calls = []
    original = F.scaled_dot_product_attention

    def spy(*args, **kwargs):
        calls.append(kwargs.get("dropout_p", 0.0))
        return original(*args, **kwargs)

    monkeypatch.setattr(F, "scaled_dot_product_attention", spy)
    net = transformer_network(2, 3, d_model=8, num_heads=2, dropout=0.5).train()
    states, mask = random_batch(d=2)
    net(states.float(), mask).sum().backward()
    assert calls and all(p == 0.0 for p in calls)


def test_module_arguments_are_checked_eagerly():
    with pytest.raises(ValueError, match="size=10 and num_heads=3"):
        AttentionPooling(10, attention="multihead", num_heads=3)
    with pytest.raises(ValueError, match="d_model=10 must be divisible by num_heads=4"):
        TransformerEncoderLayer(10, 4, 16)
    with pytest.raises(ValueError, match="aggregation"):
        AttentionPooling(4, aggregation="median")
