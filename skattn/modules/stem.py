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

__all__ = ["ConvStem", "auto_stem_stride", "stem_strides"]

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


class ConvStem(nn.Module):
    """Stack of ``Conv1d -> LayerNorm -> GELU`` layers with padding masks.

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

    def __init__(self, input_size, channels, *, stride=1, num_layers=3):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be at least 1, got {num_layers}")
        self.strides = stem_strides(int(stride), num_layers)
        self.stride = int(stride)
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        size = input_size
        for s in self.strides:
            k = 2 * s + 3
            self.convs.append(nn.Conv1d(size, channels, k, stride=s, padding=k // 2))
            self.norms.append(nn.LayerNorm(channels))
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
        x = x.masked_fill(~mask.unsqueeze(-1), 0.0).transpose(1, 2)  # [b, c, t]
        for conv, norm, s in zip(self.convs, self.norms, self.strides, strict=True):
            x = conv(x)  # [b, d, t_i]
            lengths = torch.div(lengths + s - 1, s, rounding_mode="floor")
            mask = lengths_to_mask(lengths, x.shape[-1])
            # [b, d, t_i] -> [b, t_i, d] for the per-step LayerNorm
            x = self.activation(norm(x.transpose(1, 2)))
            x = x.masked_fill(~mask.unsqueeze(-1), 0.0).transpose(1, 2)
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
        spread = (shared.unsqueeze(-1) * torch.ones(s, dtype=weights.dtype)).flatten(2)
        return spread[..., :t] * mask.unsqueeze(1).to(weights.dtype)
