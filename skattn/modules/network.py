"""Whole networks: input layer, encoder, pooling and output head.

``SequenceNetwork.forward(values [b, t, c], mask [b, t])`` returns the head's
output ``[b, n_outputs]``. The estimators train it through skorch; nothing
here knows about scikit-learn or skorch.
"""

from numbers import Integral

import torch
from torch import nn

from .attention import AttentionPooling, MaskedPooling
from .encoders import RecurrentEncoder, TransformerEncoder
from .stem import ConvStem, auto_stem_stride

__all__ = [
    "MaskedReconstruction",
    "SequenceNetwork",
    "TokenEmbedding",
    "recurrent_network",
    "transformer_network",
]


class TokenEmbedding(nn.Module):
    """Embed integer token ids stored as ``values [b, t, 1]`` -> ``[b, t, e]``."""

    def __init__(self, vocab_size, embedding_dim, padding_idx=None):
        super().__init__()
        self.embedding = nn.Embedding(
            vocab_size, embedding_dim, padding_idx=padding_idx
        )

    def forward(self, values):
        return self.embedding(values[..., 0].long())


class SequenceNetwork(nn.Module):
    """``input layer -> [stem] -> encoder -> pooling -> dropout -> linear head``.

    Parameters
    ----------
    encoder : nn.Module
        Returns ``(states [b, t, d], last [b, d])``; has ``output_size = d``.
    pooling : AttentionPooling or MaskedPooling
    n_outputs : int
        Width of the head (classes, regression targets); 0 for no head.
    embedding : nn.Module, optional
        Applied to ``values`` first (token ids).
    query_from_last : bool
        Pass the encoder's last state to the pooling as its query.
    stem : ConvStem, optional
        Applied before the encoder; the encoder then sees the stem's
        (possibly shorter) sequence and mask, and attention weights are
        spread back over the input steps.
    """

    def __init__(
        self,
        encoder,
        pooling,
        n_outputs,
        *,
        embedding=None,
        query_from_last=False,
        dropout=0.0,
        stem=None,
    ):
        super().__init__()
        self.embedding = embedding
        self.stem = stem
        self.encoder = encoder
        self.pooling = pooling
        self.query_from_last = query_from_last
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.output_size, n_outputs) if n_outputs else None
        self.output_size = encoder.output_size

    def encode(self, values, mask):
        """Per-step states, pooled vector and attention weights (or None).

        With a stem, ``states`` are at the stem's resolution, while
        ``weights`` are spread back over the input steps ``[b, h, t]``.
        """
        x = values if self.embedding is None else self.embedding(values)
        input_mask = mask
        if self.stem is not None:
            x, mask = self.stem(x, mask)
        states, last = self.encoder(x, mask)
        query = last if self.query_from_last else None
        pooled, weights = self.pooling(states, mask, query)
        if self.stem is not None and weights is not None:
            weights = self.stem.upsample(weights, input_mask)
        return states, pooled, weights

    def embed(self, values, mask):
        """The pooled vector ``[b, d]``."""
        return self.encode(values, mask)[1]

    def attention(self, values, mask):
        """``(output [b, n_outputs] or pooled [b, d], weights [b, h, t])``."""
        _, pooled, weights = self.encode(values, mask)
        out = pooled if self.head is None else self.head(pooled)
        return out, weights

    def forward(self, values, mask):
        pooled = self.embed(values, mask)
        return self.head(self.dropout(pooled))


class MaskedReconstruction(nn.Module):
    """Self-supervised objective around a :class:`SequenceNetwork`.

    During training a random ``mask_ratio`` of each sequence's real steps is
    hidden (set to 0, the mean of standardised input); a linear decoder
    reconstructs them from the per-step state concatenated with the pooled
    vector, so the pooling is trained too. ``forward`` returns
    ``(reconstruction [b, t, c], target [b, t, c], hidden [b, t])``.
    """

    def __init__(self, network, n_channels, mask_ratio=0.15):
        super().__init__()
        self.network = network
        self.mask_ratio = mask_ratio
        d = network.output_size
        self.decoder = nn.Linear(2 * d, n_channels)

    def forward(self, values, mask):
        hidden = (torch.rand(mask.shape, device=mask.device) < self.mask_ratio) & mask
        # Hide at least one real step per sequence so every row has a target.
        no_hidden = ~hidden.any(1)
        if bool(no_hidden.any()):
            last = mask.sum(1) - 1
            rows = torch.nonzero(no_hidden).squeeze(1)
            hidden[rows, last[rows]] = True
        corrupted = values.masked_fill(hidden.unsqueeze(-1), 0.0)
        states, pooled, _ = self.network.encode(corrupted, mask)
        context = pooled.unsqueeze(1).expand_as(states)
        reconstruction = self.decoder(torch.cat([states, context], -1))
        return reconstruction, values, hidden

    def embed(self, values, mask):
        """The pooled vector of the uncorrupted input ``[b, d]``."""
        return self.network.embed(values, mask)

    def attention(self, values, mask):
        """``(pooled [b, d], weights [b, h, t])`` of the uncorrupted input."""
        return self.network.attention(values, mask)


def _stem(input_size, channels, conv_stem, max_length):
    """``(ConvStem or None, total stride)`` for ``conv_stem`` None, "auto"
    (stride from ``max_length``) or a power-of-two stride."""
    if conv_stem is None:
        return None, 1
    if conv_stem == "auto":
        stride = auto_stem_stride(max_length)
    elif isinstance(conv_stem, Integral) and not isinstance(conv_stem, bool):
        stride = int(conv_stem)
    else:
        raise ValueError(
            f"conv_stem must be None, 'auto' or a power-of-two int, got {conv_stem!r}"
        )
    return ConvStem(input_size, channels, stride=stride), stride


def _pooling(size, pooling, attention, aggregation, num_heads, query):
    if pooling == "attention":
        return AttentionPooling(
            size,
            attention=attention,
            aggregation=aggregation,
            num_heads=num_heads,
            learned_query=query == "learned",
        )
    # "cls" and "last" both read the encoder's summary state
    return MaskedPooling("last" if pooling == "cls" else pooling)


def _network(
    n_channels,
    n_outputs,
    width,
    make_encoder,
    *,
    pooling,
    attention,
    num_heads,
    query,
    aggregation,
    dropout,
    vocab_size,
    embedding_dim,
    padding_idx,
    conv_stem,
    max_length,
):
    """``[token embedding] -> [stem] -> encoder -> pooling -> head``.

    ``width`` is the default embedding size and the stem's channels;
    ``make_encoder(input_size, max_length)`` builds the encoder for the
    stem's output (``max_length`` counted in the stem's steps).
    """
    embedding = None
    input_size = n_channels
    if vocab_size is not None:
        input_size = embedding_dim or width
        embedding = TokenEmbedding(vocab_size, input_size, padding_idx)
    stem, stride = _stem(input_size, width, conv_stem, max_length)
    if stem is not None:
        input_size = stem.output_size
        if max_length is not None:
            max_length = -(-max_length // stride)  # steps after the stem
    encoder = make_encoder(input_size, max_length)
    pool = _pooling(
        encoder.output_size, pooling, attention, aggregation, num_heads, query
    )
    return SequenceNetwork(
        encoder,
        pool,
        n_outputs,
        embedding=embedding,
        # "cls" and "last" pool the encoder's summary state; a "last" query
        # reads it too
        query_from_last=pooling in ("cls", "last")
        or (pooling == "attention" and query == "last"),
        dropout=dropout,
        stem=stem,
    )


def recurrent_network(
    n_channels,
    n_outputs,
    *,
    hidden_size=64,
    num_layers=1,
    cell="lstm",
    bidirectional=True,
    pooling="attention",
    attention="additive",
    num_heads=4,
    query="learned",
    aggregation="sum",
    dropout=0.0,
    vocab_size=None,
    embedding_dim=None,
    padding_idx=None,
    conv_stem=None,
    max_length=None,
):
    """An LSTM/GRU :class:`SequenceNetwork`; see the estimators for the
    meaning of each argument."""

    def make_encoder(input_size, max_length):
        return RecurrentEncoder(
            input_size,
            hidden_size,
            num_layers=num_layers,
            cell=cell,
            bidirectional=bidirectional,
            dropout=dropout,
        )

    return _network(
        n_channels,
        n_outputs,
        hidden_size,
        make_encoder,
        pooling=pooling,
        attention=attention,
        num_heads=num_heads,
        query=query,
        aggregation=aggregation,
        dropout=dropout,
        vocab_size=vocab_size,
        embedding_dim=embedding_dim,
        padding_idx=padding_idx,
        conv_stem=conv_stem,
        max_length=max_length,
    )


def transformer_network(
    n_channels,
    n_outputs,
    *,
    d_model=64,
    num_heads=4,
    num_layers=2,
    dim_feedforward=128,
    dropout=0.1,
    positional_encoding="sinusoidal",
    max_length=None,
    pooling="attention",
    attention="multihead",
    query="learned",
    aggregation="sum",
    vocab_size=None,
    embedding_dim=None,
    padding_idx=None,
    conv_stem=None,
):
    """A Transformer :class:`SequenceNetwork`; see the estimators for the
    meaning of each argument."""

    def make_encoder(input_size, max_length):
        return TransformerEncoder(
            input_size,
            d_model,
            num_heads=num_heads,
            num_layers=num_layers,
            dim_feedforward=dim_feedforward,
            dropout=dropout,
            positional_encoding=positional_encoding,
            max_length=max_length,
            cls_token=pooling == "cls",
        )

    return _network(
        n_channels,
        n_outputs,
        d_model,
        make_encoder,
        pooling=pooling,
        attention=attention,
        num_heads=num_heads,
        query=query,
        aggregation=aggregation,
        dropout=dropout,
        vocab_size=vocab_size,
        embedding_dim=embedding_dim,
        padding_idx=padding_idx,
        conv_stem=conv_stem,
        max_length=max_length,
    )
