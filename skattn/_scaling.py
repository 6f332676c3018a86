"""Input standardisation: statistics fitted once, applied at every call.

``fit`` learns each channel's mean and standard deviation over the real
timesteps (:func:`fit_input_scaling`); training and prediction both read
the network's input through :func:`standardised_tensors`.
"""

import numpy as np
import torch

from ._stats import is_finite_vector, mean_std

__all__ = [
    "check_input_scaling",
    "fit_input_scaling",
    "median_length",
    "resolve_differences",
    "resolve_series_norm",
    "sequence_smoothness",
    "sequence_stds",
    "standardised_tensors",
]

# series_norm="auto" standardises each sequence when, in some channel, the
# sequences' standard deviations spread over more than this factor from the
# 10th to the 90th percentile (an order of magnitude).
SERIES_SPREAD = 10.0


# differences="auto" appends first and second differences when the training
# series are smooth: the median, over sequences and channels, of the
# standard deviation of the steps' differences over that of the values is
# below this (a sine of period 42 steps or longer; on the development suite
# the smooth sets measure 0.06 to 0.09, the others 0.23 and more).
SMOOTH_RATIO = 0.15


def fit_input_scaling(seqs, keep):
    """Per-channel ``(mean, std)`` over the real steps of the samples ``keep``.

    Parameters
    ----------
    seqs : skattn.data._Sequences
    keep : ndarray of int
        Indices of the samples that train (those of nonzero weight).

    Returns
    -------
    loc, scale : ndarray of shape (n_channels,), float64
    """
    values, mask = seqs.values, seqs.mask
    if len(keep) < len(mask):
        values, mask = values[keep], mask[keep]
    steps = values[mask]  # [n_real_steps, C]
    loc, scale = mean_std(steps, axis=0)
    # Constant channels (up to rounding) are centred, not divided. The
    # threshold is relative only, so data on a tiny scale (1e-30) is still
    # standardised instead of being mistaken for constant.
    scale[~(scale > 1e-12 * np.abs(loc))] = 1.0
    return loc, scale


def check_input_scaling(loc, scale, n_channels):
    """Fitted statistics read from a file must be ``n_channels`` finite values."""
    if not (
        is_finite_vector(loc, n_channels)
        and is_finite_vector(scale, n_channels, positive=True)
    ):
        raise ValueError(f"the input standardisation is not {n_channels} finite values")


def standardised_tensors(seqs, loc, scale, dtype, *, in_place=False):
    """Standardised values (zeros on padding) and lengths as tensors.

    ``loc`` and ``scale`` are None for token ids, which are not scaled.
    ``in_place`` overwrites ``seqs.values`` instead of copying them (for
    values that nothing else reads: a block of data read from disk).
    """
    # one float64 copy, then in place: memory per chunk stays small
    if in_place:
        values = seqs.values
        if loc is not None:
            values -= loc
            values /= scale
    elif loc is not None:
        values = seqs.values - loc
        values /= scale
    else:
        values = seqs.values.copy()
    values[~seqs.mask] = 0.0
    values = torch.from_numpy(np.ascontiguousarray(values, dtype=dtype))
    if dtype == np.float32 and not bool(torch.isfinite(values).all()):
        raise ValueError(
            "after standardisation X holds values beyond the float32 range; "
            "rescale the input"
        )
    return values, torch.from_numpy(seqs.lengths.astype(np.int64))


def sequence_stds(values, lengths, loc, scale):
    """Standard deviation of each sequence's real steps, per channel, in
    units of the input standardisation ``(loc, scale)``.

    Parameters
    ----------
    values : ndarray of shape (n, T, C)
        Right-padded values (anything on padding).
    lengths : ndarray of shape (n,)
        Real steps per sequence.
    loc, scale : ndarray of shape (C,)
        The input standardisation (:func:`fit_input_scaling`).

    Returns
    -------
    stds : ndarray of shape (n, C), float64
        NaN for sequences of fewer than two steps (no spread to measure).
    """
    out = np.full(values.shape[::2], np.nan)
    for rows, part, length, real in _chunks(values, lengths):
        var = _masked_var((part - loc) / scale, real, length)
        out[rows] = np.where(length[:, None] > 1, np.sqrt(var), np.nan)
    return out


def _chunks(values, lengths):
    """``(rows, float64 values, lengths, mask [n, T, 1])`` of ``values`` in
    chunks of about a million values."""
    n, t, c = values.shape
    size = max(1, 2**20 // max(t * c, 1))
    for start in range(0, n, size):
        rows = slice(start, start + size)
        length = np.asarray(lengths[rows])
        real = (np.arange(t) < length[:, None])[..., None]
        yield rows, np.asarray(values[rows], np.float64), length, real


def _masked_var(x, real, count):
    """Population variance of ``x [n, T, C]`` over the steps where ``real``
    (``count [n]`` of them) per sequence and channel."""
    count = np.maximum(count, 1)[:, None]
    mean = np.where(real, x, 0.0).sum(1) / count
    return np.where(real, (x - mean[:, None]) ** 2, 0.0).sum(1) / count


def sequence_smoothness(values, lengths):
    """How much each sequence moves from one step to the next, per channel:
    the standard deviation of its first differences over that of its values.

    Parameters
    ----------
    values : ndarray of shape (n, T, C)
        Right-padded values (anything on padding).
    lengths : ndarray of shape (n,)
        Real steps per sequence.

    Returns
    -------
    ratios : ndarray of shape (n, C), float64
        NaN for sequences of fewer than three steps or constant ones.
    """
    out = np.full(values.shape[::2], np.nan)
    for rows, part, length, real in _chunks(values, lengths):
        part = np.where(real, part, 0.0)  # padding may hold NaN
        var = _masked_var(part, real, length)
        moved = real[:, 1:] & real[:, :-1]  # a step between two real ones
        step_var = _masked_var(np.diff(part, axis=1), moved, length - 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.sqrt(step_var / var)
        usable = (length[:, None] > 2) & (var > 0)
        out[rows] = np.where(usable, ratio, np.nan)
    return out


def resolve_differences(differences, ratios, numeric):
    """The ``differences`` the network gets: ``"auto"`` becomes 2 when the
    median of the training sequences' :func:`sequence_smoothness` is below
    :data:`SMOOTH_RATIO`, else 0.

    Parameters
    ----------
    differences : {"auto", 0, 1, 2}
    ratios : ndarray of shape (n, C)
        :func:`sequence_smoothness` of the training sequences.
    numeric : bool
        False for token ids or categorical input, where "auto" means 0.
    """
    if differences != "auto":
        return differences
    ratios = ratios[~np.isnan(ratios)]
    if not numeric or not len(ratios):
        return 0
    return 2 if np.median(ratios) < SMOOTH_RATIO else 0


def resolve_series_norm(series_norm, stds, numeric):
    """The ``series_norm`` the network gets: ``"auto"`` becomes
    ``"instance"`` when the sequences' scales spread over more than
    :data:`SERIES_SPREAD` in some channel, else None.

    Parameters
    ----------
    series_norm : {"auto", "stats", "instance"} or None
    stds : ndarray of shape (n, C)
        :func:`sequence_stds` of the training sequences.
    numeric : bool
        False for token ids or categorical input, where "auto" means None.
    """
    if series_norm != "auto":
        return series_norm
    stds = stds[~np.isnan(stds).any(axis=1)]
    if not numeric or not len(stds):
        return None
    low, high = np.percentile(stds, [10, 90], axis=0)
    spread = (high > SERIES_SPREAD * low) & (high > 0)
    return "instance" if spread.any() else None


def median_length(lengths):
    """The median length of the training sequences, which ``conv_stem="auto"``
    picks its stride from (half of them are at least this long)."""
    return int(np.median(lengths)) if len(lengths) else 0
