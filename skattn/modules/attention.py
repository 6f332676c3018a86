"""Attention scores, masked softmax, aggregation and attention pooling.

Shape notation used throughout:

- ``b``: batch size
- ``t``: number of timesteps (keys)
- ``d``: size of the encoder states
- ``h``: number of heads, ``dh = d // h``

Mask convention: ``mask[b, t]`` is True for a real timestep and False for
padding. Every score is masked before the softmax, so padded steps receive a
weight of exactly 0.

The score functions are the textbook forms:

============== ======================================= ======================
name           score ``e_t``                           source
============== ======================================= ======================
``dot``        ``qᵀ h_t``                              Luong et al. 2015
``scaled_dot`` ``qᵀ h_t / √d`` (inside the softmax)    Vaswani et al. 2017
``general``    ``qᵀ W h_t``                            Luong et al. 2015
``additive``   ``vᵀ tanh(W_q q + W_k h_t + b)``        Bahdanau et al. 2014
``multihead``  h heads of scaled dot on projections    Vaswani et al. 2017
============== ======================================= ======================
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "ATTENTION_SCORES",
    "AGGREGATIONS",
    "AdditiveScore",
    "AttentionPooling",
    "DotScore",
    "GeneralScore",
    "ScaledDotScore",
    "aggregate",
    "masked_softmax",
]

ATTENTION_SCORES = ("additive", "dot", "scaled_dot", "general", "multihead")
AGGREGATIONS = ("sum", "mean", "max")


def lengths_to_mask(lengths, t):
    """Build the padding mask of sequences from their lengths.

    Parameters
    ----------
    lengths : int Tensor of shape ``[b]``
        The number of real steps of each sequence.
    t : int
        The padded length.

    Returns
    -------
    mask : bool Tensor of shape ``[b, t]``
        True on each sequence's first ``lengths[i]`` steps (its real ones).

    Examples
    --------
    >>> import torch
    >>> from skattn.modules import lengths_to_mask
    >>> lengths_to_mask(torch.tensor([3, 1]), 4)
    tensor([[ True,  True,  True, False],
            [ True, False, False, False]])
    """
    return torch.arange(t, device=lengths.device) < lengths[:, None]


def masked_softmax(scores, mask):
    """Softmax over the last axis that gives padded positions weight 0.

    Parameters
    ----------
    scores : Tensor of shape ``[..., t]``
        Attention scores.
    mask : bool Tensor broadcastable to ``scores``
        True marks real steps. Every row must have at least one real step.

    Returns
    -------
    weights : Tensor of the shape of ``scores``
        Non-negative weights that sum to 1 over the real steps of each row,
        0 on padding.

    Examples
    --------
    >>> import torch
    >>> from skattn.modules import masked_softmax
    >>> masked_softmax(torch.zeros(1, 3), torch.tensor([[True, True, False]]))
    tensor([[0.5000, 0.5000, 0.0000]])
    """
    return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)


def aggregate(weights, values, mask, aggregation="sum"):
    """Aggregate the weighted sequence ``a_t · v_t`` into one vector.

    Parameters
    ----------
    weights : Tensor ``[b, t]`` or ``[b, h, t]``
        Attention weights, zero on padding.
    values : Tensor ``[b, t, d]`` or ``[b, h, t, dh]``
        The values ``v_t`` of each step (per head for ``[b, h, t, dh]``).
    mask : bool Tensor ``[b, t]``
        True on real steps.
    aggregation : {"sum", "mean", "max"}
        ``sum`` is the context vector ``Σ_t a_t v_t``; ``mean`` divides it by
        the number of real steps L; ``max`` takes the element-wise maximum of
        ``a_t v_t`` over the real steps.

    Returns
    -------
    pooled : Tensor ``[b, d]`` or ``[b, h, dh]``
        One vector per sequence (per head for 4D ``values``).

    Examples
    --------
    >>> import torch
    >>> from skattn.modules import aggregate
    >>> weights = torch.tensor([[0.5, 0.5, 0.0]])
    >>> values = torch.tensor([[[1.0], [3.0], [9.0]]])
    >>> mask = torch.tensor([[True, True, False]])
    >>> aggregate(weights, values, mask, "sum")
    tensor([[2.]])
    """
    if aggregation == "sum":
        # [b, (h,) 1, t] @ [b, (h,) t, d] -> [b, (h,) d]
        return (weights.unsqueeze(-2) @ values).squeeze(-2)
    if aggregation == "mean":
        n_real = mask.sum(dim=-1).to(values.dtype)  # [b]
        n_real = n_real.view(-1, *([1] * (values.dim() - 2)))
        return (weights.unsqueeze(-2) @ values).squeeze(-2) / n_real
    if aggregation == "max":
        weighted = weights.unsqueeze(-1) * values
        # mask [b, t] -> [b, (1,) t, 1]
        step_mask = mask.view(mask.shape[0], *([1] * (values.dim() - 3)), -1, 1)
        return weighted.masked_fill(~step_mask, float("-inf")).amax(dim=-2)
    raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {aggregation!r}")


class DotScore(nn.Module):
    """Dot-product score ``e_t = qᵀ h_t`` (Luong et al. 2015).

    Query and keys share size ``d``. Called as ``score(query [b, d],
    keys [b, t, d])``, it returns the scores ``[b, t]``.

    Examples
    --------
    >>> import torch
    >>> from skattn.modules import DotScore
    >>> DotScore()(torch.ones(2, 4), torch.ones(2, 5, 4)).shape
    torch.Size([2, 5])
    """

    def __init__(self):  # no parameters (not nn.Module's *args, **kwargs)
        super().__init__()

    def forward(self, query, keys):
        # [b, t, d] @ [b, d, 1] -> [b, t]
        return (keys @ query.unsqueeze(-1)).squeeze(-1)


class ScaledDotScore(nn.Module):
    """Scaled dot-product score ``e_t = qᵀ h_t / √d`` (Vaswani et al. 2017).

    The scale is applied to the scores, so it acts inside the softmax. Called
    as ``score(query [b, d], keys [b, t, d])``, it returns the scores
    ``[b, t]``.

    Examples
    --------
    >>> import torch
    >>> from skattn.modules import ScaledDotScore
    >>> ScaledDotScore()(torch.ones(1, 4), torch.ones(1, 2, 4))
    tensor([[2., 2.]])
    """

    def __init__(self):  # no parameters (not nn.Module's *args, **kwargs)
        super().__init__()

    def forward(self, query, keys):
        return (keys @ query.unsqueeze(-1)).squeeze(-1) / math.sqrt(keys.shape[-1])


class GeneralScore(nn.Module):
    """Bilinear score ``e_t = qᵀ W h_t`` (Luong et al. 2015, "general").

    Called as ``score(query [b, dq], keys [b, t, dk])``, it returns the
    scores ``[b, t]``.

    Parameters
    ----------
    query_size : int
        Size ``dq`` of the query.
    key_size : int
        Size ``dk`` of the keys.

    Examples
    --------
    >>> import torch
    >>> from skattn.modules import GeneralScore
    >>> GeneralScore(4, 3)(torch.ones(2, 4), torch.ones(2, 5, 3)).shape
    torch.Size([2, 5])
    """

    def __init__(self, query_size, key_size):
        super().__init__()
        self.weight = nn.Linear(key_size, query_size, bias=False)

    def forward(self, query, keys):
        # W h_t: [b, t, dq]
        return (self.weight(keys) @ query.unsqueeze(-1)).squeeze(-1)


class AdditiveScore(nn.Module):
    """Additive score ``e_t = vᵀ tanh(W_q q + W_k h_t + b)`` (Bahdanau et al. 2014).

    Called as ``score(query [b, dq], keys [b, t, dk])``, it returns the
    scores ``[b, t]``.

    Parameters
    ----------
    query_size : int
        Size ``dq`` of the query.
    key_size : int
        Size ``dk`` of the keys.
    attention_size : int
        Size of the hidden layer (of ``v``).

    Examples
    --------
    >>> import torch
    >>> from skattn.modules import AdditiveScore
    >>> AdditiveScore(4, 3, 8)(torch.ones(2, 4), torch.ones(2, 5, 3)).shape
    torch.Size([2, 5])
    """

    def __init__(self, query_size, key_size, attention_size):
        super().__init__()
        self.query_proj = nn.Linear(query_size, attention_size, bias=False)
        self.key_proj = nn.Linear(key_size, attention_size, bias=True)
        self.v = nn.Linear(attention_size, 1, bias=False)

    def forward(self, query, keys):
        # [b, 1, a] + [b, t, a] -> [b, t, a] -> [b, t]
        hidden = torch.tanh(self.query_proj(query).unsqueeze(1) + self.key_proj(keys))
        return self.v(hidden).squeeze(-1)


def _make_score(attention, size, attention_size):
    if attention == "dot":
        return DotScore()
    if attention == "scaled_dot":
        return ScaledDotScore()
    if attention == "general":
        return GeneralScore(size, size)
    if attention == "additive":
        return AdditiveScore(size, size, attention_size)
    raise ValueError(f"attention must be one of {ATTENTION_SCORES}, got {attention!r}")


class AttentionPooling(nn.Module):
    """Pool a sequence of states into one vector with attention.

    The query is either a learned vector (attention pooling) or a vector
    given at call time, e.g. the encoder's last hidden state. Keys and values
    are the states themselves; ``multihead`` adds learned query, key, value
    and output projections.

    Parameters
    ----------
    size : int
        Size ``d`` of the states (and of the query).
    attention : {"additive", "dot", "scaled_dot", "general", "multihead"}, \
default="additive"
        The score of each step (see :data:`ATTENTION_SCORES`).
    aggregation : {"sum", "mean", "max"}, default="sum"
        How the weighted states become one vector (see :func:`aggregate`).
    num_heads : int, default=1
        Heads of ``multihead``; must divide ``size``.
    learned_query : bool, default=True
        If False, ``forward`` must receive ``query``.
    attention_size : int, optional
        Hidden size of the additive score; defaults to ``size``.

    Notes
    -----
    ``forward(states [b, t, d], mask [b, t], query [b, d] | None)`` returns
    ``(pooled [b, d], weights [b, h, t])`` with ``h = 1`` for the single-head
    scores. Weights are 0 on padding and sum to 1 over real steps.

    Examples
    --------
    >>> import torch
    >>> from skattn.modules import AttentionPooling
    >>> pool = AttentionPooling(8, attention="multihead", num_heads=2)
    >>> mask = torch.tensor([[True, True, True], [True, False, False]])
    >>> pooled, weights = pool(torch.randn(2, 3, 8), mask)
    >>> pooled.shape, weights.shape
    (torch.Size([2, 8]), torch.Size([2, 2, 3]))
    """

    def __init__(
        self,
        size,
        *,
        attention="additive",
        aggregation="sum",
        num_heads=1,
        learned_query=True,
        attention_size=None,
    ):
        super().__init__()
        if aggregation not in AGGREGATIONS:
            raise ValueError(
                f"aggregation must be one of {AGGREGATIONS}, got {aggregation!r}"
            )
        if attention == "multihead" and size % num_heads:
            raise ValueError(
                f"multihead attention needs size divisible by num_heads, got "
                f"size={size} and num_heads={num_heads}"
            )
        self.size = size
        self.attention = attention
        self.aggregation = aggregation
        self.num_heads = num_heads if attention == "multihead" else 1
        self.query = (
            nn.Parameter(torch.randn(size) / math.sqrt(size)) if learned_query else None
        )
        if attention == "multihead":
            self.query_proj = nn.Linear(size, size)
            self.key_proj = nn.Linear(size, size)
            self.value_proj = nn.Linear(size, size)
            self.out_proj = nn.Linear(size, size)
        else:
            self.score = _make_score(attention, size, attention_size or size)

    def forward(self, states, mask, query=None):
        b, t, d = states.shape
        if self.query is not None:
            query = self.query.to(states.dtype).expand(b, d)
        elif query is None:
            raise ValueError("this pooling has no learned query; pass `query`")

        if self.attention != "multihead":
            weights = masked_softmax(self.score(query, states), mask)  # [b, t]
            pooled = aggregate(weights, states, mask, self.aggregation)  # [b, d]
            return pooled, weights.unsqueeze(1)

        h, dh = self.num_heads, d // self.num_heads
        # [b, d] -> [b, h, 1, dh]
        q = self.query_proj(query).view(b, h, 1, dh)
        # [b, t, d] -> [b, h, t, dh]
        k = self.key_proj(states).view(b, t, h, dh).transpose(1, 2)
        v = self.value_proj(states).view(b, t, h, dh).transpose(1, 2)
        # A single query per sequence: the [b, h, 1, t] weights cost as much as
        # the pooled output, and mean/max aggregation need them explicitly.
        scores = (q @ k.transpose(-1, -2)).squeeze(-2) / math.sqrt(dh)  # [b, h, t]
        weights = masked_softmax(scores, mask.unsqueeze(1))
        pooled = aggregate(weights, v, mask, self.aggregation)  # [b, h, dh]
        return self.out_proj(pooled.reshape(b, d)), weights


class MaskedPooling(nn.Module):
    """Plain pooling over the real steps: ``mean``, ``max`` or ``last``.

    These are the no-attention baselines. ``forward(states [b, t, d],
    mask [b, t], query [b, d] | None)`` returns ``(pooled [b, d], None)``;
    ``last`` returns ``query`` (the encoder's final state) when given.

    Parameters
    ----------
    mode : {"mean", "max", "last"}
        Mean or element-wise maximum over the real steps, or the state at
        the last real step.

    Examples
    --------
    >>> import torch
    >>> from skattn.modules import MaskedPooling
    >>> states = torch.tensor([[[1.0], [3.0], [9.0]]])
    >>> MaskedPooling("mean")(states, torch.tensor([[True, True, False]]))
    (tensor([[2.]]), None)
    """

    def __init__(self, mode):
        super().__init__()
        if mode not in ("mean", "max", "last"):
            raise ValueError(f"mode must be 'mean', 'max' or 'last', got {mode!r}")
        self.mode = mode

    def forward(self, states, mask, query=None):
        if self.mode == "mean":
            m = mask.unsqueeze(-1).to(states.dtype)
            return (states * m).sum(1) / m.sum(1), None
        if self.mode == "max":
            return states.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(1), None
        # "last": the state at the last real step, or the encoder's final state
        if query is not None:
            return query, None
        return last_real_step(states, mask), None


def last_real_step(states, mask):
    """States ``[b, t, d]`` at each sequence's last real step -> ``[b, d]``."""
    last = mask.sum(1) - 1  # [b]
    return states[torch.arange(states.shape[0], device=states.device), last]


def scaled_dot_product_self_attention(q, k, v, mask, bias=None):
    """Self-attention with key padding, through ``F.scaled_dot_product_attention``.

    ``q, k, v``: ``[b, h, t, dh]``; ``mask``: ``[b, t]`` (True = real step)
    or None when no step is padded. SDPA's boolean ``attn_mask`` uses the
    same convention (True = may attend), so the mask is passed as is.
    ``bias``: ``[h, t, t]`` added to the scaled scores before the softmax
    (query by key), or None; padded keys then get ``-inf``. No attention
    dropout: on the CPU, ``dropout_p > 0`` falls back to a kernel that
    materialises the ``t × t`` weights.
    """
    if bias is None:
        attn_mask = None if mask is None else mask[:, None, None, :]  # [b, 1, 1, t]
    else:
        attn_mask = bias.to(q.dtype).unsqueeze(0)  # [1, h, t, t]
        if mask is not None:
            attn_mask = attn_mask.masked_fill(~mask[:, None, None, :], float("-inf"))
    return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
