"""Prediction in bounded memory: chunks of the input, batches of each chunk.

``SequenceEstimator._run`` validates and standardises one chunk of ``X`` at
a time (:func:`iter_chunks`), applies a frozen copy of the trained network
(:class:`InferenceModules`) batch by batch (:func:`run_batches`), and
gathers the results (:class:`ChunkOutputs`).
"""

import copy
import threading

import numpy as np
import torch

from . import data as _data
from .modules import lengths_to_mask

__all__ = [
    "CHUNK_VALUES",
    "ChunkOutputs",
    "InferenceModules",
    "check_finite_output",
    "iter_chunks",
    "run_batches",
]

# Inputs are converted and predicted in chunks of about this many values, so
# memory during prediction is bounded by the chunk (a few float64 copies of
# it, about 40 MB), not by the data; benchmarks/memory.py measures it.
# Smaller chunks cost little time: the network runs in batches anyway.
CHUNK_VALUES = 2**20


class InferenceModules:
    """Frozen copies of a trained module for prediction, per dtype and device.

    Prediction runs on a copy in evaluation mode, so it never changes the
    trained module and several threads may predict at once. The copies are
    rebuilt on demand and never pickled.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._modules = {}

    def get(self, module, dtype, device):
        key = (dtype, str(device))
        with self._lock:
            frozen = self._modules.get(key)
            if frozen is None:
                frozen = copy.deepcopy(module).to(device=device, dtype=dtype).eval()
                frozen.requires_grad_(False)
                self._modules[key] = frozen
            return frozen

    def __getstate__(self):
        return {}

    def __setstate__(self, state):
        self.__init__()

    def __deepcopy__(self, memo):
        return InferenceModules()


def _size(sequence):
    """Number of values of one list element (1 when it is not array-like:
    validation then says what is wrong with it)."""
    try:
        return np.size(sequence)
    except ValueError:
        return 1


def iter_chunks(X, min_rows):
    """Yield ``(offset, chunk, n_total)`` pieces of ``X`` holding about
    ``CHUNK_VALUES`` values each, and at least ``min_rows`` sequences;
    ``n_total`` is the number of sequences in ``X``, or None when the one
    chunk is the whole of ``X``."""
    if _data._is_long(X):
        yield from _long_chunks(X, min_rows)
        return
    if not hasattr(X, "__len__"):
        yield 0, X, None
        return
    n = len(X)
    if _data._is_ragged(X):
        seqs = X.values if hasattr(X, "iloc") else X
        step_size = max((_size(s) for s in seqs), default=1)
    else:
        shape = _data._array_shape(X)
        step_size = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    rows = max(min_rows, CHUNK_VALUES // max(step_size, 1))
    if rows >= n:
        yield 0, X, None
        return
    for start in range(0, n, rows):
        if hasattr(X, "iloc"):
            yield start, X.iloc[start : start + rows], n
        else:
            yield start, X[start : start + rows], n


def _long_chunks(X, min_rows):
    """Chunks of a long DataFrame, whole entities each, in sorted id order.

    The MultiIndex's codes give each row's entity; when its levels are
    not sorted (or an id is missing) the frame is converted at once and
    validation reports what is wrong.
    """
    index = X.index
    codes = np.asarray(index.codes[0])
    levels = index.levels[0]
    if not len(codes) or codes.min() < 0 or not levels.is_monotonic_increasing:
        yield 0, X, None
        return
    counts = np.bincount(codes, minlength=len(levels))
    present = np.flatnonzero(counts)  # entity codes, in sorted id order
    width = int(counts.max()) * max(X.shape[1], 1)  # padded values per entity
    # pandas needs several times more memory per row than numpy per value
    per = max(min_rows, CHUNK_VALUES // 4 // width)
    if per >= len(present):
        yield 0, X, None
        return
    grouped = bool((codes[1:] >= codes[:-1]).all())  # rows sorted by entity
    for start in range(0, len(present), per):
        lo, hi = present[start], present[min(start + per, len(present)) - 1] + 1
        if grouped:
            a, b = np.searchsorted(codes, [lo, hi])
            yield start, X.iloc[a:b], len(present)
        else:
            rows = np.flatnonzero((codes >= lo) & (codes < hi))
            yield start, X.iloc[rows], len(present)


def run_batches(network, values, lengths, method, device, batch_size):
    """Apply ``network`` to one chunk in batches of similar lengths.

    ``method`` is ``"forward"`` (head output), ``"embed"`` (pooled vector)
    or ``"attention"`` (weights ``[n, h, t]``, 0 on padding). Returns a
    numpy array in the order of ``values``.
    """
    n, width = len(lengths), values.shape[1]
    if n <= batch_size:
        # One batch (a single sequence, say): no sorting, reordering or
        # copying into a result, which pay off only when several batches
        # of similar lengths each get a shorter padded width.
        return _apply(network, values, lengths, method, device, width).numpy()
    order = torch.argsort(lengths, stable=True)
    pieces = []
    for index in order.split(batch_size):
        t = int(lengths[index].max())  # (indexing copies only the t steps)
        v = values[index, :t]
        pieces.append(_apply(network, v, lengths[index], method, device, width))
    result = torch.empty((n, *pieces[0].shape[1:]), dtype=pieces[0].dtype)
    result[order] = torch.cat(pieces)
    return result.numpy()


def _apply(network, values, lengths, method, device, width):
    """``method`` of ``network`` on one batch, cut to its longest sequence;
    attention weights are padded back to ``width`` steps. On the CPU."""
    t = int(lengths.max())
    if t < values.shape[1]:  # a single batch wider than its longest sequence
        values = values[:, :t].contiguous()
    non_blocking = device.type == "cuda"
    v = values.to(device, non_blocking=non_blocking)
    m = lengths_to_mask(lengths, t).to(device, non_blocking=non_blocking)
    if method == "forward":
        out = network(v, m)
    elif method == "embed":
        out = network.embed(v, m)
    else:
        weights = network.attention(v, m)[1]  # [b, h, t]
        out = torch.nn.functional.pad(weights, (0, width - t))
    return out.cpu()


def check_finite_output(out, values, offset, name):
    """Raise when the network overflowed on some sequence: say which, and why.

    ``values`` are the standardised inputs of the chunk starting at sequence
    ``offset``; ``name`` is the estimator's class name.
    """
    bad = ~np.isfinite(out.reshape(len(out), -1)).all(axis=1)
    if not bad.any():
        return
    row = int(np.flatnonzero(bad)[0])
    peak = float(values[row].abs().max())
    raise ValueError(
        f"{name} cannot compute a finite output for sequence "
        f"{row + offset} of X: standardised with the training statistics, its "
        f"values reach {peak:.3g} (the training data has mean 0 and standard "
        "deviation 1 on that scale), which overflows the network. X is far "
        "outside the range of the training data; rescale it like the training "
        "data"
    )


class ChunkOutputs:
    """The outputs of all chunks, as one float64 array in the order of ``X``.

    Outputs of a fixed width are written in place into one array as chunks
    arrive (no list of pieces to concatenate: half the peak memory on large
    inputs). Attention weights are padded to the longest chunk first, since
    each chunk is as wide as its own longest sequence.
    """

    def __init__(self, *, pad_steps):
        self.pad_steps = pad_steps
        self._pieces = []
        self._steps = 0
        self._result = None

    def add(self, offset, out, n_total):
        """Keep ``out``, the output of sequences ``offset...`` of ``n_total``
        (None when this chunk is the whole input)."""
        if self.pad_steps or n_total is None:
            self._pieces.append(out)
            self._steps = max(self._steps, out.shape[-1])
            return
        if self._result is None:
            self._result = np.empty((n_total, *out.shape[1:]), dtype=np.float64)
        self._result[offset : offset + len(out)] = out

    def result(self):
        if self._result is not None:
            return self._result
        pieces = self._pieces
        if len(pieces) == 1:
            return pieces[0].astype(np.float64, copy=False)
        if self.pad_steps:
            pieces = [
                np.pad(o, [(0, 0), (0, 0), (0, self._steps - o.shape[-1])])
                for o in pieces
            ]
        return np.concatenate(pieces).astype(np.float64, copy=False)
