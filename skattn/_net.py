"""The skorch net that trains skattn's networks, and what it iterates over.

The public estimators are plain scikit-learn estimators; each builds a
:class:`SequenceNet` in ``fit`` and keeps it as ``net_``. This module holds
the parts of training that are not specific to one estimator:

- :class:`SequenceData`: tensors built once per fit (values, lengths,
  targets, weights);
- :class:`BatchIterator`: batches as slices of those tensors, trimmed to the
  longest sequence in the batch, with similar lengths grouped together;
- :class:`SequenceNet`: skorch's training loop with a weighted per-sample
  loss and optional mixed precision;
- :class:`TrainingMonitor`: divergence check, early stopping, and keeping
  the best weights on early stop or Ctrl-C;
- :class:`TrainingProgress`: what ``verbose`` shows during ``fit``;
- :class:`WeightAveraging`: training that ends with an average of the
  weights it went through;
- :func:`training_callbacks` (monitor, learning-rate schedule, clipping,
  weight averaging, progress), :func:`validation_split` (the held-out
  share for early stopping) and :func:`validation_folds` (folds that hold
  out every sequence once).
"""

import copy
import math
import sys
import time
from contextlib import nullcontext

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import (
    Callback,
    EpochTimer,
    GradientNormClipping,
    LRScheduler,
    PassthroughScoring,
)

from .data import _plain
from .exceptions import TrainingInterruptedWarning, _warn
from .modules import NetworkEnsemble, lengths_to_mask, sequence_moments

__all__ = [
    "BatchIterator",
    "SequenceData",
    "SequenceNet",
    "TrainingMonitor",
    "TrainingProgress",
    "WarmupCosine",
    "WeightAveraging",
    "jittered",
    "magnitude_scaled",
    "plain_history",
    "random_windows",
    "time_warped",
    "training_callbacks",
    "validation_folds",
    "validation_split",
]

# Batches drawn from a pool this many batches wide are grouped by length.
_BUCKET_POOL = 50


class SequenceData:
    """Training or inference tensors, built once.

    Parameters
    ----------
    values : float Tensor ``[n, T, C]`` (padding holds zeros)
    lengths : int64 Tensor ``[n]``
    target : Tensor ``[n, ...]`` or None
    weight : float Tensor ``[n]`` or None
        Per-sample loss weights, normalised to mean 1 over this data.
    """

    def __init__(self, values, lengths, target=None, weight=None):
        self.values = values
        self.lengths = lengths
        self.target = target
        self.weight = weight

    def __len__(self):
        return len(self.lengths)

    def n_batches(self, batch_size):
        """Batches per epoch."""
        return math.ceil(len(self) / batch_size)

    def subset(self, index):
        index = torch.as_tensor(index, dtype=torch.long)
        weight = None if self.weight is None else self.weight[index]
        if weight is not None:
            weight = weight / weight.mean()
        return SequenceData(
            self.values[index],
            self.lengths[index],
            None if self.target is None else self.target[index],
            weight,
        )


class BatchIterator:
    """Iterate over :class:`SequenceData` in batches of tensor slices.

    Each batch is ``({"values": [b, t, C], "mask": [b, t]}, (target, weight))``
    with ``t`` the longest length in the batch. When lengths differ and
    ``group_by_length`` is True, batches group sequences of similar length
    (training draws them from a shuffled pool of ``50 * batch_size``
    sequences), so a long outlier does not pad every batch; up to that many
    sequences, training then sees the same batches every epoch, in another
    order. With ``group_by_length=False`` a shuffled order is cut into
    batches as it comes.
    """

    def __init__(
        self,
        data,
        batch_size,
        *,
        shuffle=False,
        generator=None,
        device="cpu",
        group_by_length=True,
    ):
        self.data = data
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.device = torch.device(device)
        # grouping by length: asked for, and only where lengths differ
        self._grouped = bool(
            group_by_length and len(data) and (data.lengths != data.lengths[0]).any()
        )

    def __len__(self):
        return math.ceil(len(self.data) / self.batch_size)

    def _batches(self):
        n, bs = len(self.data), self.batch_size
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator)
        else:
            order = torch.arange(n)
        if not self._grouped:
            return list(order.split(bs))
        lengths = self.data.lengths
        batches = []
        for pool in order.split(bs * _BUCKET_POOL):
            by_length = pool[torch.argsort(lengths[pool], stable=True)]
            batches.extend(by_length.split(bs))
        if self.shuffle:
            perm = torch.randperm(len(batches), generator=self.generator)
            batches = [batches[i] for i in perm]
        return batches

    def __iter__(self):
        data, device = self.data, self.device
        non_blocking = device.type == "cuda"
        for index in self._batches():
            lengths = data.lengths[index]
            t = int(lengths.max())
            values = data.values[index, :t]
            mask = lengths_to_mask(lengths, t)
            if non_blocking and not values.is_pinned():
                values, mask = values.pin_memory(), mask.pin_memory()
            X = {
                "values": values.to(device, non_blocking=non_blocking),
                "mask": mask.to(device, non_blocking=non_blocking),
            }
            if data.target is None:
                yield X, None
            else:
                y = (
                    data.target[index].to(device, non_blocking=non_blocking),
                    data.weight[index].to(device, non_blocking=non_blocking),
                )
                yield X, y


def random_windows(X, fraction, generator):
    """Each sequence of a batch cut to a random window of its real steps.

    The window holds ``ceil(fraction * length)`` consecutive real steps (at
    least one), starts at a uniformly drawn step, and is moved to the start
    of the row, as window slicing does (Le Guennec et al., "Data
    augmentation for time series classification using convolutional neural
    networks", 2016): the network learns from parts of each training
    sequence, shifted in time. Padding stays zero.

    Parameters
    ----------
    X : dict
        A batch: ``values [b, t, c]`` and ``mask [b, t]`` (right-padded).
    fraction : float in (0, 1]
        The share of each sequence's real steps that the window keeps.
    generator : torch.Generator
        Draws the windows' starts (on the CPU).

    Returns
    -------
    X : dict
        ``values [b, t', c]`` and ``mask [b, t']``, ``t'`` the longest window.
    """
    values, mask = X["values"], X["mask"]
    lengths = mask.sum(1).cpu()
    # ceil in float64, less a rounding error: 10 * 0.6 keeps 6 steps, not 7
    keep = torch.ceil(lengths.double() * fraction - 1e-9).long().clamp(min=1)
    draws = torch.rand(len(lengths), generator=generator)
    starts = (draws * (lengths - keep + 1)).long()  # in [0, length - keep]
    t = int(keep.max()) if len(keep) else 0
    index = starts[:, None] + torch.arange(t)  # [b, t']
    index = index.clamp(max=max(values.shape[1] - 1, 0)).to(values.device)
    window = values.gather(1, index.unsqueeze(-1).expand(-1, -1, values.shape[-1]))
    window_mask = lengths_to_mask(keep, t).to(mask.device)
    window = window.masked_fill(~window_mask.unsqueeze(-1), 0)
    return {**X, "values": window, "mask": window_mask}


def jittered(X, std, channels, generator):
    """A batch with Gaussian noise added to the real steps of ``channels``.

    Jittering (Um et al., "Data augmentation of wearable sensor data for
    Parkinson's disease monitoring using convolutional neural networks",
    2017): the network sees each training sequence with new noise in every
    batch. The noise of each sequence and channel is scaled by that
    sequence's own standard deviation of the channel over its real steps, so
    quiet and loud sequences are disturbed alike (a constant one not at
    all). Padding and the other channels (category codes, token ids, time
    features, entity attributes) stay as they are.

    Parameters
    ----------
    X : dict
        A batch: ``values [b, t, c]`` and ``mask [b, t]``.
    std : float
        Standard deviation of the noise, as a fraction of each sequence's
        standard deviation.
    channels : bool Tensor ``[c]``
        The channels that get noise.
    generator : torch.Generator
        Draws the noise (on the CPU).
    """
    values, mask = X["values"], X["mask"]
    scale = sequence_moments(values, mask)[1].sqrt()  # [b, 1, c]
    noise = torch.randn(values.shape, generator=generator).to(values.device)
    keep = mask[..., None] & channels.to(values.device)  # [b, t, c]
    return {**X, "values": values + std * scale * noise * keep}


def magnitude_scaled(X, std, channels, generator):
    """A batch whose ``channels`` are multiplied by random factors.

    Magnitude scaling (Um et al., 2017, as for :func:`jittered`): each
    sequence's channel is multiplied by its own factor drawn from a normal
    distribution with mean 1 and standard deviation ``std``, new in every
    batch, so the network sees every training sequence at other amplitudes.
    Padding and the other channels stay as they are.

    Parameters
    ----------
    X : dict
        A batch: ``values [b, t, c]`` and ``mask [b, t]``.
    std : float
        Standard deviation of the factors.
    channels : bool Tensor ``[c]``
        The channels that are scaled.
    generator : torch.Generator
        Draws the factors (on the CPU).
    """
    values, mask = X["values"], X["mask"]
    b, _, c = values.shape
    draws = torch.randn((b, 1, c), generator=generator).to(values.device)
    factors = torch.where(channels.to(values.device), 1 + std * draws, 1.0)
    scaled = torch.where(mask[..., None], values * factors.to(values.dtype), values)
    return {**X, "values": scaled}


# random_warp: how many speeds each warp draws, spread evenly over the
# sequence (Um et al., 2017, draw four knots)
WARP_KNOTS = 4


def time_warped(X, std, channels, generator):
    """A batch whose sequences are read at randomly varying speed.

    Time warping (Um et al., 2017, as for :func:`jittered`): each sequence
    is resampled along a smooth random path through its real steps. The
    reading speed is drawn at :data:`WARP_KNOTS` points spread over the
    sequence (normal around 1 with standard deviation ``std``, at least
    0.1) and interpolated linearly between them; the path is its running
    sum, scaled to run from the first real step to the last, so lengths,
    masks, the first and the last step stay as they are and parts of the
    sequence are stretched while others are compressed. ``channels`` are
    interpolated linearly between neighbouring steps; the others (category
    codes, token ids, time features, entity attributes) take the value of
    the nearest step, so they stay valid and aligned. Padding stays as it
    is.

    Parameters
    ----------
    X : dict
        A batch: ``values [b, t, c]`` and ``mask [b, t]``.
    std : float
        Standard deviation of the speeds.
    channels : bool Tensor ``[c]``
        The channels interpolated between steps.
    generator : torch.Generator
        Draws the speeds (on the CPU).
    """
    values, mask = X["values"], X["mask"]
    b, t, c = values.shape
    if t < 2:
        return X
    last = (mask.sum(1).cpu() - 1).clamp(min=0).double()  # [b]
    speeds = (1 + std * torch.randn((b, WARP_KNOTS), generator=generator)).clamp(
        min=0.1
    )
    # each step's place among the knots (past the last real step: the last)
    place = torch.arange(t, dtype=torch.float64) / last.clamp(min=1)[:, None]
    place = place.clamp(max=1) * (WARP_KNOTS - 1)
    left = place.floor().long().clamp(max=WARP_KNOTS - 2)
    share = place - left
    speeds = speeds.double()
    speed = speeds.gather(1, left) * (1 - share) + speeds.gather(1, left + 1) * share
    # the path: the running sum of the speeds after the first step, from 0
    # at the first real step to the last real step at the last
    path = torch.cumsum(speed, 1) - speed[:, :1]
    end = path.gather(1, last.long()[:, None])
    path = (path * (last[:, None] / end.clamp(min=1e-12))).clamp(min=0)
    path = torch.minimum(path, last[:, None])
    below = path.floor().long()
    above = (below + 1).clamp(max=t - 1)
    weight = (path - below).to(values.dtype)[..., None].to(values.device)

    def at(index):
        index = index.to(values.device)[..., None].expand(-1, -1, c)
        return values.gather(1, index)

    nearest = at(path.round().long())
    linear = at(below) * (1 - weight) + at(above) * weight
    warped = torch.where(channels.to(values.device), linear, nearest)
    warped = torch.where(mask[..., None], warped, values)
    return {**X, "values": warped}


class _StopTraining(KeyboardInterrupt):
    """Raised by the monitor to end training early (skorch stops on
    KeyboardInterrupt); a real Ctrl-C is a plain KeyboardInterrupt."""


class TrainingMonitor(Callback):
    """One callback for the safety rails of training.

    - stops with ``FloatingPointError`` when a batch loss is NaN or infinite;
    - tracks the best epoch by ``monitor`` and keeps a copy of its weights;
    - with ``patience``, stops after that many epochs without improvement;
    - at the end of training, restores the best weights when training
      stopped early (``restore_best``) or was interrupted by Ctrl-C.

    :meth:`report` (called by :class:`SequenceNet` once training has ended
    and the progress display is closed) says what happened: the early stop
    (printed when ``verbose``) and the interruption (a
    :class:`~skattn.exceptions.TrainingInterruptedWarning`). Epochs are
    numbered from 1 in each call to ``fit``, out of ``epochs``.
    """

    def __init__(
        self,
        monitor="train_loss",
        patience=None,
        restore_best=False,
        tol=1e-4,
        epochs=None,
        verbose=0,
        label=None,
    ):
        self.monitor = monitor
        self.patience = patience
        self.restore_best = restore_best
        self.tol = tol
        self.epochs = epochs
        self.verbose = verbose
        self.label = label

    def initialize(self):
        self.best_score_ = np.inf
        self.best_epoch_ = 0
        self.best_state_ = None
        self.stopped_early_ = False
        self.interrupted_ = False
        self.epochs_done_ = 0
        self._epochs_without_improvement = 0
        return self

    def on_train_begin(self, net, **kwargs):
        self.initialize()

    def on_batch_end(self, net, batch=None, training=False, loss=None, **kwargs):
        if loss is not None and not math.isfinite(loss.item()):
            epoch = len(net.history)
            raise FloatingPointError(
                f"the {'training' if training else 'validation'} loss became "
                f"{loss.item()} in epoch {epoch}: training diverged. Try a lower "
                f"learning rate (lr={net.lr:g}), gradient clipping (clip_grad_norm) "
                "or scaling the input."
            )

    def on_epoch_end(self, net, **kwargs):
        self.epochs_done_ += 1
        score = net.history[-1].get(self.monitor, None)
        improved = score is not None and score < self.best_score_ - self.tol * abs(
            self.best_score_ if np.isfinite(self.best_score_) else 0.0
        )
        net.history.record(f"{self.monitor}_best", bool(improved))
        if improved:
            self.best_score_ = score
            self.best_epoch_ = self.epochs_done_
            self.best_state_ = copy.deepcopy(net.module_.state_dict())
            self._epochs_without_improvement = 0
        else:
            self._epochs_without_improvement += 1
        if (
            self.patience is not None
            and self._epochs_without_improvement >= self.patience
        ):
            # stop before the next epoch, so that this one is still logged
            self.stopped_early_ = True

    def on_epoch_begin(self, net, **kwargs):
        if self.stopped_early_:
            net.history.pop()  # the row skorch opened for an epoch that won't run
            raise _StopTraining()

    def on_train_end(self, net, **kwargs):
        if self.best_state_ is None:
            return
        if (self.stopped_early_ and self.restore_best) or self.interrupted_:
            net.module_.load_state_dict(self.best_state_)
        # The copy is only needed during training; do not pickle it.
        self.best_state_ = None

    def report(self):
        """Say how training ended, if it did not run all its epochs."""
        if self.stopped_early_ and self.verbose:
            who = f"{self.label}: " if self.label else ""
            print(
                f"{who}Stopped early: {self.monitor} has not improved for "
                f"{self.patience} epochs; restored the weights of epoch "
                f"{self.best_epoch_} (best {self.monitor} {self.best_score_:.4g}).",
                flush=True,
            )
        if not self.interrupted_:
            return
        of = "" if self.epochs is None else f" of {self.epochs}"
        done = f"after {self.epochs_done_}{of} epoch" + (
            "" if self.epochs_done_ == 1 and not of else "s"
        )
        if self.best_epoch_:
            kept = (
                f"keeping the weights of epoch {self.best_epoch_} (best "
                f"{self.monitor} {self.best_score_:.4g})"
            )
        else:  # no epoch finished with a finite loss to go back to
            kept = "keeping the weights reached when it stopped"
        of_label = f" of {self.label}" if self.label else ""
        _warn(
            f"training{of_label} was interrupted by Ctrl-C {done}; {kept}",
            TrainingInterruptedWarning,
        )


def _duration(seconds):
    """``seconds`` for a person: 350 ms, 2.1 s, 42 s, 6 min, 1.5 h."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        minutes = seconds / 60
        return f"{minutes:.1f} min" if minutes < 10 else f"{minutes:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _in_notebook():
    """True inside a Jupyter kernel (the test tqdm.auto makes too)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
        return shell is not None and "IPKernelApp" in shell.config
    except Exception:  # an IPython without a shell, or an odd one
        return False


def _isatty(stream):
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


_ANSI_BOLD_GREEN = "\x1b[1;32m"
_ANSI_RESET = "\x1b[0m"
# History columns shown in the progress, in this order; verbose >= 2 adds
# every other recorded value after them.
_LOSSES = ("train_loss", "valid_loss")
_HIDDEN = {"epoch", "batches", "dur", "train_batch_count", "valid_batch_count"}


class TrainingProgress(Callback):
    """What ``verbose`` shows while a network trains.

    - ``verbose=1``: progress over the epochs of this call to ``fit``, with
      the current losses and the estimated time left. On a terminal or in a
      Jupyter notebook it is a tqdm progress bar (``tqdm.auto``, on
      stderr); otherwise (output redirected to a file, a pipe, a CI log)
      one plain line per epoch on stdout, such as
      ``epoch 12/200  train_loss 0.4312  valid_loss 0.4711  2.1 s/epoch  eta 6 min``.
    - ``verbose=2``: also one line per epoch with every value the history
      records (learning rate, which loss improved: ``*``), above the bar on
      a terminal. Colour (the improved loss) is used only when stdout is a
      terminal.

    Parameters
    ----------
    epochs : int
        Epochs this call to ``fit`` runs at most.
    verbose : int, default=1
    interactive : bool or None, default=None
        Show a bar (True) or plain lines (False); None decides from stderr
        being a terminal or the code running in a notebook.
    label : str or None, default=None
        What trains, such as ``"fold 2/5"``: the bar's title (else
        ``"fit"``) and the start of each plain line.
    """

    def __init__(self, epochs, verbose=1, interactive=None, label=None):
        self.epochs = epochs
        self.verbose = verbose
        self.interactive = interactive
        self.label = label

    def initialize(self):
        self.close()
        return self

    def on_train_begin(self, net, **kwargs):
        self._start = time.monotonic()
        self._done = 0
        interactive = self.interactive
        if interactive is None:
            interactive = _isatty(sys.stderr) or _in_notebook()
        self._colour = _isatty(sys.stdout)
        self._bar = None
        if interactive:
            # imported here, at fit time, so that tqdm.auto sees the notebook
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=self.epochs,
                unit="epoch",
                desc=self.label or "fit",
                dynamic_ncols=True,
            )

    def _write(self, line):
        if self._bar is not None:
            self._bar.write(line, file=sys.stdout)
        else:
            print(line, flush=True)

    def _values(self, row, every):
        """``name value`` pairs of the history row; ``every`` adds the
        columns beyond the losses."""
        names = [k for k in _LOSSES if k in row]
        if every:
            names += sorted(
                k
                for k in row
                if k not in _HIDDEN
                and k not in _LOSSES
                and not k.endswith("_best")
                and not k.startswith("event_")
            )
        parts = []
        for name in names:
            value = row[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            text = f"{value:.4f}" if name in _LOSSES else f"{value:.4g}"
            if every and row.get(f"{name}_best"):
                text = (
                    f"{_ANSI_BOLD_GREEN}{text}*{_ANSI_RESET}"
                    if self._colour
                    else f"{text}*"
                )
            parts.append(f"{name} {text}")
        return parts

    def on_epoch_end(self, net, **kwargs):
        self._done += 1
        row = net.history[-1]
        elapsed = time.monotonic() - self._start
        per_epoch = elapsed / self._done
        left = per_epoch * max(self.epochs - self._done, 0)
        width = len(str(self.epochs))
        epoch = f"epoch {self._done:>{width}}/{self.epochs}"
        if self.label:
            epoch = f"{self.label}  {epoch}"
        timing = f"{_duration(per_epoch)}/epoch  " + (
            f"eta {_duration(left)}"
            if self._done < self.epochs
            else f"done in {_duration(elapsed)}"
        )
        if self._bar is not None:
            self._bar.set_postfix(
                {k: f"{row[k]:.4f}" for k in _LOSSES if k in row}, refresh=False
            )
            self._bar.update(1)
            if self.verbose >= 2:
                self._write("  ".join([epoch, *self._values(row, every=True)]))
        else:
            values = self._values(row, every=self.verbose >= 2)
            self._write("  ".join([epoch, *values, timing]))

    def on_train_end(self, net, **kwargs):
        self.close()

    def close(self):
        """Close the progress bar (also when training ends with an error)."""
        bar = getattr(self, "_bar", None)
        if bar is not None:
            bar.close()
        # a bar holds a stream and a lock: never pickle it with the net
        self._bar = None


class SequenceNet(NeuralNet):
    """skorch ``NeuralNet`` for :class:`SequenceData`.

    ``fit`` receives ``X = (train_data, valid_data_or_None)`` and ``y=None``.
    The criterion must return one loss per sample; the batch loss is the
    weighted mean with the normalised sample weights. With ``random_crop``
    (a fraction in (0, 1]), every training batch is cut to random windows of
    its sequences (:func:`random_windows`); with ``jitter`` (a standard
    deviation), Gaussian noise is added to the real steps of the channels
    ``augmented_channels`` (:func:`jittered`); with ``random_scale`` (a
    standard deviation), those channels are multiplied by random factors
    around 1 (:func:`magnitude_scaled`); with ``random_warp`` (a standard
    deviation), the sequences are read at randomly varying speed
    (:func:`time_warped`). Validation and prediction see the
    sequences as they are. ``group_by_length`` is the training batches'
    grouping (:class:`BatchIterator`).
    """

    def __init__(
        self,
        *args,
        shuffle_seed=0,
        mixed_precision=False,
        random_crop=None,
        jitter=None,
        augmented_channels=None,
        random_scale=None,
        random_warp=None,
        group_by_length=True,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.group_by_length = group_by_length
        self.shuffle_seed = shuffle_seed
        self.mixed_precision = mixed_precision
        self.random_crop = random_crop
        self.jitter = jitter
        self.augmented_channels = augmented_channels
        self.random_scale = random_scale
        self.random_warp = random_warp

    def initialize(self):
        super().initialize()
        self.shuffle_generator_ = torch.Generator().manual_seed(self.shuffle_seed)
        self.crop_generator_ = torch.Generator().manual_seed(self.shuffle_seed + 1)
        self.noise_generator_ = torch.Generator().manual_seed(self.shuffle_seed + 2)
        self.scale_generator_ = torch.Generator().manual_seed(self.shuffle_seed + 3)
        self.warp_generator_ = torch.Generator().manual_seed(self.shuffle_seed + 4)
        return self

    def train_step_single(self, batch, **fit_params):
        X, y = batch
        if self.random_crop is not None:
            X = random_windows(X, self.random_crop, self.crop_generator_)
        if self.jitter:
            X = jittered(X, self.jitter, self.augmented_channels, self.noise_generator_)
        if self.random_scale:
            X = magnitude_scaled(
                X, self.random_scale, self.augmented_channels, self.scale_generator_
            )
        if self.random_warp:
            X = time_warped(
                X, self.random_warp, self.augmented_channels, self.warp_generator_
            )
        return super().train_step_single((X, y), **fit_params)

    def get_default_callbacks(self):
        # skorch's PrintLog table is replaced by TrainingProgress, which
        # training_callbacks adds when verbose.
        return [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
        ]

    def _callbacks_of(self, kind):
        return [cb for _, cb in getattr(self, "callbacks_", []) if isinstance(cb, kind)]

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        super().partial_fit(X, y, classes, **fit_params)
        # After skorch's on_train_end: the progress bar is closed by now, so
        # the messages do not cut through it.
        for monitor in self._callbacks_of(TrainingMonitor):
            monitor.report()
        return self

    def get_split_datasets(self, X, y=None, **fit_params):
        return X

    def get_iterator(self, dataset, training=False):
        # prediction batches always group (nothing depends on the batch there)
        group = self.group_by_length or not training
        if hasattr(dataset, "batch_iterator"):  # data read block by block
            return dataset.batch_iterator(
                self.batch_size,
                shuffle=training,
                generator=self.shuffle_generator_,
                device=self.device,
                group_by_length=group,
            )
        return BatchIterator(
            dataset,
            self.batch_size,
            shuffle=training,
            generator=self.shuffle_generator_,
            device=self.device,
            group_by_length=group,
        )

    def _autocast(self):
        if not self.mixed_precision:
            return nullcontext()
        return torch.autocast(
            device_type=torch.device(self.device).type, dtype=torch.bfloat16
        )

    def infer(self, x, **fit_params):
        with self._autocast():
            out = self.module_(x["values"], x["mask"])
        if isinstance(out, torch.Tensor):
            return out.float()
        return tuple(o.float() if o.is_floating_point() else o for o in out)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        target, weight = y_true
        if isinstance(self.module_, NetworkEnsemble) and self.module_.training:
            # every member's output [n, b, ...]: each member its own loss
            losses = torch.stack([self.criterion_(out, target) for out in y_pred])
            losses = losses.mean(0)  # [b]
        else:
            losses = self.criterion_(y_pred, target)  # [b]
        return (losses * weight).mean()

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except KeyboardInterrupt as exc:
            if not isinstance(exc, _StopTraining):
                for monitor in self._callbacks_of(TrainingMonitor):
                    monitor.interrupted_ = True
            raise
        except Exception:
            # on_train_end does not run after an error (e.g. divergence)
            for progress in self._callbacks_of(TrainingProgress):
                progress.close()
            raise


class WarmupCosine:
    """Learning-rate factor: linear warm-up, then cosine decay to 0.

    A picklable ``lr_lambda`` for ``torch.optim.lr_scheduler.LambdaLR``,
    stepped once per batch.
    """

    def __init__(self, total_steps, warmup_steps):
        self.total_steps = max(int(total_steps), 1)
        self.warmup_steps = int(warmup_steps)

    def __call__(self, step):
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        progress = (step - self.warmup_steps) / max(
            self.total_steps - self.warmup_steps, 1
        )
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


class _RecordLearningRate(Callback):
    """Record the learning rate at the end of each epoch in the history."""

    def on_epoch_end(self, net, **kwargs):
        net.history.record("lr", net.optimizer_.param_groups[0]["lr"])


class WeightAveraging(Callback):
    """End training with an average of the weights it went through.

    - ``"ema"``: an exponential moving average over the training steps,
      with a time constant of a tenth of the fit's steps (``decay = 1 - 10
      / total_steps``);
    - ``"swa"``: the plain mean of the weights after each step of the last
      half of the fit (stochastic weight averaging).

    Floating-point parameters and buffers (the running statistics of batch
    normalisation) are averaged. Validation batches see the averaged weights,
    so that early stopping monitors, keeps and restores them.
    """

    def __init__(self, kind, total_steps):
        self.kind = kind
        self.total_steps = total_steps

    def initialize(self):
        self.step_ = 0
        self.n_averaged_ = 0
        self.average_ = None
        self.trained_ = None
        return self

    def on_train_begin(self, net, **kwargs):
        self.initialize()

    def _weight(self):
        """The share of the current weights in the updated average."""
        if self.kind == "swa":
            return 1.0 / (self.n_averaged_ + 1)
        return min(1.0, 10.0 / max(self.total_steps, 1))

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if not training:
            return
        self.step_ += 1
        if self.kind == "swa" and self.step_ <= self.total_steps // 2:
            return
        state = net.module_.state_dict()
        if self.average_ is None:
            self.average_ = {
                k: v.detach().clone() for k, v in state.items() if v.is_floating_point()
            }
        else:
            weight = self._weight()
            for key, value in self.average_.items():
                value.lerp_(state[key].detach(), weight)
        self.n_averaged_ += 1

    def _use_average(self, net):
        self.trained_ = copy.deepcopy(net.module_.state_dict())
        net.module_.load_state_dict(self.average_, strict=False)

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if not training and self.trained_ is None and self.average_ is not None:
            self._use_average(net)  # validate the averaged weights

    def on_epoch_begin(self, net, **kwargs):
        if self.trained_ is not None:  # train on from the trained weights
            net.module_.load_state_dict(self.trained_)
            self.trained_ = None

    def on_train_end(self, net, **kwargs):
        if self.average_ is not None and self.trained_ is None:
            self._use_average(net)
        # only needed during training; do not pickle them
        self.average_ = self.trained_ = None


def training_callbacks(
    *,
    n_batches,
    epochs,
    schedule,
    validation,
    patience,
    clip_grad_norm,
    weight_averaging=None,
    verbose=0,
    label=None,
):
    """The skorch callbacks of one call to ``fit``.

    Parameters
    ----------
    n_batches : int
        Training batches per epoch (the cosine schedule steps per batch).
    epochs : int
        Epochs this call runs.
    schedule : {"cosine", "constant", "plateau"}
    validation : bool
        Whether a validation split is held out: then its loss is monitored,
        early stopping has ``patience`` and the best weights are restored.
    patience : int
        ``n_iter_no_change``: epochs without improvement before stopping
        (halved for the plateau schedule).
    clip_grad_norm : float or None
    weight_averaging : {"ema", "swa"} or None, default=None
        See :class:`WeightAveraging`.
    verbose : int, default=0
        0 shows nothing; 1 the progress of the epochs; 2 also every value
        of the history per epoch (see :class:`TrainingProgress`).
    label : str or None, default=None
        What trains (such as ``"fold 2/5"``), named in the progress, the
        early stop and the Ctrl-C warning.
    """
    monitor = "valid_loss" if validation else "train_loss"
    callbacks = []
    if weight_averaging is not None:
        # before the monitor, whose restored best weights must win
        averaging = WeightAveraging(weight_averaging, epochs * n_batches)
        callbacks.append(("weight_averaging", averaging))
    callbacks += [
        (
            "monitor",
            TrainingMonitor(
                monitor=monitor,
                patience=patience if validation else None,
                restore_best=validation,
                epochs=epochs,
                verbose=verbose,
                label=label,
            ),
        ),
        ("lr", _RecordLearningRate()),
    ]
    if clip_grad_norm is not None:
        callbacks.append(
            ("clip", GradientNormClipping(gradient_clip_value=clip_grad_norm))
        )
    if schedule == "cosine":
        total = epochs * n_batches
        callbacks.append(
            (
                "lr_schedule",
                LRScheduler(
                    policy=torch.optim.lr_scheduler.LambdaLR,
                    lr_lambda=WarmupCosine(total, max(1, total // 20)),
                    step_every="batch",
                    last_epoch=-1,  # each call to fit runs its own schedule
                    event_name=None,
                ),
            )
        )
    elif schedule == "plateau":
        callbacks.append(
            (
                "lr_schedule",
                LRScheduler(
                    policy=torch.optim.lr_scheduler.ReduceLROnPlateau,
                    monitor=monitor,
                    factor=0.5,
                    patience=max(1, patience // 2),
                    event_name=None,
                ),
            )
        )
    if verbose:
        # last, so that it shows what the other callbacks recorded this epoch
        progress = TrainingProgress(epochs, verbose=verbose, label=label)
        callbacks.append(("progress", progress))
    return callbacks


def validation_split(data, fraction, strata, seed, order="random"):
    """``(train, valid)`` subsets of ``data`` for early stopping.

    ``order="random"``: stratified by ``strata`` (class codes, or None)
    where every class can appear on both sides, otherwise a plain shuffled
    split; ``"last"``: the last sequences, in the order given.
    """
    from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

    if hasattr(data, "validation_split"):  # data read block by block: whole blocks
        return data.validation_split(fraction, seed, order)
    n = len(data)
    n_valid = int(math.ceil(fraction * n))
    if n_valid < 1 or n - n_valid < 1:
        raise ValueError(
            f"early_stopping needs a validation split, but validation_fraction="
            f"{fraction} of {n} samples leaves "
            f"{n_valid} for validation and {n - n_valid} for training"
        )
    if order == "last":
        return data.subset(np.arange(n - n_valid)), data.subset(
            np.arange(n - n_valid, n)
        )
    if strata is not None:
        try:
            splitter = StratifiedShuffleSplit(1, test_size=n_valid, random_state=seed)
            train_idx, valid_idx = next(splitter.split(np.zeros(n), strata))
        except ValueError:  # a class too small to appear on both sides
            strata = None
    if strata is None:
        splitter = ShuffleSplit(1, test_size=n_valid, random_state=seed)
        train_idx, valid_idx = next(splitter.split(np.zeros(n)))
    return data.subset(np.sort(train_idx)), data.subset(np.sort(valid_idx))


def crop_validation_split(classes, seed, max_per_class):
    """``(train, valid)`` indices that hold out one sequence of each class
    with two or more, at random, where the median class of ``classes``
    (class codes) has at most ``max_per_class`` sequences; None where it
    has more, or where no class has two."""
    counts = np.bincount(classes)
    counts = counts[counts > 0]
    if np.median(counts) > max_per_class or counts.max() < 2:
        return None
    rng = np.random.RandomState(seed)
    valid = np.sort(
        [
            rng.choice(members)
            for members in (np.flatnonzero(classes == c) for c in np.unique(classes))
            if len(members) >= 2
        ]
    )
    return np.setdiff1d(np.arange(len(classes)), valid), valid


def validation_folds(data, n_folds, strata, seed, order="random"):
    """``n_folds`` ``(train, valid)`` pairs of subsets of in-memory ``data``
    whose validation sides hold every sequence once.

    ``order="random"``: shuffled folds, stratified by ``strata`` (class
    codes, or None) where every class has a sequence for each fold;
    ``"last"``: blocks of consecutive sequences, in the order given.
    """
    from sklearn.model_selection import KFold, StratifiedKFold

    n = len(data)
    if n_folds > n:
        raise ValueError(
            f"validation_folds={n_folds} needs at least as many training "
            f"sequences, got {n}"
        )
    smallest_class = (
        0 if strata is None else np.unique(strata, return_counts=True)[1].min()
    )
    if order == "last":
        splits = KFold(n_folds).split(np.zeros(n))
    elif smallest_class >= n_folds:
        splitter = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
        splits = splitter.split(np.zeros(n), strata)
    else:
        splits = KFold(n_folds, shuffle=True, random_state=seed).split(np.zeros(n))
    return [(data.subset(train), data.subset(valid)) for train, valid in splits]


def _plain_value(value):
    return value.item() if isinstance(value, torch.Tensor) else _plain(value)


def plain_history(history):
    """skorch's history as a list of dicts of plain Python data (without the
    per-batch records)."""
    return [
        {k: _plain_value(v) for k, v in row.items() if k != "batches"}
        for row in history
    ]
