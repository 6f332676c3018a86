"""Sequence input formats and their conversion to padded arrays with a mask.

Every skattn estimator accepts:

- a 2D array or wide DataFrame ``(n_samples, n_timesteps)``: univariate
  sequences of one fixed length (scikit-learn's tabular contract: the width
  is ``n_features_in_`` and must not change after fitting);
- a 3D array ``(n_samples, n_timesteps, n_channels)``, time-major like a
  ``batch_first`` PyTorch tensor. Arrays from aeon or sktime are
  ``(n_samples, n_channels, n_timesteps)``: convert them with
  :func:`from_channels_first`;
- a list (or 1D object array, or object Series) of per-sequence arrays, each
  ``(length_i,)`` or ``(length_i, n_channels)``;
- a long DataFrame with a two-level ``MultiIndex`` ``(entity, time)``, one
  row per entity and timestep (see :func:`from_long`).

``fit`` warns (:class:`skattn.exceptions.DataLayoutWarning`) when a 3D array
or a list of arrays has more channels than timesteps: that is how a
channels-first array looks when read time-major.

A long DataFrame has one row per timestep, but ``y`` has one row per entity
(sequence), in the sorted order of the entity ids. scikit-learn counts and
splits a DataFrame by rows, so ``cross_val_score``, ``GridSearchCV`` and
``train_test_split`` cannot take a long frame with its ``y`` (they fail with
"Found input variables with inconsistent numbers of samples: [2133, 90]"):
convert the frame once with :func:`from_long` and split the sequences it
returns.

Padding: trailing timesteps that are NaN in every channel are padding, in
arrays and in list elements alike. Any other NaN is a missing value and an
error, unless a caller opts in (e.g. :class:`skattn.SequenceImputer`).

Internally every format becomes float values ``(n, T, C)`` and a boolean
mask ``(n, T)`` that is True on real timesteps; :func:`to_padded` returns
exactly that.
"""

import numbers
import re
from collections.abc import Mapping, Set
from contextlib import contextmanager

import numpy as np
import pandas as pd
from sklearn.utils import check_array

from ._sources import from_dask_long
from .exceptions import IgnoredColumnsWarning, _warn

__all__ = [
    "event_values",
    "from_channels_first",
    "from_dask_long",
    "from_long",
    "sequence_lengths",
    "to_long",
    "to_padded",
]


def _lengths_to_mask(lengths, t):
    """Boolean ``(n, t)`` mask, True on the first ``lengths[i]`` steps of row i."""
    return np.arange(t) < lengths[:, None]


class _Sequences:
    """Padded float64 values, lengths, and how to give them back as ``X``.

    ``values`` is ``(n, T, C)`` with NaN on padding; ``layout`` is one of
    ``"tabular"`` (2D), ``"padded"`` (3D), ``"ragged"`` (list) or ``"long"``
    (MultiIndex DataFrame). ``template`` holds what :meth:`restore` needs.
    """

    def __init__(self, values, lengths, layout, template=None, channel_names=None):
        self.values = values
        self.lengths = lengths
        self.layout = layout
        self.template = template
        self.channel_names = channel_names

    @property
    def ids(self):
        """Entity ids of a long-format input, in the order of ``values``."""
        if self.layout != "long":
            return None
        return self.template.get_level_values(0).unique().to_numpy()

    @property
    def n_channels(self):
        return self.values.shape[2]

    @property
    def mask(self):
        return _lengths_to_mask(self.lengths, self.values.shape[1])

    def filled(self, fill_value=0.0):
        """Values with padding replaced by ``fill_value``."""
        return np.where(self.mask[..., None], self.values, fill_value)

    def restore(self, values):
        """Put new values ``(n, T, C)`` (same lengths) back into this layout."""
        values = np.where(self.mask[..., None], values, np.nan)
        if self.layout == "tabular":
            return values[..., 0]
        if self.layout == "padded":
            return values
        if self.layout == "ragged":
            squeeze = self.template  # per sequence: was it 1D?
            return [
                v[:n, 0] if sq else v[:n]
                for v, n, sq in zip(values, self.lengths, squeeze, strict=True)
            ]
        # long: one row per real step, in the order of the sorted index
        index = self.template
        rows = values[self.mask]
        return pd.DataFrame(rows, index=index, columns=self.channel_names)


def _position(i, t, c=None):
    where = f"sequence {i}, timestep {t}"
    return where if c is None else f"{where}, channel {c}"


def _from_padded(
    values,
    layout,
    *,
    allow_missing,
    template=None,
    channel_names=None,
    offset=0,
    name="X",
    lengths=None,
):
    """Find padding and check NaN/inf in a float64 ``(n, T, C)`` array.

    ``lengths``, when given, are the known sequence lengths (long format: one
    row per step, so a last row of NaN is a missing value, not padding).
    """
    n, t_max, _ = values.shape
    nan = np.isnan(values)
    if lengths is None:
        real_step = ~nan.all(axis=2)  # [n, T]
        # index of the last real step + 1; 0 where the sequence has no real step
        lengths = np.where(
            real_step.any(axis=1), t_max - np.argmax(real_step[:, ::-1], axis=1), 0
        ).astype(np.int64)
    empty = np.flatnonzero(lengths == 0)
    if empty.size:
        raise ValueError(
            f"{name} contains an empty sequence: sequence {empty[0] + offset} has no "
            "timestep that is not NaN padding"
        )
    inside = _lengths_to_mask(lengths, t_max)  # [n, T]
    inf = np.isinf(values) & inside[..., None]
    if inf.any():
        i, t, c = np.argwhere(inf)[0]
        raise ValueError(
            f"{name} contains inf at {_position(i + offset, t, c)}; skattn needs "
            "finite values"
        )
    if not allow_missing:
        missing = nan & inside[..., None]
        if missing.any():
            i, t, c = np.argwhere(missing)[0]
            raise ValueError(
                f"{name} contains NaN at {_position(i + offset, t, c)}. Only trailing "
                "timesteps that are NaN in every channel count as padding; a NaN "
                "inside a sequence or in only some channels is a missing value. "
                "Impute it first, e.g. with skattn.SequenceImputer."
            )
    return _Sequences(values, lengths, layout, template, channel_names)


# Appended to errors about values that are not numbers.
_NUMBERS_HINT = (
    "skattn models need numeric values: encode categories first (e.g. with "
    "sklearn.preprocessing.OrdinalEncoder), or turn texts into token ids with "
    "skattn.TokenEncoder"
)


def _check_container(X, name="X"):
    """Reject what cannot hold sequences (None, a string, a dict, a number)
    before any conversion, with a message that says what was given."""
    if (
        X is None
        or isinstance(X, (str, bytes, Mapping, Set, numbers.Number, np.generic))
        or not (hasattr(X, "__len__") or hasattr(X, "__array__"))
    ):
        raise TypeError(
            f"{name} is {type(X).__name__} ({X!r:.40}); expected sequences: a 2D "
            "array (n_samples, n_timesteps), a 3D array (n_samples, n_timesteps, "
            "n_channels), a list of arrays, or a DataFrame"
        )
    if isinstance(X, pd.DataFrame) and X.shape[1] == 0 and not _is_long(X):
        raise ValueError(f"{name} is a DataFrame without columns: shape {X.shape}")
    if isinstance(X, pd.DataFrame) and X.columns.has_duplicates:
        twice = _duplicate_columns(X)
        raise ValueError(
            f"{name} has duplicate column names {twice[:5]}; every column needs its "
            "own name"
        )


def _duplicate_columns(df):
    """Names that more than one column of ``df`` has, in order of appearance."""
    return df.columns[df.columns.duplicated()].unique().tolist()


def _check_dtypes(X, name="X"):
    """Reject dtypes that are not numbers (complex, dates, times) by name.

    Object and string dtypes pass: their elements are converted one by one,
    and :func:`_converting` names the value that is not a number.
    """
    if isinstance(X, pd.DataFrame):
        dtypes = [(f"{name} column {col!r}", dt) for col, dt in X.dtypes.items()]
    else:
        dtype = getattr(X, "dtype", None)
        dtypes = [] if dtype is None else [(name, dtype)]
    for where, dtype in dtypes:
        kind = getattr(dtype, "kind", "O")
        if kind == "c":
            # sklearn's wording, which its estimator checks look for
            raise ValueError(f"Complex data not supported: {where} is {dtype}")
        if kind in "mM":
            raise TypeError(
                f"{where} has dtype {dtype}; skattn needs numbers, so convert times "
                "and durations first (e.g. to seconds)"
            )
        if kind not in "biufOUS":
            raise TypeError(f"{where} has unsupported dtype {dtype}")


@contextmanager
def _converting(name="X"):
    """Turn numpy's "could not convert string to float" errors into one that
    says which input holds values that are not numbers and what to do."""
    try:
        yield
    except (TypeError, ValueError) as exc:
        # numpy 2 shows np.str_('a') where 'a' is meant
        text = re.sub(r"np\.\w+\(('[^']*'|[^()]*)\)", r"\1", str(exc))
        if "could not convert" in text or "argument must be" in text:
            raise type(exc)(
                f"{name} could not be converted to numbers ({text}); {_NUMBERS_HINT}"
            ) from None
        if "with a sequence" in text:  # a cell that holds a list or an array
            raise ValueError(
                f"{name} could not be converted to numbers: a cell holds a sequence "
                "instead of one number. For sequences of different lengths, pass a "
                "list of arrays"
            ) from None
        raise


def _float_array(a, where):
    """Convert one array-like to float64 with an error that says where."""
    a = np.asarray(a)
    _check_dtypes(a, where)  # complex, dates, times and other kinds, by name
    if a.dtype.kind in "OUS":
        with _converting(where):
            a = a.astype(np.float64)
        if np.iscomplexobj(a):
            raise ValueError(f"Complex data not supported: {where} is complex")
    return a.astype(np.float64, copy=False)


def _is_ragged(X):
    """True when ``X`` is a collection of separate sequences.

    That is an object Series or 1D object array, or a list/tuple that holds
    arrays or whose elements differ in length. A list of equal-length lists
    of numbers is a 2D table, as in scikit-learn (``X.tolist()`` behaves
    like ``X``).
    """
    if isinstance(X, (list, tuple)):
        if len(X) == 0:
            return True
        if any(isinstance(s, (np.ndarray, pd.Series, pd.DataFrame)) for s in X):
            return True
        try:
            arr = np.asarray(X)
        except ValueError:  # elements of different lengths
            return True
        return arr.dtype == object and arr.ndim == 1
    if isinstance(X, pd.Series):
        return X.dtype == object
    return isinstance(X, np.ndarray) and X.dtype == object and X.ndim == 1


def _is_long(X):
    """True for a DataFrame indexed by a two-level (entity, time) MultiIndex."""
    return isinstance(X, pd.DataFrame) and isinstance(X.index, pd.MultiIndex)


def _ragged(X, *, allow_missing, offset, name):
    seqs = list(X.values if isinstance(X, pd.Series) else X)
    if not seqs:
        raise ValueError(f"{name} is empty: it holds 0 sequences")
    arrays, was_1d = [], []
    n_channels = None
    for i, s in enumerate(seqs):
        where = f"{name}[{i + offset}]"
        try:
            ndim = np.ndim(s)
        except ValueError:  # numpy: "inhomogeneous shape"
            raise ValueError(
                f"{where} is ragged itself: its timesteps have different numbers of "
                "channels"
            ) from None
        if isinstance(s, (str, bytes, Mapping, Set)) or ndim == 0:
            what = "a scalar" if ndim == 0 and np.isscalar(s) else "not an array"
            raise ValueError(
                f"{where} is {what} ({type(s).__name__} {s!r:.40}); a list input must "
                "hold one array per sequence, each (length,) or (length, n_channels)"
            )
        a = _float_array(s, where)
        if a.ndim == 1:
            a = a[:, None]
        elif a.ndim != 2:
            raise ValueError(
                f"{where} has {a.ndim} dimensions; each sequence must be "
                "(length,) or (length, n_channels)"
            )
        if a.shape[0] == 0:
            raise ValueError(f"{name} contains an empty sequence: {where} has length 0")
        if a.shape[1] == 0:
            raise ValueError(f"{where} has 0 channels")
        if n_channels is None:
            n_channels = a.shape[1]
        elif a.shape[1] != n_channels:
            raise ValueError(
                f"{where} has {a.shape[1]} channels, but {name}[{offset}] has "
                f"{n_channels}; every sequence needs the same channels"
            )
        arrays.append(a)
        was_1d.append(ndim == 1)
    t_max = max(a.shape[0] for a in arrays)
    values = np.full((len(arrays), t_max, n_channels), np.nan)
    for i, a in enumerate(arrays):
        values[i, : a.shape[0]] = a
    return _from_padded(
        values,
        "ragged",
        allow_missing=allow_missing,
        template=was_1d,
        offset=offset,
        name=name,
    )


def _long(X, *, allow_missing, name):
    id_level, time_level = _level_names(X)
    clash = [c for c in X.columns if c in (id_level, time_level)]
    if clash:
        raise ValueError(
            f"{name} has a column named {clash[0]!r}, like a level of its (entity, "
            "time) MultiIndex; rename the column or the index level"
        )
    if X.shape[1] == 0:
        raise ValueError(f"{name} has no value columns, only its (entity, time) index")
    frame = X.reset_index()
    # every column is a channel: a column that is not numeric is an error
    values, _, names, index, lengths, _ = _long_to_padded(
        frame,
        id_col=id_level,
        time_col=time_level,
        value_cols=list(X.columns),
        allow_missing=allow_missing,
    )
    return _from_padded(
        values,
        "long",
        allow_missing=allow_missing,
        template=index,
        channel_names=names,
        name=name,
        lengths=lengths,
    )


def _array_shape(X):
    """Shape of an array-like that is not a list of sequences."""
    shape = getattr(X, "shape", None)
    return tuple(shape) if shape is not None else np.asarray(X).shape


def _level_names(df):
    if df.index.nlevels != 2:
        raise ValueError(
            f"a long-format DataFrame needs a two-level (entity, time) MultiIndex, "
            f"got {df.index.nlevels} levels"
        )
    names = list(df.index.names)
    names = [n if n is not None else f"level_{k}" for k, n in enumerate(names)]
    if names[0] == names[1]:
        raise ValueError(f"the MultiIndex levels must have distinct names, got {names}")
    return names[0], names[1]


def _check_sequences(X, *, allow_missing=False, offset=0, name="X"):
    """Convert any supported input to :class:`_Sequences` (values float64).

    2D input is treated as univariate sequences of fixed length (the caller
    applies scikit-learn's tabular validation first when it needs
    ``n_features_in_``). ``offset`` shifts the sequence numbers in messages,
    for inputs processed in chunks.
    """
    _check_container(X, name)
    if _is_long(X):
        return _long(X, allow_missing=allow_missing, name=name)
    if _is_ragged(X):
        return _ragged(X, allow_missing=allow_missing, offset=offset, name=name)
    _check_dtypes(X, name)
    with _converting(name):
        arr = check_array(
            X,
            allow_nd=True,
            dtype=np.float64,
            ensure_all_finite=False,
            input_name=name,
        )
    if arr.ndim == 2:
        return _from_padded(
            arr[..., None],
            "tabular",
            allow_missing=allow_missing,
            offset=offset,
            name=name,
        )
    if arr.ndim != 3:
        raise ValueError(
            f"{name} has {arr.ndim} dimensions; expected 2D (n_samples, n_timesteps) "
            "or 3D (n_samples, n_timesteps, n_channels)"
        )
    if arr.shape[2] == 0:
        raise ValueError(f"{name} has 0 channels: shape {arr.shape}")
    if arr.shape[1] == 0:
        raise ValueError(
            f"{name} has sequences of 0 timesteps: shape {arr.shape}; every sequence "
            "needs at least one"
        )
    return _from_padded(
        arr, "padded", allow_missing=allow_missing, offset=offset, name=name
    )


def to_padded(X, *, dtype=np.float32, fill_value=0.0, allow_missing=False):
    """Convert any supported sequence input to padded values and a mask.

    Parameters
    ----------
    X : array-like, list of arrays or long DataFrame
        See the module documentation for the accepted formats.
    dtype : numpy dtype, default=np.float32
        The dtype of the returned values.
    fill_value : float, default=0.0
        Value written on padded steps.
    allow_missing : bool, default=False
        Keep NaN inside sequences instead of raising.

    Returns
    -------
    values : ndarray of shape (n_samples, max_length, n_channels)
        The sequences in ``dtype``, each padded with ``fill_value`` after its
        last real timestep up to the longest length.
    mask : bool ndarray of shape (n_samples, max_length)
        True on real timesteps.

    Examples
    --------
    >>> import numpy as np
    >>> from skattn.data import to_padded
    >>> values, mask = to_padded([np.array([1.0, 2.0, 3.0]), np.array([4.0])])
    >>> values.shape
    (2, 3, 1)
    >>> mask
    array([[ True,  True,  True],
           [ True, False, False]])
    """
    seqs = _check_sequences(X, allow_missing=allow_missing)
    values = seqs.filled(fill_value)
    dtype = np.dtype(dtype)
    if dtype.kind == "f" and values.size:
        peak = np.max(np.abs(values), initial=0.0, where=~np.isnan(values))
        if peak > np.finfo(dtype).max:
            raise ValueError(
                f"X holds values up to {peak:.3g}, beyond the range of {dtype}; pass "
                "dtype=np.float64 or rescale X"
            )
    return values.astype(dtype, copy=False), seqs.mask


def sequence_lengths(X):
    """Number of real timesteps of each sequence, as an int64 array.

    Parameters
    ----------
    X : array-like, list of arrays or long DataFrame
        See the module documentation for the accepted formats. NaN inside
        sequences is allowed (it counts as a timestep).

    Returns
    -------
    lengths : int64 ndarray of shape (n_samples,)
        The number of real (unpadded) timesteps of each sequence.

    Examples
    --------
    >>> import numpy as np
    >>> from skattn.data import sequence_lengths
    >>> sequence_lengths([np.zeros(5), np.zeros(2)])
    array([5, 2])
    """
    return _check_sequences(X, allow_missing=True).lengths


def from_channels_first(X):
    """Convert aeon/sktime layout ``(n, channels, time)`` to skattn's.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_channels, n_timesteps) or list of arrays
        Channels-first sequences: a 3D array, or a list of arrays of shape
        ``(n_channels, length_i)`` (aeon's unequal-length format).

    Returns
    -------
    X_out : ndarray of shape (n_samples, n_timesteps, n_channels) or list
        The same values with time before channels: a C-contiguous 3D array,
        or a list of arrays of shape ``(length_i, n_channels)`` (views of
        the input arrays).

    Examples
    --------
    >>> import numpy as np
    >>> from skattn.data import from_channels_first
    >>> from_channels_first(np.zeros((10, 3, 50))).shape
    (10, 50, 3)
    """
    if _is_ragged(X):
        out = []
        for i, s in enumerate(X):
            a = np.asarray(s)
            if a.ndim != 2:
                raise ValueError(
                    f"X[{i}] has {a.ndim} dimensions; expected (n_channels, length)"
                )
            out.append(a.T)
        return out
    arr = np.asarray(X)
    if arr.ndim != 3:
        raise ValueError(
            f"expected a 3D array (n_samples, n_channels, n_timesteps), got "
            f"{arr.ndim} dimensions"
        )
    return np.ascontiguousarray(arr.transpose(0, 2, 1))


def _plain(value):
    """A numpy scalar as the Python value it holds, for readable messages."""
    return value.item() if isinstance(value, np.generic) else value


# Category values must survive skattn's pickle-free model files.
_PLAIN = (str, bool, int, float)


def _is_string_column(column):
    return isinstance(column.dtype, pd.CategoricalDtype) or (
        pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)
    )


def _sorted_vocabulary(values, field):
    """The distinct non-missing ``values`` as a sorted array of plain data."""
    unique = pd.unique(pd.Series(values, dtype=object).dropna())
    plain = [_plain(v) for v in unique]
    bad = [v for v in plain if not isinstance(v, _PLAIN)]
    if bad:
        raise TypeError(
            f"categorical field {field!r} holds {bad[0]!r} ({type(bad[0]).__name__}); "
            "categories must be strings, numbers or booleans"
        )
    try:
        plain.sort()
    except TypeError:  # mixed types: group them by type, then sort
        plain.sort(key=lambda v: (type(v).__name__, str(v)))
    if all(isinstance(v, str) for v in plain):
        return np.array(plain, dtype=object)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in plain):
        return np.array(plain, dtype=np.int64)
    out = np.empty(len(plain), dtype=object)
    out[:] = plain
    return out


def _long_to_padded(
    df, *, id_col, time_col, value_cols, allow_missing, categorical_cols=None
):
    """Check a long DataFrame and pad its value columns entity by entity.

    ``categorical_cols`` (None, ``"from_dtype"`` or names) become channels of
    integer codes (NaN for a missing value, whatever ``allow_missing``).

    Returns
    -------
    padded : ndarray of shape (n_entities, max_length, n_channels)
        Float64, right-padded with NaN, ordered like ``ids``.
    ids : ndarray of shape (n_entities,)
        The sorted entity ids.
    value_cols : list
        The value columns, one per channel.
    index : MultiIndex
        ``(id_col, time_col)`` of each row, in sorted order.
    lengths : int64 ndarray of shape (n_entities,)
        Rows (real timesteps) per entity, ordered like ``ids``.
    categories : dict
        The sorted categories of each categorical column, by name.
    """
    _check_long_columns(df, id_col, time_col)
    categorical = _categorical_columns(df, id_col, time_col, categorical_cols)
    if isinstance(categorical_cols, str) and value_cols is not None:
        # "from_dtype" marks the chosen value columns only
        chosen = [value_cols] if isinstance(value_cols, str) else list(value_cols)
        categorical = [c for c in categorical if c in chosen]
    value_cols = _value_columns(df, id_col, time_col, value_cols, categorical)
    _check_long_rows(df, id_col, time_col)
    frame = _sort_rows(df, id_col, time_col)
    categories = {}
    values = np.empty((len(frame), len(value_cols)))
    for k, c in enumerate(value_cols):
        if c in categorical:
            values[:, k], categories[c] = _category_codes(frame[c], c)
        else:
            values[:, k] = frame[c].to_numpy(dtype=np.float64, na_value=np.nan)
    numeric = [k for k, c in enumerate(value_cols) if c not in categorical]
    _check_long_values(
        values[:, numeric],
        frame,
        id_col,
        time_col,
        [value_cols[k] for k in numeric],
        allow_missing=allow_missing,
    )
    codes, position, ids = _encode_order(frame, id_col)
    padded, lengths = _fill_padded(values, codes, position, len(ids))
    index = pd.MultiIndex.from_frame(frame[[id_col, time_col]])
    return padded, ids, list(value_cols), index, lengths, categories


def _categorical_columns(df, id_col, time_col, categorical_cols):
    """The names of the columns ``categorical_cols`` marks, checked."""
    if categorical_cols is None:
        return []
    others = [c for c in df.columns if c not in (id_col, time_col)]
    if isinstance(categorical_cols, str) and categorical_cols == "from_dtype":
        return [c for c in others if _is_string_column(df[c])]
    names = (
        [categorical_cols]
        if isinstance(categorical_cols, (str, numbers.Number))
        else list(categorical_cols)
    )
    for c in names:
        if c not in others:
            raise ValueError(
                f"categorical_cols names {c!r}, which is not a value column of the "
                f"DataFrame; its value columns are {others}"
            )
    if len(set(names)) != len(names):
        raise ValueError(f"categorical_cols names a column twice: {names}")
    return names


def _category_codes(column, name):
    """Codes of a categorical column (``k`` for its ``k``-th sorted category,
    NaN for a missing value) and its sorted categories."""
    values = column.to_numpy(dtype=object)
    vocabulary = _sorted_vocabulary(values, name)
    series = pd.Series(values, dtype=object)
    missing = series.isna().to_numpy()
    found = pd.Index(vocabulary, dtype=object).get_indexer(series.where(~missing, None))
    return np.where(missing, np.nan, found.astype(np.float64)), vocabulary


def _check_long_columns(df, id_col, time_col):
    """Check that ``df`` is a DataFrame with distinct id, time and column names."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(df).__name__}")
    for role, col in (("id_col", id_col), ("time_col", time_col)):
        if col not in df.columns:
            raise ValueError(
                f"{role}={col!r} is not a column of the DataFrame; columns are "
                f"{list(df.columns)}"
            )
    if id_col == time_col:
        raise ValueError(f"id_col and time_col must differ, both are {id_col!r}")
    twice = _duplicate_columns(df)
    if twice:
        raise ValueError(
            f"the DataFrame has more than one column named {twice[0]!r}; every "
            "column needs its own name"
        )


def _is_numeric_column(column):
    """True for a numeric or boolean column that is not complex."""
    return (
        pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)
    ) and not pd.api.types.is_complex_dtype(column)


def _value_columns(df, id_col, time_col, value_cols, categorical=()):
    """The value columns as a list: the given ones, checked, or every numeric
    or ``categorical`` one, in the order of the DataFrame."""
    if value_cols is None:
        value_cols = [
            c
            for c in df.columns
            if c not in (id_col, time_col)
            and (c in categorical or _is_numeric_column(df[c]))
        ]
        if not value_cols:
            raise ValueError(
                "the DataFrame has no numeric value column besides "
                f"{id_col!r} and {time_col!r}"
            )
        left_out = [c for c in df.columns if c not in (id_col, time_col, *value_cols)]
        if left_out:
            _warn(
                f"from_long reads the numeric columns {value_cols} as channels "
                f"and leaves out {left_out}, which are not numeric; pass "
                "categorical_cols='from_dtype' to read them as integer codes, "
                "value_cols=[...] to choose the channels, or give the long "
                "DataFrame to an estimator, which embeds string and category "
                "columns itself (categorical_features='from_dtype')",
                IgnoredColumnsWarning,
            )
        return value_cols
    value_cols = (
        [value_cols]
        if isinstance(value_cols, (str, numbers.Number))
        else list(value_cols)
    )
    if not value_cols:
        raise ValueError("value_cols is empty")
    for c in value_cols:
        if c not in df.columns:
            raise ValueError(f"value column {c!r} is not in the DataFrame")
        if c in (id_col, time_col):
            raise ValueError(f"value column {c!r} is also id_col or time_col")
        if c not in categorical and not _is_numeric_column(df[c]):
            raise TypeError(
                f"value column {c!r} has dtype {df[c].dtype}; value columns must "
                "be numeric: read categories as integer codes with "
                f"from_long(..., categorical_cols=[{c!r}]), or give the long "
                "DataFrame to an estimator, which embeds them itself"
            )
    absent = [c for c in categorical if c not in value_cols]
    if absent:
        raise ValueError(
            f"categorical_cols names {absent}, which value_cols leaves out; add "
            "them to value_cols"
        )
    return value_cols


def _check_long_rows(df, id_col, time_col):
    """Reject no rows, a missing id or time, and a repeated (id, time) pair."""
    if len(df) == 0:
        raise ValueError("the DataFrame has no rows")
    for col in (id_col, time_col):
        if df[col].isna().any():
            row = df.index[df[col].isna().to_numpy()][0]
            raise ValueError(f"column {col!r} has a missing value at row {row!r}")
    duplicated = df.duplicated([id_col, time_col])
    if duplicated.any():
        first = np.flatnonzero(duplicated.to_numpy())[0]
        entity, time = df[id_col].iloc[first], df[time_col].iloc[first]
        raise ValueError(
            f"duplicate ({id_col}, {time_col}) pair ({_plain(entity)!r}, "
            f"{_plain(time)!r}): each entity may have one row per time"
        )


def _sort_rows(df, id_col, time_col):
    """The rows of ``df`` sorted by entity, then time (stable)."""
    try:
        return df.sort_values([id_col, time_col], kind="stable")
    except TypeError as exc:
        raise TypeError(
            f"could not sort by ({id_col!r}, {time_col!r}): {exc}; the values of each "
            "must be mutually comparable"
        ) from None


def _row_label(frame, row, id_col, time_col):
    """``id_col=entity, time_col=time`` of row number ``row``, for messages."""
    entity, time = frame[id_col].iloc[row], frame[time_col].iloc[row]
    return f"{id_col}={_plain(entity)!r}, {time_col}={_plain(time)!r}"


def _check_long_values(values, frame, id_col, time_col, value_cols, *, allow_missing):
    """Reject NaN (unless ``allow_missing``) and inf values, naming entity and time."""
    if not allow_missing:
        nan = np.isnan(values)
        if nan.any():
            r, c = np.argwhere(nan)[0]
            raise ValueError(
                f"column {value_cols[c]!r} is NaN for "
                f"{_row_label(frame, r, id_col, time_col)}; impute it first, e.g. "
                "with skattn.SequenceImputer (from_long keeps it with "
                "allow_missing=True)"
            )
    inf = np.isinf(values)
    if inf.any():
        r, c = np.argwhere(inf)[0]
        raise ValueError(
            f"column {value_cols[c]!r} is inf for "
            f"{_row_label(frame, r, id_col, time_col)}; skattn needs finite values"
        )


def _encode_order(frame, id_col):
    """Per sorted row: its entity's code and its step; and the sorted entity ids."""
    codes, ids = pd.factorize(frame[id_col], sort=True)
    position = frame.groupby(id_col, sort=False).cumcount().to_numpy()
    return codes, position, np.asarray(ids)


def _fill_padded(values, codes, position, n_entities):
    """Place each row of ``values`` at its (entity, step); NaN elsewhere."""
    lengths = np.bincount(codes, minlength=n_entities).astype(np.int64)
    padded = np.full((n_entities, lengths.max(), values.shape[1]), np.nan)
    padded[codes, position] = values
    return padded, lengths


def from_long(
    df,
    *,
    id_col,
    time_col,
    value_cols=None,
    categorical_cols=None,
    allow_missing=False,
    return_categories=False,
):
    """Turn a long DataFrame (one row per entity and timestep) into sequences.

    Parameters
    ----------
    df : DataFrame
        One row per (entity, time) pair, e.g. one row per transaction or
        sensor reading.
    id_col : str
        Column naming the entity (customer, device...).
    time_col : str
        Column giving each row's time; it orders the steps of a sequence
        (numbers, timestamps, or anything sortable).
    value_cols : list of str, optional
        Columns to use as channels, in this order. By default every other
        numeric column and every column of ``categorical_cols``, in the
        order of ``df``; columns left out (strings, categories not marked
        categorical) are named in an
        :class:`~skattn.exceptions.IgnoredColumnsWarning`.
    categorical_cols : "from_dtype", list of str or None, default=None
        Columns read as categories: each becomes a channel of integer
        codes, ``k`` for the ``k``-th of its sorted categories and NaN for a
        missing value (NaN, None, ``pd.NA``; allowed whatever
        ``allow_missing``), ready for an estimator's
        ``categorical_features=[channel]``. ``"from_dtype"`` marks the
        ``category``, ``object`` and string columns.
    allow_missing : bool, default=False
        Keep NaN values (they become missing values inside the sequences,
        for :class:`skattn.SequenceImputer`). By default a NaN value is an
        error that names the entity and time.
    return_categories : bool, default=False
        Also return the categories of each categorical column, which
        :func:`to_long` takes to turn the codes back into categories.

    Returns
    -------
    X : ndarray of shape (n_entities, max_length, n_channels)
        Float64, right-padded with NaN, ordered like ``ids``.
    ids : ndarray of shape (n_entities,)
        The sorted entity ids.
    categories : dict of str to ndarray
        Only with ``return_categories=True``: the sorted categories of each
        column of ``categorical_cols``, by column name.

    Notes
    -----
    Rows are ordered by time within each entity. Attributes of the entity
    (columns constant within each entity, such as its plan) are channels
    like the others, repeated on every step; an estimator's
    ``static_features`` reads them from a long DataFrame only.

    Estimators also take the long frame itself (indexed by ``(entity,
    time)``), but scikit-learn's model selection splits a DataFrame by rows,
    that is by timestep: ``cross_val_score(model, long_df, y)`` fails with
    "inconsistent numbers of samples" (rows against entities). Convert once
    and cross-validate, search or split the sequences, with ``y`` in the
    order of ``ids`` (``y = labels.loc[ids]`` for labels indexed by entity)::

        X, ids = from_long(events, id_col="customer", time_col="date")
        cross_val_score(model, X, labels.loc[ids], cv=5)

    Examples
    --------
    >>> import pandas as pd
    >>> from skattn.data import from_long
    >>> df = pd.DataFrame({"customer": ["a", "a", "b"], "day": [2, 1, 1],
    ...                    "amount": [5.0, 3.0, 7.0]})
    >>> X, ids = from_long(df, id_col="customer", time_col="day")
    >>> X[..., 0]
    array([[ 3.,  5.],
           [ 7., nan]])
    >>> ids
    array(['a', 'b'], dtype=object)

    Categories as integer codes, and back:

    >>> df["shop"] = ["web", "store", "web"]
    >>> X, ids, categories = from_long(df, id_col="customer", time_col="day",
    ...                                categorical_cols=["shop"],
    ...                                return_categories=True)
    >>> X[..., 1]
    array([[ 0.,  1.],
           [ 1., nan]])
    >>> categories
    {'shop': array(['store', 'web'], dtype=object)}
    >>> to_long(X, ids, value_cols=["amount", "shop"], categories=categories)
      id  time  amount   shop
    0  a     0     3.0  store
    1  a     1     5.0    web
    2  b     0     7.0    web
    """
    values, ids, _, _, _, categories = _long_to_padded(
        df,
        id_col=id_col,
        time_col=time_col,
        value_cols=value_cols,
        allow_missing=allow_missing,
        categorical_cols=categorical_cols,
    )
    if return_categories:
        return values, ids, categories
    return values, ids


def to_long(
    X, ids=None, *, id_col="id", time_col="time", value_cols=None, categories=None
):
    """Turn sequences back into a long DataFrame, one row per real timestep.

    Parameters
    ----------
    X : array-like, list of arrays or long DataFrame
        See the module documentation for the accepted formats.
    ids : array-like of shape (n_samples,), optional
        Entity ids; by default ``0 .. n_samples - 1``.
    id_col, time_col : str
        Names of the id and time columns. Time is the step index
        ``0 .. length - 1``.
    value_cols : list of str, optional
        Names of the channels; by default ``value_0``, ``value_1``, ...
    categories : dict of str to array-like, optional
        Channels that hold category codes, by name, each with its sorted
        categories (as :func:`from_long` returns them with
        ``return_categories=True``): code ``k`` becomes the ``k``-th
        category and NaN a missing value, in a column of ``category`` dtype.
        A code that is not one of ``0 .. len(categories) - 1`` is an error.

    Returns
    -------
    frame : DataFrame
        Columns ``[id_col, time_col, *value_cols]``, one row per real
        timestep, ordered by sequence then time.

    Examples
    --------
    >>> import numpy as np
    >>> from skattn.data import to_long
    >>> to_long([np.array([3.0, 5.0]), np.array([7.0])], ids=["a", "b"],
    ...         value_cols=["amount"])
      id  time  amount
    0  a     0     3.0
    1  a     1     5.0
    2  b     0     7.0
    """
    seqs = _check_sequences(X, allow_missing=True)
    n, _, c = seqs.values.shape
    ids = np.arange(n) if ids is None else np.asarray(ids)
    if len(ids) != n:
        raise ValueError(f"ids has {len(ids)} entries, but X has {n} sequences")
    if value_cols is None:
        value_cols = [f"value_{k}" for k in range(c)]
    if len(value_cols) != c:
        raise ValueError(
            f"value_cols has {len(value_cols)} names, but X has {c} channels"
        )
    mask = seqs.mask
    frame = pd.DataFrame(seqs.values[mask], columns=list(value_cols))
    for name, vocabulary in (categories or {}).items():
        if name not in frame.columns:
            raise ValueError(
                f"categories names {name!r}, which is not one of value_cols "
                f"{list(value_cols)}"
            )
        frame[name] = _decode_categories(frame[name].to_numpy(), vocabulary, name)
    frame.insert(0, time_col, np.nonzero(mask)[1])
    frame.insert(0, id_col, np.repeat(ids, seqs.lengths))
    return frame


def _decode_categories(codes, vocabulary, name):
    """A categorical column from codes ``0 .. len(vocabulary) - 1`` (NaN:
    missing); any other code is an error that names the channel."""
    vocabulary = np.asarray(vocabulary, dtype=object)
    present = ~np.isnan(codes)
    bad = present & (
        (codes != np.round(codes)) | (codes < 0) | (codes >= len(vocabulary))
    )
    if bad.any():
        raise ValueError(
            f"channel {name!r} holds {float(codes[bad][0])!r}, which is not the "
            f"code of one of its {len(vocabulary)} categories (0 to "
            f"{len(vocabulary) - 1})"
        )
    ints = np.where(present, codes, -1).astype(np.int64)
    return pd.Categorical.from_codes(
        ints, categories=pd.Index(vocabulary, dtype=object)
    )


def event_values(values, X, *, name=None):
    """Put per-step values (attention weights) on the rows of a long frame.

    The estimators read a long DataFrame as one sequence per entity, in the
    sorted order of the entity ids, each entity's events in time order
    (several events at one time in their row order); step ``t`` of sequence
    ``i`` is that entity's ``t``-th event. This gives each row of ``X`` its
    value, e.g. the attention weight of each event.

    Parameters
    ----------
    values : array-like of shape (n_entities, n_steps)
        One value per sequence and step, as
        :func:`skattn.inspection.attention_weights` returns them for ``X``;
        ``n_steps`` is at least the number of events of every entity.
    X : DataFrame
        The long DataFrame, indexed by ``(entity, time)``, that ``values``
        were computed from.
    name : str, optional
        The name of the returned Series.

    Returns
    -------
    event_values : Series
        One value per row of ``X``, with ``X``'s index and row order.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from skattn.data import event_values
    >>> events = pd.DataFrame(
    ...     {"event": ["buy", "view", "view"]},
    ...     index=pd.MultiIndex.from_tuples(
    ...         [("a", 2), ("a", 1), ("b", 1)], names=["customer", "day"]),
    ... )
    >>> weights = np.array([[0.25, 0.75], [1.0, 0.0]])  # a: day 1, day 2
    >>> events.assign(weight=event_values(weights, events))
                   event  weight
    customer day
    a        2       buy    0.75
             1      view    0.25
    b        1      view    1.00
    """
    if not _is_long(X):
        raise TypeError(
            f"X must be a long DataFrame indexed by (entity, time), got "
            f"{type(X).__name__}"
        )
    order, entity, step, ids = _event_order(X)
    values = np.asarray(values)
    longest = int(step.max(initial=-1)) + 1
    if values.ndim != 2 or values.shape[0] != len(ids) or values.shape[1] < longest:
        raise ValueError(
            f"values has shape {values.shape}, but X has {len(ids)} entities with "
            f"up to {longest} events; expected ({len(ids)}, >= {longest}), one "
            "value per entity and step"
        )
    out = np.empty(len(X), dtype=values.dtype)
    out[order] = values[entity, step]
    return pd.Series(out, index=X.index, name=name)


def _event_order(X):
    """``(order, entity, step, ids)`` for the rows of a long DataFrame, as the
    estimators read them: ``order[k]`` is the row at position ``k`` of the
    (entity, time) order (stable: rows sharing a time keep their order),
    ``entity[k]`` and ``step[k]`` its sequence and step, ``ids`` the sorted
    entity ids."""
    _level_names(X)  # two levels, with distinct names
    keys = pd.DataFrame(
        {"entity": X.index.get_level_values(0), "time": X.index.get_level_values(1)}
    )
    try:
        order = keys.sort_values(["entity", "time"], kind="stable").index.to_numpy()
    except TypeError as exc:
        raise TypeError(f"could not sort X by (entity, time): {exc}") from None
    entity, ids = pd.factorize(keys["entity"].to_numpy()[order], sort=True)
    step = pd.Series(entity).groupby(entity).cumcount().to_numpy()
    return order, entity, step, ids
