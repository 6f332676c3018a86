"""Whole networks: input layer, encoder, pooling and output head.

``SequenceNetwork.forward(values [b, t, c], mask [b, t])`` returns the head's
output ``[b, n_outputs]``. The estimators train it through skorch; nothing
here knows about scikit-learn or skorch.
"""

import math
from numbers import Integral

import torch
from torch import nn

from .._docs import fill_doc
from .attention import AttentionPooling, MaskedPooling
from .encoders import RecurrentEncoder, TransformerEncoder
from .stem import ConvStem, Differences, SeriesNorm, auto_stem_stride

__all__ = [
    "CategoricalEmbedding",
    "LinearSteps",
    "MaskedReconstruction",
    "NetworkEnsemble",
    "SequenceNetwork",
    "StaticInput",
    "StaticQuery",
    "TokenEmbedding",
    "recurrent_network",
    "sequence_network",
    "transformer_network",
]


_INPUTS_DOC = """\
    Parameters
    ----------
    values : Tensor of shape ``[b, t, c]``
        Input values (zeros on padding), or token ids ``[b, t, 1]``.
    mask : bool Tensor of shape ``[b, t]``
        True on real timesteps.\
"""


class TokenEmbedding(nn.Module):
    """Embed integer token ids stored as ``values [b, t, 1]`` -> ``[b, t, e]``.

    Parameters
    ----------
    vocab_size : int
        Number of token ids: ids are in ``[0, vocab_size)``.
    embedding_dim : int
        Size ``e`` of each token's vector.
    padding_idx : int or None, default=None
        Id whose vector stays zero and gets no gradient.

    Notes
    -----
    ``forward(values)`` reads the ids from the single channel of ``values``
    (stored as floats, exact up to 2**24) and returns ``[b, t, e]``.

    Examples
    --------
    >>> import torch
    >>> from skattn.modules import TokenEmbedding
    >>> embed = TokenEmbedding(10, 4, padding_idx=0)
    >>> embed(torch.tensor([[[3.0], [0.0]]])).shape
    torch.Size([1, 2, 4])
    """

    def __init__(self, vocab_size, embedding_dim, padding_idx=None):
        super().__init__()
        self.embedding = nn.Embedding(
            vocab_size, embedding_dim, padding_idx=padding_idx
        )

    def forward(self, values):
        return self.embedding(values[..., 0].long())


class CategoricalEmbedding(nn.Module):
    """Embed the categorical channels of ``values [b, t, c]`` and keep the rest.

    Parameters
    ----------
    n_channels : int
        Channels ``c`` of the input.
    fields : list of (int, int, int)
        ``(channel, n_codes, size)`` per categorical field: the channel holds
        integer codes in ``[0, n_codes)`` (stored as floats, exact up to
        2**24), embedded in ``size`` dimensions.

    Notes
    -----
    ``forward(values)`` returns ``[b, t, n_numeric + sum(sizes)]``: the
    numeric channels in their order, then one embedding per field.

    Examples
    --------
    >>> import torch
    >>> from skattn.modules import CategoricalEmbedding
    >>> embed = CategoricalEmbedding(3, [(1, 5, 4)])
    >>> embed(torch.tensor([[[0.5, 3.0, -1.0]]])).shape
    torch.Size([1, 1, 6])
    """

    def __init__(self, n_channels, fields):
        super().__init__()
        categorical = [int(c) for c, _, _ in fields]
        self.numeric = [c for c in range(n_channels) if c not in categorical]
        self.categorical = categorical
        self.embeddings = nn.ModuleList(
            nn.Embedding(int(n), int(size)) for _, n, size in fields
        )
        self.output_size = len(self.numeric) + sum(int(s) for _, _, s in fields)

    def forward(self, values):
        parts = [values[..., self.numeric]] if self.numeric else []
        for c, embedding in zip(self.categorical, self.embeddings, strict=True):
            parts.append(embedding(values[..., c].long()).to(values.dtype))
        return torch.cat(parts, dim=-1)


class StaticInput(nn.Module):
    """Split per-entity attributes off the input.

    The last ``n_static`` channels of ``values [b, t, c]`` hold attributes of
    the entity, equal on every real step; they are read from the first step
    (always real), and their categorical ones are embedded.

    Parameters
    ----------
    n_channels : int
        Channels ``c`` of the input, attributes included.
    n_static : int
        Number of attribute channels (the last ones).
    fields : list of (int, int, int)
        ``(attribute index, n_codes, size)`` of each categorical attribute
        (see :class:`CategoricalEmbedding`).

    Notes
    -----
    ``forward(values)`` returns ``(steps [b, t, c - n_static], static [b,
    output_size])``.

    Examples
    --------
    >>> import torch
    >>> from skattn.modules import StaticInput
    >>> split = StaticInput(3, 2, [(1, 4, 2)])
    >>> steps, static = split(torch.tensor([[[0.5, 1.2, 3.0], [0.1, 1.2, 3.0]]]))
    >>> steps.shape, static.shape
    (torch.Size([1, 2, 1]), torch.Size([1, 3]))
    """

    def __init__(self, n_channels, n_static, fields):
        super().__init__()
        self.n_steps = n_channels - n_static
        self.embedding = CategoricalEmbedding(n_static, fields) if fields else None
        self.output_size = self.embedding.output_size if fields else n_static

    def forward(self, values):
        static = values[:, 0, self.n_steps :]
        if self.embedding is not None:
            static = self.embedding(static)
        return values[..., : self.n_steps], static


class StaticQuery(nn.Module):
    """An attention query conditioned on entity attributes.

    ``query = learned + Linear(static)``: a trained vector moved by the
    attributes of each entity.

    Parameters
    ----------
    size : int
        Size ``d`` of the query (the encoder's states).
    static_size : int
        Size of the attribute vector.

    Notes
    -----
    ``forward(static [b, s])`` returns the queries ``[b, d]``.

    Examples
    --------
    >>> import torch
    >>> from skattn.modules import StaticQuery
    >>> StaticQuery(8, 3)(torch.zeros(2, 3)).shape
    torch.Size([2, 8])
    """

    def __init__(self, size, static_size):
        super().__init__()
        self.query = nn.Parameter(torch.randn(size) / math.sqrt(size))
        self.proj = nn.Linear(static_size, size)

    def forward(self, static):
        return self.query.to(static.dtype) + self.proj(static)


class LinearSteps(nn.Module):
    """A linear function of each sequence's last ``n_steps`` real steps.

    The values of the last ``n_steps`` real steps of every channel, aligned
    on the sequence's end, go through one linear layer: the "wide" part of
    a wide-and-deep model, or the autoregressive highway of LSTNet (Lai et
    al., 2018) when the target is the series' next values. Steps before the
    start of a shorter sequence count as 0 (the mean of standardised
    input), so padding never reaches the output. The weights start at 0:
    the network's output is unchanged until training moves them, or until
    they are set from a closed-form fit (``trainable=False`` keeps them
    fixed then, as the estimators' ``linear_fit="ridge"`` does).

    The buffer ``network_weight`` (one value per output, 1 to start with)
    scales the rest of the network's output before this part is added
    (:class:`SequenceNetwork`): set below 1 after training, it shrinks the
    network's correction toward the linear model alone (the estimators'
    ``network_weight``).

    Parameters
    ----------
    n_channels : int
        Channels ``c`` of the input.
    n_steps : int
        How many of the last steps the linear layer reads.
    n_outputs : int
        Width of the output.
    trainable : bool, default=True
        Whether training updates the weights (False: they stay as set).

    Notes
    -----
    ``forward(values [b, t, c], mask [b, t])`` returns ``[b, n_outputs]``;
    ``mask`` is True on real steps, which come first in each row.

    Examples
    --------
    >>> import torch
    >>> from skattn.modules import LinearSteps
    >>> linear = LinearSteps(2, 3, 1)
    >>> mask = torch.tensor([[True, True, True, True], [True, True, False, False]])
    >>> linear(torch.randn(2, 4, 2), mask).shape
    torch.Size([2, 1])
    """

    def __init__(self, n_channels, n_steps, n_outputs, trainable=True):
        super().__init__()
        self.n_steps = int(n_steps)
        self.linear = nn.Linear(self.n_steps * n_channels, n_outputs)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)
        self.linear.requires_grad_(trainable)
        self.register_buffer("network_weight", torch.ones(n_outputs))
        # the penalty of the ridge fit that set the weights, if one did
        self.ridge_alpha = None

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # states saved before the buffer existed added the network whole
        key = prefix + "network_weight"
        if key not in state_dict:
            state_dict[key] = torch.ones_like(self.network_weight)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @fill_doc(inputs=_INPUTS_DOC)
    def steps(self, values, mask):
        """The last ``n_steps`` real steps of each sequence.

        {inputs}

        Returns
        -------
        steps : Tensor of shape ``[b, n_steps, c]``
            The steps aligned on each sequence's end; zeros before the start
            of a shorter sequence.
        """
        b, _, c = values.shape
        lengths = mask.sum(dim=1)
        offsets = torch.arange(self.n_steps, device=values.device)
        index = lengths[:, None] - self.n_steps + offsets[None, :]
        real = (index >= 0).to(values.dtype)
        index = index.clamp(min=0)
        picked = values.gather(1, index[:, :, None].expand(b, self.n_steps, c))
        return picked * real[:, :, None]

    def forward(self, values, mask):
        return self.linear(self.steps(values, mask).flatten(1))


class SequenceNetwork(nn.Module):
    """``input layer -> [stem] -> encoder -> pooling -> dropout -> linear head``.

    Parameters
    ----------
    encoder : nn.Module
        Returns ``(states [b, t, d], last [b, d])``; has ``output_size = d``.
    pooling : AttentionPooling or MaskedPooling
        Turns the states ``[b, t, d]`` into one vector ``[b, d]`` (and
        attention weights, or None).
    n_outputs : int
        Width of the head (classes, regression targets); 0 for no head.
    embedding : nn.Module, optional
        Applied to ``values`` first (token ids).
    query_from_last : bool, default=False
        Pass the encoder's last state to the pooling as its query.
    dropout : float, default=0.0
        Dropout on the pooled vector before the head.
    stem : ConvStem, optional
        Applied before the encoder; the encoder then sees the stem's
        (possibly shorter) sequence and mask, and attention weights are
        spread back over the input steps.
    static : StaticInput, optional
        Splits per-entity attributes off the input; their vector is joined
        to the pooled vector before the head.
    static_query : StaticQuery, optional
        Makes the attention query from the attributes (the pooling must
        then take its query at call time).
    differences : Differences, optional
        Applied to the values first: appends the differences between
        neighbouring steps as channels.
    series_norm : SeriesNorm, optional
        Applied to the values next: appends each sequence's level and
        scale as channels.
    linear : LinearSteps, optional
        A linear function of the last input steps (the values the network
        gets, less entity attributes), added to the head's output.
    max_pooling : bool, default=False
        Join each state channel's maximum over the real steps to the pooled
        vector (which doubles the encoder's part of it).
    stem_pooling : bool, default=False
        Join each stem channel's mean and maximum over the real steps (at
        the stem's resolution) to the pooled vector: a path from the
        convolutions to the head around the encoder. Needs ``stem``.

    Notes
    -----
    ``forward(values [b, t, c], mask [b, t])`` returns the head's output
    ``[b, n_outputs]``; ``mask`` is True on real timesteps.

    Examples
    --------
    >>> import torch
    >>> from skattn.modules import recurrent_network
    >>> network = recurrent_network(2, 3, hidden_size=4)
    >>> mask = torch.tensor([[True, True, True], [True, True, False]])
    >>> network(torch.randn(2, 3, 2), mask).shape
    torch.Size([2, 3])
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
        static=None,
        static_query=None,
        differences=None,
        series_norm=None,
        linear=None,
        max_pooling=False,
        stem_pooling=False,
    ):
        super().__init__()
        if stem_pooling and stem is None:
            raise ValueError("stem_pooling needs a convolutional stem")
        self.differences = differences
        self.series_norm = series_norm
        self.linear = linear
        self.static = static
        self.static_query = static_query
        self.embedding = embedding
        self.stem = stem
        self.encoder = encoder
        self.pooling = pooling
        self.query_from_last = query_from_last
        self.dropout = nn.Dropout(dropout)
        self.max_pooling = MaskedPooling("max") if max_pooling else None
        self.stem_pooling = (
            nn.ModuleList([MaskedPooling("mean"), MaskedPooling("max")])
            if stem_pooling
            else None
        )
        self.output_size = (
            encoder.output_size * (2 if max_pooling else 1)
            + (2 * stem.output_size if stem_pooling else 0)
            + (static.output_size if static is not None else 0)
        )
        self.head = nn.Linear(self.output_size, n_outputs) if n_outputs else None

    @fill_doc(inputs=_INPUTS_DOC)
    def encode(self, values, mask):
        """Per-step states, pooled vector and attention weights (or None).

        {inputs}

        Returns
        -------
        states : Tensor of shape ``[b, t', d]``
            The encoder's states; with a stem, at its resolution ``t'``.
        pooled : Tensor of shape ``[b, d]``
            The pooled vector (with the entity attributes, when there are).
        weights : Tensor of shape ``[b, h, t]`` or None
            Attention weights over the input steps (None without attention
            pooling).
        """
        states, pooled, weights = self._encode(values, mask)
        if self.stem is not None and weights is not None:
            weights = self.stem.upsample(weights, mask)
        return states, pooled, weights

    def _encode(self, values, mask):
        """``encode`` with the weights at the stem's resolution, which
        ``embed`` and ``forward`` do not read: they skip the upsampling."""
        static = None
        if self.static is not None:
            values, static = self.static(values)
        x = values if self.embedding is None else self.embedding(values)
        if self.differences is not None:
            x = self.differences(x, mask)
        if self.series_norm is not None:
            x = self.series_norm(x, mask)
        if self.stem is not None:
            x, mask = self.stem(x, mask)
        features = None
        if self.stem_pooling is not None:
            # each stem channel's mean and largest value over the real steps
            features = torch.cat([pool(x, mask)[0] for pool in self.stem_pooling], -1)
        states, last = self.encoder(x, mask)
        if self.static_query is not None:
            query = self.static_query(static)
        else:
            query = last if self.query_from_last else None
        pooled, weights = self.pooling(states, mask, query)
        if self.max_pooling is not None:
            # each state channel's largest value over the real steps
            pooled = torch.cat([pooled, self.max_pooling(states, mask)[0]], dim=-1)
        if features is not None:
            pooled = torch.cat([pooled, features], dim=-1)
        if static is not None:
            pooled = torch.cat([pooled, static], dim=-1)
        return states, pooled, weights

    @fill_doc(inputs=_INPUTS_DOC)
    def embed(self, values, mask):
        """The pooled vector of each sequence.

        {inputs}

        Returns
        -------
        pooled : Tensor of shape ``[b, d]``
            The vector the head reads.
        """
        return self._encode(values, mask)[1]

    @fill_doc(inputs=_INPUTS_DOC)
    def attention(self, values, mask):
        """The head's output together with the attention weights.

        {inputs}

        Returns
        -------
        out : Tensor of shape ``[b, n_outputs]``, or ``[b, d]`` without a head
            The head's output (without dropout), or the pooled vector.
        weights : Tensor of shape ``[b, h, t]`` or None
            Attention weights over the input steps.
        """
        _, pooled, weights = self.encode(values, mask)
        if self.head is None:
            return pooled, weights
        return self._linear(self.head(pooled), values, mask), weights

    def forward(self, values, mask):
        pooled = self.embed(values, mask)
        return self._linear(self.head(self.dropout(pooled)), values, mask)

    def _linear(self, out, values, mask):
        """``out`` plus the linear function of the last steps, if any
        (``out`` scaled by the linear part's ``network_weight`` then)."""
        if self.linear is None:
            return out
        linear = self.linear.linear(self.linear_inputs(values, mask))
        return out * self.linear.network_weight.to(out.dtype) + linear

    @fill_doc(inputs=_INPUTS_DOC)
    def linear_inputs(self, values, mask):
        """The values the linear part reads, flattened.

        {inputs}

        Returns
        -------
        inputs : Tensor of shape ``[b, linear.n_steps * c]``
            The last ``linear.n_steps`` steps of each sequence (entity
            attributes left out), aligned on its end.
        """
        if self.static is not None:
            values = values[..., : self.static.n_steps]
        return self.linear.steps(values, mask).flatten(1)


class NetworkEnsemble(nn.Module):
    """Networks of one shape, trained side by side, predicting together.

    Each member starts from its own random initialisation and is trained on
    its own loss (the same batches); at evaluation their outputs are
    combined: class probabilities averaged (``combine="probabilities"``:
    the output is the log of the mean probabilities, so a softmax of it
    gives them and its argmax is the ensemble's class) or outputs averaged
    (``combine="mean"``, regression). Attention weights are the members'
    mean, so the ensemble reports one set of weights per sequence, as a
    single network does.

    Parameters
    ----------
    members : list of SequenceNetwork
        Two or more networks with the same output size.
    combine : {"probabilities", "mean"}
        How evaluation combines the members' outputs.

    Notes
    -----
    ``forward(values [b, t, c], mask [b, t])`` returns the combined output
    ``[b, n_outputs]`` at evaluation and, in training mode, every member's
    output ``[n_members, b, n_outputs]`` for a loss per member.

    Examples
    --------
    >>> import torch
    >>> from skattn.modules import NetworkEnsemble, recurrent_network
    >>> members = [recurrent_network(2, 3, hidden_size=4) for _ in range(3)]
    >>> ensemble = NetworkEnsemble(members, combine="probabilities").eval()
    >>> mask = torch.ones(2, 5, dtype=torch.bool)
    >>> ensemble(torch.randn(2, 5, 2), mask).exp().sum(1)
    tensor([1.0000, 1.0000], grad_fn=<SumBackward1>)
    """

    def __init__(self, members, *, combine):
        super().__init__()
        if len(members) < 2:
            raise ValueError(f"an ensemble needs 2 or more members, got {len(members)}")
        if combine not in ("probabilities", "mean"):
            raise ValueError(
                f"combine must be 'probabilities' or 'mean', got {combine!r}"
            )
        self.members = nn.ModuleList(members)
        self.combine = combine
        self.output_size = members[0].output_size

    def _combined(self, outputs):
        """The members' outputs ``[n, b, k]`` combined into ``[b, k]``."""
        if self.combine == "mean":
            return outputs.mean(0)
        log_probabilities = torch.log_softmax(outputs, dim=-1)
        return torch.logsumexp(log_probabilities, dim=0) - math.log(len(outputs))

    def forward(self, values, mask):
        outputs = torch.stack([member(values, mask) for member in self.members])
        return outputs if self.training else self._combined(outputs)

    @fill_doc(inputs=_INPUTS_DOC)
    def attention(self, values, mask):
        """The combined output with the members' mean attention weights.

        {inputs}

        Returns
        -------
        out : Tensor of shape ``[b, n_outputs]``
            The combined output.
        weights : Tensor of shape ``[b, h, t]`` or None
            The members' mean attention weights over the input steps (None
            without attention pooling).
        """
        outputs, weights = zip(
            *(member.attention(values, mask) for member in self.members), strict=True
        )
        mean = None if weights[0] is None else torch.stack(weights).mean(0)
        return self._combined(torch.stack(outputs)), mean

    @fill_doc(inputs=_INPUTS_DOC)
    def embed(self, values, mask):
        """The members' pooled vectors side by side.

        {inputs}

        Returns
        -------
        pooled : Tensor of shape ``[b, n_members * d]``
            Each member's pooled vector, concatenated in member order.
        """
        return torch.cat([member.embed(values, mask) for member in self.members], -1)


class MaskedReconstruction(nn.Module):
    """Self-supervised objective around a :class:`SequenceNetwork`.

    During training a random ``mask_ratio`` of each sequence's real steps is
    hidden (set to 0, the mean of standardised input); a linear decoder
    reconstructs them from the per-step state concatenated with the pooled
    vector, so the pooling is trained too. Behind a convolutional stem of
    stride ``s`` each state decodes the ``s`` input steps it stands for.

    Parameters
    ----------
    network : SequenceNetwork
        The network to train; its head is not used.
    n_channels : int
        Channels ``c`` of the input, reconstructed by the decoder.
    mask_ratio : float, default=0.15
        Share of each sequence's real steps hidden in each forward pass.

    Notes
    -----
    ``forward(values [b, t, c], mask [b, t])`` returns
    ``(reconstruction [b, t, c], target [b, t, c], hidden [b, t])``, where
    ``hidden`` marks the steps to reconstruct.

    Examples
    --------
    >>> import torch
    >>> from skattn.modules import MaskedReconstruction, recurrent_network
    >>> model = MaskedReconstruction(recurrent_network(2, 0, hidden_size=4), 2)
    >>> mask = torch.ones(3, 5, dtype=torch.bool)
    >>> reconstruction, target, hidden = model(torch.randn(3, 5, 2), mask)
    >>> reconstruction.shape, bool(hidden.any(dim=1).all())
    (torch.Size([3, 5, 2]), True)
    """

    def __init__(self, network, n_channels, mask_ratio=0.15):
        super().__init__()
        self.network = network
        self.mask_ratio = mask_ratio
        d = network.output_size
        # A stem of stride s leaves one state per s input steps: each state
        # decodes the s steps it stands for.
        self.stride = network.stem.stride if network.stem is not None else 1
        self.n_channels = n_channels
        self.decoder = nn.Linear(2 * d, self.stride * n_channels)

    def forward(self, values, mask):
        hidden = (torch.rand(mask.shape, device=mask.device) < self.mask_ratio) & mask
        # Hide at least one real step per sequence so every row has a target.
        no_hidden = ~hidden.any(1)
        if bool(no_hidden.any()):
            last = mask.sum(1) - 1
            rows = torch.nonzero(no_hidden).squeeze(1)
            hidden[rows, last[rows]] = True
        corrupted = values.masked_fill(hidden.unsqueeze(-1), 0.0)
        states, pooled, _ = self.network._encode(corrupted, mask)
        context = pooled.unsqueeze(1).expand_as(states)
        reconstruction = self.decoder(torch.cat([states, context], -1))
        if self.stride > 1:
            # [b, t', s * c] -> [b, t' * s, c] -> [b, t, c]
            b, t = mask.shape
            reconstruction = reconstruction.reshape(b, -1, self.n_channels)[:, :t]
        return reconstruction, values, hidden

    @fill_doc(inputs=_INPUTS_DOC)
    def embed(self, values, mask):
        """The pooled vector of the uncorrupted input.

        {inputs}

        Returns
        -------
        pooled : Tensor of shape ``[b, d]``
            The pooled vector.
        """
        return self.network.embed(values, mask)

    @fill_doc(inputs=_INPUTS_DOC)
    def attention(self, values, mask):
        """The pooled vector and attention weights of the uncorrupted input.

        {inputs}

        Returns
        -------
        pooled : Tensor of shape ``[b, d]``
            The pooled vector.
        weights : Tensor of shape ``[b, h, t]`` or None
            Attention weights over the input steps.
        """
        return self.network.attention(values, mask)


def _check_numeric(option, embedding):
    """``option`` reads the input values as numbers: not with an embedding."""
    if embedding is not None:
        raise ValueError(
            f"{option} needs numeric input: it cannot be combined with "
            "token ids (vocab_size) or categorical features"
        )


def _stem(
    input_size,
    channels,
    conv_stem,
    length,
    norm="layer",
    dilation=1,
    scales=1,
    renorm=False,
):
    """``(ConvStem or None, total stride)`` for ``conv_stem`` None, "auto"
    (stride from ``length``) or a power-of-two stride."""
    if conv_stem is None:
        return None, 1
    if conv_stem == "auto":
        stride = auto_stem_stride(length)
    elif isinstance(conv_stem, Integral) and not isinstance(conv_stem, bool):
        stride = int(conv_stem)
    else:
        raise ValueError(
            f"conv_stem must be None, 'auto' or a power-of-two int, got {conv_stem!r}"
        )
    stem = ConvStem(
        input_size,
        channels,
        stride=stride,
        norm=norm,
        dilation=dilation,
        scales=scales,
        renorm=renorm,
    )
    return stem, stride


def _pooling(size, pooling, attention, aggregation, num_heads, query, static_query):
    if pooling == "attention":
        return AttentionPooling(
            size,
            attention=attention,
            aggregation=aggregation,
            num_heads=num_heads,
            learned_query=query == "learned" and not static_query,
        )
    # "cls" and "last" both read the encoder's summary state
    return MaskedPooling("last" if pooling == "cls" else pooling)


def sequence_network(
    n_channels,
    n_outputs,
    width,
    make_encoder,
    *,
    pooling="attention",
    attention="multihead",
    num_heads=4,
    query="learned",
    aggregation="sum",
    dropout=0.0,
    vocab_size=None,
    embedding_dim=None,
    padding_idx=None,
    categorical=None,
    static=None,
    static_query=False,
    conv_stem=None,
    stem_norm="layer",
    stem_dilation=1,
    stem_scales=1,
    differences=0,
    series_norm=None,
    batch_renorm=False,
    linear_steps=None,
    linear_trainable=True,
    max_pooling=False,
    stem_pooling=False,
    max_length=None,
    stem_length=None,
):
    """Assemble ``[token embedding] -> [stem] -> encoder -> pooling -> head``.

    Parameters
    ----------
    n_channels : int
        Channels of the input values (1 for token ids).
    n_outputs : int
        Width of the head; 0 for no head.
    width : int
        Default token embedding size, and the stem's channels.
    make_encoder : callable
        ``make_encoder(input_size, max_length)`` returns the encoder for the
        stem's output, with ``max_length`` counted in the stem's steps.
    pooling : {"attention", "cls", "mean", "max", "last"}, default="attention"
        How the states become one vector.
    attention : str, default="multihead"
        Attention score of attention pooling (see :data:`ATTENTION_SCORES`).
    num_heads : int, default=4
        Heads of multi-head attention pooling.
    query : {"learned", "last"}, default="learned"
        Query of attention pooling.
    aggregation : {"sum", "mean", "max"}, default="sum"
        Aggregation of the weighted states.
    dropout : float, default=0.0
        Dropout before the head.
    vocab_size, embedding_dim, padding_idx : int or None, default=None
        Token-id input: an embedding of ``vocab_size`` ids comes first.
    categorical : list of (int, int, int) or None, default=None
        Categorical channels, embedded first: ``(channel, n_codes, size)``
        per field (see :class:`CategoricalEmbedding`).
    static : (int, list of (int, int, int)) or None, default=None
        Per-entity attributes in the last channels: ``(n_static, fields)``
        (see :class:`StaticInput`), joined to the pooled vector.
    static_query : bool, default=False
        With ``static``, attention pooling's query is ``learned +
        Linear(attributes)`` (:class:`StaticQuery`).
    conv_stem : "auto", int or None, default=None
        The convolutional stem's total stride (``"auto"``: from
        ``stem_length``), or no stem.
    stem_norm : {"layer", "batch", None}, default="layer"
        The stem's normalisation (see :class:`ConvStem`).
    stem_dilation : int, default=1
        The stem's dilation growth (see :class:`ConvStem`).
    stem_scales : int, default=1
        Kernel widths per stem layer (see :class:`ConvStem`).
    differences : {0, 1, 2}, default=0
        Differences between neighbouring steps, up to this order, as extra
        channels (see :class:`Differences`); numeric input only.
    series_norm : {"stats", "instance", None}, default=None
        Each sequence's mean and log standard deviation per channel as
        extra channels, and with "instance" the values standardised per
        sequence (see :class:`SeriesNorm`); numeric input only.
    batch_renorm : bool, default=False
        Batch renormalisation in every batch normalisation (the stem's with
        ``stem_norm="batch"``, ``series_norm``'s; see
        :class:`MaskedBatchNorm`).
    linear_steps : int, "all" or None, default=None
        A linear function of the last ``linear_steps`` input steps (``"all"``:
        ``max_length``) added to the head's output (see
        :class:`LinearSteps`); numeric input with a head only.
    linear_trainable : bool, default=True
        Whether training updates the linear part (False: it keeps the
        weights set on it, e.g. a ridge fit).
    max_pooling : bool, default=False
        Join each state channel's maximum over the real steps to the
        pooled vector (except with ``pooling="max"``, whose pooled vector
        it already is).
    stem_pooling : bool, default=False
        Join each stem channel's mean and maximum over the real steps to
        the pooled vector; needs ``conv_stem``.
    max_length : int or None, default=None
        Longest training sequence.
    stem_length : int or None, default=None
        The length ``conv_stem="auto"`` picks the stride from (the
        estimators pass the median training length); None: ``max_length``.

    Returns
    -------
    network : SequenceNetwork
        The assembled network.

    Examples
    --------
    >>> from skattn.modules import RecurrentEncoder, sequence_network
    >>> network = sequence_network(
    ...     2, 3, 8, lambda size, max_length: RecurrentEncoder(size, 8),
    ...     attention="additive", conv_stem=2,
    ... )
    >>> type(network.stem).__name__, network.output_size
    ('ConvStem', 8)
    """
    # pooling="max" already is the states' maximum: not joined twice
    max_pooling = max_pooling and pooling != "max"
    if stem_pooling and conv_stem is None:
        raise ValueError(
            "stem_pooling=True needs a convolutional stem, but conv_stem is None"
        )
    embedding = static_input = None
    if static is not None:
        static_input = StaticInput(n_channels, *static)
        n_channels -= static[0]
    input_size = n_channels
    if vocab_size is not None:
        input_size = embedding_dim or width
        embedding = TokenEmbedding(vocab_size, input_size, padding_idx)
    elif categorical:
        embedding = CategoricalEmbedding(n_channels, categorical)
        input_size = embedding.output_size
    diffs = None
    if differences:
        _check_numeric("differences", embedding)
        diffs = Differences(input_size, differences, renorm=batch_renorm)
        input_size = diffs.output_size
    series = None
    if series_norm is not None:
        _check_numeric("series_norm", embedding)
        series = SeriesNorm(input_size, mode=series_norm, renorm=batch_renorm)
        input_size = series.output_size
    linear = None
    if linear_steps is not None:
        _check_numeric("linear_steps", embedding)
        if not n_outputs:
            raise ValueError("linear_steps needs a head (n_outputs > 0)")
        if linear_steps == "all":
            if max_length is None:
                raise ValueError('linear_steps="all" needs max_length')
            linear_steps = max_length
        linear = LinearSteps(n_channels, linear_steps, n_outputs, linear_trainable)
    stem, stride = _stem(
        input_size,
        width,
        conv_stem,
        max_length if stem_length is None else stem_length,
        stem_norm,
        stem_dilation,
        stem_scales,
        batch_renorm,
    )
    if stem is not None:
        input_size = stem.output_size
        if max_length is not None:
            max_length = -(-max_length // stride)  # steps after the stem
    encoder = make_encoder(input_size, max_length)
    with_query = static_input is not None and static_query and pooling == "attention"
    pool = _pooling(
        encoder.output_size,
        pooling,
        attention,
        aggregation,
        num_heads,
        query,
        with_query,
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
        static=static_input,
        static_query=(
            StaticQuery(encoder.output_size, static_input.output_size)
            if with_query
            else None
        ),
        differences=diffs,
        series_norm=series,
        linear=linear,
        max_pooling=max_pooling,
        stem_pooling=stem_pooling,
    )


def recurrent_network(
    n_channels,
    n_outputs,
    *,
    hidden_size=64,
    num_layers=1,
    cell="lstm",
    bidirectional=True,
    attention="additive",
    dropout=0.0,
    **options,
):
    """An LSTM/GRU :class:`SequenceNetwork`.

    Parameters
    ----------
    n_channels : int
        Channels of the input values.
    n_outputs : int
        Width of the head; 0 for no head.
    hidden_size : int, default=64
        Hidden units per direction.
    num_layers : int, default=1
        Stacked recurrent layers.
    cell : {"lstm", "gru"}, default="lstm"
        Recurrent cell.
    bidirectional : bool, default=True
        Read each sequence in both directions.
    attention : str, default="additive"
        Attention score of attention pooling.
    dropout : float, default=0.0
        Dropout between recurrent layers and before the head.
    **options
        Input, stem and pooling options of :func:`sequence_network`.

    Returns
    -------
    network : SequenceNetwork
        The assembled network.

    Examples
    --------
    >>> from skattn.modules import recurrent_network
    >>> recurrent_network(3, 2, hidden_size=8, cell="gru").output_size
    16
    """

    def make_encoder(input_size, max_length):
        return RecurrentEncoder(
            input_size,
            hidden_size,
            num_layers=num_layers,
            cell=cell,
            bidirectional=bidirectional,
            dropout=dropout,
        )

    return sequence_network(
        n_channels,
        n_outputs,
        hidden_size,
        make_encoder,
        attention=attention,
        dropout=dropout,
        **options,
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
    relative_positions=False,
    pooling="attention",
    **options,
):
    """A Transformer :class:`SequenceNetwork`.

    Parameters
    ----------
    n_channels : int
        Channels of the input values.
    n_outputs : int
        Width of the head; 0 for no head.
    d_model : int, default=64
        Width of the encoder.
    num_heads : int, default=4
        Heads of the encoder layers and of multi-head pooling.
    num_layers : int, default=2
        Encoder layers.
    dim_feedforward : int, default=128
        Hidden width of each layer's feed-forward block.
    dropout : float, default=0.1
        Dropout of the encoder layers and before the head.
    positional_encoding : {"sinusoidal", "tape", "learned"} or None, \
default="sinusoidal"
        Positional codes (see :class:`TransformerEncoder`).
    relative_positions : bool, default=False
        A learned bias per head and distance on every layer's attention
        scores (see :class:`TransformerEncoder`; needs ``max_length``).
    pooling : {"attention", "cls", "mean", "max", "last"}, default="attention"
        How the states become one vector; ``"cls"`` prepends a learned token.
    **options
        Input, stem and pooling options of :func:`sequence_network`.

    Returns
    -------
    network : SequenceNetwork
        The assembled network.

    Examples
    --------
    >>> from skattn.modules import transformer_network
    >>> transformer_network(3, 2, d_model=16, num_heads=2).output_size
    16
    """

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
            relative_positions=relative_positions,
        )

    return sequence_network(
        n_channels,
        n_outputs,
        d_model,
        make_encoder,
        pooling=pooling,
        num_heads=num_heads,
        dropout=dropout,
        **options,
    )
