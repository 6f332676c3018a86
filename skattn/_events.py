"""Event data: categorical fields per step and features of real time.

Categorical fields are encoded inside the estimator: ``fit`` learns one
vocabulary per field (``categories_``) and every call maps the field's
values to integer codes, which the network embeds
(:class:`skattn.modules.CategoricalEmbedding`). Codes are ``UNKNOWN`` (0)
for a value not seen in ``fit``, ``MISSING`` (1) for NaN/None/pd.NA, and
``2 + k`` for the ``k``-th category of the vocabulary; padding holds 0 and
is never read.

Time features are computed from the time level of a long DataFrame
(:func:`time_feature_rows`) and appended to the numeric channels; entity
attributes (``static_features``) are checked constant per entity and
appended last. :class:`EventInputs` is the estimator mixin that applies all
of this to the input of ``fit`` and prediction.
"""

from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import StrOptions

from . import data as _data
from ._validation import validate_sequences
from .exceptions import UnknownCategoryWarning, _warn

__all__ = [
    "CATEGORICAL_CONSTRAINTS",
    "EventInputs",
    "MISSING",
    "UNKNOWN",
    "embedding_size",
]

UNKNOWN = 0
MISSING = 1
_RESERVED = 2

CATEGORICAL_CONSTRAINTS = {
    "categorical_features": [StrOptions({"from_dtype"}), "array-like", None],
    "time_features": [StrOptions({"elapsed", "gap", "both"}), None],
    "static_features": ["array-like", None],
    "static_query": ["boolean"],
}

_TIME_CHANNELS = {None: (), "elapsed": ("elapsed",), "gap": ("gap",)}
_TIME_CHANNELS["both"] = ("elapsed", "gap")


def embedding_size(n_categories):
    """Width of the embedding of a field with ``n_categories`` categories.

    Parameters
    ----------
    n_categories : int
        Categories in the field's vocabulary (the reserved "unknown" and
        "missing" codes not counted).

    Returns
    -------
    size : int
        ``min(50, (n_categories + 1) // 2 + 1)``: about half the categories,
        at most 50.
    """
    return min(50, (n_categories + 1) // 2 + 1)


def time_channel_names(time_features):
    """Names of the channels ``time_features`` adds, in order."""
    return _TIME_CHANNELS[time_features]


class UnknownCounter:
    """Unknown categories met during one call, per field; warns once."""

    def __init__(self):
        self.fields = {}

    def add(self, field, values):
        if not len(values):
            return
        count, examples = self.fields.get(field, (0, []))
        for v in values:
            v = _data._plain(v)
            if len(examples) < 3 and v not in examples:
                examples.append(v)
        self.fields[field] = (count + len(values), examples)

    def warn(self, name):
        if not self.fields:
            return
        parts = [
            f"{field!r}: {count} value{'s' if count > 1 else ''} (e.g. "
            f"{', '.join(repr(e) for e in examples)})"
            for field, (count, examples) in self.fields.items()
        ]
        _warn(
            f"X holds categories that {name} did not see in fit, encoded as "
            f"unknown: {'; '.join(parts)}",
            UnknownCategoryWarning,
        )


# resolving categorical_features ----------------------------------------------


def resolve_categorical(spec, n_channels, columns=None, name="categorical_features"):
    """Boolean mask over the channels from ``categorical_features``.

    ``columns`` are the value columns of a long DataFrame (a list of
    Series), or None for array input. ``name`` is the parameter named in
    the messages (the preprocessing transformers' ``passthrough`` takes the
    same forms).
    """
    if spec is None:
        return np.zeros(n_channels, dtype=bool)
    if isinstance(spec, str):  # "from_dtype"
        if columns is None:  # arrays have no dtype per channel
            return np.zeros(n_channels, dtype=bool)
        return np.array([_data._is_string_column(c) for c in columns], dtype=bool)
    spec = np.asarray(spec)
    if spec.ndim != 1:
        raise ValueError(f"{name} must be a 1D list, got shape {spec.shape}")
    if spec.dtype.kind == "b":
        if len(spec) != n_channels:
            raise ValueError(
                f"{name} is a boolean mask of {len(spec)} entries, but X has "
                f"{n_channels} channels"
            )
        return spec.copy()
    mask = np.zeros(n_channels, dtype=bool)
    names = None if columns is None else [c.name for c in columns]
    for item in spec.tolist():
        if isinstance(item, str):
            if names is None:
                raise ValueError(
                    f"{name} names column {item!r}, but X has no named value "
                    "columns (it is not a long DataFrame); pass channel indices "
                    "or a boolean mask"
                )
            if item not in names:
                raise ValueError(
                    f"{name} names column {item!r}, which is not a value column of "
                    f"X; its value columns are {names}"
                )
            k = names.index(item)
        elif isinstance(item, Integral) and not isinstance(item, bool):
            if not -n_channels <= item < n_channels:
                raise ValueError(
                    f"{name} holds channel index {item}, but X has {n_channels} "
                    "channels"
                )
            k = item % n_channels
        else:
            raise ValueError(
                f"{name} holds {item!r}; expected column names, channel indices, "
                "a boolean mask, 'from_dtype' or None"
            )
        if mask[k]:
            raise ValueError(f"{name} names channel {item!r} twice")
        mask[k] = True
    return mask


# vocabularies and codes -------------------------------------------------------


def encode_values(values, vocabulary, field, counter):
    """Codes (float64) of one field's ``values``; missing -> MISSING, values
    not in ``vocabulary`` -> UNKNOWN (counted in ``counter``)."""
    series = pd.Series(values, dtype=object)
    missing = series.isna().to_numpy()
    index = pd.Index(vocabulary, dtype=object)
    found = index.get_indexer(series.where(~missing, None))
    unknown = (found < 0) & ~missing
    if counter is not None:
        counter.add(field, series[unknown].tolist())
    codes = np.where(missing, MISSING, np.where(unknown, UNKNOWN, found + _RESERVED))
    return codes.astype(np.float64)


def _holds_strings(column):
    values = column.dropna()
    if isinstance(column.dtype, pd.CategoricalDtype):
        values = pd.Series(column.cat.categories)
    return bool(values.map(lambda v: isinstance(v, (str, bytes))).any())


def split_static(est, X):
    """``(X without the attribute columns, one row of attributes per entity
    in sorted id order)``; attributes must be constant within an entity."""
    names = list(est.static_features)
    absent = [c for c in names if c not in X.columns]
    if absent:
        raise ValueError(
            f"static_features names {absent}, which are not value columns of X; "
            f"its value columns are {list(X.columns)}"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"static_features names a column twice: {names}")
    if len(names) == X.shape[1]:
        raise ValueError(
            "static_features takes every value column of X; the events need at "
            "least one column of their own"
        )
    static = X[names]
    groups = static.groupby(level=0, sort=True)
    varying = groups.nunique(dropna=False) > 1
    if varying.to_numpy().any():
        entity, column = varying.stack().loc[lambda v: v].index[0]
        values = static.xs(entity, level=0)[column].unique().tolist()[:2]
        raise ValueError(
            f"static feature {column!r} is not constant within entity "
            f"{_data._plain(entity)!r}: it holds {values[0]!r} and {values[1]!r}. "
            "Attributes of the entity must be the same on all its rows; make it a "
            "per-event column instead"
        )
    first = groups.nth(0)
    first.index = first.index.get_level_values(0)
    return X.drop(columns=names), first.sort_index()


def encode_long(est, X, *, reset, counter, static=None):
    """``(X, static_rows)``: ``X`` (a long DataFrame) with its categorical
    columns as codes, and the per-entity attributes ``static`` (a DataFrame
    indexed by entity) as a float array of codes and numbers, or None.

    With ``reset``, resolve ``categorical_features`` (over the value columns
    and then the attribute columns) and learn the vocabularies. ``X`` itself
    is never changed.
    """
    columns = [X[c] for c in X.columns]
    attributes = [] if static is None else [static[c] for c in static.columns]
    if reset:
        mask = resolve_categorical(
            est.categorical_features,
            len(columns) + len(attributes),
            columns + attributes,
        )
        est.is_categorical_ = mask[: len(columns)]
        if static is not None:
            est.static_is_categorical_ = mask[len(columns) :]
            est.static_categories_ = [
                _data._sorted_vocabulary(a.to_numpy(dtype=object), a.name)
                for a, categorical in zip(
                    attributes, est.static_is_categorical_, strict=True
                )
                if categorical
            ]
    static_rows = None
    if static is not None:
        static_rows = _encode_static(est, attributes, counter)
    mask = est.is_categorical_
    if len(mask) != len(columns):
        return X, static_rows  # validation reports the wrong number of channels
    for column, categorical in zip(columns, mask, strict=True):
        _check_numeric(column, categorical)
    if not mask.any():
        return X, static_rows
    if reset:
        est.categories_ = [
            _data._sorted_vocabulary(column.to_numpy(dtype=object), column.name)
            for column, categorical in zip(columns, mask, strict=True)
            if categorical
        ]
    vocab = iter(est.categories_)
    encoded = {}
    for column, categorical in zip(columns, mask, strict=True):
        if categorical:
            encoded[column.name] = encode_values(
                column.to_numpy(dtype=object), next(vocab), column.name, counter
            )
        else:
            encoded[column.name] = column
    return pd.DataFrame(encoded, index=X.index, columns=X.columns), static_rows


def _check_numeric(column, categorical):
    if not categorical and _data._is_string_column(column) and _holds_strings(column):
        raise TypeError(
            f"column {column.name!r} holds strings; mark it categorical with "
            f"categorical_features=[{column.name!r}] (or leave "
            "categorical_features='from_dtype')"
        )


def _encode_static(est, attributes, counter):
    """Attributes ``[n_entities, k]``: codes for the categorical ones, float
    values for the numeric ones (which may not be missing)."""
    vocab = iter(est.static_categories_)
    out = []
    for a, categorical in zip(attributes, est.static_is_categorical_, strict=True):
        _check_numeric(a, categorical)
        if categorical:
            out.append(
                encode_values(a.to_numpy(dtype=object), next(vocab), a.name, counter)
            )
            continue
        with _data._converting(f"static feature {a.name!r}"):
            values = a.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isfinite(values)
        if bad.any():
            raise ValueError(
                f"static feature {a.name!r} is {values[bad][0]} for entity "
                f"{_data._plain(a.index[np.flatnonzero(bad)[0]])!r}; numeric "
                "attributes need finite values (mark it categorical to keep a "
                "missing value as its own category)"
            )
        out.append(values)
    return np.column_stack(out)


def append_static_channels(seqs, rows):
    """Repeat per-entity attributes ``[n, k]`` on every real step of ``seqs``,
    as its last channels."""
    n, t, _ = seqs.values.shape
    extra = np.where(seqs.mask[..., None], rows[:, None, :], np.nan)
    seqs.values = np.concatenate([seqs.values, extra], axis=2)
    return seqs


def encode_arrays(est, seqs, *, reset, counter, offset=0):
    """Replace the categorical channels of ``seqs`` (integer codes, NaN for
    missing) by vocabulary codes, in place; NaN in any other channel inside
    a sequence is an error."""
    mask = est.is_categorical_
    inside = seqs.mask
    # the values may be the caller's own array: never write into it
    seqs.values = seqs.values.copy()
    numeric_nan = np.isnan(seqs.values[..., ~mask]) & inside[..., None]
    if numeric_nan.any():
        i, t, c = np.argwhere(numeric_nan)[0]
        c = np.flatnonzero(~mask)[c]
        raise ValueError(
            f"X contains NaN at {_data._position(i + offset, t, c)}. Only trailing "
            "timesteps that are NaN in every channel count as padding; a NaN inside "
            "a sequence or in only some channels is a missing value. Impute it "
            "first, e.g. with skattn.SequenceImputer."
        )
    channels = np.flatnonzero(mask)
    if reset:
        est.categories_ = []
    for k, c in enumerate(channels):
        values = seqs.values[..., c][inside]
        real = values[~np.isnan(values)]
        fractional = real != np.round(real)
        if fractional.any():
            row = np.flatnonzero(~np.isnan(values))[np.flatnonzero(fractional)[0]]
            i, t = np.argwhere(inside)[row]
            raise ValueError(
                f"categorical channel {c} holds {float(real[fractional][0])!r} at "
                f"{_data._position(i + offset, t)}; categorical channels of arrays "
                "hold integer codes, with NaN for a missing value"
            )
        if reset:
            est.categories_.append(np.unique(real).astype(np.int64))
        vocab = est.categories_[k]
        codes = np.full(values.shape, float(MISSING))
        present = ~np.isnan(values)
        ints = real.astype(np.int64)
        pos = np.searchsorted(vocab, ints).clip(0, max(len(vocab) - 1, 0))
        hit = (vocab[pos] == ints) if len(vocab) else np.zeros(len(ints), bool)
        codes[present] = np.where(hit, pos + _RESERVED, UNKNOWN)
        if counter is not None:
            counter.add(f"channel {c}", ints[~hit].tolist())
        column = seqs.values[..., c]
        column[inside] = codes
    return seqs


# real time --------------------------------------------------------------------


def _seconds_or_numbers(times, level_name):
    """Times as float64: seconds since the earliest time for datetimes
    (naive or tz-aware) and durations, the values themselves for numbers."""
    index = pd.Index(times)
    if isinstance(index, pd.DatetimeIndex):
        # from the earliest time: exact in float64 whatever the unit of the
        # timestamps (pandas stores s, ms, us or ns)
        index = index - index.min()
    if isinstance(index, pd.TimedeltaIndex):
        return (index / pd.Timedelta(seconds=1)).to_numpy(dtype=np.float64)
    if pd.api.types.is_numeric_dtype(index) and not pd.api.types.is_bool_dtype(index):
        return index.to_numpy(dtype=np.float64)
    raise TypeError(
        f"time_features needs the time level {level_name!r} of X to hold "
        f"timestamps or numbers, but it has dtype {index.dtype}"
    )


def time_feature_rows(X, time_features):
    """``(X', rows)``: ``X`` ready for validation and the time features of
    each of its rows in sorted (entity, time) order, ``[n_rows, k]``.

    Rows sharing an (entity, time) pair are kept in their order in ``X``
    (their gap is 0); ``X'`` then numbers each entity's rows 0, 1, ... in its
    time level, so that validation sees distinct times.
    """
    id_level, time_level = _data._level_names(X)
    ids = X.index.get_level_values(0)
    times = X.index.get_level_values(1)
    if times.isna().any():
        where = int(np.flatnonzero(times.isna())[0])
        raise ValueError(
            f"the time level {time_level!r} of X is missing for entity "
            f"{_data._plain(ids[where])!r}; every event needs a time"
        )
    seconds = _seconds_or_numbers(times, time_level)
    keys = pd.DataFrame({"entity": ids, "time": times})
    try:
        order = keys.sort_values(["entity", "time"], kind="stable").index.to_numpy()
    except TypeError as exc:
        raise TypeError(f"could not sort X by (entity, time): {exc}") from None
    t = seconds[order]
    entity = ids.take(order)
    first = np.ones(len(t), dtype=bool)
    first[1:] = entity[1:] != entity[:-1]
    starts = np.flatnonzero(first)
    start_of_row = starts[np.cumsum(first) - 1]
    features = []
    for kind in time_channel_names(time_features):
        if kind == "elapsed":
            value = t - t[start_of_row]
        else:
            value = np.diff(t, prepend=t[:1])
            value[first] = 0.0
        features.append(np.log1p(np.maximum(value, 0.0)))
    rows = np.stack(features, axis=1)
    if keys.duplicated().any():
        position = np.arange(len(t)) - start_of_row
        index = pd.MultiIndex.from_arrays(
            [entity, position], names=[id_level, time_level]
        )
        X = X.take(order).set_axis(index, axis=0)
    return X, rows


def append_time_channels(seqs, rows):
    """Append per-row time features ``[n_rows, k]`` as channels of ``seqs``
    (rows in the sorted (entity, time) order of its real steps)."""
    n, t, _ = seqs.values.shape
    extra = np.full((n, t, rows.shape[1]), np.nan)
    extra[seqs.mask] = rows
    seqs.values = np.concatenate([seqs.values, extra], axis=2)
    return seqs


def check_time_input(est, X):
    """``time_features`` and ``static_features`` need a long DataFrame:
    arrays carry no times and no column names."""
    if est.static_features is not None and not _data._is_long(X):
        raise ValueError(
            f"static_features={list(est.static_features)!r} names columns of a long "
            "DataFrame (entity, time), but X is not one; pass X as a long "
            "DataFrame, or set static_features=None"
        )
    if est.time_features is not None and not _data._is_long(X):
        raise ValueError(
            f"time_features={est.time_features!r} reads the time level of a long "
            "DataFrame (entity, time), but X is not one; pass X as a long "
            "DataFrame, or set time_features=None"
        )


class EventInputs:
    """Estimator mixin: event fields of the input and what the network needs
    to know about them.

    Reads the ``categorical_features``, ``time_features``,
    ``static_features`` and ``static_query`` parameters; ``fit`` learns
    ``is_categorical_`` and ``categories_`` (and ``static_is_categorical_``,
    ``static_categories_`` for entity attributes).
    """

    def _check_event_params(self):
        if self.static_query and self.static_features is None:
            raise ValueError("static_query=True needs static_features")
        if self.static_query and not (
            self.pooling == "attention" and self.query == "learned"
        ):
            raise ValueError(
                "static_query=True conditions the learned query of attention "
                f"pooling, but pooling={self.pooling!r} and query={self.query!r}; "
                "use pooling='attention' and query='learned'"
            )
        if self.vocab_size is not None and self.static_features is not None:
            raise ValueError(
                "static_features joins entity attributes to a long DataFrame's "
                f"events, but token input (vocab_size={self.vocab_size}) is a list "
                "of id sequences; set static_features=None"
            )
        if self.vocab_size is not None and self.time_features is not None:
            raise ValueError(
                f"time_features={self.time_features!r} adds channels to the input, "
                f"but token input (vocab_size={self.vocab_size}) has one channel of "
                "ids; set time_features=None"
            )

    def _validate_events(self, X, *, reset, offset=0, counter=None):
        """Check ``X`` against the fitted contract and convert it (without
        the token checks).

        Categorical fields become vocabulary codes (``reset`` learns the
        vocabularies; unknown values are counted in ``counter``); the time
        features and then the entity attributes (one row per entity,
        repeated on its steps) are appended as the last channels.
        """
        check_time_input(self, X)
        long = _data._is_long(X)
        rows = static_rows = None
        if long:
            static = None
            if self.static_features is not None:
                X, static = split_static(self, X)
            if self.time_features is not None:
                X, rows = time_feature_rows(X, self.time_features)
            X, static_rows = encode_long(
                self, X, reset=reset, counter=counter, static=static
            )
            allow_missing = False  # missing categories are codes already
        elif reset:
            # NaN is a missing category in categorical channels of arrays
            allow_missing = not (
                self.categorical_features is None
                or isinstance(self.categorical_features, str)
            )
        else:
            allow_missing = bool(self._categorical_mask().any())
        seqs = validate_sequences(
            self, X, reset=reset, offset=offset, allow_missing=allow_missing
        )
        if not long:
            if reset:
                self.is_categorical_ = resolve_categorical(
                    self.categorical_features, seqs.n_channels
                )
            if allow_missing:
                encode_arrays(self, seqs, reset=reset, counter=counter, offset=offset)
        if reset:
            if self.static_features is None:
                self.__dict__.pop("static_is_categorical_", None)
                self.__dict__.pop("static_categories_", None)
            if not self.is_categorical_.any():
                self.__dict__.pop("categories_", None)
            elif self.vocab_size is not None:
                raise ValueError(
                    f"categorical_features marks channels "
                    f"{np.flatnonzero(self.is_categorical_).tolist()} as categorical, "
                    f"but token input (vocab_size={self.vocab_size}) is embedded "
                    "as a whole; set categorical_features=None"
                )
        if rows is not None:
            append_time_channels(seqs, rows)
        if static_rows is not None:
            append_static_channels(seqs, static_rows)
        return seqs

    def _categorical_mask(self):
        """Which input channels are categorical (all False for models saved
        before categorical fields existed)."""
        mask = getattr(self, "is_categorical_", None)
        if mask is None:
            return np.zeros(self.n_channels_in_, dtype=bool)
        return np.asarray(mask, dtype=bool)

    def _n_network_channels(self):
        """Channels the network reads: the input's, the time features and the
        entity attributes, in this order."""
        n_static = 0 if self.static_features is None else len(self.static_features)
        return (
            self.n_channels_in_ + len(time_channel_names(self.time_features)) + n_static
        )

    def _code_channels(self):
        """Network channels that hold category codes (never standardised)."""
        codes = np.flatnonzero(self._categorical_mask())
        if self.static_features is not None:
            first = self._n_network_channels() - len(self.static_features)
            codes = np.concatenate(
                [codes, first + np.flatnonzero(self.static_is_categorical_)]
            )
        return codes

    def _static_fields(self):
        """``(n_attributes, [(attribute, n_codes, embedding size)])`` of the
        entity attributes, for the network; None without any."""
        if self.static_features is None:
            return None
        fields = [
            (int(k), len(vocab) + 2, embedding_size(len(vocab)))
            for k, vocab in zip(
                np.flatnonzero(self.static_is_categorical_),
                self.static_categories_,
                strict=True,
            )
        ]
        return len(self.static_features), fields

    def _categorical_fields(self):
        """``[(channel, n_codes, embedding size)]`` of the categorical
        fields, for the network's input layer; None without any."""
        channels = np.flatnonzero(self._categorical_mask())
        if not len(channels):
            return None
        return [
            (int(c), len(vocab) + 2, embedding_size(len(vocab)))
            for c, vocab in zip(channels, self.categories_, strict=True)
        ]
