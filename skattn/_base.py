"""The one estimator base shared by every skattn model.

``SequenceEstimator.fit`` is a template: validate parameters and input,
prepare the target (a task hook), standardise the input, build the network
(an architecture hook), then train it with a skorch :class:`SequenceNet`.
Classifier, regressor and feature-extractor bases change only the target
handling, the loss and how outputs are decoded; the LSTM and Transformer
families change only the network they build.
"""

import math
import multiprocessing
import os
import re
import tempfile
import textwrap
import threading
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_array, check_random_state, column_or_1d
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    _check_sample_weight,
    check_consistent_length,
    check_is_fitted,
)
from skorch.callbacks import Callback, GradientNormClipping, LRScheduler

from . import data as _data
from ._net import (
    InferenceModules,
    SequenceData,
    SequenceNet,
    TrainingMonitor,
    WarmupCosine,
)
from ._stats import mean_std
from ._validation import align_to_entities, validate_sequences

# Inputs are converted and predicted in chunks of about this many values, so
# memory during prediction is bounded by the chunk (a few float64 copies of
# it, about 40 MB), not by the data; benchmarks/memory.py measures it.
# Smaller chunks cost little time: the network runs in batches anyway.
_CHUNK_VALUES = 2**20

TRAINING_PARAMS_DOC = """\
    max_epochs : int, default={max_epochs}
        Number of passes over the training data.
    batch_size : int, default={batch_size}
        Sequences per gradient step (and per prediction batch).
    lr : float, default={lr}
        Peak learning rate of the AdamW optimizer.
    weight_decay : float, default={weight_decay}
        Decoupled weight decay of AdamW.
    lr_schedule : {{"cosine", "constant", "plateau"}}, default="cosine"
        ``"cosine"``: linear warm-up over the first 5% of steps, then cosine
        decay to 0 at ``max_epochs``; ``"constant"``; ``"plateau"``: halve the
        learning rate when the monitored loss (validation loss with early
        stopping, else training loss) has not improved for
        ``max(1, n_iter_no_change // 2)`` epochs.
    clip_grad_norm : float or None, default=1.0
        Clip the gradient norm to this value; None disables clipping.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified for
        classifiers), stop when its loss has not improved for
        ``n_iter_no_change`` epochs and restore the best epoch's weights. Off
        by default: on the small data sets typical of sequence classification
        the held-out share costs more accuracy than early stopping gains, and
        the cosine schedule already ends training at a low learning rate.
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping.
    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs.
    warm_start : bool, default=False
        If True, ``fit`` continues training the fitted network instead of
        starting anew (the input format and classes must stay the same).
    device : str, default="auto"
        ``"auto"`` uses CUDA when available, else the CPU; or ``"cpu"``,
        ``"cuda"``, ``"cuda:N"``. With several GPUs, ``"auto"`` in the worker
        processes of a parallel search (joblib, dask) spreads them over the
        GPUs: the ``k``-th live worker of a host uses ``cuda:{{k % n_gpus}}``.
    mixed_precision : bool, default=False
        Train under bfloat16 autocast (useful on recent GPUs).
    inference_dtype : {{"float64", "float32"}}, default="float64"
        Precision of ``predict``, ``predict_proba``, ``transform`` and
        ``attention_weights``. Float64 makes every output independent of how
        rows are batched (to about 1e-12), at about twice the cost of float32
        prediction; training always runs in float32.
    n_threads : int or None, default=None
        Torch threads used during ``fit`` and prediction, at most 1024; None
        leaves torch's setting alone: all cores in a main process,
        ``cores // n_jobs`` in joblib's process workers and 1 in dask's,
        which limit ``OMP_NUM_THREADS`` before torch starts, so parallel
        searches do not oversubscribe the cores.
        Torch's setting is process-wide (per thread in OpenMP builds): each
        call sets it and, when it ends, restores the value from before the
        first of any calls that overlap it, so concurrent ``predict`` calls
        from several threads leave the setting as they found it. Outputs
        depend on the thread count only through float rounding; for
        bit-identical results across threads, leave it None and call
        ``torch.set_num_threads`` once.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and dropout. With the same
        seed, data, torch version, device and thread count, results are
        identical.
    verbose : int, default=0
        0 prints nothing; 1 prints a table per epoch (losses, time).\
"""

FITTED_ATTRIBUTES_DOC = """\
    net_ : skorch.NeuralNet
        The trained skorch net; ``net_.module_`` is the torch network.
    n_iter_ : int
        Number of epochs run.
    history_ : list of dict
        Per-epoch records (``epoch``, ``train_loss``, ``valid_loss``, ``dur``,
        ...) as plain Python data.
    n_channels_in_ : int
        Number of channels of the training sequences.
    n_features_in_ : int
        Only for 2D (tabular) training input: its number of columns, i.e.
        timesteps. Set neither for 3D, list nor long-format input.
    feature_names_in_ : ndarray of str
        Column names of a wide training DataFrame, when it had string names.\
"""


# ``n_threads``: torch.set_num_threads is process-wide (per thread for
# OpenMP's part), so calls that overlap share one saved value to restore.
_THREADS_LOCK = threading.Lock()
_threads_users = 0
_threads_before = None


@contextmanager
def _num_threads(n):
    """Set torch's thread count to ``n`` (None: leave it) for the block.

    Every call restores the value from before the first of the calls that
    overlap it: with a per-call save, a call starting while another runs
    would save the other's setting and, ending last, leave it in place.
    """
    global _threads_users, _threads_before
    if n is None:
        yield
        return
    with _THREADS_LOCK:
        if _threads_users == 0:
            _threads_before = torch.get_num_threads()
        _threads_users += 1
        torch.set_num_threads(n)
    try:
        yield
    finally:
        with _THREADS_LOCK:
            _threads_users -= 1
            # restore in this thread too (OpenMP keeps the count per thread)
            torch.set_num_threads(_threads_before)


def _size(sequence):
    """Number of values of one list element (1 when it is not array-like:
    validation then says what is wrong with it)."""
    try:
        return np.size(sequence)
    except ValueError:
        return 1


def _training_doc(**defaults):
    return TRAINING_PARAMS_DOC.format(**defaults)


def _plain(value):
    """History values as plain Python data."""
    if isinstance(value, (np.generic, torch.Tensor)):
        return value.item()
    return value


class _RecordLearningRate(Callback):
    """Record the learning rate at the end of each epoch in the history."""

    def on_epoch_end(self, net, **kwargs):
        net.history.record("lr", net.optimizer_.param_groups[0]["lr"])


_SLOT_LOCK = threading.Lock()
_slot = None  # (pid, slot, locked file descriptor) of this process


def _worker_slot():
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
    of this host (see ``_worker_slot``), so parallel fits of a search spread
    over the GPUs; in the main process it stays ``"cuda"`` (the current
    device).
    """
    if device == "auto":
        if not torch.cuda.is_available():
            return "cpu"
        n_gpus = torch.cuda.device_count()
        if n_gpus > 1 and multiprocessing.parent_process() is not None:
            return f"cuda:{_worker_slot() % n_gpus}"
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


class SequenceEstimator(BaseEstimator):
    """Base of every skattn estimator; not for direct use.

    Subclasses provide:

    - ``_build_network(n_channels, n_outputs, max_length)`` (architecture);
    - ``_check_architecture()`` (architecture, optional);
    - ``_prepare_target(y)`` -> ``(target tensor or None, n_outputs)`` and
      ``_criterion()`` (task).
    """

    _parameter_constraints: dict = {
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "lr_schedule": [StrOptions({"cosine", "constant", "plateau"})],
        "clip_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
        "device": [str],
        "mixed_precision": ["boolean"],
        "inference_dtype": [StrOptions({"float32", "float64"})],
        # more threads than the system can start crash torch (a segfault)
        "n_threads": [Interval(Integral, 1, 1024, closed="both"), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "vocab_size": [Interval(Integral, 1, None, closed="left"), None],
        "padding_idx": [Interval(Integral, 0, None, closed="left"), None],
        "embedding_dim": [Interval(Integral, 1, None, closed="left"), None],
    }

    # task hooks -------------------------------------------------------------
    _supervised = True

    def _prepare_target(self, y, warm=False, classes=None):  # pragma: no cover
        raise NotImplementedError

    def _criterion(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _stratify(self, target):
        return None

    # architecture hooks -----------------------------------------------------
    def _check_architecture(self):
        pass

    def _build_network(self, n_channels, n_outputs, max_length):  # pragma: no cover
        raise NotImplementedError

    def _uses_attention_pooling(self):
        return getattr(self, "pooling", "attention") == "attention"

    # tags -------------------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = False
        return tags

    # parameters -------------------------------------------------------------
    def _check_params(self):
        self._validate_params()
        for name, constraints in self._parameter_constraints.items():
            # sklearn's Interval(Integral) lets True pass as 1; torch does not
            value = getattr(self, name, None)
            integral = any(getattr(c, "type", None) is Integral for c in constraints)
            if integral and isinstance(value, (bool, np.bool_)):
                raise ValueError(
                    f"The {name!r} parameter of {type(self).__name__} must be an int, "
                    f"got {value!r}"
                )
        if self.padding_idx is not None and self.vocab_size is None:
            raise ValueError(
                f"padding_idx={self.padding_idx} needs vocab_size (token input)"
            )
        if self.vocab_size is not None and self.padding_idx is not None:
            if self.padding_idx >= self.vocab_size:
                raise ValueError(
                    f"padding_idx={self.padding_idx} must be smaller than "
                    f"vocab_size={self.vocab_size}"
                )
        if self.vocab_size is not None and self.vocab_size > 2**24:
            raise ValueError(
                f"vocab_size={self.vocab_size} is above 2**24, the largest id stored "
                "exactly as float32"
            )
        self._check_architecture()

    # input ------------------------------------------------------------------
    def _validate_input(self, X, *, reset, offset=0):
        """Check ``X`` against the fitted contract and convert it."""
        seqs = validate_sequences(self, X, reset=reset, offset=offset)
        if self.vocab_size is not None:
            seqs = self._check_tokens(seqs, offset)
        return seqs

    def _check_tokens(self, seqs, offset):
        if seqs.n_channels != 1:
            raise ValueError(
                f"token input (vocab_size={self.vocab_size}) must have 1 channel of "
                f"token ids, got {seqs.n_channels}"
            )
        vals = seqs.values[seqs.mask]
        bad = (vals != np.round(vals)) | (vals < 0) | (vals >= self.vocab_size)
        if bad.any():
            i, t = np.argwhere(seqs.mask)[np.flatnonzero(bad)[0]]
            value = seqs.values[i, t, 0]
            value = int(value) if abs(value) < 2**53 and value % 1 == 0 else value
            value = _plain(value)
            raise ValueError(
                f"X holds {value!r} at sequence {i + offset}, timestep {t}; token "
                f"ids must be integers in [0, vocab_size={self.vocab_size})"
            )
        if self.padding_idx is not None:
            # trailing runs of padding_idx are padding
            pad = (seqs.values[..., 0] == self.padding_idx) | ~seqs.mask
            real = ~pad
            t_max = real.shape[1]
            lengths = np.where(real.any(1), t_max - np.argmax(real[:, ::-1], axis=1), 0)
            empty = np.flatnonzero(lengths == 0)
            if empty.size:
                raise ValueError(
                    f"sequence {empty[0] + offset} holds only padding tokens "
                    f"(padding_idx={self.padding_idx})"
                )
            seqs.lengths = lengths.astype(np.int64)
        return seqs

    def _fit_input_scaling(self, seqs, keep):
        """Per-channel mean and std over the real steps of the kept samples."""
        if self.vocab_size is not None:
            self._input_loc = self._input_scale = None
            return
        values, mask = seqs.values, seqs.mask
        if len(keep) < len(mask):
            values, mask = values[keep], mask[keep]
        steps = values[mask]  # [n_real_steps, C]
        loc, scale = mean_std(steps, axis=0)
        # Constant channels (up to rounding) are centred, not divided. The
        # threshold is relative only, so data on a tiny scale (1e-30) is still
        # standardised instead of being mistaken for constant.
        scale[~(scale > 1e-12 * np.abs(loc))] = 1.0
        self._input_loc, self._input_scale = loc, scale

    def _tensors(self, seqs, dtype):
        """Standardised values (zeros on padding) and lengths as tensors."""
        # one float64 copy, then in place: memory per chunk stays small
        if self._input_loc is not None:
            values = seqs.values - self._input_loc
            values /= self._input_scale
        else:
            values = seqs.values.copy()
        values[~seqs.mask] = 0.0
        values = torch.from_numpy(np.ascontiguousarray(values, dtype=dtype))
        if dtype == np.float32 and not bool(torch.isfinite(values).all()):
            raise ValueError(
                "after standardisation X holds values beyond the float32 range; "
                "rescale the input"
            )
        return values, torch.from_numpy(seqs.lengths.astype(np.int64))

    # fit --------------------------------------------------------------------
    def fit(self, X, y=None, sample_weight=None):
        """Train the network on sequences ``X`` (and targets ``y``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps[, n_channels]), list of
            arrays, or long DataFrame
            Training sequences; see :mod:`skattn.data` for the formats. For a
            long DataFrame, rows of ``y`` follow the sorted entity ids (a
            pandas ``y`` indexed by entity id is aligned to them). Each
            channel is standardised with its mean and standard deviation over
            the real timesteps, computed in float64 without overflow, so the
            scale of ``X`` does not matter (1e-30 and 1e30 train alike); a
            constant channel is only centred. At prediction, values that
            standardise far beyond the training range (e.g. 1e300 for data of
            scale 1) are an error rather than a NaN output.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights of the samples in the loss (and in the early
            stopping loss). A zero weight removes the sample from training.

        Returns
        -------
        self
        """
        self._check_params()
        warm = self.warm_start and hasattr(self, "net_")
        return self._fit(X, y, sample_weight, warm=warm)

    def partial_fit(self, X, y=None, sample_weight=None, classes=None):
        """Train for one epoch on ``X``, continuing from the current weights.

        The first call builds the network and fixes the input
        standardisation, the target scaling (regression) and the classes
        (classification: pass every label that will ever appear as
        ``classes``, else those of the first ``y`` are used) from its data.
        The learning rate is constant (``lr``); early stopping is not used.

        Parameters
        ----------
        X : sequences in any format ``fit`` accepts
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), optional
        classes : array-like of shape (n_classes,), optional
            All class labels, for classification; read on the first call.

        Returns
        -------
        self
        """
        first = not hasattr(self, "net_")
        if first:
            self._check_params()
        return self._fit(
            X, y, sample_weight, warm=not first, epochs=1, stream=True, classes=classes
        )

    def _fit(
        self, X, y, sample_weight, *, warm, epochs=None, stream=False, classes=None
    ):
        """The fit template shared by ``fit``, warm starts and ``partial_fit``."""
        if self._supervised and y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None."
            )
        seqs = self._validate_input(X, reset=not warm)
        n = len(seqs.lengths)
        y = align_to_entities(y, seqs)
        sample_weight = align_to_entities(sample_weight, seqs, "sample_weight")
        if y is not None:
            check_consistent_length(seqs.lengths, y)
        target, n_outputs = self._prepare_target(y, warm=warm, classes=classes)
        weight = self._sample_weight(sample_weight, n, y)
        keep = np.flatnonzero(weight > 0)
        if not warm:
            self._fit_input_scaling(seqs, keep)
        values, lengths = self._tensors(seqs, np.float32)
        max_length = int(seqs.values.shape[1])
        del seqs  # the float64 copy is not needed during training
        if target is None:  # self-supervised: the loss reads the input only
            target = torch.zeros(n)
        if len(keep) < n:  # (indexing copies: only when samples are dropped)
            values, lengths, target = values[keep], lengths[keep], target[keep]
        data = SequenceData(
            values,
            lengths,
            target,
            torch.from_numpy((weight[keep] / weight[keep].mean()).astype(np.float32)),
        )
        self._train(
            data, n_outputs, max_length, warm=warm, epochs=epochs, stream=stream
        )
        return self

    def _sample_weight(self, sample_weight, n, y):
        weight = _check_sample_weight(
            sample_weight, np.empty(n), dtype=np.float64, ensure_non_negative=True
        )
        weight = weight * self._class_weight(y)
        if not np.all(np.isfinite(weight)):
            raise ValueError("sample_weight contains NaN or inf")
        if (weight < 0).any():
            raise ValueError(
                "class_weight gives negative weights; class weights must be >= 0"
            )
        if not (weight > 0).any():
            raise ValueError("sample_weight is zero for every sample; nothing to fit")
        return weight

    def _class_weight(self, y):
        return 1.0

    def _split(self, data, rng):
        """Train/validation split for early stopping."""
        n = len(data)
        n_valid = int(math.ceil(self.validation_fraction * n))
        if n_valid < 1 or n - n_valid < 1:
            raise ValueError(
                f"early_stopping needs a validation split, but validation_fraction="
                f"{self.validation_fraction} of {n} samples leaves "
                f"{n_valid} for validation and {n - n_valid} for training"
            )
        from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

        strata = self._stratify(data.target)
        if strata is not None:
            try:
                splitter = StratifiedShuffleSplit(
                    1, test_size=n_valid, random_state=rng
                )
                train_idx, valid_idx = next(splitter.split(np.zeros(n), strata))
            except ValueError:  # a class too small to appear on both sides
                strata = None
        if strata is None:
            splitter = ShuffleSplit(1, test_size=n_valid, random_state=rng)
            train_idx, valid_idx = next(splitter.split(np.zeros(n)))
        return data.subset(np.sort(train_idx)), data.subset(np.sort(valid_idx))

    def _callbacks(self, n_train_batches, validation, epochs, schedule):
        monitor = "valid_loss" if validation else "train_loss"
        callbacks = [
            (
                "monitor",
                TrainingMonitor(
                    monitor=monitor,
                    patience=self.n_iter_no_change if validation else None,
                    restore_best=validation,
                ),
            ),
            ("lr", _RecordLearningRate()),
        ]
        if self.clip_grad_norm is not None:
            callbacks.append(
                ("clip", GradientNormClipping(gradient_clip_value=self.clip_grad_norm))
            )
        if schedule == "cosine":
            total = epochs * n_train_batches
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
                        patience=max(1, self.n_iter_no_change // 2),
                        event_name=None,
                    ),
                )
            )
        return callbacks

    def _new_net(self, module, device, seed):
        """A skorch net around ``module`` with this estimator's settings."""
        return SequenceNet(
            module=module,
            criterion=self._criterion(),
            optimizer=torch.optim.AdamW,
            optimizer__weight_decay=self.weight_decay,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            train_split=None,
            callbacks=[],
            device=device,
            verbose=self.verbose,
            shuffle_seed=seed,
            mixed_precision=self.mixed_precision,
        )

    def _train(self, data, n_outputs, max_length, *, warm, epochs=None, stream=False):
        """Build (unless ``warm``) and train the skorch net on ``data``."""
        device = resolve_device(self.device)
        seed = int(
            check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        )
        epochs = self.max_epochs if epochs is None else epochs
        if self.early_stopping and not stream:
            train, valid = self._split(data, seed)
        else:
            train, valid = data, None
        schedule = "constant" if stream else self.lr_schedule
        n_batches = math.ceil(len(train) / self.batch_size)
        callbacks = self._callbacks(n_batches, valid is not None, epochs, schedule)
        with self._torch_context(seed=seed, device=device):
            if warm:
                net = self.net_
                net.shuffle_generator_.manual_seed(seed)
                for group in net.optimizer_.param_groups:  # a fresh schedule
                    group["lr"] = self.lr
                    group.pop("initial_lr", None)
            else:
                module = self._build_network(self.n_channels_in_, n_outputs, max_length)
                net = self._new_net(module, device, seed)
                net.initialize()
                self._n_outputs, self._max_length = n_outputs, max_length
            net.set_params(
                callbacks=callbacks,
                max_epochs=self.max_epochs,
                batch_size=self.batch_size,
                lr=self.lr,
                verbose=self.verbose,
            )
            net.initialize_callbacks()
            net.partial_fit((train, valid), None, epochs=epochs)
        self.net_ = net
        history = [
            {k: _plain(v) for k, v in row.items() if k != "batches"}
            for row in net.history
        ]
        self.history_ = history
        self.n_iter_ = len(history)
        self._inference = InferenceModules()

    @contextmanager
    def _torch_context(self, seed=None, device="cpu"):
        """Apply ``n_threads``; with ``seed``, fork and seed torch's RNGs so
        the caller's global random state is left untouched."""
        with _num_threads(self.n_threads):
            if seed is None:
                yield
            else:
                cuda = torch.device(device).type == "cuda"
                devices = [torch.device(device).index or 0] if cuda else []
                with torch.random.fork_rng(devices=devices):
                    torch.manual_seed(seed)
                    yield

    # inference --------------------------------------------------------------
    def _chunks(self, X):
        """Yield ``(offset, chunk, n_total)`` pieces of ``X`` holding about
        ``_CHUNK_VALUES`` values each; ``n_total`` is the number of sequences
        in ``X``, or None when the one chunk is the whole of ``X``."""
        if _data.is_long(X):
            yield from self._long_chunks(X)
            return
        if not hasattr(X, "__len__"):
            yield 0, X, None
            return
        n = len(X)
        if _data.is_ragged(X):
            seqs = X.values if hasattr(X, "iloc") else X
            step_size = max((_size(s) for s in seqs), default=1)
        else:
            shape = _data.array_shape(X)
            step_size = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        rows = max(self.batch_size, _CHUNK_VALUES // max(step_size, 1))
        if rows >= n:
            yield 0, X, None
            return
        for start in range(0, n, rows):
            if hasattr(X, "iloc"):
                yield start, X.iloc[start : start + rows], n
            else:
                yield start, X[start : start + rows], n

    def _long_chunks(self, X):
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
        per = max(self.batch_size, _CHUNK_VALUES // 4 // width)
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

    def _run(self, X, method):
        """Apply the trained network to ``X`` batch by batch.

        ``method`` is ``"forward"`` (head output), ``"embed"`` (pooled
        vector) or ``"attention"`` (weights ``[n, h, t]``). Returns a float64
        numpy array (attention: padded to the longest sequence with 0).
        """
        check_is_fitted(self, "net_")
        dtype = torch.float64 if self.inference_dtype == "float64" else torch.float32
        np_dtype = np.float64 if dtype == torch.float64 else np.float32
        device = torch.device(self.net_.device)
        network = self._inference.get(self.net_.module_, dtype, device)
        outputs, n_steps, result = [], None, None
        with self._torch_context(), torch.inference_mode():
            for offset, chunk, n_total in self._chunks(X):
                seqs = self._validate_input(chunk, reset=False, offset=offset)
                values, lengths = self._tensors(seqs, np_dtype)
                self._check_positional_length(values.shape[1])
                chunk_out = self._run_batches(network, values, lengths, method, device)
                if not np.isfinite(chunk_out).all():
                    self._raise_non_finite(chunk_out, values, offset)
                if method == "attention" or n_total is None:
                    outputs.append(chunk_out)
                    n_steps = max(n_steps or 0, values.shape[1])
                else:  # written in place: no list of pieces to concatenate
                    if result is None:
                        shape = (n_total, *chunk_out.shape[1:])
                        result = np.empty(shape, dtype=np.float64)
                    result[offset : offset + len(chunk_out)] = chunk_out
        if result is not None:
            return result
        if len(outputs) == 1:
            return outputs[0].astype(np.float64, copy=False)
        if method == "attention":
            outputs = [
                o
                if o.shape[-1] == n_steps
                else np.pad(o, [(0, 0), (0, 0), (0, n_steps - o.shape[-1])])
                for o in outputs
            ]
        return np.concatenate(outputs).astype(np.float64, copy=False)

    def _check_positional_length(self, t):
        pass

    def _raise_non_finite(self, out, values, offset):
        """The network overflowed on some sequence: say which, and why."""
        bad = ~np.isfinite(out.reshape(len(out), -1)).all(axis=1)
        row = int(np.flatnonzero(bad)[0])
        peak = float(values[row].abs().max())
        raise ValueError(
            f"{type(self).__name__} cannot compute a finite output for sequence "
            f"{row + offset} of X: standardised with the training statistics, its "
            f"values reach {peak:.3g} (the training data has mean 0 and standard "
            "deviation 1 on that scale), which overflows the network. X is far "
            "outside the range of the training data; rescale it like the training "
            "data"
        )

    def _run_batches(self, network, values, lengths, method, device):
        n = len(lengths)
        order = torch.argsort(lengths, stable=True)
        pieces = []
        non_blocking = device.type == "cuda"
        for index in order.split(self.batch_size):
            t = int(lengths[index].max())
            v = values[index, :t].to(device, non_blocking=non_blocking)
            m = (torch.arange(t) < lengths[index, None]).to(
                device, non_blocking=non_blocking
            )
            if method == "forward":
                out = network(v, m)
            elif method == "embed":
                out = network.embed(v, m)
            else:
                weights = network.attention(v, m)[1]  # [b, h, t]
                out = torch.nn.functional.pad(weights, (0, values.shape[1] - t))
            pieces.append(out.cpu())
        result = torch.empty((n, *pieces[0].shape[1:]), dtype=pieces[0].dtype)
        result[order] = torch.cat(pieces)
        return result.numpy()

    def attention_weights(self, X, *, per_head=False):
        """Attention weight of every timestep in the pooling step.

        Parameters
        ----------
        X : sequences, in any format ``fit`` accepts
        per_head : bool, default=False
            Return one row per head (multi-head attention) instead of their
            average.

        Returns
        -------
        ndarray of shape (n_samples, n_timesteps), or (n_samples, n_heads,
        n_timesteps) with ``per_head=True``
            Non-negative, 0 on padding, each row summing to 1 over the real
            timesteps. ``n_timesteps`` is the width of ``X``: the padded
            length of an array, or the longest sequence of a list or long
            DataFrame.
        """
        check_is_fitted(self, "net_")
        if not self._uses_attention_pooling():
            raise ValueError(
                f"{type(self).__name__} pools with pooling={self.pooling!r}, which has "
                "no attention weights; use pooling='attention'"
            )
        weights = self._run(X, "attention")
        return weights if per_head else weights.mean(axis=1)

    def save(self, path):
        """Save the fitted estimator to ``path`` without pickle.

        The file holds the hyperparameters, fitted attributes and network
        weights as tensors and plain data; :func:`skattn.load` reads it with
        ``torch.load(weights_only=True)``, so loading a file cannot run code.
        The optimizer state is not kept: ``warm_start`` after loading starts
        a fresh optimizer.

        Parameters
        ----------
        path : str or path-like
        """
        from ._persistence import save

        save(self, path)

    def _restore_network(self, state_dict, device):
        """Rebuild ``net_`` from saved weights (used by :func:`skattn.load`)."""
        with self._torch_context(seed=0, device=device):
            module = self._build_network(
                self.n_channels_in_, self._n_outputs, self._max_length
            )
            module.load_state_dict(state_dict)
            net = self._new_net(module, device, seed=0)
            net.initialize()
        self.net_ = net
        self._inference = InferenceModules()

    def __sklearn_is_fitted__(self):
        return hasattr(self, "net_")


def _label_kind(label):
    if label is None:
        return "None"
    if isinstance(label, str):  # np.str_ too
        return "str"
    if isinstance(label, (bool, np.bool_)):
        return "bool"
    if isinstance(label, Real):  # Python and numpy numbers alike
        return "number"
    return type(label).__name__


def check_label_types(y):
    """Labels of mixed Python types (``[1, "a", None]``) get a message that
    says so; sklearn calls them of "unknown" type."""
    y = np.asarray(y)
    if y.dtype == object and y.ndim == 1:
        kinds = sorted({_label_kind(label) for label in y})
        if len(kinds) > 1:
            raise ValueError(
                f"Unknown label type: y mixes labels of types {kinds}; class labels "
                "must all be of one type (e.g. all str), and none may be missing"
            )


def _check_classes(classes):
    """``classes`` of ``partial_fit``: a 1D array of class labels."""
    classes = np.asarray(classes)
    if classes.ndim != 1:
        raise ValueError(
            f"classes must be a 1D array of labels, got shape {classes.shape}"
        )
    kind = type_of_target(classes, input_name="classes")
    if kind not in ("binary", "multiclass"):
        raise ValueError(
            f"classes must hold class labels, but they are of type {kind!r}: "
            f"{classes.tolist()[:5]}"
        )
    return classes


class _ClassTargets:
    """Encode class labels as integers; ``classes_`` as in scikit-learn."""

    def _prepare_class_target(self, y, warm=False, classes=None):
        y = column_or_1d(y, warn=True)
        check_label_types(y)
        check_classification_targets(y)
        if not warm:
            source = "y" if classes is None else "classes"
            if classes is not None:
                classes = _check_classes(classes)
            classes = np.unique(y if classes is None else classes)
            if len(classes) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes, but "
                    f"{source} contains only 1 class: {_plain(classes[0])!r}"
                )
            self.classes_ = classes
        unseen = np.setdiff1d(np.unique(y), self.classes_)
        if unseen.size:
            raise ValueError(
                f"y holds classes {unseen.tolist()} that are not in classes_ "
                f"{self.classes_.tolist()}; a fitted model cannot learn new classes "
                "(with partial_fit, pass every label as classes= on the first call)"
            )
        encoded = np.searchsorted(self.classes_, y)
        return torch.from_numpy(encoded.astype(np.int64)), len(self.classes_)

    def _class_weight(self, y):
        if getattr(self, "class_weight", None) is None:
            return 1.0
        y = column_or_1d(y)
        if isinstance(self.class_weight, dict):
            unknown = set(self.class_weight) - set(np.unique(y).tolist())
            if unknown:
                raise ValueError(
                    f"class_weight has keys {sorted(map(str, unknown))} that are not "
                    "classes in y"
                )
        return compute_sample_weight(self.class_weight, y)


class SequenceClassifierBase(ClassifierMixin, _ClassTargets, SequenceEstimator):
    """Classification: cross-entropy on the logits, ``classes_`` as sklearn."""

    _parameter_constraints = {
        **SequenceEstimator._parameter_constraints,
        "class_weight": [StrOptions({"balanced"}), dict, None],
    }

    def _prepare_target(self, y, warm=False, classes=None):
        return self._prepare_class_target(y, warm, classes)

    def _stratify(self, target):
        return None if target is None else target.numpy()

    def _criterion(self):
        return torch.nn.CrossEntropyLoss(reduction="none")

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), float64."""
        logits = torch.from_numpy(self._run(X, "forward"))
        # softmax in place: no second array as large as the output
        logits.sub_(logits.amax(dim=1, keepdim=True)).exp_()
        return logits.div_(logits.sum(dim=1, keepdim=True)).numpy()

    def predict(self, X):
        """Predicted class label of each sequence."""
        check_is_fitted(self, "net_")
        return self.classes_[np.argmax(self._run(X, "forward"), axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False
        return tags


class _TargetScaling:
    """Standardise continuous targets for training, undo it on prediction."""

    def _prepare_regression_target(self, y, warm=False):
        y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
        if y.ndim > 2:
            raise ValueError(f"y must be 1D or 2D, got {y.ndim} dimensions")
        y2 = y.reshape(len(y), -1)
        if warm:
            if y2.shape[1] != len(self._y_loc):
                raise ValueError(
                    f"y has {y2.shape[1]} outputs, but the fitted model has "
                    f"{len(self._y_loc)}"
                )
        else:
            self._y_ndim = y.ndim
            # in float64 and overflow-safe: targets of any finite scale (1e-300
            # to 1e300) train on values of unit scale
            self._y_loc, scale = mean_std(y2, axis=0)
            scale[~(scale > 0)] = 1.0
            self._y_scale = scale
        target = (y2 - self._y_loc) / self._y_scale
        return torch.from_numpy(target.astype(np.float32)), y2.shape[1]

    def _unscale(self, out):
        y = out * self._y_scale + self._y_loc
        if not np.isfinite(y).all():
            raise ValueError(
                f"{type(self).__name__} predicts beyond the float64 range for X "
                f"(targets were fitted with scale {self._y_scale.max():.3g}); X is "
                "far outside the training data"
            )
        return y[:, 0] if self._y_ndim == 1 else y


class _PerSampleMSE(torch.nn.Module):
    """Squared error averaged over outputs, one value per sample."""

    def forward(self, y_pred, y_true):
        return ((y_pred - y_true) ** 2).mean(dim=1)


class SequenceRegressorBase(RegressorMixin, _TargetScaling, SequenceEstimator):
    """Regression of one or several targets; targets are standardised during
    training, so their scale does not matter."""

    def _prepare_target(self, y, warm=False, classes=None):
        return self._prepare_regression_target(y, warm)

    def _criterion(self):
        return _PerSampleMSE()

    def predict(self, X):
        """Predicted targets, float64, shaped like the training ``y``."""
        return self._unscale(self._run(X, "forward"))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags


POOLING_CONSTRAINTS = {
    "attention": [
        StrOptions({"additive", "dot", "scaled_dot", "general", "multihead"})
    ],
    "num_heads": [Interval(Integral, 1, None, closed="left")],
    "query": [StrOptions({"learned", "last"})],
    "aggregation": [StrOptions({"sum", "mean", "max"})],
    "dropout": [Interval(Real, 0, 1, closed="left")],
}

# The convolutional stem in front of either encoder (modules.stem.ConvStem).
CONV_STEM_CONSTRAINTS = {
    "conv_stem": [
        StrOptions({"auto"}),
        Interval(Integral, 1, None, closed="left"),
        None,
    ],
}

CONV_STEM_DOC = """\
    conv_stem : "auto", int or None, default="auto"
        A convolutional stem before the encoder: three ``Conv1d -> LayerNorm
        -> GELU`` layers with ``{width}`` channels that give every step a
        view of its neighbourhood and divide the length by a total stride (a
        power of two). ``"auto"`` picks the stride from the longest training
        sequence (the largest power of two that leaves at least 64 steps: 1
        up to 127 steps, 2 up to 255, ...); an int sets it; None feeds the
        input straight to the encoder. Attention weights are still reported
        per input step.
"""


def check_conv_stem(conv_stem):
    if isinstance(conv_stem, Integral) and conv_stem & (conv_stem - 1):
        raise ValueError(
            f"conv_stem={conv_stem} must be a power of two (1, 2, 4, ...), "
            "'auto' or None"
        )


POOLING_PARAMS_DOC = """\
    pooling : {pooling_options}, default="attention"
        How the encoded sequence becomes one vector: ``"attention"`` (see
        ``attention``, ``query`` and ``aggregation``), or the no-attention
        baselines: masked ``"mean"`` or ``"max"`` over the real steps,
        ``"last"`` state{cls_doc}.
    attention : {{"additive", "dot", "scaled_dot", "general", "multihead"}}, \
default="{attention}"
        Attention score: Bahdanau's ``vᵀ tanh(W_q q + W_k h_t + b)``, Luong's
        ``qᵀ h_t`` and ``qᵀ W h_t``, the scaled ``qᵀ h_t / √d``, or
        ``num_heads`` heads of scaled dot attention on learned projections.
    num_heads : int, default={num_heads}
        Heads of multi-head attention{heads_doc}.
    query : {{"learned", "last"}}, default="learned"
        The attention query: a trained vector, or the encoder's last state.
    aggregation : {{"sum", "mean", "max"}}, default="sum"
        How the weighted states ``a_t h_t`` are combined: their sum (the
        context vector), their mean over the real steps, or their
        element-wise maximum.
    dropout : float, default={dropout}
        Dropout rate{dropout_doc}.\
"""


def fill_doc(**blocks):
    """Class decorator: replace each docstring line holding only ``{name}``
    with the text block ``name``, indented like the placeholder."""

    def decorate(cls):
        doc = cls.__doc__
        for name, block in blocks.items():
            block = textwrap.dedent(block)
            doc = re.sub(
                rf"^([ \t]*){{{name}}}$",
                lambda m, block=block: textwrap.indent(block, m.group(1)),
                doc,
                flags=re.M,
            )
        cls.__doc__ = doc
        return cls

    return decorate
