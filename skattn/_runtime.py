"""Where and how torch runs during a call: threads, devices, seeds.

- :func:`num_threads`: torch's thread count for the length of a call, safe
  when calls overlap in several threads; ``"auto"`` picks the count from
  the work of one training step (:func:`step_flops`, :func:`auto_threads`);
- :func:`resolve_device`: ``device="auto"`` and the checks of explicit
  devices, with the worker GPU slots of parallel searches
  (:func:`worker_slot`);
- :func:`torch_context`: the one context every ``fit`` and prediction runs
  in (threads, and with a seed, torch's forked and seeded RNGs).
"""

import multiprocessing
import os
import tempfile
import threading
from contextlib import contextmanager

import torch
from torch import nn

from .modules import ConvStem, TransformerEncoderLayer

__all__ = [
    "FLOPS_PER_THREAD",
    "auto_threads",
    "num_threads",
    "resolve_device",
    "step_flops",
    "torch_context",
    "worker_slot",
]

# n_threads="auto": one torch thread per this many FLOPs of a training step
# (forward and backward of one batch). Torch's OpenMP threads spin-wait for
# each other at the end of every operation; when another process holds a
# core, a descheduled thread stalls the others for a scheduler time slice
# (milliseconds) per operation, which costs small networks 10x to 30x while
# a second thread saves them little on a quiet machine (1.12x for a small
# Transformer in benchmarks/GRID_SEARCH.md). Only steps whose operations are
# long against a time slice can gain from more threads under load; the
# threshold (a step of about a second on one core) still lets large
# networks use the cores of a big machine. Measured in
# benchmarks/THREADS.md, where a quiet machine must confirm it.
FLOPS_PER_THREAD = 2e10

# ``n_threads``: torch.set_num_threads is process-wide (per thread for
# OpenMP's part), so calls that overlap share one saved value to restore.
_THREADS_LOCK = threading.Lock()
_threads_users = 0
_threads_before = None


def step_flops(module, batch_size, length):
    """Estimate the floating-point operations of one training step.

    Every weight of a linear, convolution or recurrent layer costs a
    multiply-add per sequence and step it is applied at (the stem's layers at
    their own strided lengths, the rest at the stem's output length), each
    self-attention layer ``4 t² d`` per sequence, and the backward pass twice
    the forward pass. Embedding lookups, norms and activations are left out:
    this sizes the work, it does not count it.

    Parameters
    ----------
    module : torch.nn.Module
        The network (any skattn network, or a module holding one).
    batch_size : int
        Sequences per step.
    length : int
        Steps of the (padded) input sequences.

    Returns
    -------
    flops : int
        The estimate for one batch, forward and backward.
    """
    steps = int(length)
    per_sequence = 0
    in_stem = set()
    for stem in (m for m in module.modules() if isinstance(m, ConvStem)):
        steps = int(length)  # an ensemble's members have a stem each
        for layer, stride in zip(stem.convs, stem.strides, strict=True):
            steps = -(-steps // stride)
            # a Conv1d, or a MultiScaleConv's branches
            for conv in (m for m in layer.modules() if isinstance(m, nn.Conv1d)):
                per_sequence += 2 * conv.weight.numel() * steps
                in_stem.add(conv)
    for layer in module.modules():
        if layer in in_stem:
            continue
        if isinstance(layer, (nn.Linear, nn.Conv1d)):
            per_sequence += 2 * layer.weight.numel() * steps
        elif isinstance(layer, nn.RNNBase):
            weights = sum(
                p.numel() for name, p in layer.named_parameters() if "weight" in name
            )
            per_sequence += 2 * weights * steps
        elif isinstance(layer, TransformerEncoderLayer):
            per_sequence += 4 * steps * steps * layer.out_proj.in_features
    return 3 * int(batch_size) * per_sequence


def auto_threads(flops, available):
    """The thread count ``n_threads="auto"`` gives a step of ``flops``.

    Parameters
    ----------
    flops : int or float
        Work of one training step (:func:`step_flops`).
    available : int
        Torch's thread count before the call: the upper limit (in joblib's
        and dask's workers already ``cores // workers``).

    Returns
    -------
    n : int
        ``flops // FLOPS_PER_THREAD``, at least 1 and at most ``available``.
    """
    return int(max(1, min(available, flops // FLOPS_PER_THREAD)))


@contextmanager
def num_threads(n, flops=None):
    """Set torch's thread count to ``n`` (None: leave it) for the block.

    ``n="auto"`` sets :func:`auto_threads` of ``flops`` (the work of one
    training step), at most the count torch had before the first of the
    calls that overlap this one, so that neither an overlapping call's
    setting nor a worker's ``OMP_NUM_THREADS`` limit is exceeded. Every call
    restores the value from before the first of the calls that overlap it:
    with a per-call save, a call starting while another runs would save the
    other's setting and, ending last, leave it in place.
    """
    global _threads_users, _threads_before
    if n is None:
        yield
        return
    if n == "auto" and flops is None:
        raise ValueError('n_threads="auto" needs the work of a step (flops)')
    with _THREADS_LOCK:
        if _threads_users == 0:
            _threads_before = torch.get_num_threads()
        _threads_users += 1
        if n == "auto":
            n = auto_threads(flops, _threads_before)
        torch.set_num_threads(n)
    try:
        yield
    finally:
        with _THREADS_LOCK:
            _threads_users -= 1
            # restore in this thread too (OpenMP keeps the count per thread)
            torch.set_num_threads(_threads_before)


@contextmanager
def torch_context(n_threads, seed=None, device="cpu", flops=None):
    """Run the block with ``n_threads`` torch threads (``"auto"``: from
    ``flops``, see :func:`num_threads`); with ``seed``, fork and seed torch's
    RNGs (on ``device`` too) so the caller's global random state is left
    untouched."""
    with num_threads(n_threads, flops):
        if seed is None:
            yield
            return
        cuda = torch.device(device).type == "cuda"
        devices = [torch.device(device).index or 0] if cuda else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            yield


_SLOT_LOCK = threading.Lock()
_slot = None  # (pid, slot, locked file descriptor) of this process


def worker_slot():
    """This process's slot among the skattn worker processes alive on this host.

    The slot is the smallest ``k`` whose lock file
    ``<tmp>/skattn-worker-slots-<uid>/<k>.lock`` this process could lock; it
    keeps the lock until it exits, when the OS releases it. Concurrently live
    workers therefore hold distinct slots ``0, 1, 2, ...`` whatever launched
    them (loky, which gives its workers no rank, dask, multiprocessing).
    Without ``fcntl`` (Windows) the process id stands in.
    """
    global _slot
    with _SLOT_LOCK:
        if _slot is not None and _slot[0] == os.getpid():
            return _slot[1]
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            _slot = (os.getpid(), os.getpid(), None)
            return _slot[1]
        folder = os.path.join(
            tempfile.gettempdir(), f"skattn-worker-slots-{os.getuid()}"
        )
        os.makedirs(folder, exist_ok=True)
        k = 0
        while True:
            fd = os.open(os.path.join(folder, f"{k}.lock"), os.O_RDWR | os.O_CREAT)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                k += 1
                continue
            _slot = (os.getpid(), k, fd)  # fd stays open: the lock is held
            return k


def resolve_device(device):
    """``"auto"`` -> ``"cuda"``, ``"cuda:N"`` or ``"cpu"``; check that CUDA
    exists if asked.

    With several GPUs visible, ``"auto"`` in a worker process (joblib/loky,
    dask: any process started by multiprocessing) picks
    ``cuda:{slot % n_gpus}``, where ``slot`` numbers the live worker processes
    of this host (see :func:`worker_slot`), so parallel fits of a search
    spread over the GPUs; in the main process it stays ``"cuda"`` (the
    current device).
    """
    if device == "auto":
        if not torch.cuda.is_available():
            return "cpu"
        n_gpus = torch.cuda.device_count()
        if n_gpus > 1 and multiprocessing.parent_process() is not None:
            return f"cuda:{worker_slot() % n_gpus}"
        return "cuda"
    try:
        parsed = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(
            f"device={device!r} is not a valid torch device: {exc}"
        ) from None
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device={device!r}, but CUDA is not available here")
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r}, but only {torch.cuda.device_count()} CUDA "
                "devices are visible"
            )
    elif parsed.type != "cpu":
        raise ValueError(
            f"device={device!r}: only 'auto', 'cpu' and 'cuda' are supported"
        )
    return device
