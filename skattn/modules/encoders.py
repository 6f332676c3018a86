"""Sequence encoders: recurrent (LSTM/GRU) and Transformer.

Shape notation: ``b`` batch, ``t`` timesteps, ``c`` input channels, ``d``
state size, ``h`` heads. ``mask[b, t]`` is True for real timesteps; every
sequence is right-padded (its real steps come first) and has at least one
real step.

Each encoder's ``forward(x [b, t, c], mask [b, t])`` returns
``(states [b, t, d], last [b, d])``: the state at every step (zeros on
padding for the recurrent encoder) and a summary state used as the "last
hidden state" query.
"""

import math

import torch
from torch import nn

from .attention import last_real_step, scaled_dot_product_self_attention

# Older torch releases lack torch.compiler.is_exporting; there torch.export
# fails on the data-dependent branch and export_onnx falls back to tracing.
_is_exporting = getattr(torch.compiler, "is_exporting", lambda: False)

__all__ = [
    "LearnedPositionalEncoding",
    "RecurrentEncoder",
    "SinusoidalPositionalEncoding",
    "TransformerEncoder",
    "TransformerEncoderLayer",
]


class RecurrentEncoder(nn.Module):
    """LSTM or GRU encoder that never reads padding.

    Sequences are right-padded, so the forward direction reads every real
    step before any padding and its states at real steps are exact. The
    backward direction reads each sequence reversed within its own length
    (padding stays at the end), and its states are put back in order. This
    runs the fused full-batch kernels; packed sequences would do the same
    work, but their backward pass on the CPU grows with the square of the
    length. ``last`` is the final hidden state of the top layer (forward and
    backward directions concatenated), as ``h_n`` of ``nn.LSTM``.

    ``forward(x [b, t, input_size], mask [b, t])`` returns ``(states [b, t,
    output_size], last [b, output_size])``, states 0 on padding, with
    ``output_size = hidden_size * (2 if bidirectional else 1)``.

    Parameters
    ----------
    input_size : int
        Channels of the input.
    hidden_size : int
        Hidden size of each direction.
    num_layers : int, default=1
        Stacked recurrent layers.
    cell : {"lstm", "gru"}, default="lstm"
        The recurrent cell.
    bidirectional : bool, default=False
        Also read each sequence backwards and concatenate the two states.
    dropout : float, default=0.0
        Dropout on the input of every layer after the first.

    Examples
    --------
    >>> import torch
    >>> from skattn.modules import RecurrentEncoder
    >>> encoder = RecurrentEncoder(3, 8, bidirectional=True)
    >>> mask = torch.tensor([[True, True, True], [True, False, False]])
    >>> states, last = encoder(torch.randn(2, 3, 3), mask)
    >>> states.shape, last.shape
    (torch.Size([2, 3, 16]), torch.Size([2, 16]))
    """

    def __init__(
        self,
        input_size,
        hidden_size,
        *,
        num_layers=1,
        cell="lstm",
        bidirectional=False,
        dropout=0.0,
    ):
        super().__init__()
        rnn_cls = {"lstm": nn.LSTM, "gru": nn.GRU}.get(cell)
        if rnn_cls is None:
            raise ValueError(f"cell must be 'lstm' or 'gru', got {cell!r}")
        self.num_directions = 2 if bidirectional else 1
        self.output_size = hidden_size * self.num_directions
        self.layers = nn.ModuleList(
            nn.ModuleList(
                rnn_cls(
                    input_size if k == 0 else self.output_size,
                    hidden_size,
                    batch_first=True,
                )
                for _ in range(self.num_directions)
            )
            for k in range(num_layers)
        )
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, mask):
        b, t, _ = x.shape
        lengths = mask.sum(1)  # [b]
        steps = torch.arange(t, device=x.device)
        # position of each step in its sequence read backwards; padding stays
        reverse = torch.where(mask, lengths[:, None] - 1 - steps, steps)  # [b, t]
        out = x
        for k, directions in enumerate(self.layers):
            if k > 0:
                out = self.dropout(out)
            forward_states, _ = directions[0](out)  # [b, t, H]
            if self.num_directions == 1:
                out = forward_states
                continue
            backward_states, _ = directions[1](_gather_steps(out, reverse))
            backward_states = _gather_steps(backward_states, reverse)
            out = torch.cat([forward_states, backward_states], -1)  # [b, t, 2H]
        states = out.masked_fill(~mask.unsqueeze(-1), 0.0)
        last = forward_states[torch.arange(b, device=x.device), lengths - 1]
        if self.num_directions == 2:
            # the backward direction ends at the first step
            last = torch.cat([last, backward_states[:, 0]], -1)
        return states, last


def _gather_steps(x, index):
    """``x[b, index[b, t]]`` for ``x [b, t, d]`` and ``index [b, t]``."""
    return torch.gather(x, 1, index.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


class SinusoidalPositionalEncoding(nn.Module):
    """Fixed sine/cosine position codes (Vaswani et al. 2017), any length.

    ``forward(x [b, t, d_model])`` returns ``x`` plus the code of each
    position, in the dtype of ``x``.

    Parameters
    ----------
    d_model : int
        Size ``d_model`` of the vectors the codes are added to.

    Examples
    --------
    >>> import torch
    >>> from skattn.modules import SinusoidalPositionalEncoding
    >>> SinusoidalPositionalEncoding(4)(torch.zeros(1, 2, 4))
    tensor([[[0.0000, 1.0000, 0.0000, 1.0000],
             [0.8415, 0.5403, 0.0100, 0.9999]]])
    """

    # every frequency is multiplied by this (TimeAbsolutePositionalEncoding)
    frequency_scale = 1.0

    def __init__(self, d_model):
        super().__init__()
        self.d_model = d_model

    def forward(self, x):
        t, d = x.shape[1], self.d_model
        position = torch.arange(t, device=x.device, dtype=torch.float64).unsqueeze(1)
        freq = (
            torch.exp(
                torch.arange(0, d, 2, device=x.device, dtype=torch.float64)
                * (-math.log(10000.0) / d)
            )
            * self.frequency_scale
        )
        angle = position * freq  # [t, ceil(d / 2)]
        # sine and cosine interleaved by stacking rather than by slice
        # assignment, which an ONNX graph would run as two scatters
        pe = torch.stack([torch.sin(angle), torch.cos(angle)], -1).reshape(t, -1)
        return x + pe[:, :d].to(x.dtype)


class TimeAbsolutePositionalEncoding(SinusoidalPositionalEncoding):
    """Sine/cosine codes with frequencies fitted to the sequence length (tAPE).

    tAPE: Foumani et al. 2023, "Improving position encoding of transformers
    for multivariate time series classification". The frequencies of
    :class:`SinusoidalPositionalEncoding` are multiplied by
    ``d_model / length``. With few dimensions and long series, the
    standard codes' fast frequencies repeat every few steps, so that the
    similarity of two steps' codes swings up and down with their distance;
    the scaled codes change gradually across the length. Any sequence
    length can be encoded; ``length`` only sets the frequencies.

    Parameters
    ----------
    d_model : int
        Size ``d_model`` of the vectors the codes are added to.
    length : int
        Length the frequencies are fitted to (the estimators pass the
        longest training sequence, in the encoder's steps).

    Examples
    --------
    >>> import torch
    >>> from skattn.modules import TimeAbsolutePositionalEncoding
    >>> TimeAbsolutePositionalEncoding(4, length=8)(torch.zeros(1, 2, 4))
    tensor([[[0.0000, 1.0000, 0.0000, 1.0000],
             [0.4794, 0.8776, 0.0050, 1.0000]]])
    """

    def __init__(self, d_model, length):
        super().__init__(d_model)
        if length < 1:
            raise ValueError(f"length must be at least 1, got {length}")
        self.length = length
        self.frequency_scale = d_model / length


class LearnedPositionalEncoding(nn.Module):
    """One trained vector per position, up to ``max_length`` positions.

    ``forward(x [b, t, d_model])`` returns ``x`` plus the vector of each
    position; a ``t`` over ``max_length`` is an error.

    Parameters
    ----------
    d_model : int
        Size of the vectors.
    max_length : int
        Number of positions (the longest sequence it can encode).

    Examples
    --------
    >>> import torch
    >>> from skattn.modules import LearnedPositionalEncoding
    >>> LearnedPositionalEncoding(4, max_length=10)(torch.zeros(2, 3, 4)).shape
    torch.Size([2, 3, 4])
    """

    def __init__(self, d_model, max_length):
        super().__init__()
        self.max_length = max_length
        self.embedding = nn.Parameter(torch.randn(max_length, d_model) * 0.02)

    def forward(self, x):
        t = x.shape[1]
        if t > self.max_length:
            raise ValueError(
                f"a sequence has {t} timesteps, but the learned positional "
                f"encoding has {self.max_length} positions (the longest training "
                "sequence); use positional_encoding='sinusoidal' for longer inputs"
            )
        return x + self.embedding[:t]


class RelativePositionBias(nn.Module):
    """A learned attention score per head and per signed distance between steps.

    ``forward(t)`` returns ``[num_heads, t, t]``: entry ``[h, i, j]`` is head
    ``h``'s bias for query step ``i`` attending to key step ``j``, a value
    that depends on ``j - i`` only, added to the attention scores before
    the softmax (the relative position representations of Shaw et al. 2018
    in the scalar form of T5; ConvTran's eRPE, Foumani et al. 2023, adds
    such a score after the softmax). Distances beyond ``max_distance``
    share the bias of ``max_distance``, so any length can be attended. The
    biases start at zero: an untrained layer attends as without them.

    Parameters
    ----------
    num_heads : int
        Attention heads, each with its own biases.
    max_distance : int
        Largest distance with a bias of its own.

    Examples
    --------
    >>> from skattn.modules import RelativePositionBias
    >>> RelativePositionBias(num_heads=2, max_distance=3)(5).shape
    torch.Size([2, 5, 5])
    """

    def __init__(self, num_heads, max_distance):
        super().__init__()
        if max_distance < 0:
            raise ValueError(f"max_distance must be at least 0, got {max_distance}")
        self.max_distance = max_distance
        self.bias = nn.Parameter(torch.zeros(num_heads, 2 * max_distance + 1))

    def forward(self, t):
        position = torch.arange(t, device=self.bias.device)
        distance = position.unsqueeze(0) - position.unsqueeze(1)  # [i, j]: j - i
        k = self.max_distance
        return self.bias[:, distance.clamp(-k, k) + k]


class TransformerEncoderLayer(nn.Module):
    """Pre-norm Transformer encoder layer with key-padding self-attention.

    Every attention product goes through ``F.scaled_dot_product_attention``
    (no ``t × t`` weight matrix is kept); dropout acts on the residual
    branches, never inside the attention. ``forward(x [b, t, d_model],
    mask [b, t] | None)`` returns the new states ``[b, t, d_model]``; a None
    mask means every step is real.

    Parameters
    ----------
    d_model : int
        Size of the states.
    num_heads : int
        Attention heads; must divide ``d_model``.
    dim_feedforward : int
        Hidden size of the feed-forward block.
    dropout : float, default=0.0
        Dropout on the residual branches and inside the feed-forward block.
    max_distance : int, optional
        With a value, the layer learns a :class:`RelativePositionBias` on
        its attention scores, with biases of their own up to this distance.

    Examples
    --------
    >>> import torch
    >>> from skattn.modules import TransformerEncoderLayer
    >>> layer = TransformerEncoderLayer(8, num_heads=2, dim_feedforward=16)
    >>> layer(torch.randn(2, 3, 8), torch.ones(2, 3, dtype=torch.bool)).shape
    torch.Size([2, 3, 8])
    """

    def __init__(
        self, d_model, num_heads, dim_feedforward, dropout=0.0, max_distance=None
    ):
        super().__init__()
        if d_model % num_heads:
            raise ValueError(
                f"d_model={d_model} must be divisible by num_heads={num_heads}"
            )
        self.num_heads = num_heads
        self.norm1 = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out_proj = nn.Linear(d_model, d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.feedforward = nn.Sequential(
            nn.Linear(d_model, dim_feedforward),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(dim_feedforward, d_model),
        )
        self.dropout = nn.Dropout(dropout)
        self.relative_bias = (
            None
            if max_distance is None
            else RelativePositionBias(num_heads, max_distance)
        )

    def forward(self, x, mask):
        b, t, d = x.shape
        h = self.num_heads
        # [b, t, 3d] -> [b, t, 3, h, dh] -> [3, b, h, t, dh]
        qkv = self.qkv(self.norm1(x)).view(b, t, 3, h, d // h).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        bias = None if self.relative_bias is None else self.relative_bias(t)
        # [b, h, t, dh]
        attended = scaled_dot_product_self_attention(q, k, v, mask, bias)
        # [b, h, t, dh] -> [b, t, d]
        attended = attended.transpose(1, 2).reshape(b, t, d)
        x = x + self.dropout(self.out_proj(attended))
        return x + self.dropout(self.feedforward(self.norm2(x)))


class TransformerEncoder(nn.Module):
    """Input projection, positional encoding and a stack of encoder layers.

    ``forward(x [b, t, input_size], mask [b, t])`` returns ``(states [b, t,
    d_model], last [b, d_model])``: ``last`` is the state at each sequence's
    last real step. With ``cls_token=True`` a learned token is prepended; its
    final state is returned as ``last`` and the states of the real steps
    follow it.

    Parameters
    ----------
    input_size : int
        Channels of the input, projected linearly to ``d_model``.
    d_model : int
        Size of the states.
    num_heads : int, default=4
        Attention heads; must divide ``d_model``.
    num_layers : int, default=2
        Stacked encoder layers.
    dim_feedforward : int, default=128
        Hidden size of the feed-forward blocks.
    dropout : float, default=0.0
        Dropout after the positional encoding and in every layer.
    positional_encoding : {"sinusoidal", "tape", "learned"} or None, \
default="sinusoidal"
        Position codes added after the input projection
        (:class:`SinusoidalPositionalEncoding`,
        :class:`TimeAbsolutePositionalEncoding`,
        :class:`LearnedPositionalEncoding`); None adds none.
    max_length : int, optional
        Number of positions of the ``learned`` encoding, length the
        ``tape`` frequencies are fitted to (required for both).
    cls_token : bool, default=False
        Prepend a learned token whose final state is ``last``.
    relative_positions : bool, default=False
        Each layer learns a :class:`RelativePositionBias` on its attention
        scores, with biases of their own up to ``max_length - 1`` steps
        (required for it), beside the ``positional_encoding``.

    Examples
    --------
    >>> import torch
    >>> from skattn.modules import TransformerEncoder
    >>> encoder = TransformerEncoder(3, 8, num_heads=2, num_layers=1)
    >>> mask = torch.tensor([[True, True, True], [True, False, False]])
    >>> states, last = encoder(torch.randn(2, 3, 3), mask)
    >>> states.shape, last.shape
    (torch.Size([2, 3, 8]), torch.Size([2, 8]))
    """

    def __init__(
        self,
        input_size,
        d_model,
        *,
        num_heads=4,
        num_layers=2,
        dim_feedforward=128,
        dropout=0.0,
        positional_encoding="sinusoidal",
        max_length=None,
        cls_token=False,
        relative_positions=False,
    ):
        super().__init__()
        self.input_proj = nn.Linear(input_size, d_model)
        if positional_encoding in ("learned", "tape") and max_length is None:
            raise ValueError(
                f"a {positional_encoding!r} positional encoding needs max_length"
            )
        if positional_encoding == "sinusoidal":
            self.positional_encoding = SinusoidalPositionalEncoding(d_model)
        elif positional_encoding == "tape":
            self.positional_encoding = TimeAbsolutePositionalEncoding(
                d_model, max_length
            )
        elif positional_encoding == "learned":
            self.positional_encoding = LearnedPositionalEncoding(d_model, max_length)
        elif positional_encoding is None:
            self.positional_encoding = None
        else:
            raise ValueError(
                "positional_encoding must be 'sinusoidal', 'tape', 'learned' or "
                f"None, got {positional_encoding!r}"
            )
        self.cls_token = nn.Parameter(torch.zeros(d_model)) if cls_token else None
        self.dropout = nn.Dropout(dropout)
        if relative_positions and max_length is None:
            raise ValueError("relative positions need max_length")
        max_distance = max(max_length - 1, 0) if relative_positions else None
        self.layers = nn.ModuleList(
            TransformerEncoderLayer(
                d_model, num_heads, dim_feedforward, dropout, max_distance
            )
            for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(d_model)
        self.output_size = d_model

    def forward(self, x, mask):
        x = self.input_proj(x)  # [b, t, d]
        if self.positional_encoding is not None:
            x = self.positional_encoding(x)
        if self.cls_token is not None:
            # [b, 1 + t, d]; the token is always a real step
            x = torch.cat([self.cls_token.to(x.dtype).expand(x.shape[0], 1, -1), x], 1)
            mask = torch.cat([mask.new_ones(mask.shape[0], 1), mask], 1)
        # Unpadded batches take SDPA's faster maskless kernel; torch.export
        # cannot branch on data, so an exported graph always masks.
        exporting = _is_exporting()
        attn_mask = None if not exporting and bool(mask.all()) else mask
        x = self.dropout(x)
        for layer in self.layers:
            x = layer(x, attn_mask)
        x = self.norm(x)
        if self.cls_token is not None:
            return x[:, 1:], x[:, 0]
        return x, last_real_step(x, mask)
