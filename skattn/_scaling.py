"""Input standardisation: statistics fitted once, applied at every call.

``fit`` learns each channel's mean and standard deviation over the real
timesteps (:func:`fit_input_scaling`); training and prediction both read
the network's input through :func:`standardised_tensors`.
"""

import numpy as np
import torch

from ._stats import is_finite_vector, mean_std

__all__ = ["check_input_scaling", "fit_input_scaling", "standardised_tensors"]


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
