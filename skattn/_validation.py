"""The input contract shared by every skattn estimator and transformer.

2D input follows scikit-learn's tabular contract (``n_features_in_`` is the
number of timesteps, feature names are checked); every other format only
needs the channels seen in ``fit``. Token input has its own checks
(:func:`check_tokens`), and :func:`int_param` is the parameter constraint
for sizes and counts.
"""

from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import _num_samples, validate_data

from . import data as _data
from .exceptions import DataLayoutWarning, _warn


def validate_sequences(estimator, X, *, reset, allow_missing=False, offset=0):
    """Convert ``X`` to :class:`skattn.data._Sequences`.

    With ``reset``, record the input contract on ``estimator``
    (``n_channels_in_``, and for 2D input ``n_features_in_`` and
    ``feature_names_in_``); otherwise check ``X`` against it. ``offset``
    shifts sequence numbers in messages for inputs handled in chunks.
    """
    name = type(estimator).__name__
    _data._check_container(X)
    ndim = None
    if not (_data._is_ragged(X) or _data._is_long(X)):
        ndim = len(_data._array_shape(X))
        if ndim > 3:
            raise ValueError(
                f"X has {ndim} dimensions; expected 2D (n_samples, n_timesteps), 3D "
                "(n_samples, n_timesteps, n_channels), a list of arrays or a long "
                "DataFrame"
            )
    tabular = ndim is not None and ndim != 3
    if tabular:
        _data._check_dtypes(X)
        with _data._converting():
            X = validate_data(
                estimator,
                X,
                reset=reset,
                dtype=np.float64,
                ensure_all_finite="allow-nan",
            )
    elif reset:
        for attr in ("n_features_in_", "feature_names_in_"):
            estimator.__dict__.pop(attr, None)
    elif hasattr(estimator, "n_features_in_"):
        raise ValueError(
            f"{name} was fitted on fixed-length univariate input (a 2D array, or a "
            f"list of lists, of {estimator.n_features_in_} timesteps), so it accepts "
            "2D input of that width only. To accept sequences of any length, fit it "
            "on a 3D array or a list of arrays"
        )
    seqs = _data._check_sequences(X, allow_missing=allow_missing, offset=offset)
    if reset:
        check_layout(seqs)
        estimator.n_channels_in_ = seqs.n_channels
        estimator._channel_names = seqs.channel_names
    else:
        check_channels(estimator, seqs)
    return seqs


def check_layout(seqs):
    """Warn when ``seqs`` look channels-first: more channels than timesteps.

    An aeon/sktime array ``(n_samples, n_channels, n_timesteps)`` read as
    skattn's ``(n_samples, n_timesteps, n_channels)`` has few "timesteps"
    and many "channels", and trains without an error on nonsense. Time-major
    data with more features than steps exists too (e.g. 10 steps of 64
    features), so this is a :class:`~skattn.exceptions.DataLayoutWarning`
    that can be filtered, not an error. Only arrays and lists are checked: a
    long DataFrame's channels are its columns, and 2D input is univariate.
    """
    if seqs.layout not in ("padded", "ragged"):
        return
    n, t_max, n_channels = seqs.values.shape
    if n_channels <= t_max:
        return
    if seqs.layout == "padded":
        what = (
            f"X has shape {(n, t_max, n_channels)}, which skattn reads as {n} "
            f"sequences of {t_max} timestep{'s' if t_max > 1 else ''} with "
            f"{n_channels} channels (n_samples, n_timesteps, n_channels)"
        )
    else:
        what = (
            f"X holds sequences of at most {t_max} timestep"
            f"{'s' if t_max > 1 else ''} with {n_channels} channels, each read as "
            "(length, n_channels)"
        )
    _warn(
        f"{what}: more channels than timesteps. If X is channels-first "
        "(n_samples, n_channels, n_timesteps), as aeon and sktime store it, convert "
        "it with skattn.data.from_channels_first(X). If X does have more channels "
        "than timesteps, silence this warning with warnings.filterwarnings("
        '"ignore", category=skattn.exceptions.DataLayoutWarning)',
        DataLayoutWarning,
    )


def check_channels(estimator, seqs):
    """Channels of ``seqs`` must match those seen in ``fit``."""
    name = type(estimator).__name__
    fitted = estimator.n_channels_in_
    if seqs.n_channels != fitted:
        hint = ""
        if seqs.layout == "padded" and seqs.values.shape[1] == fitted:
            hint = (
                ". The array looks channels-first (n_samples, n_channels, "
                "n_timesteps), as aeon and sktime store it; convert it with "
                "skattn.data.from_channels_first(X)"
            )
        raise ValueError(
            f"X has {seqs.n_channels} channels, but {name} was fitted with "
            f"{fitted}{hint}"
        )
    fitted_names = getattr(estimator, "_channel_names", None)
    if seqs.channel_names is not None and fitted_names is not None:
        if list(seqs.channel_names) != list(fitted_names):
            raise ValueError(
                f"X has value columns {list(seqs.channel_names)}, but {name} was "
                f"fitted with {list(fitted_names)}"
            )


def check_long_target(y, n_rows, n_sequences, name="y"):
    """A target of a long DataFrame ``X`` needs one row per entity.

    scikit-learn counts the rows of a DataFrame as its samples, but a long
    frame has one row per timestep: a ``y`` with one row per row of ``X``
    (a label repeated on every step, or the folds of ``cross_val_score``
    cut through the rows) gets a message that says so and how to fix it.
    """
    if y is None or n_rows == n_sequences:
        return
    n_y = _num_samples(y)
    if n_y == n_rows:
        raise ValueError(
            f"{name} has {n_y} rows, one per row of the long DataFrame X, but X "
            f"holds {n_sequences} sequences (entities); {name} needs one row per "
            "entity, in the sorted order of the entity ids (or indexed by them). "
            "scikit-learn's splitters (cross_val_score, GridSearchCV, "
            "train_test_split) cut a DataFrame by rows, which splits sequences: "
            "convert X once with skattn.data.from_long(...) and cross-validate on "
            "the sequences it returns"
        )
    if n_y != n_sequences:
        raise ValueError(
            f"{name} has {n_y} rows, but the long DataFrame X holds {n_sequences} "
            f"sequences (entities, in {n_rows} rows); {name} needs one row per entity"
        )


def check_score_target(X, y):
    """:func:`check_long_target` for ``score(X, y)``, before predicting."""
    if _data._is_long(X) and y is not None:
        n_entities = X.index.get_level_values(0).nunique()
        check_long_target(y, len(X), n_entities)


def align_to_entities(y, seqs, name="y"):
    """Order a pandas ``y`` indexed by entity like long-format ``X``.

    Rows of long-format input follow the sorted entity ids. A Series or
    DataFrame ``y`` whose index holds exactly those ids is reordered to
    match; one with a default ``RangeIndex`` is taken in that order as is.
    A ``y`` (of any type) without one row per entity is an error that says
    what to do (:func:`check_long_target`).
    """
    if seqs.layout != "long":
        return y
    check_long_target(y, len(seqs.template), len(seqs.lengths), name)
    if not isinstance(y, (pd.Series, pd.DataFrame)):
        return y
    ids = seqs.ids
    index = y.index
    if not index.has_duplicates and len(index) == len(ids) and index.isin(ids).all():
        return y.loc[ids]
    if isinstance(index, pd.RangeIndex):
        return y
    raise ValueError(
        f"{name} is indexed by {index.name or 'values'} that are not the entity ids "
        f"of X ({len(ids)} entities, e.g. {list(ids[:3])}); index {name} by entity "
        "id, or pass it as an array in the sorted order of the ids"
    )


def trailing_padding_lengths(values, mask, padding_idx):
    """Lengths of token sequences without their trailing runs of
    ``padding_idx`` (0 for a sequence of padding only).

    Parameters
    ----------
    values : ndarray of shape (n, t, 1)
        Token ids.
    mask : ndarray of bool, shape (n, t)
    padding_idx : int
    """
    real = (values[..., 0] != padding_idx) & mask
    t_max = real.shape[1]
    lengths = np.where(real.any(1), t_max - np.argmax(real[:, ::-1], axis=1), 0)
    return lengths.astype(np.int64)


def check_tokens(seqs, vocab_size, padding_idx, offset=0):
    """Token input: one channel of integer ids in ``[0, vocab_size)``.

    With ``padding_idx``, trailing runs of it become padding (``seqs.lengths``
    is shortened in place); a sequence of padding only is an error.
    """
    if seqs.n_channels != 1:
        raise ValueError(
            f"token input (vocab_size={vocab_size}) must have 1 channel of "
            f"token ids, got {seqs.n_channels}"
        )
    vals = seqs.values[seqs.mask]
    bad = (vals != np.round(vals)) | (vals < 0) | (vals >= vocab_size)
    if bad.any():
        i, t = np.argwhere(seqs.mask)[np.flatnonzero(bad)[0]]
        value = seqs.values[i, t, 0]
        value = int(value) if abs(value) < 2**53 and value % 1 == 0 else value
        raise ValueError(
            f"X holds {_data._plain(value)!r} at sequence {i + offset}, timestep "
            f"{t}; token ids must be integers in [0, vocab_size={vocab_size})"
        )
    if padding_idx is not None:
        lengths = trailing_padding_lengths(seqs.values, seqs.mask, padding_idx)
        empty = np.flatnonzero(lengths == 0)
        if empty.size:
            raise ValueError(
                f"sequence {empty[0] + offset} holds only padding tokens "
                f"(padding_idx={padding_idx})"
            )
        seqs.lengths = lengths
    return seqs


class _IntInterval(Interval):
    """sklearn's ``Interval(Integral, ...)`` lets ``True`` pass as 1; torch
    does not take a bool for a size, so this one refuses it."""

    def is_satisfied_by(self, val):
        return not isinstance(val, (bool, np.bool_)) and super().is_satisfied_by(val)


def int_param(left, right=None):
    """Parameter constraint: an int (never a bool) in ``[left, right]``."""
    return _IntInterval(
        Integral, left, right, closed="left" if right is None else "both"
    )
