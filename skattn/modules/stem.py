"""A convolutional stem: local features, and fewer steps, before the encoder.

Shape notation: ``b`` batch, ``t`` timesteps, ``c`` input channels, ``d``
stem channels, ``s`` total stride. ``mask[b, t]`` is True for real steps;
sequences are right-padded.

Output step ``j`` of a layer with stride ``s`` reads the input window
centred on step ``j * s``; it is real when that step is real, so a sequence
of ``L`` real steps keeps ``ceil(L / s)``. Padded steps are set to zero
before every convolution, so each real output is exactly what the same
sequence would give without any padding: padding never leaks into the
states, whatever the batch.
"""

import math

import torch
from torch import nn

from .attention import lengths_to_mask

__all__ = [
    "SERIES_NORMS",
    "STEM_NORMS",
    "ConvStem",
    "Differences",
    "MaskedBatchNorm",
    "MultiScaleConv",
    "SeriesNorm",
    "auto_stem_stride",
    "sequence_moments",
    "stem_strides",
]

# The normalisations a stem layer may use (None: none).
STEM_NORMS = ("layer", "batch", None)

# What SeriesNorm does with each sequence (None: no SeriesNorm).
SERIES_NORMS = ("stats", "instance", None)

# "auto" picks the total stride that leaves about this many steps or more.
_AUTO_TARGET_STEPS = 64


def auto_stem_stride(max_length, target_steps=_AUTO_TARGET_STEPS):
    """The largest power of two ``s`` with ``max_length / s >= target_steps``
    (at least 1)."""
    if max_length is None or max_length < 2 * target_steps:
        return 1
    return 2 ** int(math.floor(math.log2(max_length / target_steps)))


def stem_strides(stride, num_layers):
    """Split a power-of-two total ``stride`` over ``num_layers`` layers,
    earlier layers first: 8 over 3 layers -> (2, 2, 2), 4 -> (2, 2, 1)."""
    if stride < 1 or stride & (stride - 1):
        raise ValueError(f"the stem stride must be a power of two, got {stride}")
    k = stride.bit_length() - 1
    return tuple(
        2 ** (k // num_layers + (i < k % num_layers)) for i in range(num_layers)
    )


def sequence_moments(x, mask):
    """Each sequence's mean and variance per channel over its real steps.

    Parameters
    ----------
    x : Tensor of shape ``[b, t, c]``
        Values; padding may hold anything (NaN too).
    mask : bool Tensor of shape ``[b, t]``
        True on the real steps.

    Returns
    -------
    mean, var : Tensors of shape ``[b, 1, c]``
        The mean and the (population) variance of each sequence's real
        steps, per channel.

    Examples
    --------
    >>> import torch
    >>> from skattn.modules import sequence_moments
    >>> x = torch.tensor([[[1.0], [3.0], [100.0]]])
    >>> mean, var = sequence_moments(x, torch.tensor([[True, True, False]]))
    >>> mean.flatten().tolist(), var.flatten().tolist()
    ([2.0], [1.0])
    """
    real = mask.unsqueeze(-1)  # [b, t, 1]
    n = real.sum(1, keepdim=True).clamp(min=1)
    mean = torch.where(real, x, 0.0).sum(1, keepdim=True) / n
    var = torch.where(real, x - mean, 0.0).square().sum(1, keepdim=True) / n
    return mean, var


class MaskedBatchNorm(nn.Module):
    """Batch normalisation of ``x [b, t, d]`` over the real steps only.

    Each channel is standardised with its mean and variance over the real
    steps of the batch during training (and running averages of them at
    evaluation, as :class:`torch.nn.BatchNorm1d` does), so a step keeps its
    amplitude relative to the other steps and sequences. Padding takes no
    part in the statistics, and evaluation does not depend on the batch.

    With ``renorm=True`` (batch renormalisation: Ioffe, "Batch
    renormalization: towards reducing minibatch dependence in
    batch-normalized models", 2017), training corrects each batch's
    standardisation towards the running statistics: ``x̂ = (x - μ_B) / σ_B
    * r + d`` with ``r = σ_B / σ`` clipped to ``[1/3, 3]`` and ``d = (μ_B -
    μ) / σ`` clipped to ``[-5, 5]``, constants for the gradient. Where the
    clipping does not bind, training then computes what prediction does,
    however unlike the rest of the data a batch is (batches of sequences of
    similar length, say), while the gradient still flows through the
    batch's statistics. The first ``renorm_warmup`` training batches, while
    the running statistics settle, are normalised as without it.

    Parameters
    ----------
    channels : int
        Channels ``d``.
    momentum : float, default=0.1
        Weight of each training batch in the running statistics.
    eps : float, default=1e-5
        Added to the variance.
    renorm : bool, default=False
        Batch renormalisation in training.
    renorm_warmup : int, default=100
        Training batches normalised by their own statistics alone before
        the renormalisation starts.

    Examples
    --------
    >>> import torch
    >>> norm = MaskedBatchNorm(4)
    >>> norm(torch.randn(2, 5, 4), torch.ones(2, 5, dtype=torch.bool)).shape
    torch.Size([2, 5, 4])
    """

    # batch renormalisation's limits on r and |d| (Ioffe 2017's final values)
    R_MAX, D_MAX = 3.0, 5.0

    def __init__(
        self, channels, *, momentum=0.1, eps=1e-5, renorm=False, renorm_warmup=100
    ):
        super().__init__()
        self.momentum, self.eps = momentum, eps
        self.renorm, self.renorm_warmup = renorm, renorm_warmup
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))
        # training batches seen: a plain count, so the warm-up test reads no
        # device memory (not saved: a loaded model starts anew)
        self.batches_seen = 0

    def forward(self, x, mask):
        if not self.training:
            mean, var = self.running_mean.to(x.dtype), self.running_var.to(x.dtype)
            return (x - mean) * torch.rsqrt(var + self.eps) * self.weight + self.bias
        real = mask.unsqueeze(-1).to(x.dtype)  # [b, t, 1]
        n = real.sum().clamp(min=1)
        mean = (x * real).sum((0, 1)) / n  # [d]
        var = ((x - mean) ** 2 * real).sum((0, 1)) / n
        std = torch.sqrt(var + self.eps)
        x_hat = (x - mean) / std
        if self.renorm and self.batches_seen >= self.renorm_warmup:
            with torch.no_grad():
                running_std = torch.sqrt(self.running_var.to(x.dtype) + self.eps)
                r = (std / running_std).clamp(1 / self.R_MAX, self.R_MAX)
                d = (mean - self.running_mean.to(x.dtype)) / running_std
                d = d.clamp(-self.D_MAX, self.D_MAX)
            x_hat = x_hat * r + d
        with torch.no_grad():
            unbiased = var * n / (n - 1).clamp(min=1)
            self.running_mean.lerp_(mean.to(self.running_mean.dtype), self.momentum)
            self.running_var.lerp_(unbiased.to(self.running_var.dtype), self.momentum)
            self.batches_seen += 1
        return x_hat * self.weight + self.bias


class Differences(nn.Module):
    """Each channel's differences between neighbouring steps as channels.

    Appends ``x[t] - x[t-1]`` of every channel (with ``order=2`` also the
    differences of those), standardised by :class:`MaskedBatchNorm`
    (running averages at evaluation). The slope of a smooth series is small
    next to its level, and the input's standardisation leaves it small; as
    channels of their own, slopes and curvature reach the network at the
    scale of the values (the first-order difference series of MultiRocket,
    Tan et al. 2022; the derivative distances of Górecki and Łuczak 2013).
    A difference needs two real steps: it is 0 at a sequence's first step
    (first two for the second order), and padding changes nothing.

    Parameters
    ----------
    channels : int
        Channels ``c`` of the input.
    order : {1, 2}, default=1
        The highest order of differences appended.
    eps : float, default=1e-10
        Added to the variance of the appended channels (small: slopes of
        smooth standardised series have variances far below
        :class:`MaskedBatchNorm`'s usual 1e-5).
    renorm : bool, default=False
        Batch renormalisation of the appended channels (see
        :class:`MaskedBatchNorm`).

    Notes
    -----
    ``forward(x [b, t, c], mask [b, t])`` returns ``[b, t, (1 + order) c]``,
    zero on padded steps.

    Examples
    --------
    >>> import torch
    >>> differences = Differences(2)
    >>> differences(torch.randn(4, 5, 2), torch.ones(4, 5, dtype=torch.bool)).shape
    torch.Size([4, 5, 4])
    """

    def __init__(self, channels, order=1, *, eps=1e-10, renorm=False):
        super().__init__()
        if order not in (1, 2):
            raise ValueError(f"order must be 1 or 2, got {order!r}")
        self.order = order
        self.norm = MaskedBatchNorm(order * channels, eps=eps, renorm=renorm)
        self.output_size = (1 + order) * channels

    def forward(self, x, mask):
        real = mask.unsqueeze(-1)  # [b, t, 1]
        x = x.masked_fill(~real, 0.0)  # padding may hold NaN
        diffs, values, valid = [], x, real
        for _ in range(self.order):
            # a difference is real where its step and the one before are
            valid = torch.cat(
                [torch.zeros_like(valid[:, :1]), valid[:, 1:] & valid[:, :-1]], 1
            )
            step = values[:, 1:] - values[:, :-1]
            values = torch.cat([torch.zeros_like(values[:, :1]), step], 1)
            values = values.masked_fill(~valid, 0.0)
            diffs.append(values)
        diffs = self.norm(torch.cat(diffs, -1), mask)
        return torch.cat([x, diffs], -1) * real.to(x.dtype)


class SeriesNorm(nn.Module):
    """Each sequence's own level and scale, per channel, as extra channels.

    For every channel, the mean and the log standard deviation over the
    sequence's real steps are appended as ``2 c`` channels, constant along
    the sequence and standardised by :class:`MaskedBatchNorm` (running
    averages at evaluation). The network then sees the level and the scale
    of each series apart from its shape: series whose amplitudes differ by
    orders of magnitude (appliance currents, amounts, counts) stay apart
    after the input's standardisation over the whole training set, which
    squeezes all small ones together. Statistics use the real steps only,
    so padding changes nothing.

    Parameters
    ----------
    channels : int
        Channels ``c`` of the input.
    mode : {"stats", "instance"}, default="stats"
        ``"stats"`` keeps the values as they come; ``"instance"`` also
        standardises each sequence with its own mean and standard deviation
        per channel (instance normalisation), so the values carry the shape
        only and the appended channels the level and scale.
    eps : float, default=1e-12
        Added to the variance (a constant sequence has a finite log
        standard deviation and is only centred).
    renorm : bool, default=False
        Batch renormalisation of the appended channels (see
        :class:`MaskedBatchNorm`).

    Notes
    -----
    ``forward(x [b, t, c], mask [b, t])`` returns ``[b, t, 3 c]``, zero on
    padded steps.

    Examples
    --------
    >>> import torch
    >>> norm = SeriesNorm(2)
    >>> norm(torch.randn(4, 5, 2), torch.ones(4, 5, dtype=torch.bool)).shape
    torch.Size([4, 5, 6])
    """

    def __init__(self, channels, *, mode="stats", eps=1e-12, renorm=False):
        super().__init__()
        if mode not in ("stats", "instance"):
            raise ValueError(f"mode must be 'stats' or 'instance', got {mode!r}")
        self.mode, self.eps = mode, eps
        self.norm = MaskedBatchNorm(2 * channels, renorm=renorm)
        self.output_size = 3 * channels

    def forward(self, x, mask):
        real = mask.unsqueeze(-1).to(x.dtype)  # [b, t, 1]
        mean, var = sequence_moments(x, mask)  # [b, 1, c] each
        std = torch.sqrt(var + self.eps)
        stats = torch.cat([mean, torch.log(std)], dim=-1)  # [b, 1, 2c]
        stats = self.norm(stats.expand(-1, x.shape[1], -1), mask)
        if self.mode == "instance":
            x = (x - mean) / std
        return torch.cat([x, stats], dim=-1) * real


class MultiScaleConv(nn.Module):
    """Convolutions of several widths side by side, their channels joined.

    Branch ``j`` (from 0) has a kernel of ``(kernel_size - 1) * 2 ** j + 1``
    taps, so it sees a window about ``2 ** j`` times as wide as branch 0's,
    as an InceptionTime module's kernels of 10, 20 and 40 steps do (Ismail
    Fawaz et al., "InceptionTime: Finding AlexNet for time series
    classification", 2020). Every branch has the same stride and is padded to
    keep output step ``j`` centred on input step ``j * stride``, so the
    branches' outputs line up step by step; the ``out_channels`` are shared
    out between them (the first takes what does not divide).

    Parameters
    ----------
    in_channels : int
        Channels of the input.
    out_channels : int
        Channels of the output, all branches together.
    kernel_size : int
        Branch 0's width, odd.
    stride : int, default=1
        Every branch's stride.
    dilation : int, default=1
        Every branch's dilation.
    scales : int, default=3
        Number of branches.

    Examples
    --------
    >>> import torch
    >>> conv = MultiScaleConv(2, 8, 5, stride=2, scales=3)
    >>> [c.kernel_size[0] for c in conv.branches], conv(torch.randn(1, 2, 9)).shape
    ([5, 9, 17], torch.Size([1, 8, 5]))
    """

    def __init__(
        self, in_channels, out_channels, kernel_size, *, stride=1, dilation=1, scales=3
    ):
        super().__init__()
        if scales < 1 or scales > out_channels:
            raise ValueError(
                f"scales must be between 1 and out_channels ({out_channels}), "
                f"got {scales}"
            )
        widths = [out_channels // scales] * scales
        widths[0] += out_channels - sum(widths)
        self.branches = nn.ModuleList()
        for j, width in enumerate(widths):
            k = (kernel_size - 1) * 2**j + 1
            self.branches.append(
                nn.Conv1d(
                    in_channels,
                    width,
                    k,
                    stride=stride,
                    padding=dilation * (k // 2),
                    dilation=dilation,
                )
            )

    def forward(self, x):
        return torch.cat([branch(x) for branch in self.branches], dim=1)


class ConvStem(nn.Module):
    """Stack of ``Conv1d -> norm -> GELU`` layers with padding masks.

    Parameters
    ----------
    input_size : int
        Channels ``c`` of the input.
    channels : int
        Channels ``d`` of every layer (and of the output).
    stride : int, default=1
        Total stride ``s``, a power of two, split over the layers (kernel
        size ``2 * stride_i + 3`` per layer, so windows overlap).
    num_layers : int, default=3
        Number of convolution layers.
    norm : {"layer", "batch", None}, default="layer"
        Normalisation after each convolution. ``"layer"`` normalises each
        step over its channels, which keeps the shape of the signal but not
        its amplitude (a step and the same step scaled by 10 look alike);
        ``"batch"`` (:class:`MaskedBatchNorm`) standardises each channel
        over the real steps of the batch and keeps amplitudes; None leaves
        the convolutions' output as it is.
    dilation : int, default=1
        Dilation growth: layer ``i`` (from 0) has dilation ``dilation **
        i``, so its kernel's taps lie that many steps apart and the window
        each output step sees widens at no extra cost.
    scales : int, default=1
        Kernel widths per layer: with more than 1, each layer is a
        :class:`MultiScaleConv` whose branches see windows 1, 2, 4, ...
        times as wide as the single kernel would, the ``channels`` shared
        out between them.
    renorm : bool, default=False
        With ``norm="batch"``, batch renormalisation (see
        :class:`MaskedBatchNorm`).

    Notes
    -----
    ``forward(x [b, t, c], mask [b, t])`` returns ``(y [b, ceil(t/s), d],
    mask [b, ceil(t/s)])``; ``upsample(weights [b, h, t'], mask [b, t])``
    spreads per-output-step weights back over the input steps.

    Examples
    --------
    >>> import torch
    >>> from skattn.modules import ConvStem
    >>> stem = ConvStem(3, 8, stride=2, num_layers=2)
    >>> y, mask = stem(torch.randn(1, 10, 3), torch.ones(1, 10, dtype=torch.bool))
    >>> y.shape, mask.shape
    (torch.Size([1, 5, 8]), torch.Size([1, 5]))
    """

    def __init__(
        self,
        input_size,
        channels,
        *,
        stride=1,
        num_layers=3,
        norm="layer",
        dilation=1,
        scales=1,
        renorm=False,
    ):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be at least 1, got {num_layers}")
        if dilation < 1:
            raise ValueError(f"dilation must be at least 1, got {dilation}")
        if norm not in STEM_NORMS:
            raise ValueError(f"norm must be one of {STEM_NORMS}, got {norm!r}")
        self.norm = norm
        self.strides = stem_strides(int(stride), num_layers)
        self.stride = int(stride)
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        size = input_size
        for i, s in enumerate(self.strides):
            k, d = 2 * s + 3, dilation**i
            # a padding of d * (k // 2) keeps output step j centred on j * s
            if scales == 1:
                conv = nn.Conv1d(
                    size, channels, k, stride=s, padding=d * (k // 2), dilation=d
                )
            else:
                conv = MultiScaleConv(
                    size, channels, k, stride=s, dilation=d, scales=scales
                )
            self.convs.append(conv)
            if norm == "layer":
                self.norms.append(nn.LayerNorm(channels))
            elif norm == "batch":
                self.norms.append(MaskedBatchNorm(channels, renorm=renorm))
            else:
                self.norms.append(nn.Identity())
            size = channels
        self.activation = nn.GELU()
        self.output_size = channels

    def output_mask(self, mask):
        """Compute the mask of the stem's output from the input mask.

        Parameters
        ----------
        mask : bool Tensor of shape ``[b, t]``
            True on the real input steps.

        Returns
        -------
        output_mask : bool Tensor of shape ``[b, ceil(t/s)]``
            True on the output steps that cover a real input step.
        """
        lengths = mask.sum(1)
        t = mask.shape[1]
        for s in self.strides:
            lengths = torch.div(lengths + s - 1, s, rounding_mode="floor")
            t = (t + s - 1) // s
        return lengths_to_mask(lengths, t)

    def forward(self, x, mask):
        lengths = mask.sum(1)  # [b]
        padding = ~mask.unsqueeze(-1)  # [b, t, 1]
        x = x.masked_fill(padding, 0.0).transpose(1, 2)  # [b, c, t]
        for conv, norm, s in zip(self.convs, self.norms, self.strides, strict=True):
            x = conv(x)  # [b, d, t_i]
            if s > 1:  # (a stride of 1 keeps the length and the mask)
                lengths = torch.div(lengths + s - 1, s, rounding_mode="floor")
                mask = lengths_to_mask(lengths, x.shape[-1])
                padding = ~mask.unsqueeze(-1)
            # [b, d, t_i] -> [b, t_i, d] for the norm
            x = x.transpose(1, 2)
            x = self.activation(norm(x, mask) if self.norm == "batch" else norm(x))
            x = x.masked_fill(padding, 0.0).transpose(1, 2)
        return x.transpose(1, 2), mask  # [b, t', d], [b, t']

    def upsample(self, weights, mask):
        """Spread ``weights [b, h, t']`` over the input steps ``[b, h, t]``.

        Each output step's weight is shared equally by the real input steps
        it stands for (steps ``j*s .. j*s + s - 1``), so rows still sum to 1
        over the real steps and padding gets 0.

        Parameters
        ----------
        weights : Tensor of shape ``[b, h, t']``
            Attention weights over the stem's output steps.
        mask : bool Tensor of shape ``[b, t]``
            True on the real input steps.

        Returns
        -------
        input_weights : Tensor of shape ``[b, h, t]``
            The weights over the input steps.
        """
        if self.stride == 1:
            return weights
        s, t = self.stride, mask.shape[1]
        lengths = mask.sum(1)  # [b]
        starts = torch.arange(weights.shape[-1], device=mask.device) * s  # [t']
        # real input steps per output step: [b, t']
        counts = (lengths[:, None] - starts).clamp(0, s).to(weights.dtype)
        shared = weights / counts.clamp(min=1).unsqueeze(1)  # [b, h, t']
        # [b, h, t', 1] -> [b, h, t', s] -> [b, h, t' * s] -> [b, h, t]; a
        # broadcast rather than repeat_interleave, whose ONNX export fixes t'
        ones = torch.ones(s, dtype=weights.dtype, device=weights.device)
        spread = (shared.unsqueeze(-1) * ones).flatten(2)
        return spread[..., :t] * mask.unsqueeze(1).to(weights.dtype)
