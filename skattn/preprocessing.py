"""Sequence-aware preprocessing: scaling, imputation, resampling, truncation,
and text to token ids.

The numeric transformers accept every input format of :mod:`skattn.data`.
Statistics are computed over the real timesteps only (padding never counts),
padding stays NaN in the output, and the output keeps the input's format
(2D stays 2D, a NaN-padded 3D array stays 3D, a list stays a list of arrays
shaped like its elements, a long DataFrame stays long) unless a class says
otherwise. As for the estimators, 2D input follows scikit-learn's tabular
contract (``n_features_in_`` is its number of timesteps and may not change
after fitting); every other format only needs the fitted number of channels.

Event data (see the README) passes through: in a long DataFrame, columns of
``category``, ``object`` and string dtype, and the columns or channels named
in a transformer's ``passthrough`` parameter, come out exactly as they went
in (values, dtype, missing values), and the output keeps the input's index,
row order and column order. Entity attributes (the estimators'
``static_features``) belong in ``passthrough`` too: the estimators check and
standardise them once per entity themselves, whereas a transformer would
treat them as per-step channels (``SequenceScaler(per_sequence=True)`` would
turn each entity's constant into 0).

:class:`TokenEncoder` turns texts into the token-id sequences that the
estimators embed when given ``vocab_size``.
"""

import re
from collections import Counter
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from . import data as _data
from ._docs import fill_doc
from ._events import _holds_strings, resolve_categorical
from ._stats import mean_std
from ._validation import validate_sequences
from .exceptions import _warn

__all__ = [
    "SequenceImputer",
    "SequenceResampler",
    "SequenceScaler",
    "SequenceTruncator",
    "TokenEncoder",
]

_LENGTH = [Interval(Integral, 1, None, closed="left"), None]


_PASSTHROUGH = ["array-like", None]

PASSTHROUGH_DOC = """\
passthrough : array-like of str, int or bool, or None, default=None
    Channels to leave untouched besides the ``category``, ``object`` and
    string columns of a long DataFrame (which always pass through: they
    hold no numbers): integer-coded categories and entity attributes (the
    estimators' ``static_features``). Given as in the estimators'
    ``categorical_features`` (and scikit-learn's
    ``HistGradientBoostingClassifier``): column names of a long DataFrame,
    channel indices, or a boolean mask over the channels. Arrays have no
    dtype per channel, so their categorical channels must be named here by
    index or mask. Passed-through values may be NaN (a missing category)
    and are never read.\
"""

INPUT_ATTRIBUTES_DOC = """\
n_channels_in_ : int
    Number of channels of the training sequences (the value columns of a
    long DataFrame, passed-through ones included).
n_features_in_ : int
    Only for 2D training input: its number of columns (timesteps).
feature_names_in_ : ndarray of str
    Column names of a wide training DataFrame, when it had string names.\
"""


class _FrameSequences(_data._Sequences):
    """Sequences read from a long DataFrame, restored into a copy of it.

    ``values`` hold the frame's value columns, NaN in the passed-through
    ones (whose values may be strings and are never read); ``restore``
    writes new values into the other columns of a copy of ``frame``, so the
    passed-through columns, the index and the row order stay the frame's.
    ``order`` gives the frame's row of each sorted (entity, time) step.
    """

    def __init__(self, seqs, frame, order, passthrough):
        # the frame's own (entity, time) of each sorted step, for messages
        template = frame.index.take(order)
        super().__init__(
            seqs.values, seqs.lengths, "long", template, seqs.channel_names
        )
        self.frame = frame
        self.order = order
        self.passthrough = passthrough

    def restore(self, values):
        rows = values[self.mask]  # one row per step, in sorted order
        out = self.frame.copy()
        for k, name in enumerate(self.frame.columns):
            if not self.passthrough[k]:
                column = np.empty(len(out))
                column[self.order] = rows[:, k]
                out[name] = column
        return out

    def take(self, kept):
        """The frame's rows at the sorted steps where ``kept`` [n, T] is True,
        in the frame's row order and with all its columns."""
        rows = np.zeros(len(self.frame), dtype=bool)
        rows[self.order[kept[self.mask]]] = True
        return self.frame[rows]


def _nan_error(seqs, missing):
    """The error for a NaN inside a sequence, at the first True of
    ``missing`` [n, T, C]: by entity, time and column for a long frame."""
    i, t, c = np.argwhere(missing)[0]
    if seqs.layout == "long":
        row = int(seqs.mask[:i].sum() + t)
        entity, time = seqs.template[row]
        where = (
            f"column {seqs.channel_names[c]!r} is NaN for entity "
            f"{_data._plain(entity)!r}, time {_data._plain(time)!r}"
        )
    else:
        where = f"X contains NaN at {_data._position(i, t, c)}"
    return ValueError(
        f"{where}. Only trailing timesteps that are NaN in every channel count as "
        "padding; a NaN inside a sequence or in only some channels is a missing "
        "value. Impute it first, e.g. with skattn.SequenceImputer, or pass the "
        "channel through (passthrough=...) if it holds categories."
    )


class _SequenceTransformer(TransformerMixin, BaseEstimator):
    """Input handling shared by the numeric sequence transformers.

    ``fit`` and ``transform`` validate the input and hand a
    :class:`skattn.data._Sequences` to ``_fit`` and ``_transform``, which each
    subclass implements. Channels of ``is_passthrough_`` are left to the
    subclass to keep as they are; for a long DataFrame the
    :class:`_FrameSequences` restore the passed-through columns themselves.
    """

    _allow_missing = False  # NaN inside sequences is an error, not data
    # every column of a long frame rides along (a transformer that only
    # selects rows): no passthrough parameter
    _carries_all = False

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn what the transformation needs from the training sequences.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps[, n_channels]), list of \
arrays, or long DataFrame
            Sequences; see :mod:`skattn.data` for the formats.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        self._fit(self._check_input(X, reset=True))
        return self

    def transform(self, X):
        """Transform sequences, keeping their format where the class says so.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps[, n_channels]), list of \
arrays, or long DataFrame
            Sequences with the fitted number of channels.

        Returns
        -------
        Xt : sequences, float64
            The transformed sequences; the class docstring says in which
            format.
        """
        check_is_fitted(self)
        return self._transform(self._check_input(X, reset=False))

    def _fit(self, seqs):
        pass

    def _check_input(self, X, *, reset):
        """Convert ``X`` to :class:`skattn.data._Sequences`; with ``reset``,
        record its contract, else check ``X`` against the recorded one."""
        if not reset and not hasattr(self, "is_passthrough_"):
            # fitted by a version without passthrough: every channel is read
            self.is_passthrough_ = np.zeros(self.n_channels_in_, dtype=bool)
            self._long_columns = None
        if _data._is_long(X):
            return self._check_long(X, reset=reset)
        spec = None if self._carries_all else self.passthrough
        if reset:
            self._long_columns = None
            passing = spec is not None
        else:
            passing = bool(self.is_passthrough_.any())
        # passed-through channels may hold NaN (a missing category): the other
        # channels are checked below
        seqs = validate_sequences(
            self, X, reset=reset, allow_missing=self._allow_missing or passing
        )
        if reset:
            self.is_passthrough_ = resolve_categorical(
                spec, seqs.n_channels, name="passthrough"
            )
        self._check_missing(seqs)
        return seqs

    def _check_missing(self, seqs):
        """NaN inside a sequence is an error in channels not passed through."""
        if self._allow_missing or not self.is_passthrough_.any():
            return
        missing = np.isnan(seqs.values) & seqs.mask[..., None]
        missing[..., self.is_passthrough_] = False
        if missing.any():
            raise _nan_error(seqs, missing)

    def _check_long(self, X, *, reset):
        """A long DataFrame as :class:`_FrameSequences`: the passed-through
        columns (strings, categories, named ones) are carried, not read."""
        name = type(self).__name__
        columns = list(X.columns)
        if reset:
            self._long_columns = columns
            if self._carries_all:
                self.is_passthrough_ = np.ones(len(columns), dtype=bool)
            else:
                named = resolve_categorical(
                    self.passthrough,
                    len(columns),
                    [X[c] for c in columns],
                    name="passthrough",
                )
                # strings and categories hold no numbers to transform
                self.is_passthrough_ = named | np.array(
                    [_data._is_string_column(X[c]) for c in columns], dtype=bool
                )
        elif len(columns) != len(self.is_passthrough_):
            raise ValueError(
                f"X has {len(columns)} channels, but {name} was fitted with "
                f"{len(self.is_passthrough_)}"
            )
        elif self._long_columns is not None and columns != self._long_columns:
            raise ValueError(
                f"X has value columns {columns}, but {name} was fitted with "
                f"{self._long_columns}"
            )
        mask = self.is_passthrough_
        for column, passing in zip(columns, mask, strict=True):
            if (
                not passing
                and _data._is_string_column(X[column])
                and _holds_strings(X[column])
            ):
                raise TypeError(
                    f"column {column!r} of X holds strings, but it held numbers "
                    f"when {name} was fitted; pass the column with the same dtype, "
                    f"or refit {name}"
                )
        _data._level_names(X)  # two levels, with distinct names
        duplicated = X.index.has_duplicates
        if X.index.is_monotonic_increasing and not duplicated:
            order = np.arange(len(X))  # sorted already: skip sorting again
        else:
            order, _, step, _ = _data._event_order(X)
        # the passed-through columns are never read: NaN stands in for them
        work = X.copy() if mask.any() else X
        for column, passing in zip(columns, mask, strict=True):
            if passing:
                work[column] = np.nan
        if duplicated:
            # several events at one time (allowed with the estimators'
            # time_features): number each entity's steps in sorted order, so
            # the steps are distinct and in the order of ``order``
            work = work.iloc[order]
            work = work.set_axis(
                pd.MultiIndex.from_arrays(
                    [work.index.get_level_values(0), step], names=X.index.names
                ),
                axis=0,
            )
        seqs = validate_sequences(
            self, work, reset=reset, allow_missing=self._allow_missing or mask.any()
        )
        seqs = _FrameSequences(seqs, X, order, mask)
        self._check_missing(seqs)
        return seqs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = self._allow_missing
        return tags


def _location_scale(values, axis):
    """Mean and standard deviation over ``axis``, ignoring NaN padding.

    The scale is 1 where all values are equal, as in scikit-learn's
    ``StandardScaler``, so constant channels are centred but not divided.
    """
    mean, std = mean_std(values, axis=axis)  # finite for any finite values
    constant = np.nanmax(values, axis=axis) == np.nanmin(values, axis=axis)
    scale = np.where(constant | ~(std > 0), 1.0, std)
    return mean, scale


def _has_inverse(scaler):
    if scaler.per_sequence:
        raise AttributeError(
            "inverse_transform is not available with per_sequence=True: each "
            "sequence is scaled by its own mean and std, which transform does not "
            "keep"
        )
    return True


@fill_doc(input_attributes=INPUT_ATTRIBUTES_DOC, passthrough=PASSTHROUGH_DOC)
class SequenceScaler(_SequenceTransformer):
    """Standardise each channel over the real timesteps of sequences.

    With ``per_sequence=False`` the mean and standard deviation of each
    channel are learned from all real timesteps of the training sequences,
    however many each sequence has. With ``per_sequence=True`` each sequence
    is z-normalised on its own, per channel (the usual practice for the UCR
    and UEA archives); nothing but the number of channels is learned then.
    Padding never enters the statistics and stays NaN in the output.

    Parameters
    ----------
    per_sequence : bool, default=False
        Scale each sequence by its own statistics instead of the training
        statistics.
    with_mean : bool, default=True
        Subtract the mean.
    with_std : bool, default=True
        Divide by the standard deviation; a channel whose values are all
        equal is divided by 1.
    {passthrough}

    Attributes
    ----------
    mean_ : ndarray of shape (n_channels,) or None
        Mean of each channel over the real training timesteps (0 for the
        channels passed through); None with ``per_sequence=True`` or
        ``with_mean=False``.
    scale_ : ndarray of shape (n_channels,) or None
        Standard deviation of each channel (1 where constant, and for the
        channels passed through); None with ``per_sequence=True`` or
        ``with_std=False``.
    is_passthrough_ : ndarray of bool of shape (n_channels,)
        The channels (value columns of a long DataFrame) left untouched.
    {input_attributes}

    Notes
    -----
    ``inverse_transform`` exists only with ``per_sequence=False``: the
    per-sequence statistics belong to the data transformed, not to the
    fitted scaler, so they are not kept.

    Examples
    --------
    >>> import numpy as np
    >>> from skattn import SequenceScaler
    >>> X = [np.array([1.0, 2.0, 3.0]), np.array([5.0])]
    >>> scaler = SequenceScaler().fit(X)
    >>> scaler.mean_, scaler.scale_
    (array([2.75]), array([1.47901995]))
    >>> [x.round(2) for x in SequenceScaler(per_sequence=True).fit_transform(X)]
    [array([-1.22,  0.  ,  1.22]), array([0.])]

    Event data: the string column ``event`` passes through, and so does the
    entity attribute ``plan`` (named in ``passthrough``); the amount is
    standardised:

    >>> import pandas as pd
    >>> events = pd.DataFrame(
    ...     {"event": ["view", "buy", "view"], "amount": [1.0, 3.0, 5.0],
    ...      "plan": [2, 2, 1]},
    ...     index=pd.MultiIndex.from_tuples(
    ...         [("a", 1), ("a", 2), ("b", 1)], names=["customer", "day"]),
    ... )
    >>> SequenceScaler(passthrough=["plan"]).fit_transform(events).round(2)
                 event  amount  plan
    customer day
    a        1    view   -1.22     2
             2     buy    0.00     2
    b        1    view    1.22     1
    """

    _parameter_constraints = {
        "per_sequence": ["boolean"],
        "with_mean": ["boolean"],
        "with_std": ["boolean"],
        "passthrough": _PASSTHROUGH,
    }

    def __init__(
        self,
        *,
        per_sequence=False,
        with_mean=True,
        with_std=True,
        passthrough=None,
    ):
        self.per_sequence = per_sequence
        self.with_mean = with_mean
        self.with_std = with_std
        self.passthrough = passthrough

    def _fit(self, seqs):
        self.mean_ = self.scale_ = None
        if self.per_sequence:
            self._warn_constant_per_entity(seqs)
            return
        scaled = ~self.is_passthrough_
        mean, scale = np.zeros(seqs.n_channels), np.ones(seqs.n_channels)
        if scaled.any():
            steps = seqs.values[seqs.mask][:, scaled]  # [n_real_steps, C']
            mean[scaled], scale[scaled] = _location_scale(steps, axis=0)
        if self.with_mean:
            self.mean_ = mean
        if self.with_std:
            self.scale_ = scale

    def _warn_constant_per_entity(self, seqs):
        """Per-sequence scaling turns a column that is constant within every
        entity (an entity attribute) into 0: say so, by name."""
        if seqs.layout != "long" or seqs.lengths.max() < 2:
            return
        values = seqs.values[:, :, ~self.is_passthrough_]
        first = values[:, :1]
        constant = (np.isclose(values, first) | ~seqs.mask[..., None]).all(axis=(0, 1))
        if constant.any():
            names = np.asarray(seqs.channel_names, dtype=object)[~self.is_passthrough_]
            _warn(
                f"columns {names[constant].tolist()} of X are constant within every "
                "entity, so per_sequence=True scales them to 0 and their information "
                "is lost. If they are entity attributes (the estimators' "
                "static_features), pass them through: "
                f"passthrough=[..., {names[constant][0]!r}]",
                UserWarning,
            )

    def _statistics(self, seqs):
        """Mean and scale to apply, broadcastable to ``(n, T, C)``."""
        if self.per_sequence:
            mean, scale = (
                np.zeros(seqs.values.shape[::2]),
                np.ones(seqs.values.shape[::2]),
            )
            scaled = ~self.is_passthrough_
            if scaled.any():
                mean[:, scaled], scale[:, scaled] = _location_scale(
                    seqs.values[:, :, scaled], axis=1
                )  # [n, C']
            mean, scale = mean[:, None], scale[:, None]
        else:
            mean, scale = self.mean_, self.scale_
        return (mean if self.with_mean else 0.0), (scale if self.with_std else 1.0)

    def _transform(self, seqs):
        mean, scale = self._statistics(seqs)
        return seqs.restore((seqs.values - mean) / scale)

    @available_if(_has_inverse)
    def inverse_transform(self, X):
        """Undo the scaling: ``X * scale_ + mean_``.

        Parameters
        ----------
        X : sequences in any format of :mod:`skattn.data`
            Scaled sequences with the fitted number of channels.

        Returns
        -------
        X_original : sequences in the format of ``X``, float64
            The sequences on their original scale; padding stays padding.
        """
        check_is_fitted(self)
        seqs = self._check_input(X, reset=False)
        mean, scale = self._statistics(seqs)
        return seqs.restore(seqs.values * scale + mean)


def _forward_fill(values, observed):
    """Carry the last observed value forward along axis 1; values before the
    first observation take the first one. ``(i, c)`` without any observation
    stay NaN."""
    steps = np.arange(values.shape[1])[None, :, None]
    last = np.maximum.accumulate(np.where(observed, steps, -1), axis=1)
    first = np.argmax(observed, axis=1)[:, None, :]  # [n, 1, C]
    return np.take_along_axis(values, np.where(last < 0, first, last), axis=1)


def _interpolate(values, lengths, missing):
    """Linear interpolation over the steps of each sequence and channel;
    gaps at the edges take the nearest observed value."""
    values = values.copy()
    for i, c in zip(*np.nonzero(missing.any(axis=1)), strict=True):
        v = values[i, : lengths[i], c]  # a view: filled in place
        seen = ~np.isnan(v)
        if seen.any():
            steps = np.arange(len(v))
            v[~seen] = np.interp(steps[~seen], steps[seen], v[seen])
    return values


@fill_doc(input_attributes=INPUT_ATTRIBUTES_DOC, passthrough=PASSTHROUGH_DOC)
class SequenceImputer(_SequenceTransformer):
    """Fill missing values inside sequences.

    A NaN inside a sequence, or in only some channels of a step, is a
    missing value; trailing steps that are NaN in every channel are padding
    and stay padding (a missing value at the very end of a sequence, in
    every channel at once, cannot be told apart from padding). This is the
    transformer that accepts missing values: every other skattn estimator
    raises on them.

    Parameters
    ----------
    strategy : {"linear", "ffill", "zero", "mean"}, default="linear"
        ``"linear"``: interpolate linearly between the observed steps of each
        sequence and channel; gaps at the start or end take the nearest
        observed value. ``"ffill"``: carry the last observed value forward;
        a gap at the start takes the first observed value. ``"zero"``: fill
        with 0. ``"mean"``: fill with the channel's training mean.
        With ``"linear"`` and ``"ffill"``, a channel that has no observed
        value in a sequence is filled with the channel's training mean.
    {passthrough}
        A missing value in a channel passed through stays missing (for the
        estimators' categorical fields, a category of its own).

    Attributes
    ----------
    mean_ : ndarray of shape (n_channels,)
        Mean of each channel over the observed training values (NaN for the
        channels passed through).
    is_passthrough_ : ndarray of bool of shape (n_channels,)
        The channels (value columns of a long DataFrame) left untouched.
    {input_attributes}

    Examples
    --------
    >>> import numpy as np
    >>> from skattn import SequenceImputer
    >>> X = np.array([[1.0, np.nan, 3.0, np.nan],
    ...               [np.nan, 2.0, np.nan, 8.0]])
    >>> SequenceImputer().fit_transform(X)
    array([[ 1.,  2.,  3., nan],
           [ 2.,  2.,  5.,  8.]])
    >>> SequenceImputer(strategy="ffill").fit_transform(X)
    array([[ 1.,  1.,  3., nan],
           [ 2.,  2.,  2.,  8.]])
    """

    _allow_missing = True
    _parameter_constraints = {
        "strategy": [StrOptions({"linear", "ffill", "zero", "mean"})],
        "passthrough": _PASSTHROUGH,
    }

    def __init__(self, *, strategy="linear", passthrough=None):
        self.strategy = strategy
        self.passthrough = passthrough

    def _fit(self, seqs):
        steps = seqs.values[seqs.mask]  # [n_real_steps, C]
        imputed = ~self.is_passthrough_
        unobserved = np.flatnonzero(np.isnan(steps).all(axis=0) & imputed)
        if unobserved.size:
            raise ValueError(
                f"channel {unobserved[0]} of X has no observed value in any "
                "sequence; there is nothing to impute it from"
            )
        self.mean_ = np.full(seqs.n_channels, np.nan)
        self.mean_[imputed] = mean_std(steps[:, imputed], axis=0)[0]

    def _transform(self, seqs):
        values = seqs.values
        missing = np.isnan(values) & seqs.mask[..., None]
        if self.strategy == "zero":
            filled = np.where(missing, 0.0, values)
        elif self.strategy == "mean":
            filled = np.where(missing, self.mean_, values)
        elif self.strategy == "ffill":
            filled = _forward_fill(values, ~np.isnan(values))
        else:
            filled = _interpolate(values, seqs.lengths, missing)
        # a channel never observed in its sequence: the training mean
        filled = np.where(np.isnan(filled), self.mean_, filled)
        filled[..., self.is_passthrough_] = values[..., self.is_passthrough_]
        return seqs.restore(filled)


@fill_doc(input_attributes=INPUT_ATTRIBUTES_DOC, passthrough=PASSTHROUGH_DOC)
class SequenceResampler(_SequenceTransformer):
    """Resample every sequence to the same number of timesteps.

    Each sequence's real steps are spread evenly over ``length`` output
    steps and the values between them are interpolated, so the first and
    last steps are kept exactly. This makes sequences of different lengths
    equal-length (e.g. for a model with a fixed input size).

    Parameters
    ----------
    length : int or None, default=None
        Number of output timesteps; None uses the longest training sequence.
        With 1, each sequence becomes its first step.
    method : {"linear", "nearest"}, default="linear"
        Interpolate linearly between the two neighbouring steps, or take the
        nearest step (for values that must stay as they are, such as
        categories).
    {passthrough}
        Resampling takes the nearest step of these channels (their values
        are kept, never interpolated). The output is a float array, so a
        long DataFrame's columns of strings or categories cannot pass: they
        are an error that names them.

    Attributes
    ----------
    length_ : int
        The number of output timesteps.
    is_passthrough_ : ndarray of bool of shape (n_channels,)
        The channels (value columns of a long DataFrame) resampled by the
        nearest step.
    {input_attributes}

    Notes
    -----
    The output is a float64 array of shape ``(n_samples, length_)`` for 2D
    input and ``(n_samples, length_, n_channels)`` for every other format
    (3D, list, long DataFrame): once all sequences have one length, a list
    or long format adds nothing.

    Examples
    --------
    >>> import numpy as np
    >>> from skattn import SequenceResampler
    >>> X = [np.array([0.0, 10.0]), np.array([0.0, 1.0, 2.0, 3.0, 4.0])]
    >>> SequenceResampler(length=3).fit_transform(X)[..., 0]
    array([[ 0.,  5., 10.],
           [ 0.,  2.,  4.]])
    """

    _parameter_constraints = {
        "length": _LENGTH,
        "method": [StrOptions({"linear", "nearest"})],
        "passthrough": _PASSTHROUGH,
    }

    def __init__(self, *, length=None, method="linear", passthrough=None):
        self.length = length
        self.method = method
        self.passthrough = passthrough

    def _fit(self, seqs):
        self.length_ = int(seqs.lengths.max()) if self.length is None else self.length

    def _check_input(self, X, *, reset):
        seqs = super()._check_input(X, reset=reset)
        if seqs.layout == "long":
            frame = seqs.frame
            carried = [
                c
                for c, passing in zip(frame.columns, self.is_passthrough_, strict=True)
                if passing and not _data._is_numeric_column(frame[c])
            ]
            if carried:
                raise TypeError(
                    f"SequenceResampler returns a float array, which cannot hold "
                    f"the columns {carried} of X ({frame[carried[0]].dtype}); "
                    "encode them as integer codes first (e.g. "
                    "skattn.data.from_long(..., categorical_cols=...)) and pass "
                    "those channels through by index"
                )
            # numeric columns passed through are read as they are (nearest)
            for k, c in enumerate(frame.columns):
                if self.is_passthrough_[k]:
                    seqs.values[seqs.mask, k] = frame[c].to_numpy(
                        dtype=np.float64, na_value=np.nan
                    )[seqs.order]
        return seqs

    def _transform(self, seqs):
        last = seqs.lengths[:, None] - 1  # [n, 1]
        # where each output step falls on the input's time axis
        position = np.linspace(0.0, 1.0, self.length_) * last  # [n, length]
        nearest = np.floor(position + 0.5)  # a tie goes to the later step

        def at(steps):
            return np.take_along_axis(seqs.values, steps[..., None], axis=1)

        if self.method == "nearest":
            position = nearest
        before = np.floor(position).astype(np.int64)
        after = np.minimum(before + 1, last)
        weight = (position - before)[..., None]  # [n, length, 1]
        values = at(before) * (1.0 - weight) + at(after) * weight
        # channels passed through keep their values: the nearest step's
        kept = self.is_passthrough_
        values[..., kept] = at(nearest.astype(np.int64))[..., kept]
        return values[..., 0] if seqs.layout == "tabular" else values


@fill_doc(input_attributes=INPUT_ATTRIBUTES_DOC)
class SequenceTruncator(_SequenceTransformer):
    """Cap sequence lengths, keeping the first or the last steps.

    Sequences no longer than ``max_length`` pass unchanged; the format of
    the input is kept. A 2D or 3D output has ``min(n_timesteps,
    max_length_)`` columns, whatever the sequences' lengths.

    Parameters
    ----------
    max_length : int or None, default=None
        Most timesteps a sequence may keep; None uses the longest training
        sequence, so sequences at transform time are never longer than those
        seen in training.
    truncate : {"end", "start"}, default="end"
        Which side of a long sequence to drop: ``"end"`` keeps its first
        ``max_length`` steps, ``"start"`` its last ``max_length`` steps (the
        most recent, e.g. for forecasting or churn). A long DataFrame comes
        back as its kept rows, unchanged: every column (strings, categories,
        entity attributes included) with its dtype, the (entity, time)
        index and the row order.

    Attributes
    ----------
    max_length_ : int
        The length cap applied.
    {input_attributes}

    Examples
    --------
    >>> import numpy as np
    >>> from skattn import SequenceTruncator
    >>> X = [np.array([1.0, 2.0, 3.0, 4.0]), np.array([5.0])]
    >>> SequenceTruncator(max_length=2, truncate="start").fit_transform(X)
    [array([3., 4.]), array([5.])]
    """

    _carries_all = True  # rows are kept or dropped whole, values never read

    _parameter_constraints = {
        "max_length": _LENGTH,
        "truncate": [StrOptions({"end", "start"})],
    }

    def __init__(self, *, max_length=None, truncate="end"):
        self.max_length = max_length
        self.truncate = truncate

    def _fit(self, seqs):
        self.max_length_ = (
            int(seqs.lengths.max()) if self.max_length is None else self.max_length
        )

    def _transform(self, seqs):
        n_steps = seqs.values.shape[1]
        lengths = np.minimum(seqs.lengths, self.max_length_)
        start = np.zeros_like(lengths)  # first kept step of each sequence
        if self.truncate == "start":
            start = seqs.lengths - lengths
        steps = start[:, None] + np.arange(min(n_steps, self.max_length_))
        values = np.take_along_axis(
            seqs.values, np.minimum(steps, n_steps - 1)[..., None], axis=1
        )
        if seqs.layout == "long":  # the kept rows of the frame, as they are
            t = np.arange(n_steps)
            return seqs.take((t >= start[:, None]) & (t < (start + lengths)[:, None]))
        kept_seqs = _data._Sequences(
            values, lengths, seqs.layout, seqs.template, seqs.channel_names
        )
        return kept_seqs.restore(values)


class TokenEncoder(TransformerMixin, BaseEstimator):
    """Turn texts into sequences of token ids for the estimators' embedding.

    ``fit`` learns a vocabulary from the training texts; ``transform`` maps
    each text to an int64 array of ids, ready for an estimator built with
    ``vocab_size`` and ``padding_idx=0``. Id 0 is padding (never produced),
    id 1 stands for a token outside the vocabulary, and the vocabulary's
    tokens are numbered from 2, the most frequent first (ties in
    alphabetical order).

    The estimator needs ``vocab_size`` before it is fitted, so in a pipeline
    fix the vocabulary's size with ``max_tokens`` and pass
    ``vocab_size=max_tokens + 2``: ``vocab_size_`` never exceeds it.

    Parameters
    ----------
    lowercase : bool, default=True
        Lowercase texts before tokenising.
    min_frequency : int, default=1
        Tokens seen fewer times in the training texts are left out of the
        vocabulary (and encoded as unknown).
    max_tokens : int or None, default=None
        Keep only this many most frequent tokens.
    token_pattern : str, default=r"(?u)\\b\\w+\\b"
        Regular expression matching a token; with one capturing group, the
        group is the token.
    max_length : int or None, default=None
        Keep only the first ``max_length`` tokens of each text.

    Attributes
    ----------
    vocabulary_ : dict of str to int
        Token to id, ids from 2.
    vocab_size_ : int
        ``len(vocabulary_) + 2``: the ``vocab_size`` an estimator needs.

    Examples
    --------
    >>> from skattn import TokenEncoder
    >>> encoder = TokenEncoder().fit(["a good film", "a bad film", "a film"])
    >>> encoder.vocabulary_
    {'a': 2, 'film': 3, 'bad': 4, 'good': 5}
    >>> encoder.transform(["A good plot", ""])
    [array([2, 5, 1]), array([1])]

    In a pipeline, fix the vocabulary size:

    >>> from sklearn.pipeline import make_pipeline
    >>> from skattn import LSTMAttentionClassifier
    >>> model = make_pipeline(
    ...     TokenEncoder(max_tokens=5000),
    ...     LSTMAttentionClassifier(vocab_size=5002, padding_idx=0),
    ... )
    """

    PADDING_ID = 0
    UNKNOWN_ID = 1

    _parameter_constraints = {
        "lowercase": ["boolean"],
        "min_frequency": [Interval(Integral, 1, None, closed="left")],
        "max_tokens": _LENGTH,
        "token_pattern": [str],
        "max_length": _LENGTH,
    }

    def __init__(
        self,
        *,
        lowercase=True,
        min_frequency=1,
        max_tokens=None,
        token_pattern=r"(?u)\b\w+\b",
        max_length=None,
    ):
        self.lowercase = lowercase
        self.min_frequency = min_frequency
        self.max_tokens = max_tokens
        self.token_pattern = token_pattern
        self.max_length = max_length

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the vocabulary of the training texts.

        Parameters
        ----------
        X : iterable of str
            One text per sample (a list, array or Series of strings).
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted encoder.
        """
        self._learn(self._tokenize(X))
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Learn the vocabulary and encode the training texts.

        Equivalent to ``fit(X).transform(X)``, tokenising the texts once.

        Parameters
        ----------
        X : iterable of str
            One text per sample (a list, array or Series of strings).
        y : None
            Ignored.

        Returns
        -------
        Xt : list of int64 ndarray
            One array of token ids per text, as ``transform`` gives.
        """
        tokens = self._tokenize(X)
        self._learn(tokens)
        return self._encode(tokens)

    def transform(self, X):
        """Encode texts as token ids.

        Parameters
        ----------
        X : iterable of str
            One text per sample (a list, array or Series of strings).

        Returns
        -------
        Xt : list of int64 ndarray
            One array per text; tokens outside the vocabulary are 1, and a
            text without tokens becomes ``[1]``, so no sequence is empty.
        """
        check_is_fitted(self)
        return self._encode(self._tokenize(X))

    def _tokenize(self, X):
        if isinstance(X, (str, bytes)):
            raise TypeError(
                "TokenEncoder expects an iterable of texts (one string per sample), "
                "got a single string"
            )
        if isinstance(X, pd.DataFrame):
            raise TypeError(
                "TokenEncoder expects one text per sample, got a DataFrame; pass its "
                "text column, e.g. df['text']"
            )
        try:
            texts = list(X)
        except TypeError:
            raise TypeError(
                f"TokenEncoder expects an iterable of strings, got {type(X).__name__}"
            ) from None
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(
                    f"X[{i}] is {type(text).__name__} ({text!r:.40}), not str; "
                    "TokenEncoder encodes texts"
                )
        try:
            pattern = re.compile(self.token_pattern)
        except re.error as exc:
            raise ValueError(
                f"token_pattern={self.token_pattern!r} is not a valid regular "
                f"expression: {exc}"
            ) from None
        if pattern.groups > 1:
            raise ValueError(
                f"token_pattern={self.token_pattern!r} has {pattern.groups} capturing "
                "groups; it may have at most one"
            )
        if self.lowercase:
            texts = [text.lower() for text in texts]
        return [pattern.findall(text) for text in texts]

    def _learn(self, tokens):
        if not tokens:
            raise ValueError("X holds no text: TokenEncoder needs at least one to fit")
        counts = Counter(token for text in tokens for token in text)
        kept = sorted(
            (token for token, count in counts.items() if count >= self.min_frequency),
            key=lambda token: (-counts[token], token),
        )[: self.max_tokens]
        self.vocabulary_ = {token: i for i, token in enumerate(kept, start=2)}
        self.vocab_size_ = len(kept) + 2

    def _encode(self, tokens):
        encoded = []
        for text in tokens:
            ids = [self.vocabulary_.get(token, self.UNKNOWN_ID) for token in text]
            encoded.append(
                np.array(ids[: self.max_length] or [self.UNKNOWN_ID], dtype=np.int64)
            )
        return encoded

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.transformer_tags.preserves_dtype = []
        return tags
