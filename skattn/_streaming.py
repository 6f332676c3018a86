"""Data larger than memory: dask arrays, memory-mapped arrays and dask
DataFrames, read block by block.

``fit`` and ``partial_fit`` hand such inputs to :func:`fit_streamed`, which
runs the same steps as the in-memory template (validate, prepare the target,
fit the input standardisation, train) with the data left where it is:

- a :class:`~skattn._sources.BlockSource` reads one block of rows at a
  time (a chunk of a dask array along the samples, a slice of a
  memory-mapped array, a partition of a dask DataFrame in long format), so
  memory depends on the block size, not
  on the data size. Targets and sample weights (one value per sequence) are
  held in memory;
- the input standardisation comes from one pass over the blocks, merging
  per-block float64 means and variances (Chan et al. 1979), so it equals the
  in-memory statistics up to float64 rounding;
- :class:`StreamedData` is what the skorch net trains on: every epoch it
  visits the blocks in a shuffled order, shuffles the rows of each block and
  groups them by length as :class:`~skattn._net.BatchIterator` does, while
  a thread reads the next block.

Prediction on a dask array or DataFrame is lazy (:func:`predict_lazily`):
it returns a dask array computed block by block. A memory-mapped array is
predicted in chunks by :mod:`skattn._predict`, which never reads it whole.
"""

import functools
import math
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from sklearn.utils.validation import check_consistent_length, check_is_fitted

from ._events import UnknownCounter
from ._net import BatchIterator, SequenceData
from ._scaling import (
    median_length,
    sequence_smoothness,
    sequence_stds,
    standardised_tensors,
)
from ._sources import (
    DaskLongFrame,
    _compute,
    _long_partition,
    as_source,
    check_not_a_graph_key,
    is_dask,
    is_streamed,
)
from ._stats import mean_std

__all__ = [
    "StreamedData",
    "check_not_a_graph_key",
    "fit_streamed",
    "is_streamed",
    "lazy_output",
    "row_offset",
]

# The statistics of a block are computed over slices of this many values.
_STATS_VALUES = 2**21


# --- row offsets of lazily predicted blocks -------------------------------
_local = threading.local()


def row_offset():
    """Row number of the first sequence of the block predicted in this
    thread (0 outside lazy prediction): errors name global rows."""
    return getattr(_local, "offset", 0)


def _with_offset(offset, func, *args, **kwargs):
    previous = row_offset()
    _local.offset = offset
    try:
        return func(*args, **kwargs)
    finally:
        _local.offset = previous


# --- the streaming pass ---------------------------------------------------
def prefetched(load, order):
    """``load(k)`` for each ``k`` of ``order``, the next one read in a thread
    while the caller works on the current one."""
    order = list(order)
    if not order:
        return
    with ThreadPoolExecutor(1, thread_name_prefix="skattn-prefetch") as pool:
        future = pool.submit(load, order[0])
        for i in range(len(order)):
            block = future.result()
            if i + 1 < len(order):
                future = pool.submit(load, order[i + 1])
            yield block


class _Moments:
    """Per-channel count, mean and standard deviation, merged block by block
    (Chan et al.), in float64 and without squaring magnitudes: data of any
    finite scale merges without overflow."""

    def __init__(self, n_channels):
        self.n = 0
        self.mean = np.zeros(n_channels)
        self.std = np.zeros(n_channels)

    def add(self, values, lengths):
        """Merge the statistics of the real steps of ``values``
        (``[n, T, C]``), a few rows at a time: ``mean_std`` makes several
        copies of what it reads."""
        n, t, c = values.shape
        rows = max(1, _STATS_VALUES // max(t * c, 1))
        for start in range(0, n, rows):
            part, length = values[start : start + rows], lengths[start : start + rows]
            if (length == t).all():
                steps = part.reshape(-1, c)  # no padding: a view, not a copy
            else:
                steps = part[np.arange(t) < length[:, None]]
            if len(steps):
                self._merge(*mean_std(steps, axis=0), len(steps))

    def _merge(self, mean, std, m):
        if not self.n:
            self.n, self.mean, self.std = m, mean, std
            return
        n = self.n + m
        delta = mean - self.mean
        # scaled by the largest term, so that squares stay in range
        peak = np.maximum.reduce([self.std, std, np.abs(delta)])
        peak = np.where(peak > 0, peak, 1.0)
        var = (
            self.n / n * (self.std / peak) ** 2
            + m / n * (std / peak) ** 2
            + (self.n / n) * (m / n) * (delta / peak) ** 2
        )
        self.mean = self.mean + delta * (m / n)
        self.std = np.sqrt(var) * peak
        self.n = n


def fit_streamed(est, X, y, sample_weight, *, warm, epochs, stream, classes):
    """``SequenceEstimator._fit`` for inputs read block by block."""
    source = as_source(X)
    # the first block fixes the input contract (channels, width, names)
    est._validate_input(source.load(0), reset=not warm, counter=UnknownCounter())
    _refuse_vocabularies(est)
    n = source.n_rows
    y = source.align(y)
    sample_weight = source.align(sample_weight, "sample_weight")
    if y is not None:
        check_consistent_length(np.empty(n), y)
    target, n_outputs = est._prepare_target(y, warm=warm, classes=classes)
    weight = est._sample_weight(sample_weight, n, y)
    keep = weight > 0
    if target is None:  # self-supervised: the loss reads the input only
        target = torch.zeros(n)
    max_length = int(source.max_length or getattr(est, "_max_length", 0))
    if not warm:
        loc, scale = _streamed_scaling(est, source, keep)
        if est.vocab_size is None:
            codes = est._code_channels()
            loc[codes], scale[codes] = 0.0, 1.0
            est._input_loc, est._input_scale = loc, scale
        else:  # token ids are embedded, not scaled
            est._input_loc = est._input_scale = None
    data = StreamedData(
        source,
        functools.partial(_prepare_block, est, source),
        target,
        torch.from_numpy(weight.astype(np.float32)),
        keep,
        np.arange(len(source)),
    )
    est._train(data, n_outputs, max_length, warm=warm, epochs=epochs, stream=stream)
    return est


def _refuse_vocabularies(est):
    if est._categorical_mask().any() or est.static_features is not None:
        raise ValueError(
            "categorical_features and static_features learn vocabularies from the "
            "whole training set, which data read block by block (dask, memory-"
            "mapped arrays) does not offer; encode categories as numbers in the "
            "data, or convert it to an in-memory array or long DataFrame first"
        )


def _validated(est, source, k):
    """Block ``k`` checked and converted, and whether its values are a copy
    of the data read (``False`` when they may share memory with it, as a
    float64 block of a persisted dask array does)."""
    k = int(k)
    block = source.load(k)
    offset = int(source.bounds[k])
    seqs = est._validate_input(block, reset=False, offset=offset)
    if len(seqs.lengths) != source.bounds[k + 1] - offset:
        raise ValueError(
            f"block {k} of X held {len(seqs.lengths)} sequences when read, but "
            f"{int(source.bounds[k + 1]) - offset} when X was first read; the data "
            "changed during fit"
        )
    if isinstance(block, np.ndarray):
        return seqs, not np.may_share_memory(seqs.values, block)
    return seqs, True  # a DataFrame partition is converted into a new array


def _streamed_scaling(est, source, keep):
    """Input ``(loc, scale)`` from one pass over the blocks (which also
    checks every block as the in-memory path would).

    Two blocks are read and reduced at a time (numpy and dask release the
    GIL); the per-block statistics are merged in block order, so the result
    does not depend on which finishes first.
    """
    n_channels = est._n_network_channels()

    # series_norm="auto" reads the spread of the sequences' scales, and
    # differences="auto" how smooth they are
    auto = est._series_norm_reads_data()
    smooth = est._differences_read_data()
    ones = np.ones(n_channels)

    def block_moments(k):
        seqs, _ = _validated(est, source, k)
        rows = keep[source.bounds[k] : source.bounds[k + 1]]
        values, lengths = seqs.values, seqs.lengths
        if not rows.all():
            values, lengths = values[rows], lengths[rows]
        moments = _Moments(n_channels)
        moments.add(values, lengths)
        stds = sequence_stds(values, lengths, 0 * ones, ones) if auto else None
        ratios = sequence_smoothness(values, lengths) if smooth else None
        return moments, stds, ratios, lengths

    total, stds, ratios, lengths = _Moments(n_channels), [], [], []
    with ThreadPoolExecutor(2, thread_name_prefix="skattn-statistics") as pool:
        for moments, block_stds, block_ratios, block_lengths in pool.map(
            block_moments, range(len(source))
        ):
            if moments.n:
                total._merge(moments.mean, moments.std, moments.n)
            if block_stds is not None:
                stds.append(block_stds)
            if block_ratios is not None:
                ratios.append(block_ratios)
            lengths.append(block_lengths)
    est._fit_series_norm(np.concatenate(stds) if stds else None)
    est._fit_differences(np.concatenate(ratios) if ratios else None)
    est._stem_length = median_length(np.concatenate(lengths))
    loc, scale = total.mean, total.std
    # as fit_input_scaling: constant channels are centred only
    scale[~(scale > 1e-12 * np.abs(loc))] = 1.0
    return loc, scale


def _prepare_block(est, source, k):
    """Standardised float32 tensors and lengths of block ``k``."""
    seqs, own = _validated(est, source, k)
    return standardised_tensors(
        seqs, est._input_loc, est._input_scale, np.float32, in_place=own
    )


class StreamedData:
    """Training data read block by block; what :class:`SequenceNet` iterates
    over in place of :class:`~skattn._net.SequenceData`.

    Parameters
    ----------
    source : BlockSource
    prepare : callable
        ``prepare(k)`` returns ``(values, lengths)`` tensors of block ``k``.
    target : Tensor ``[n, ...]``
        Targets of every row of ``source``.
    weight : float Tensor ``[n]``
        Sample weights of every row (normalised here over the rows kept).
    keep : bool ndarray ``[n]``
        Rows that train (nonzero weight).
    blocks : ndarray of int
        The blocks of ``source`` this data holds.
    """

    def __init__(self, source, prepare, target, weight, keep, blocks):
        self.source = source
        self.prepare = prepare
        self.target = target
        self.keep = keep
        self.blocks = np.asarray(blocks)
        bounds = source.bounds
        self._sizes = np.array(
            [int(keep[bounds[k] : bounds[k + 1]].sum()) for k in self.blocks],
            dtype=np.int64,
        )
        # weights of mean 1 over the rows this data trains on (zero weights
        # are never read: those rows are dropped from their blocks)
        total = sum(
            float(weight[bounds[k] : bounds[k + 1]].double().sum()) for k in self.blocks
        )
        self.weight = weight * (max(len(self), 1) / total if total > 0 else 1.0)

    def __len__(self):
        return int(self._sizes.sum())

    def n_batches(self, batch_size):
        """Batches per epoch: each block ends its own last batch."""
        return int(sum(math.ceil(s / batch_size) for s in self._sizes))

    def validation_split(self, fraction, seed, order="random"):
        """``(train, valid)``: whole blocks, drawn with ``seed`` (``order=
        "random"``) or the last ones (``"last"``)."""
        n = len(self.blocks)
        n_valid = int(math.ceil(fraction * n))
        if n < 2 or n_valid >= n:
            raise ValueError(
                f"early_stopping holds out whole blocks of X, but validation_fraction"
                f"={fraction} of its {n} blocks leaves {n - min(n_valid, n)} for "
                "training; use more, smaller blocks (rechunk X along the samples) "
                "or early_stopping=False"
            )
        order = (
            np.arange(n)[::-1]
            if order == "last"
            else np.random.RandomState(seed).permutation(n)
        )
        valid, train = np.sort(order[:n_valid]), np.sort(order[n_valid:])
        return self._subset(self.blocks[train]), self._subset(self.blocks[valid])

    def _subset(self, blocks):
        return StreamedData(
            self.source, self.prepare, self.target, self.weight, self.keep, blocks
        )

    def _block(self, k):
        values, lengths = self.prepare(k)
        a, b = int(self.source.bounds[k]), int(self.source.bounds[k + 1])
        rows = self.keep[a:b]
        target, weight = self.target[a:b], self.weight[a:b]
        if not rows.all():
            index = torch.from_numpy(np.flatnonzero(rows))
            values, lengths = values[index], lengths[index]
            target, weight = target[index], weight[index]
        return SequenceData(values, lengths, target, weight)

    def batch_iterator(
        self, batch_size, *, shuffle, generator, device, group_by_length=True
    ):
        """An iterable over the batches of one epoch (see
        :class:`~skattn._net.BatchIterator`; batches never span blocks)."""
        return _StreamedBatches(
            self, batch_size, shuffle, generator, device, group_by_length
        )


class _StreamedBatches:
    def __init__(self, data, batch_size, shuffle, generator, device, group_by_length):
        self.data = data
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.device = device
        self.group_by_length = group_by_length

    def __len__(self):
        return self.data.n_batches(self.batch_size)

    def __iter__(self):
        blocks = self.data.blocks
        if self.shuffle:
            blocks = blocks[
                torch.randperm(len(blocks), generator=self.generator).numpy()
            ]
        for block in prefetched(self.data._block, blocks):
            if not len(block):
                continue
            yield from BatchIterator(
                block,
                self.batch_size,
                shuffle=self.shuffle,
                generator=self.generator,
                device=self.device,
                group_by_length=self.group_by_length,
            )


# --- lazy prediction ------------------------------------------------------
def lazy_output(method):
    """Make a prediction method lazy on dask inputs: it returns a dask array
    computed block by block. Other inputs go to ``method`` as they are."""

    @functools.wraps(method)
    def wrapper(self, X, *args, **kwargs):
        if is_dask(X):
            return predict_lazily(self, method, X, *args, **kwargs)
        return method(self, X, *args, **kwargs)

    return wrapper


def _block_output(est, method, args, kwargs, block, offset):
    return _with_offset(offset, method, est, block, *args, **kwargs)


def predict_lazily(est, method, X, *args, **kwargs):
    """``method(est, X)`` as a dask array of the outputs of each block."""
    import dask
    import dask.array as da

    check_is_fitted(est, "net_")
    source = as_source(X)
    if isinstance(source, DaskLongFrame):
        probe = method(est, source.load(0), *args, **kwargs)
        width = probe.shape[1:]
        if method.__name__ == "attention_weights":
            width = (*probe.shape[1:-1], source.max_length)
        pieces = []
        for k, d in enumerate(source.frame.to_delayed()):
            offset = int(source.bounds[k])
            n_rows = int(source.bounds[k + 1]) - offset
            part = dask.delayed(_long_partition)(
                d, source.id_col, source.time_col, source.value_cols
            )
            out = dask.delayed(_block_output)(est, method, args, kwargs, part, offset)
            if method.__name__ == "attention_weights":
                out = dask.delayed(_pad_steps)(out, source.max_length)
            pieces.append(
                da.from_delayed(out, shape=(n_rows, *width), dtype=probe.dtype)
            )
        return da.concatenate(pieces)
    X = source.X
    (head,) = _compute(X[:1])
    probe = method(est, np.asarray(head), *args, **kwargs)
    bounds = source.bounds

    def block(b, block_info=None):
        offset = int(bounds[block_info[0]["chunk-location"][0]])
        return _block_output(est, method, args, kwargs, b, offset)

    in_ndim, out_ndim = X.ndim, probe.ndim
    return da.map_blocks(
        block,
        X,
        dtype=probe.dtype,
        chunks=(X.chunks[0], *((s,) for s in probe.shape[1:])),
        drop_axis=list(range(out_ndim, in_ndim)) if out_ndim < in_ndim else [],
        new_axis=list(range(in_ndim, out_ndim)) if out_ndim > in_ndim else None,
        meta=np.empty((0,) * out_ndim, dtype=probe.dtype),
    )


def _pad_steps(weights, width):
    pad = [(0, 0)] * (weights.ndim - 1) + [(0, width - weights.shape[-1])]
    return np.pad(weights, pad)
