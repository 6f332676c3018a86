"""The convolutional stem module (``skattn/modules/stem.py``): strides,
padding masks, and attention weights spread back to input resolution."""

import numpy as np
import pytest
import torch

from skattn.modules.stem import (
    ConvStem,
    Differences,
    MaskedBatchNorm,
    MultiScaleConv,
    SeriesNorm,
    auto_stem_stride,
    stem_strides,
)


@pytest.mark.parametrize(
    "length, stride",
    [
        (10, 1),
        (127, 1),
        (128, 2),
        (255, 2),
        (256, 4),
        (361, 4),
        (4096, 64),
        (8192, 128),
    ],
)
def test_auto_stride_leaves_at_least_64_steps(length, stride):
    assert auto_stem_stride(length) == stride
    assert length / stride >= 64 or stride == 1


@pytest.mark.parametrize(
    "stride, layers, expected",
    [
        (1, 3, (1, 1, 1)),
        (2, 3, (2, 1, 1)),
        (4, 3, (2, 2, 1)),
        (8, 3, (2, 2, 2)),
        (64, 3, (4, 4, 4)),
        (128, 3, (8, 4, 4)),
    ],
)
def test_strides_split_over_layers(stride, layers, expected):
    assert stem_strides(stride, layers) == expected
    assert np.prod(expected) == stride


def test_stride_must_be_a_power_of_two():
    with pytest.raises(ValueError, match="power of two"):
        stem_strides(6, 3)


def _padded(lengths, t, c, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(len(lengths), t, c, generator=g)
    mask = torch.arange(t) < torch.tensor(lengths)[:, None]
    return x, mask


@pytest.mark.parametrize("dilation, scales", [(1, 1), (2, 1), (1, 3), (2, 2)])
@pytest.mark.parametrize("norm", ["layer", "batch", None])
@pytest.mark.parametrize("stride", [1, 2, 4, 8])
def test_stem_keeps_ceil_length_and_ignores_padding(stride, norm, dilation, scales):
    torch.manual_seed(0)
    stem = ConvStem(3, 8, stride=stride, norm=norm, dilation=dilation, scales=scales)
    if norm == "batch":  # running statistics other than the initial 0 and 1
        stem(*_padded([37, 20, 5, 1], 37, 3, seed=1))
    stem.eval()
    lengths = [37, 20, 5, 1]
    x, mask = _padded(lengths, 37, 3)
    garbage = x.masked_fill(mask.unsqueeze(-1), 0.0) * 1e3
    y, out_mask = stem(x + garbage, mask)  # padding holds large values
    assert out_mask.sum(1).tolist() == [-(-n // stride) for n in lengths]
    assert torch.equal(out_mask, stem.output_mask(mask))
    for i, n in enumerate(lengths):
        alone, alone_mask = stem(x[i : i + 1, :n], mask[i : i + 1, :n])
        k = alone.shape[1]
        assert alone_mask.all() and k == -(-n // stride)
        torch.testing.assert_close(y[i, :k], alone[0], rtol=1e-5, atol=1e-5)
        assert (y[i, k:] == 0).all()


@pytest.mark.parametrize("dilation, window", [(1, 13), (2, 29), (3, 53)])
def test_dilation_widens_the_window_each_output_step_sees(dilation, window):
    """At a stride of 1, three kernels of 5 taps dilated ``dilation ** i``
    see ``1 + 4 * (1 + dilation + dilation**2)`` input steps: a change at
    step 50 reaches exactly the outputs within half that window."""
    torch.manual_seed(0)
    stem = ConvStem(1, 4, dilation=dilation).eval()
    assert [conv.dilation[0] for conv in stem.convs] == [1, dilation, dilation**2]
    x, mask = _padded([101], 101, 1)
    bumped = x.clone()
    bumped[0, 50] += 1.0
    changed = (stem(bumped, mask)[0] - stem(x, mask)[0]).abs().amax(-1)[0] > 0
    reach = window // 2
    assert changed.nonzero().flatten().tolist() == list(range(50 - reach, 51 + reach))


@pytest.mark.parametrize("scales, window", [(1, 13), (2, 25), (3, 49)])
def test_scales_widen_the_window_each_output_step_sees(scales, window):
    """At a stride of 1, the widest of ``scales`` branches has ``4 * 2 **
    (scales - 1) + 1`` taps in each of three layers, which see ``1 + 12 * 2
    ** (scales - 1)`` input steps together: a change at step 60 reaches
    exactly the outputs within half that window."""
    torch.manual_seed(0)
    stem = ConvStem(1, 6, scales=scales).eval()
    x, mask = _padded([121], 121, 1)
    bumped = x.clone()
    bumped[0, 60] += 1.0
    changed = (stem(bumped, mask)[0] - stem(x, mask)[0]).abs().amax(-1)[0] > 0
    reach = window // 2
    assert changed.nonzero().flatten().tolist() == list(range(60 - reach, 61 + reach))


def test_multi_scale_branches_share_the_channels():
    conv = MultiScaleConv(2, 8, 5, stride=2, scales=3)
    assert [c.out_channels for c in conv.branches] == [4, 2, 2]
    assert [c.kernel_size[0] for c in conv.branches] == [5, 9, 17]
    assert conv(torch.randn(3, 2, 11)).shape == (3, 8, 6)
    with pytest.raises(ValueError, match="scales must be between 1 and"):
        MultiScaleConv(2, 2, 5, scales=3)


def test_dilation_must_be_positive():
    with pytest.raises(ValueError, match="dilation must be at least 1"):
        ConvStem(1, 4, dilation=0)


def test_upsample_spreads_weights_over_real_steps():
    stem = ConvStem(1, 4, stride=4)
    lengths = [13, 4, 1]
    _, mask = _padded(lengths, 13, 1)
    out_mask = stem.output_mask(mask)  # [3, 4]
    scores = torch.randn(3, 2, out_mask.shape[1]).masked_fill(
        ~out_mask.unsqueeze(1), float("-inf")
    )
    weights = torch.softmax(scores, -1)
    spread = stem.upsample(weights, mask)
    assert spread.shape == (3, 2, 13)
    torch.testing.assert_close(spread.sum(-1), torch.ones(3, 2))
    assert (spread.masked_select(~mask.unsqueeze(1).expand_as(spread)) == 0).all()
    # the last block of the 13-step sequence stands for one step only
    torch.testing.assert_close(spread[0, :, 12], weights[0, :, 3])
    torch.testing.assert_close(spread[0, :, 0], weights[0, :, 0] / 4)


def test_layer_norm_drops_amplitude_batch_norm_keeps_it():
    """A step scaled by 10 looks the same after a per-step LayerNorm (up to
    the convolutions' bias); after batch statistics it stays 10 times as
    far from the mean."""
    torch.manual_seed(0)
    x, mask = _padded([16, 16], 16, 1)
    x[1] = 10 * x[0]
    for norm, same in (("layer", True), ("batch", False)):
        stem = ConvStem(1, 8, num_layers=1, norm=norm)
        torch.nn.init.zeros_(stem.convs[0].bias)
        y, _ = stem(x, mask)
        assert torch.allclose(y[0], y[1], atol=1e-3) is same


def test_masked_batch_norm_uses_real_steps_only():
    torch.manual_seed(0)
    norm = MaskedBatchNorm(3, momentum=1.0)
    x, mask = _padded([7, 3], 7, 3)
    x = x + 1e3 * (~mask).unsqueeze(-1)  # padding far off: must not count
    y = norm(x, mask)
    real = x[mask]  # [10, 3]
    torch.testing.assert_close(norm.running_mean, real.mean(0))
    torch.testing.assert_close(norm.running_var, real.var(0, unbiased=True))
    torch.testing.assert_close(y[mask].mean(0), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(
        y[mask].var(0, unbiased=False), torch.ones(3), atol=1e-3, rtol=0
    )
    norm.eval()  # evaluation: the running statistics, whatever the batch
    alone = norm(x[1:, :3], mask[1:, :3])
    torch.testing.assert_close(norm(x, mask)[1, :3], alone[0])


def test_batch_renorm_trains_as_prediction_normalises_within_its_limits():
    torch.manual_seed(0)
    x, mask = _padded([8, 8, 8], 8, 2)
    x = x * 2 + 1
    plain = MaskedBatchNorm(2)
    renorm = MaskedBatchNorm(2, renorm=True, renorm_warmup=3)
    for _ in range(3):  # the warm-up: both normalise by the batch alone
        torch.testing.assert_close(renorm(x, mask), plain(x, mask))
    assert int(renorm.batches_seen) == 3
    # a batch unlike the others (shifted by 1.5 running standard deviations)
    shifted = x + 1.5 * renorm.running_var.sqrt()
    expected = renorm.eval()(shifted, mask)  # as prediction normalises it
    before = (renorm.running_mean.clone(), renorm.running_var.clone())
    out = renorm.train()(shifted, mask)
    # the correction used the statistics from before this batch
    renorm.running_mean, renorm.running_var = before
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(plain(shifted, mask), expected, atol=1e-2)
    # the gradient reaches the input through the batch's statistics
    leaf = shifted.clone().requires_grad_()
    renorm(leaf, mask).square().sum().backward()
    assert torch.isfinite(leaf.grad).all() and leaf.grad.abs().sum() > 0


def test_batch_renorm_clips_its_correction():
    x, mask = _padded([8, 8], 8, 1)
    norm = MaskedBatchNorm(1, renorm=True, renorm_warmup=0)  # running: 0 and 1
    far = torch.full_like(x, 100.0) + 3 * torch.arange(8.0)[None, :, None]
    out = norm(far, mask)
    # mean 110.5 and standard deviation 6.9 against the running 0 and 1:
    # d is clipped at 5 and r at 3
    own = (far - far.mean()) / far.std(unbiased=False)
    torch.testing.assert_close(out, own * 3.0 + 5.0, atol=1e-4, rtol=1e-4)


def test_stem_norm_must_be_known():
    with pytest.raises(ValueError, match="norm must be one of"):
        ConvStem(1, 4, norm="instance")


# Differences --------------------------------------------------------------------


@pytest.mark.parametrize("order", [1, 2])
def test_differences_append_the_steps_differences_of_the_real_steps(order):
    x, mask = _padded([6, 3], 6, 2)
    x = x.double().masked_fill(~mask.unsqueeze(-1), float("nan"))  # NaN padding
    differences = Differences(2, order).double().eval()  # running stats 0 and 1
    y = differences(x, mask)
    assert y.shape == (2, 6, 2 + 2 * order) and differences.output_size == 2 + 2 * order
    scale = (1 + differences.norm.eps) ** -0.5
    for i, n in enumerate((6, 3)):
        real = x[i, :n]
        first = torch.cat([torch.zeros(1, 2, dtype=real.dtype), real.diff(dim=0)])
        torch.testing.assert_close(y[i, :n, :2], real)
        torch.testing.assert_close(y[i, :n, 2:4], first * scale)
        if order == 2:
            second = torch.cat(
                [torch.zeros(2, 2, dtype=real.dtype), real.diff(2, dim=0)]
            )
            torch.testing.assert_close(y[i, :n, 4:], second * scale)
        assert (y[i, n:] == 0).all()  # padding: zero, never NaN


def test_differences_standardise_with_the_training_batch():
    """In training the appended channels have mean 0 and variance 1 over
    the real steps of the batch, however small the slopes are."""
    x, mask = _padded([20, 12, 7], 20, 1)
    x = 1e3 + 1e-3 * x.double().cumsum(1)  # a large level, small slopes
    differences = Differences(1).double().train()
    y = differences(x, mask)[..., 1][mask]
    slopes = torch.cat([torch.zeros(3, 1, 1).double(), x.diff(dim=1)], 1)
    slopes = slopes.masked_fill(~(mask & mask.roll(1, 1)).unsqueeze(-1), 0)[mask]
    var = slopes.var(unbiased=False)  # about 1e-6
    zero = torch.tensor(0.0).double()
    torch.testing.assert_close(y.mean(), zero, atol=1e-9, rtol=0)
    expected = var / (var + differences.norm.eps)  # 1 - 1e-4 (1e-5: 0.09)
    torch.testing.assert_close(y.var(unbiased=False), expected, rtol=1e-9, atol=0)


def test_differences_order_must_be_1_or_2():
    with pytest.raises(ValueError, match="order must be 1 or 2"):
        Differences(1, 3)


# SeriesNorm ---------------------------------------------------------------------


def test_series_norm_appends_each_sequences_level_and_scale():
    torch.manual_seed(0)
    x, mask = _padded([6, 3], 6, 2)
    x = x * torch.tensor([1.0, 100.0]) + torch.tensor([5.0, -2.0])
    x = x + 1e3 * (~mask).unsqueeze(-1)  # padding far off: must not count
    norm = SeriesNorm(2, mode="instance").eval()  # running stats 0 and 1
    y = norm(x, mask)
    assert y.shape == (2, 6, 6)
    for i, n in enumerate((6, 3)):
        real = x[i, :n]
        mean, std = real.mean(0), real.std(0, unbiased=False)
        torch.testing.assert_close(y[i, :n, :2], (real - mean) / std)
        stats = torch.cat([mean, std.log()]) / (1 + norm.norm.eps) ** 0.5
        torch.testing.assert_close(y[i, :n, 2:], stats.expand(n, 4))
        assert (y[i, n:] == 0).all()
    stats_only = SeriesNorm(2, mode="stats").eval()
    torch.testing.assert_close(stats_only(x, mask)[mask][:, :2], x[mask])


def test_series_norm_keeps_series_of_different_scales_apart():
    """The same shape at 1e-3 and at 1: identical values after instance
    normalisation, a log standard deviation log(1000) apart."""
    shape = torch.sin(torch.linspace(0, 6, 20)).reshape(1, 20, 1)
    x = torch.cat([1e-3 * shape, shape]).double()
    mask = torch.ones(2, 20, dtype=torch.bool)
    norm = SeriesNorm(1, mode="instance").double().eval()
    y = norm(x, mask)
    # eps (1e-12) against the small series' variance (5e-7): 1e-6 relative
    torch.testing.assert_close(y[0, :, 0], y[1, :, 0], rtol=0, atol=1e-5)
    gap = (y[1, 0, 2] - y[0, 0, 2]) * (1 + norm.norm.eps) ** 0.5
    expected = torch.tensor(np.log(1e3), dtype=torch.float64)
    torch.testing.assert_close(gap, expected, rtol=1e-5, atol=0)


def test_series_norm_of_a_constant_sequence_is_finite():
    x = torch.full((1, 5, 1), 3.0)
    y = SeriesNorm(1, mode="instance").eval()(x, torch.ones(1, 5, dtype=torch.bool))
    assert torch.isfinite(y).all()
    assert (y[..., 0] == 0).all()  # centred, not divided by ~0


def test_series_norm_mode_must_be_known():
    with pytest.raises(ValueError, match="mode must be"):
        SeriesNorm(1, mode="batch")
