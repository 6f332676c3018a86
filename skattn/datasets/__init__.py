"""Small real sequence data sets bundled with skattn.

Each loader returns the archive's own train/test split. Sequences are
float32 arrays ``(n_samples, n_timesteps, n_channels)``; where lengths differ
they are right-padded with NaN (skattn's padding convention). Class labels
are strings; regression targets float64.

Sources:

- GunPoint, PickupGestureWiimoteZ: the UCR time series archive. H. A. Dau et
  al., "The UCR Time Series Archive", IEEE/CAA Journal of Automatica Sinica
  6(6), 2019.
- BasicMotions: the UEA multivariate archive. A. Bagnall et al., "The UEA
  multivariate time series classification archive, 2018", arXiv:1811.00075.
- Covid3Month: the Monash time series extrinsic regression archive. C. W.
  Tan, C. Bergmeir, F. Petitjean, G. I. Webb, "Time series extrinsic
  regression", Data Mining and Knowledge Discovery 35, 2021.
"""

from importlib import resources

import numpy as np
from sklearn.utils import Bunch

from .._docs import fill_doc

__all__ = [
    "DATASETS",
    "load_basic_motions",
    "load_covid3month",
    "load_dataset",
    "load_gunpoint",
    "load_pickup_gesture",
]

DATASETS = {
    "GunPoint": "classification: 50 train / 150 test, length 150, 1 channel, 2 classes",
    "BasicMotions": "classification: 40 / 40, length 100, 6 channels, 4 classes",
    "PickupGestureWiimoteZ": (
        "classification: 50 / 50, unequal lengths 29 to 361, 1 channel, 10 classes"
    ),
    "Covid3Month": "regression: 140 / 61, length 84, 1 channel",
}

_CITATIONS = {
    "GunPoint": "Dau et al., The UCR Time Series Archive, 2019",
    "PickupGestureWiimoteZ": "Dau et al., The UCR Time Series Archive, 2019",
    "BasicMotions": "Bagnall et al., The UEA multivariate time series "
    "classification archive, 2018",
    "Covid3Month": "Tan et al., Time series extrinsic regression, 2021",
}


_RETURNS_DOC = """\
    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with ``X_train``, ``X_test`` (float32
        sequences), ``y_train``, ``y_test`` (targets), ``lengths_train``,
        ``lengths_test`` (int64 number of real timesteps of each sequence),
        ``description`` and ``citation`` (str). Only when ``return_X_y`` is
        False.
    (X_train, X_test, y_train, y_test) : tuple of ndarray
        The train and test sequences and targets. Only when ``return_X_y``
        is True.\
"""


@fill_doc(returns=_RETURNS_DOC)
def load_dataset(name, *, return_X_y=False):
    """Load a bundled data set by name.

    Parameters
    ----------
    name : str
        One of ``skattn.datasets.DATASETS``.
    return_X_y : bool, default=False
        Return ``(X_train, X_test, y_train, y_test)`` instead of a Bunch.

    {returns}

    Examples
    --------
    >>> from skattn.datasets import load_dataset
    >>> data = load_dataset("PickupGestureWiimoteZ")
    >>> data.X_train.shape, int(data.lengths_train.min())
    ((50, 361, 1), 29)
    """
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; choose one of {sorted(DATASETS)}")
    path = resources.files(__name__).joinpath("data", f"{name}.npz")
    with path.open("rb") as f, np.load(f, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    if return_X_y:
        return arrays["X_train"], arrays["X_test"], arrays["y_train"], arrays["y_test"]
    return Bunch(**arrays, description=DATASETS[name], citation=_CITATIONS[name])


# Parameters, Returns and See Also of each named loader
_LOADER_DOC = (
    """\
    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(X_train, X_test, y_train, y_test)`` instead of a Bunch.

"""
    + _RETURNS_DOC
    + """

    See Also
    --------
    load_dataset : Load any bundled data set by name.\
"""
)


@fill_doc(loader=_LOADER_DOC)
def load_gunpoint(*, return_X_y=False):
    """Load GunPoint (UCR): hand motion with or without a gun.

    50 train and 150 test sequences of 150 steps, 1 channel; 2 classes
    (``'1'``, ``'2'``).

    {loader}

    Examples
    --------
    >>> from skattn.datasets import load_gunpoint
    >>> X_train, X_test, y_train, y_test = load_gunpoint(return_X_y=True)
    >>> X_train.shape, X_test.shape
    ((50, 150, 1), (150, 150, 1))
    """
    return load_dataset("GunPoint", return_X_y=return_X_y)


@fill_doc(loader=_LOADER_DOC)
def load_basic_motions(*, return_X_y=False):
    """Load BasicMotions (UEA): accelerometer and gyroscope, 4 activities.

    40 train and 40 test sequences of 100 steps, 6 channels; 4 classes
    (``'badminton'``, ``'running'``, ``'standing'``, ``'walking'``).

    {loader}

    Examples
    --------
    >>> from skattn.datasets import load_basic_motions
    >>> X_train, X_test, y_train, y_test = load_basic_motions(return_X_y=True)
    >>> X_train.shape, X_test.shape
    ((40, 100, 6), (40, 100, 6))
    """
    return load_dataset("BasicMotions", return_X_y=return_X_y)


@fill_doc(loader=_LOADER_DOC)
def load_pickup_gesture(*, return_X_y=False):
    """Load PickupGestureWiimoteZ (UCR): 10 gestures of unequal lengths.

    50 train and 50 test sequences of 29 to 361 steps, right-padded with
    NaN; 1 channel, 10 classes.

    {loader}

    Examples
    --------
    >>> from skattn.datasets import load_pickup_gesture
    >>> X_train, X_test, y_train, y_test = load_pickup_gesture(return_X_y=True)
    >>> X_train.shape, X_test.shape
    ((50, 361, 1), (50, 324, 1))
    """
    return load_dataset("PickupGestureWiimoteZ", return_X_y=return_X_y)


@fill_doc(loader=_LOADER_DOC)
def load_covid3month(*, return_X_y=False):
    """Load Covid3Month (Monash TSER): a country's death rate from cases.

    A regression data set: 140 train and 61 test sequences of 84 days of
    case counts, 1 channel; the float64 target is the death rate.

    {loader}

    Examples
    --------
    >>> from skattn.datasets import load_covid3month
    >>> X_train, X_test, y_train, y_test = load_covid3month(return_X_y=True)
    >>> X_train.shape, X_test.shape
    ((140, 84, 1), (61, 84, 1))
    """
    return load_dataset("Covid3Month", return_X_y=return_X_y)
