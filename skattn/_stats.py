"""Statistics that stay finite for every finite float64 input."""

import warnings

import numpy as np


def mean_std(values, axis=0):
    """Mean and standard deviation along ``axis``, ignoring NaN.

    The values are divided by their largest magnitude first, so that squares
    cannot overflow: data around 1e200 (whose squares exceed the float64
    range) or 1e-200 (whose squares underflow to 0) get their true mean and
    standard deviation instead of inf or 0.

    Examples
    --------
    >>> import numpy as np
    >>> from skattn._stats import mean_std
    >>> mean_std(np.array([[1e200], [3e200]]))
    (array([2.e+200]), array([1.e+200]))

    where ``np.std`` gives ``inf``.
    """
    values = np.asarray(values, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices
        peak = np.nanmax(np.abs(values), axis=axis, keepdims=True)
        peak = np.where((peak > 0) & np.isfinite(peak), peak, 1.0)
        scaled = values / peak
        mean = np.nanmean(scaled, axis=axis, keepdims=True) * peak
        std = np.nanstd(scaled, axis=axis, keepdims=True) * peak
    return np.squeeze(mean, axis=axis), np.squeeze(std, axis=axis)


def is_finite_vector(value, size, positive=False):
    """Whether ``value`` is a float vector of ``size`` finite values (all > 0
    with ``positive``): the form of fitted statistics read from a file."""
    return (
        isinstance(value, np.ndarray)
        and value.dtype.kind == "f"
        and value.shape == (size,)
        and bool(np.isfinite(value).all())
        and (not positive or bool((value > 0).all()))
    )
