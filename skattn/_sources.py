"""Lazy inputs read block by block: dask arrays, memory-mapped arrays and
dask DataFrames in long format.

A :class:`BlockSource` splits a lazy input into blocks of whole sequences
and reads one at a time, in a format the in-memory validation reads (a numpy
array, or a long pandas DataFrame indexed by ``(entity, time)``).
:mod:`skattn._streaming` trains and predicts on them. Blocks are computed by
the dask ``Client`` of the process when there is one, else by dask's
threaded scheduler.
"""

import math

import numpy as np
import pandas as pd

__all__ = [
    "BLOCK_BYTES",
    "ArrayBlocks",
    "BlockSource",
    "DaskLongFrame",
    "as_source",
    "check_not_a_graph_key",
    "from_dask_long",
    "is_dask",
    "is_streamed",
]

# A dask array chunked along time or channels is rechunked to whole rows in
# blocks of about this size; memory-mapped arrays are read in blocks of it.
BLOCK_BYTES = 64 * 2**20
# A single sequence larger than this cannot be a block of its own.
_MAX_ROW_BYTES = 512 * 2**20


def _is_dask_array(X):
    return type(X).__module__.startswith("dask.array") and hasattr(X, "chunks")


def _is_dask_frame(X):
    module = type(X).__module__
    return (
        module.startswith(("dask.dataframe", "dask_expr"))
        and hasattr(X, "npartitions")
        and not hasattr(X, "chunks")
    )


def is_streamed(X):
    """Whether ``X`` is read block by block rather than converted at once."""
    return (
        _is_dask_array(X)
        or isinstance(X, (np.memmap, DaskLongFrame))
        or _is_dask_frame(X)
    )


def _scheduler():
    """The dask ``Client`` of this process when there is one, else threads."""
    try:
        from distributed import default_client

        return default_client()
    except (ImportError, ValueError):  # no distributed, or no client
        return "threads"


def _compute(*collections):
    import dask

    return dask.compute(*collections, scheduler=_scheduler())


def is_dask(X):
    """Whether ``X`` is a dask collection skattn predicts on lazily."""
    return _is_dask_array(X) or _is_dask_frame(X) or isinstance(X, DaskLongFrame)


class BlockSource:
    """Blocks of rows of a lazy input.

    ``bounds[k]`` is the first row of block ``k`` (``bounds[-1]`` the number
    of sequences); :meth:`load` returns block ``k`` in a format the in-memory
    validation reads (a numpy array or a long pandas DataFrame).
    """

    bounds: np.ndarray
    max_length = None

    def __len__(self):
        return len(self.bounds) - 1

    @property
    def n_rows(self):
        return int(self.bounds[-1])

    def load(self, k):  # pragma: no cover - abstract
        raise NotImplementedError

    def align(self, y, name="y"):
        """``y`` (one row per sequence) as a numpy array in row order."""
        if y is None:
            return None
        if _is_dask_array(y) or _is_dask_frame(y):
            (y,) = _compute(y)
        return y


def _whole_rows(X, name="X"):
    """``X`` chunked along the samples only: other chunkings are rechunked
    into blocks of about ``BLOCK_BYTES``, or refused when one sequence alone
    exceeds ``_MAX_ROW_BYTES``."""
    if X.ndim not in (2, 3):
        raise ValueError(
            f"{name} is a dask array of {X.ndim} dimensions; expected 2D "
            "(n_samples, n_timesteps) or 3D (n_samples, n_timesteps, n_channels)"
        )
    if any(math.isnan(c) for c in X.chunks[0]):
        raise ValueError(
            f"{name} is a dask array of unknown chunk sizes (from a DataFrame or "
            "boolean indexing); call X.compute_chunk_sizes() first"
        )
    if all(len(c) == 1 for c in X.chunks[1:]):
        return X
    row_bytes = int(np.prod(X.shape[1:])) * X.dtype.itemsize
    if row_bytes > _MAX_ROW_BYTES:
        raise ValueError(
            f"{name} is a dask array chunked along time or channels (chunks "
            f"{X.chunksize}), and one sequence of it takes {row_bytes / 2**20:.0f} "
            f"MiB, more than the {_MAX_ROW_BYTES // 2**20} MiB a block of whole "
            "sequences may take; skattn reads whole sequences, so shorten them "
            "(e.g. into windows) first"
        )
    rows = max(1, BLOCK_BYTES // row_bytes)
    return X.rechunk({0: rows, **{axis: -1 for axis in range(1, X.ndim)}})


class ArrayBlocks(BlockSource):
    """Row blocks of a dask array (its chunks) or a memory-mapped array
    (slices of about ``BLOCK_BYTES``)."""

    def __init__(self, X, name="X"):
        if _is_dask_array(X):
            X = _whole_rows(X, name)
            sizes = X.chunks[0]
        else:
            if X.ndim not in (2, 3):
                raise ValueError(
                    f"{name} is a memory-mapped array of {X.ndim} dimensions; "
                    "expected 2D (n_samples, n_timesteps) or 3D (n_samples, "
                    "n_timesteps, n_channels)"
                )
            row_bytes = max(int(np.prod(X.shape[1:])) * X.dtype.itemsize, 1)
            rows = max(1, BLOCK_BYTES // row_bytes)
            sizes = np.diff([*range(0, len(X), rows), len(X)])
        self.X = X
        self.bounds = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])
        self.max_length = X.shape[1]

    def load(self, k):
        a, b = int(self.bounds[k]), int(self.bounds[k + 1])
        if isinstance(self.X, np.memmap):
            # a copy: the block outlives no file handle and is read once
            return np.array(self.X[a:b])
        (block,) = _compute(self.X.blocks[k])
        return np.asarray(block)

    def align(self, y, name="y"):
        y = super().align(y, name)
        if isinstance(y, (pd.Series, pd.DataFrame)):
            y = y.to_numpy()
        return y


class DaskLongFrame(BlockSource):
    """A dask DataFrame in long format, read one partition at a time.

    Made by :func:`skattn.data.from_dask_long`. Each partition becomes a
    long pandas DataFrame indexed by ``(entity, time)``, converted as the
    estimators convert one; every entity must live in one partition.
    Sequences are in the order of the partitions, and within a partition in
    the sorted order of the entity ids (:meth:`ids`).

    Parameters
    ----------
    frame : dask.dataframe.DataFrame
    id_col, time_col : str
        The entity and time columns (or the name of the frame's index).
    value_cols : list of str or None
        The value columns; None takes every other column.
    """

    def __init__(self, frame, id_col, time_col, value_cols=None):
        self.frame = frame
        self.id_col = id_col
        self.time_col = time_col
        self.value_cols = None if value_cols is None else list(value_cols)
        self._layout = None

    def __repr__(self):
        return (
            f"DaskLongFrame({self.frame.npartitions} partitions, id_col="
            f"{self.id_col!r}, time_col={self.time_col!r})"
        )

    def __len__(self):
        return self.frame.npartitions

    def _entities(self):
        """Sorted entity ids and their row counts, per partition; an entity
        in several partitions is an error that names it."""
        if self._layout is not None:
            return self._layout
        import dask

        frame, id_col = self.frame, self.id_col
        if id_col in frame.columns:
            ids = frame[id_col]
        elif frame.index.name == id_col:
            ids = frame.index
        else:
            raise ValueError(
                f"the dask DataFrame has no column or index named {id_col!r} (id_col); "
                f"its columns are {list(frame.columns)}"
            )
        parts = _compute(*[dask.delayed(_counts)(d) for d in ids.to_delayed()])
        every = np.concatenate([p[0] for p in parts]) if parts else np.array([])
        owner = np.repeat(np.arange(len(parts)), [len(p[0]) for p in parts])
        unique, first, counts = np.unique(every, return_index=True, return_counts=True)
        if (counts > 1).any():
            entity = unique[np.flatnonzero(counts > 1)[0]]
            where = owner[every == entity].tolist()
            raise ValueError(
                f"entity {_plain(entity)!r} has rows in partitions {where} of "
                "the dask DataFrame; every entity must live in one partition. "
                f"Repartition by entity first: frame = frame.set_index({id_col!r}) "
                "(which sorts by entity and keeps each one in one partition)"
            )
        sizes = [len(p[0]) for p in parts]
        self._layout = (
            [p[0] for p in parts],
            np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]),
            int(max((p[1].max() for p in parts if len(p[1])), default=0)),
        )
        return self._layout

    @property
    def bounds(self):
        return self._entities()[1]

    @property
    def max_length(self):
        """The most rows (steps) of one entity."""
        return self._entities()[2]

    def ids(self):
        """Entity ids in the order of the sequences (of predictions).

        Returns
        -------
        ids : ndarray of shape (n_sequences,)
        """
        ids = self._entities()[0]
        return np.concatenate(ids) if ids else np.array([])

    def load(self, k):
        (part,) = _compute(self.frame.get_partition(k))
        return _long_partition(part, self.id_col, self.time_col, self.value_cols)

    def align(self, y, name="y"):
        y = super().align(y, name)
        if y is None:
            return None
        ids = self.ids()
        if isinstance(y, (pd.Series, pd.DataFrame)) and not isinstance(
            y.index, pd.RangeIndex
        ):
            missing = ~pd.Index(ids).isin(y.index)
            if missing.any():
                raise ValueError(
                    f"{name} is indexed by entity but has no row for entity "
                    f"{_plain(ids[np.flatnonzero(missing)[0]])!r}; index "
                    f"{name} by entity id, or pass it as an array in the order of "
                    "X.ids()"
                )
            y = y.loc[ids]
        y = y.to_numpy() if isinstance(y, (pd.Series, pd.DataFrame)) else y
        if len(y) != len(ids):
            raise ValueError(
                f"{name} has {len(y)} rows, but the dask DataFrame holds {len(ids)} "
                f"entities; {name} needs one row per entity, in the order of X.ids()"
            )
        return y


def _counts(ids):
    """Sorted unique ids of one partition and their numbers of rows."""
    return np.unique(np.asarray(ids), return_counts=True)


def _long_partition(part, id_col, time_col, value_cols):
    """One partition as a long pandas DataFrame indexed by (entity, time)."""
    names = [n for n in part.index.names if n is not None]
    if any(n in (id_col, time_col) for n in names):
        part = part.reset_index()
    for col, what in ((id_col, "id_col"), (time_col, "time_col")):
        if col not in part.columns:
            raise ValueError(
                f"the dask DataFrame has no column or index named {col!r} ({what}); "
                f"its columns are {list(part.columns)}"
            )
    if value_cols is None:
        value_cols = [c for c in part.columns if c not in (id_col, time_col)]
    return part.set_index([id_col, time_col])[value_cols]


def from_dask_long(frame, *, id_col, time_col, value_cols=None):
    """Read a dask DataFrame in long format, one partition at a time.

    The result goes straight to ``fit``, ``partial_fit`` and the prediction
    methods of every skattn estimator, which convert one partition at a time
    as :func:`skattn.data.from_long` converts a frame (needs
    ``dask[dataframe]``). Predictions are lazy dask arrays with one row per
    entity, in the order of ``X.ids()``: partitions in order, sorted entity
    ids within each.

    Parameters
    ----------
    frame : dask.dataframe.DataFrame
        One row per entity and timestep. Every entity must live in one
        partition, as after ``frame.set_index(id_col)``; an entity split
        across partitions is an error that names it.
    id_col : str
        The entity column, or the name of the frame's index.
    time_col : str
        The time column (or index name): numbers, timestamps or durations.
    value_cols : list of str, default=None
        The value columns (channels); None takes every other column.

    Returns
    -------
    X : DaskLongFrame
        The lazy input; ``X.ids()`` computes the entity ids in the order of
        the sequences.

    Examples
    --------
    >>> import pandas as pd
    >>> import dask.dataframe as dd
    >>> from skattn.data import from_dask_long
    >>> events = pd.DataFrame(
    ...     {"customer": ["b", "a", "a", "b"], "day": [1, 1, 2, 2],
    ...      "amount": [5.0, 1.0, 2.0, 6.0]}
    ... )
    >>> frame = dd.from_pandas(events, npartitions=2).set_index("customer")
    >>> X = from_dask_long(frame, id_col="customer", time_col="day")
    >>> X.ids()
    array(['a', 'b'], dtype=object)
    """
    if not _is_dask_frame(frame):
        raise TypeError(
            f"from_dask_long needs a dask DataFrame, got {type(frame).__name__}; for "
            "a pandas DataFrame use skattn.data.from_long"
        )
    return DaskLongFrame(frame, id_col, time_col, value_cols)


def as_source(X, name="X"):
    """The :class:`BlockSource` of a lazy input."""
    if isinstance(X, DaskLongFrame):
        return X
    if _is_dask_frame(X):
        raise TypeError(
            f"{name} is a dask DataFrame; wrap it with skattn.data.from_dask_long("
            f"{name}, id_col=..., time_col=...) to say which columns hold the entity "
            "and the time (long format, one row per entity and timestep)"
        )
    return ArrayBlocks(X, name)


def check_not_a_graph_key(X):
    """Refuse a dask graph key handed over instead of a block.

    dask-ml's ``Incremental`` names the blocks of 2D arrays only (``(name,
    i, 0)``): for a 3D array the key matches no block, and dask passes the
    key itself, a tuple starting with the array's name, to ``partial_fit``.
    """
    if (
        isinstance(X, tuple)
        and len(X) >= 2
        and isinstance(X[0], str)
        and all(isinstance(i, (int, np.integer)) for i in X[1:])
    ):
        raise TypeError(
            f"X is the dask graph key {X!r}, not data: a tool that splits dask "
            "arrays into blocks (dask-ml's Incremental builds block keys for 2D "
            "arrays only) handed over the name of a block of a 3D array. Pass the "
            "dask array to fit or partial_fit directly: skattn reads it block by "
            "block"
        )


def _plain(value):
    """A numpy scalar as the Python value it holds (for messages)."""
    return value.item() if isinstance(value, np.generic) else value
