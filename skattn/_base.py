"""The estimator template shared by every skattn model.

``SequenceEstimator.fit`` runs a fixed sequence of steps: validate the
parameters and the input, prepare the target (a task hook), fit the input
standardisation, build the network (an architecture hook), and train it
with a skorch :class:`~skattn._net.SequenceNet`. Prediction validates,
standardises and runs the network chunk by chunk (:mod:`skattn._predict`).

A concrete estimator combines this base with

- a task: :class:`SequenceClassifierBase` or :class:`SequenceRegressorBase`
  (or its own, like ``AttentionPoolingTransformer``), which provides
  ``_prepare_target``, ``_criterion``, ``_check_target_fitted`` and
  ``_target_attributes`` (see :mod:`skattn._targets`);
- an architecture from :mod:`skattn._architectures`, which provides
  ``_check_architecture``, ``_build_network`` and ``_max_input_length``.
"""

import copy
import math
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from joblib import effective_n_jobs
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import (
    _check_sample_weight,
    check_consistent_length,
    check_is_fitted,
)

from . import _persistence, _streaming
from ._architectures import (
    fit_linear_ridge,
    held_out_network_weight,
    network_ensemble,
    ridge_penalties,
    set_network_weight,
)
from ._events import CATEGORICAL_CONSTRAINTS, EventInputs, UnknownCounter
from ._net import (
    SequenceData,
    SequenceNet,
    TrainingMonitor,
    crop_validation_split,
    plain_history,
    training_callbacks,
    validation_folds,
    validation_split,
)
from ._predict import (
    ChunkOutputs,
    InferenceModules,
    check_finite_output,
    iter_chunks,
    run_batches,
)
from ._runtime import num_threads, resolve_device, step_flops, torch_context
from ._scaling import (
    fit_input_scaling,
    median_length,
    resolve_differences,
    resolve_series_norm,
    sequence_smoothness,
    sequence_stds,
    standardised_tensors,
)
from ._targets import ClassTargets, PerSampleMSE, TargetScaling
from ._validation import (
    align_to_entities,
    check_score_target,
    check_tokens,
    int_param,
)
from .exceptions import TrainingInterruptedWarning

__all__ = ["SequenceClassifierBase", "SequenceEstimator", "SequenceRegressorBase"]


# linear_steps="auto": the most values (steps times channels) the linear
# part reads; every step of the windows of a series it is made for.
LINEAR_AUTO_VALUES = 2048

# early_stopping="auto": the fewest in-memory training sequences it holds a
# validation share out of (4 at the default validation_fraction of 0.1).
EARLY_STOPPING_AUTO_MIN = 40

# jitter="auto": the noise's standard deviation, as a fraction of each
# sequence's own, where the input has numeric channels.
AUTO_JITTER = 0.1

# random_crop="auto": the window share it tries against whole sequences, the
# most training sequences of the median class for which it tries (few series
# per class: the regime where a network learns them by heart), by how many
# held-out sequences windows must win (one sequence either way is noise), and
# how many times the epochs (and step budget) a network on windows trains: an
# epoch of windows shows a share AUTO_CROP of the steps, so each step is seen
# as often as in max_epochs epochs of whole sequences.
AUTO_CROP = 0.5
AUTO_CROP_MAX_PER_CLASS = 4
AUTO_CROP_MARGIN = 2
AUTO_CROP_EPOCHS = 1 / AUTO_CROP


def _fold_network(est, train, valid, **settings):
    """Train one fold's network of ``est`` (in a worker process under
    ``n_jobs``): its module, on the CPU, its history and whether Ctrl-C
    interrupted its training."""
    net = est._train_net(train, valid, warm=False, **settings)
    interrupted = any(m.interrupted_ for m in net._callbacks_of(TrainingMonitor))
    return net.module_.cpu(), plain_history(net.history), interrupted


def _train_networks(est, work, tasks, settings, stop=None):
    """``work(est, **task, **settings)`` for each of ``tasks``: one after
    another, until ``stop`` (if given) holds for a result, or under
    ``est.n_jobs`` in joblib's worker processes (at most one per task),
    where Ctrl-C stops the workers and raises KeyboardInterrupt."""
    n_workers = min(effective_n_jobs(est.n_jobs), len(tasks))
    if n_workers > 1:
        return Parallel(n_jobs=n_workers)(
            delayed(work)(est, **task, **settings) for task in tasks
        )
    results = []
    for task in tasks:
        results.append(work(est, **task, **settings))
        if stop is not None and stop(results[-1]):
            break
    return results


def _crop_network_score(est, crop, train, valid, **settings):
    """Accuracy on ``valid`` of a network of ``est`` trained on ``train``
    with windows of ``crop`` of each sequence (None: whole sequences), for
    ``random_crop="auto"`` (in a worker process under ``n_jobs``); Ctrl-C
    ends the fit (KeyboardInterrupt)."""
    est = copy.copy(est)  # the estimator itself keeps its random_crop_
    est.random_crop_ = crop
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrainingInterruptedWarning)
        net = est._train_net(
            train, None, warm=False, label=f"random_crop={crop}", **settings
        )
    if any(m.interrupted_ for m in net._callbacks_of(TrainingMonitor)):
        raise KeyboardInterrupt
    return est._validation_accuracy(net, valid)


class SequenceEstimator(EventInputs, BaseEstimator):
    """Base of every skattn estimator; not for direct use.

    Subclasses provide the task hooks (``_prepare_target(y, warm, classes)``
    returning ``(target tensor or None, n_outputs)``, ``_criterion()``,
    ``_check_target_fitted()``, ``_target_attributes``) and the architecture
    hooks (``_check_architecture()``,
    ``_build_network(n_channels, n_outputs, max_length)``, optionally
    ``_max_input_length()``).
    """

    _parameter_constraints: dict = {
        "max_epochs": [int_param(1)],
        "max_steps": [int_param(1), None],
        "batch_size": [int_param(1)],
        "group_by_length": ["boolean"],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "lr_schedule": [StrOptions({"cosine", "constant", "plateau"})],
        "clip_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "weight_averaging": [StrOptions({"ema", "swa"}), None],
        "early_stopping": ["boolean", StrOptions({"auto"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "validation_split": [StrOptions({"random", "last"})],
        "n_iter_no_change": [int_param(1)],
        "warm_start": ["boolean"],
        "device": [str],
        "mixed_precision": ["boolean"],
        "inference_dtype": [StrOptions({"float32", "float64"})],
        # more threads than the system can start crash torch (a segfault)
        "n_threads": [int_param(1, 1024), StrOptions({"auto"}), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        # ids are stored as float32 values, exact up to 2**24
        "vocab_size": [int_param(1, 2**24), None],
        "padding_idx": [int_param(0), None],
        "embedding_dim": [int_param(1), None],
        **CATEGORICAL_CONSTRAINTS,
    }

    # Fitted attributes saved with the model, besides the network and the
    # task's own ``_target_attributes``; absent ones are skipped.
    _fitted_attributes = (
        "n_channels_in_",
        "n_features_in_",
        "feature_names_in_",
        "n_iter_",
        "history_",
        "_channel_names",
        "_input_loc",
        "_input_scale",
        "_n_outputs",
        "_max_length",
        "_stem_length",
        "series_norm_",
        "differences_",
        "linear_steps_",
        "linear_fit_",
        "linear_alpha_",
        "early_stopping_",
        "n_folds_",
        "random_crop_",
        "network_weight_",
        "is_categorical_",
        "categories_",
        "static_is_categorical_",
        "static_categories_",
    )

    # task hooks -------------------------------------------------------------
    _supervised = True
    _target_attributes = ()

    def _prepare_target(self, y, warm=False, classes=None):  # pragma: no cover
        raise NotImplementedError

    def _criterion(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_target_fitted(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _stratify(self, target):
        return None

    def _class_weight(self, y):
        return 1.0

    # architecture hooks -----------------------------------------------------
    def _check_architecture(self):
        pass

    def _build_network(self, n_channels, n_outputs, max_length):  # pragma: no cover
        raise NotImplementedError

    def _max_input_length(self):
        """The longest sequence the network can read, or None for any."""
        return None

    def _check_input_length(self, t):
        limit = self._max_input_length()
        if limit is not None and t > limit:
            raise ValueError(
                f"X has sequences of {t} timesteps, but {type(self).__name__} "
                f"learned positions for {limit} (its longest training sequence); "
                "use positional_encoding='sinusoidal' to predict on longer sequences"
            )

    # tags -------------------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = False
        return tags

    def __sklearn_is_fitted__(self):
        return hasattr(self, "net_")

    @classmethod
    def _saved_attributes(cls):
        return cls._fitted_attributes + cls._target_attributes

    # parameters -------------------------------------------------------------
    def _check_params(self):
        """All parameter checks: each one alone, then their combinations."""
        self._validate_params()
        self._check_param_combinations()

    def _check_param_combinations(self):
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
        self._check_event_params()
        self._check_architecture()

    # input ------------------------------------------------------------------
    def _validate_input(self, X, *, reset, offset=0, counter=None):
        """Check ``X`` against the fitted contract and convert it: event
        fields encoded (see :class:`skattn._events.EventInputs`), then token
        ids checked."""
        seqs = self._validate_events(X, reset=reset, offset=offset, counter=counter)
        if self.vocab_size is not None:
            seqs = check_tokens(seqs, self.vocab_size, self.padding_idx, offset)
        return seqs

    def _tensors(self, seqs, dtype):
        return standardised_tensors(seqs, self._input_loc, self._input_scale, dtype)

    # fit --------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Train the network on sequences ``X`` (and targets ``y``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps[, n_channels]), list of \
arrays, or long DataFrame
            Training sequences; see :mod:`skattn.data` for the formats. For a
            long DataFrame, rows of ``y`` follow the sorted entity ids (a
            pandas ``y`` indexed by entity id is aligned to them). Each
            channel is standardised with its mean and standard deviation over
            the real timesteps, computed in float64 without overflow, so the
            scale of ``X`` does not matter (1e-30 and 1e30 train alike); a
            constant channel is only centred. At prediction, values that
            standardise far beyond the training range (e.g. 1e300 for data of
            scale 1) are an error rather than a NaN output. A dask array, a
            memory-mapped array or :func:`skattn.data.from_dask_long` is read
            block by block, never whole (data larger than memory).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples in the loss (and in the early
            stopping loss). A zero weight removes the sample from training.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._check_param_combinations()
        warm = self.warm_start and hasattr(self, "net_")
        return self._fit(X, y, sample_weight, warm=warm)

    @_fit_context(prefer_skip_nested_validation=True)
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
            Training sequences.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples in the loss.
        classes : array-like of shape (n_classes,), default=None
            All class labels, for classification; read on the first call.

        Returns
        -------
        self : object
            The estimator, trained one more epoch.
        """
        first = not hasattr(self, "net_")
        if first:
            self._check_param_combinations()
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
        _streaming.check_not_a_graph_key(X)
        if _streaming.is_streamed(X):  # larger than memory: read block by block
            return _streaming.fit_streamed(
                self,
                X,
                y,
                sample_weight,
                warm=warm,
                epochs=epochs,
                stream=stream,
                classes=classes,
            )
        counter = UnknownCounter()
        seqs = self._validate_input(X, reset=not warm, counter=counter)
        counter.warn(type(self).__name__)
        n = len(seqs.lengths)
        y = align_to_entities(y, seqs)
        sample_weight = align_to_entities(sample_weight, seqs, "sample_weight")
        if y is not None:
            check_consistent_length(seqs.lengths, y)
        target, n_outputs = self._prepare_target(y, warm=warm, classes=classes)
        weight = self._sample_weight(sample_weight, n, y)
        keep = np.flatnonzero(weight > 0)
        if not warm:
            if self.vocab_size is None:
                self._input_loc, self._input_scale = fit_input_scaling(seqs, keep)
                # category codes are embedded, not scaled
                codes = self._code_channels()
                self._input_loc[codes] = 0.0
                self._input_scale[codes] = 1.0
            else:  # token ids are embedded, not scaled
                self._input_loc = self._input_scale = None
            # "auto" series_norm and differences read the training sequences
            stds = ratios = None
            spread, smooth = (
                self._series_norm_reads_data(),
                self._differences_read_data(),
            )
            if spread or smooth:
                values = seqs.values if len(keep) == n else seqs.values[keep]
                lengths = seqs.lengths[keep]
            if spread:
                stds = sequence_stds(
                    values, lengths, self._input_loc, self._input_scale
                )
            if smooth:
                ratios = sequence_smoothness(values, lengths)
            self._fit_series_norm(stds)
            self._fit_differences(ratios)
            self._stem_length = median_length(seqs.lengths[keep])
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

    def _numeric_input(self):
        """Whether the network reads numbers only (no token ids or codes)."""
        return self.vocab_size is None and not self._categorical_mask().any()

    def _series_norm_reads_data(self):
        """Whether fit must measure the sequences' standard deviations
        (``series_norm="auto"`` on numeric input)."""
        return (
            hasattr(self, "series_norm")
            and self._effective("series_norm") == "auto"
            and self._numeric_input()
        )

    def _fit_series_norm(self, stds):
        """Resolve ``series_norm`` ("auto": from the training sequences'
        standard deviations ``stds``) into ``series_norm_``."""
        if hasattr(self, "series_norm"):
            self.series_norm_ = resolve_series_norm(
                self._effective("series_norm"),
                np.empty((0, 1)) if stds is None else stds,
                self._numeric_input(),
            )

    def _differences_read_data(self):
        """Whether fit must measure how smooth the sequences are
        (``differences="auto"`` on numeric input)."""
        return (
            hasattr(self, "differences")
            and self._effective("differences") == "auto"
            and self._numeric_input()
        )

    def _fit_differences(self, ratios):
        """Resolve ``differences`` ("auto": from the training sequences'
        smoothness ``ratios``, see :func:`sequence_smoothness`) into
        ``differences_``."""
        if not hasattr(self, "differences"):
            return
        if ratios is None:
            ratios = np.empty((0, 1))
        elif self.static_features is not None:  # attributes do not move
            ratios = ratios[:, : -len(self.static_features)]
        self.differences_ = resolve_differences(
            self._effective("differences"), ratios, self._numeric_input()
        )

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

    def _effective(self, name):
        """The value of the parameter ``name`` that fitting uses (an estimator
        may resolve an ``"auto"`` of its own)."""
        return getattr(self, name)

    def _random_crop(self):
        """The share of each sequence that training windows keep (None:
        whole sequences): ``random_crop_``, which a task that offers
        ``random_crop`` resolves."""
        return getattr(self, "random_crop_", None)

    def _fit_random_crop(self, data, seed, settings):
        """Resolve ``random_crop`` for a cold fit on ``data`` into
        ``random_crop_``; a task may offer ``random_crop``."""

    def _epoch_factor(self):
        """How many times ``max_epochs`` (and ``max_steps``) a fit trains
        the network (a cold or a warm fit); a task may train longer on
        parts of each sequence."""
        return 1

    def _jitter(self):
        """The standard deviation of the noise added to training batches
        (None: none); a task may offer ``jitter``."""
        return None

    def _noise_level(self, jitter):
        """The noise's standard deviation that a ``jitter`` value asks for
        (None: none); ``"auto"`` adds :data:`AUTO_JITTER` to input with
        numeric channels, none to token ids or categories alone."""
        if jitter == "auto":
            return AUTO_JITTER if self._numeric_channels().any() else None
        return jitter or None

    def _numeric_channels(self):
        """Which network channels hold the input's numbers (not category
        codes or token ids, time features or entity attributes)."""
        channels = np.zeros(self._n_network_channels(), dtype=bool)
        if self.vocab_size is None:
            channels[: self.n_channels_in_] = ~self._categorical_mask()
        return channels

    def _random_scale(self):
        """The standard deviation of the factors that scale training
        sequences (None: none); a task may offer ``random_scale``."""
        return None

    def _random_warp(self):
        """The standard deviation of the reading speeds that warp training
        sequences in time (None: none); a task may offer ``random_warp``."""
        return None

    def _augmented_channels(self):
        """Which network channels ``jitter`` and ``random_scale`` change and
        ``random_warp`` interpolates: the numeric ones (None without any of
        them)."""
        asked = {"jitter": self._jitter(), "random_scale": self._random_scale()}
        asked = {name: value for name, value in asked.items() if value}
        if not asked and not self._random_warp():
            return None
        channels = self._numeric_channels()
        if asked and not channels.any():
            name, value = next(iter(asked.items()))
            verb = {"jitter": "adds noise to", "random_scale": "scales"}[name]
            raise ValueError(
                f"{name}={value} {verb} numeric input channels, and this input "
                "has none (token ids or categorical features only)"
            )
        return torch.from_numpy(channels)

    def _new_net(self, module, device, seed):
        """A skorch net around ``module`` with this estimator's settings."""
        return SequenceNet(
            module=module,
            criterion=self._criterion(),
            optimizer=torch.optim.AdamW,
            optimizer__weight_decay=self._effective("weight_decay"),
            lr=self._effective("lr"),
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
        """Build (unless ``warm``) and train the skorch net on ``data``: one
        network, or with ``validation_folds`` one per fold, combined."""
        device = resolve_device(self.device)
        seed = int(
            check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        )
        self.early_stopping_ = self._resolve_early_stopping(data, stream)
        n_folds = self._resolve_folds(data, warm)
        if not warm:
            self.n_folds_ = 1  # each fold's network is built on its own
            self.linear_steps_ = self._resolve_linear_steps(data, max_length)
            self.linear_fit_ = self._resolve_linear_fit(data, stream)
            self._n_outputs, self._max_length = n_outputs, max_length
        settings = dict(
            n_outputs=n_outputs,
            max_length=max_length,
            epochs=epochs,
            stream=stream,
            device=device,
        )
        if not warm:
            self._fit_random_crop(data, seed, settings)
        strata = self._stratify(data.target) if self.early_stopping_ else None
        if n_folds > 1:
            splits = validation_folds(
                data, n_folds, strata, seed, self.validation_split
            )
            fold_seeds = np.random.RandomState(seed).randint(
                np.iinfo(np.int32).max, size=n_folds
            )
            tasks = [
                dict(
                    train=train,
                    valid=valid,
                    seed=int(fold_seed),
                    label=f"fold {k}/{n_folds}",  # from 1, as sklearn's [CV 1/5]
                )
                for k, ((train, valid), fold_seed) in enumerate(
                    zip(splits, fold_seeds, strict=True), start=1
                )
            ]
            # no more worker processes than folds (each imports torch);
            # one after another, Ctrl-C keeps the folds trained so far
            folds = _train_networks(
                self, _fold_network, tasks, settings, stop=lambda fold: fold[2]
            )
            modules = [module for module, _, _ in folds]
            # (Ctrl-C may have left fewer folds trained than tasks)
            held_out = [
                (module, task["valid"])
                for module, task in zip(modules, tasks, strict=False)
            ]
            net = self._new_net(network_ensemble(self, modules), device, seed)
            net.initialize()
            self.n_folds_ = len(folds)
            # prediction's "auto" threads: the work of all the members, as
            # for a loaded model
            self._step_flops = step_flops(net.module_, self.batch_size, max_length)
            self.history_ = [
                {"fold": k, **row}
                for k, (_, rows, _) in enumerate(folds)
                for row in rows
            ]
        else:
            if self.early_stopping_:
                train, valid = validation_split(
                    data, self.validation_fraction, strata, seed, self.validation_split
                )
            else:
                train, valid = data, None
            net = self._train_net(train, valid, warm=warm, seed=seed, **settings)
            self.history_ = plain_history(net.history)
            held_out = [] if valid is None else [(net.module_, valid)]
            modules = [net.module_]
        if not warm:  # (a warm fit keeps the linear part as it was)
            self._record_linear_fit(modules)
        self._fit_network_weight(net, held_out)
        self.net_ = net
        self.n_iter_ = len(self.history_)
        self._inference = InferenceModules()

    def _record_linear_fit(self, modules):
        """Task hook, after a cold fit: the regressors record their linear
        part's ridge penalty from the trained ``modules`` (one network, or
        one per validation fold)."""

    def _fit_network_weight(self, net, held_out):
        """Task hook, after training: the regressors set ``network_weight_``
        from ``held_out``, pairs of a trained module and its held-out
        data (none without early stopping)."""

    def _held_out_outputs(self, module, data):
        """``module``'s outputs ``[n, k]`` (float64) on the in-memory
        ``data`` (held out from its training), in evaluation mode on the
        module's device."""
        module.eval()
        device = next(module.parameters()).device
        with num_threads(self.n_threads, self._step_flops), torch.inference_mode():
            out = run_batches(
                module, data.values, data.lengths, "forward", device, self.batch_size
            )
        return out.astype(np.float64).reshape(len(data), -1)

    def _resolve_folds(self, data, warm):
        """How many networks this fit trains on folds of ``data`` (1: one
        network): ``validation_folds`` where a cold fit on in-memory data
        stops early (data read block by block hold out whole blocks)."""
        n_folds = getattr(self, "validation_folds", None)
        if n_folds is None or warm or not self.early_stopping_:
            return 1
        return n_folds if isinstance(data, SequenceData) else 1

    def _train_net(
        self,
        train,
        valid,
        n_outputs,
        max_length,
        *,
        warm,
        epochs,
        stream,
        device,
        seed,
        label=None,
    ):
        """Train one skorch net on ``train`` (stopping early on ``valid``
        where given): the fitted one when ``warm``, else a new one;
        ``label`` names it in the progress and warnings (a fold)."""
        batches = train.n_batches(self.batch_size)
        if epochs is None:  # fit: max_epochs, or fewer under max_steps
            factor = self._epoch_factor()
            epochs = math.ceil(self.max_epochs * factor)
            max_steps = self._effective("max_steps")
            if max_steps is not None:
                epochs = min(epochs, -(-math.ceil(max_steps * factor) // batches))
        callbacks = training_callbacks(
            n_batches=batches,
            epochs=epochs,
            schedule="constant" if stream else self.lr_schedule,
            validation=valid is not None,
            patience=self.n_iter_no_change,
            clip_grad_norm=self.clip_grad_norm,
            weight_averaging=None if stream else self.weight_averaging,
            verbose=self.verbose,
            label=label,
        )
        # The network is built under the seed; "auto" threads need its size,
        # so the thread count is set around the training loop only (it does
        # not change the initial weights).
        with torch_context(None, seed=seed, device=device):
            if warm:
                net = self.net_
                # the network trains whole; network_weight is fitted after
                set_network_weight(net.module_, 1.0)
                net.shuffle_generator_.manual_seed(seed)
                for group in net.optimizer_.param_groups:  # a fresh schedule
                    group["lr"] = self._effective("lr")
                    group.pop("initial_lr", None)
            else:
                module = self._build_network(
                    self._n_network_channels(), n_outputs, max_length
                )
                net = self._new_net(module, device, seed)
                net.initialize()
                if self.linear_fit_ == "ridge":
                    fit_linear_ridge(net.module_, train, self.linear_alpha)
            net.set_params(
                callbacks=callbacks,
                max_epochs=self.max_epochs,
                batch_size=self.batch_size,
                lr=self._effective("lr"),
                verbose=self.verbose,
                random_crop=self._random_crop(),
                jitter=self._jitter(),
                random_scale=self._random_scale(),
                random_warp=self._random_warp(),
                augmented_channels=self._augmented_channels(),
                group_by_length=self.group_by_length,
            )
            net.initialize_callbacks()
            # "auto" threads: from the work of one step on this data
            self._step_flops = step_flops(net.module_, self.batch_size, max_length)
            with num_threads(self.n_threads, self._step_flops):
                net.partial_fit((train, valid), None, epochs=epochs)
        return net

    def _resolve_linear_steps(self, data, max_length):
        """The ``linear_steps`` the network is built with: ``"all"`` is
        every step of the longest training sequence (the padded width of
        data read block by block), ``"auto"`` the same up to
        :data:`LINEAR_AUTO_VALUES` values over the channels, on numeric
        input, and None (no linear part) on token ids or categories."""
        steps = getattr(self, "linear_steps", None)
        if steps not in ("all", "auto"):
            return steps
        if isinstance(data, SequenceData):  # padding does not count
            max_length = int(data.lengths.max())
        if steps == "all":
            return max_length
        if not self._numeric_input():
            return None
        n_channels = self._n_network_channels()
        if self.static_features is not None:
            n_channels -= len(self.static_features)
        return max(1, min(max_length, LINEAR_AUTO_VALUES // n_channels))

    def _resolve_early_stopping(self, data, stream):
        """Whether this fit holds out a validation share and stops early:
        ``"auto"`` does on in-memory data of at least
        :data:`EARLY_STOPPING_AUTO_MIN` sequences; ``partial_fit`` never."""
        if stream:
            return False
        if self.early_stopping == "auto":
            in_memory = isinstance(data, SequenceData)
            return in_memory and len(data) >= EARLY_STOPPING_AUTO_MIN
        return bool(self.early_stopping)

    def _resolve_linear_fit(self, train, stream):
        """How the linear part is fitted: "ridge" before training on
        in-memory data, else "joint" (with the network); None without one."""
        if getattr(self, "linear_steps_", None) is None:
            return None
        if getattr(self, "linear_fit", "joint") == "ridge":
            if not stream and isinstance(train, SequenceData):
                return "ridge"
        return "joint"

    # inference --------------------------------------------------------------
    def _run(self, X, method):
        """Apply the trained network to ``X``, chunk by chunk.

        ``method`` is ``"forward"`` (head output), ``"embed"`` (pooled
        vector) or ``"attention"`` (weights ``[n, h, t]``). Returns a float64
        numpy array (attention: padded to the longest sequence with 0).
        """
        check_is_fitted(self, "net_")
        dtype = torch.float64 if self.inference_dtype == "float64" else torch.float32
        np_dtype = np.float64 if dtype == torch.float64 else np.float32
        device = torch.device(self.net_.device)
        network = self._inference.get(self.net_.module_, dtype, device)
        outputs = ChunkOutputs(pad_steps=method == "attention")
        counter = UnknownCounter()
        # "auto": as many threads as training got
        threads = torch_context(self.n_threads, flops=self._step_flops)
        base = _streaming.row_offset()  # a block of a dask array: its first row
        with threads, torch.inference_mode():
            for offset, chunk, n_total in iter_chunks(X, self.batch_size):
                seqs = self._validate_input(
                    chunk, reset=False, offset=base + offset, counter=counter
                )
                values, lengths = self._tensors(seqs, np_dtype)
                self._check_input_length(values.shape[1])
                out = run_batches(
                    network, values, lengths, method, device, self.batch_size
                )
                check_finite_output(out, values, base + offset, type(self).__name__)
                outputs.add(offset, out, n_total)
        counter.warn(type(self).__name__)
        return outputs.result()

    @_streaming.lazy_output
    def attention_weights(self, X, *, per_head=False):
        """Attention weight of every timestep in the pooling step.

        Parameters
        ----------
        X : sequences in any format ``fit`` accepts
            The sequences to attend over.
        per_head : bool, default=False
            Return one row per head (multi-head attention) instead of their
            average.

        Returns
        -------
        weights : ndarray of shape (n_samples, n_timesteps), or \
(n_samples, n_heads, n_timesteps) with ``per_head=True``
            Non-negative, 0 on padding, each row summing to 1 over the real
            timesteps. ``n_timesteps`` is the width of ``X``: the padded
            length of an array, or the longest sequence of a list or long
            DataFrame.
        """
        check_is_fitted(self, "net_")
        if self.pooling != "attention":
            raise ValueError(
                f"{type(self).__name__} pools with pooling={self.pooling!r}, which has "
                "no attention weights; use pooling='attention'"
            )
        weights = self._run(X, "attention")
        return weights if per_head else weights.mean(axis=1)

    # saving -----------------------------------------------------------------
    def save(self, path):
        """Save the fitted estimator to ``path`` without pickle.

        The file holds the hyperparameters, fitted attributes and network
        weights as tensors and plain data; :func:`skattn.load` reads it with
        ``torch.load(weights_only=True)``, so loading a file cannot run code.
        The optimizer state is not kept: ``warm_start`` after loading starts
        a fresh optimizer. The file is written next to ``path`` first and
        moved into place when complete, so a failed save leaves an existing
        file intact. :func:`skattn.save` saves whole pipelines too.

        Parameters
        ----------
        path : str or path-like
            Destination file (conventionally ``.skattn``).
        """
        _persistence.save(self, path)

    def _restore_network(self, state_dict, device):
        """Rebuild ``net_`` from saved weights (used by :func:`skattn.load`)."""
        with torch_context(None, seed=0, device=device):  # building: no threads
            module = self._build_network(
                self._n_network_channels(), self._n_outputs, self._max_length
            )
            module.load_state_dict(state_dict)
            net = self._new_net(module, device, seed=0)
            net.initialize()
        self.net_ = net
        self._step_flops = step_flops(module, self.batch_size, self._max_length)
        self._inference = InferenceModules()


class _SupervisedScore:
    """``score`` that checks ``y`` against a long DataFrame ``X`` first."""

    def score(self, X, y, sample_weight=None):
        """Score of the predictions for ``X`` against ``y``.

        Mean accuracy for classifiers, R² for regressors, as in
        scikit-learn. For a long DataFrame ``X``, ``y`` needs one row per
        entity (sequence), not one per row of ``X``.

        Parameters
        ----------
        X : sequences in any format ``fit`` accepts
            Test sequences.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True targets of ``X``.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Mean accuracy (classifiers) or R² (regressors).
        """
        check_score_target(X, y)
        return super().score(X, y, sample_weight=sample_weight)


# Parameters of the supervised estimators' networks that the embedding
# estimator (no output layer) does not have.
SUPERVISED_CONSTRAINTS = {
    "linear_steps": [
        Interval(Integral, 1, None, closed="left"),
        StrOptions({"all", "auto"}),
        None,
    ],
    "n_estimators": [Interval(Integral, 1, None, closed="left")],
    "validation_folds": [Interval(Integral, 2, None, closed="left"), None],
    "n_jobs": [Integral, None],
}


class SequenceClassifierBase(
    _SupervisedScore, ClassifierMixin, ClassTargets, SequenceEstimator
):
    """Classification: cross-entropy on the logits, ``classes_`` as sklearn."""

    _parameter_constraints = {
        **SequenceEstimator._parameter_constraints,
        **SUPERVISED_CONSTRAINTS,
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "random_crop": [
            Interval(Real, 0, 1, closed="right"),
            StrOptions({"auto"}),
            None,
        ],
        "jitter": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "random_scale": [Interval(Real, 0, None, closed="left")],
        "random_warp": [Interval(Real, 0, None, closed="left")],
    }

    def _prepare_target(self, y, warm=False, classes=None):
        return self._prepare_class_target(y, warm, classes)

    def _stratify(self, target):
        return None if target is None else target.numpy()

    def _fit_random_crop(self, data, seed, settings):
        """``random_crop_``: ``random_crop`` as given, or for ``"auto"``
        :data:`AUTO_CROP` if a network trained on windows classifies at
        least :data:`AUTO_CROP_MARGIN` more held-out training sequences
        correctly than one trained on whole sequences, where the median
        class has at most
        :data:`AUTO_CROP_MAX_PER_CLASS` sequences (see
        :func:`crop_validation_split`); otherwise None. ``random_crop_scores_``:
        the two networks' held-out accuracies (None without them)."""
        self.random_crop_, self.random_crop_scores_ = self._resolve_random_crop(
            data, seed, settings
        )

    def _epoch_factor(self):
        """With windows that ``random_crop="auto"`` chose (in the comparison
        too), :data:`AUTO_CROP_EPOCHS` times the epochs and steps."""
        auto_windows = self.random_crop == "auto" and self._random_crop()
        return AUTO_CROP_EPOCHS if auto_windows else 1

    def _resolve_random_crop(self, data, seed, settings):
        """``(random_crop_, random_crop_scores_)``."""
        if self.random_crop != "auto":
            return self.random_crop, None
        if settings["stream"] or not isinstance(data, SequenceData):
            return None, None
        split = crop_validation_split(
            data.target.numpy(), seed, AUTO_CROP_MAX_PER_CLASS
        )
        if split is None:
            return None, None
        train, valid = data.subset(split[0]), data.subset(split[1])
        crops = (None, AUTO_CROP)
        tasks = [dict(crop=crop, train=train, valid=valid, seed=seed) for crop in crops]
        found = _train_networks(self, _crop_network_score, tasks, settings)
        scores = dict(zip(crops, found, strict=True))
        # accuracies are shares of the held-out sequences (weighted)
        gain = (scores[AUTO_CROP] - scores[None]) * len(valid)
        crop = AUTO_CROP if gain > AUTO_CROP_MARGIN - 1e-9 else None
        if self.verbose:
            print(
                f'random_crop="auto": accuracy on {len(valid)} held-out '
                f"sequences {scores[None]:.3f} trained on whole sequences, "
                f"{scores[AUTO_CROP]:.3f} on windows of {AUTO_CROP}: training "
                + ("on windows" if crop else "on whole sequences"),
                flush=True,
            )
        return crop, scores

    def _validation_accuracy(self, net, valid):
        """Weighted accuracy of the trained ``net`` on ``valid``."""
        logits = self._held_out_outputs(net.module_, valid)
        correct = np.argmax(logits, axis=1) == valid.target.numpy()
        weight = (
            np.ones(len(valid))
            if valid.weight is None
            else valid.weight.double().numpy()
        )
        return float(np.sum(correct * weight) / np.sum(weight))

    def _jitter(self):
        return self._noise_level(self.jitter)

    def _random_scale(self):
        return self.random_scale or None

    def _random_warp(self):
        return self.random_warp or None

    def _criterion(self):
        return torch.nn.CrossEntropyLoss(
            reduction="none", label_smoothing=self.label_smoothing
        )

    def _check_target_fitted(self):
        self._check_classes_fitted()

    @_streaming.lazy_output
    def predict_proba(self, X):
        """Class probabilities of each sequence.

        Parameters
        ----------
        X : sequences in any format ``fit`` accepts
            The sequences to classify.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes), float64
            Probabilities in the order of ``classes_``.
        """
        logits = torch.from_numpy(self._run(X, "forward"))
        # softmax in place: no second array as large as the output
        logits.sub_(logits.amax(dim=1, keepdim=True)).exp_()
        return logits.div_(logits.sum(dim=1, keepdim=True)).numpy()

    @_streaming.lazy_output
    def predict(self, X):
        """Predicted class label of each sequence.

        Parameters
        ----------
        X : sequences in any format ``fit`` accepts
            The sequences to classify.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        check_is_fitted(self, "net_")
        return self.classes_[np.argmax(self._run(X, "forward"), axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False
        return tags


class SequenceRegressorBase(
    _SupervisedScore, RegressorMixin, TargetScaling, SequenceEstimator
):
    """Regression of one or several targets; targets are standardised during
    training, so their scale does not matter."""

    _parameter_constraints = {
        **SequenceEstimator._parameter_constraints,
        **SUPERVISED_CONSTRAINTS,
        "linear_fit": [StrOptions({"ridge", "joint"})],
        "linear_alpha": [
            Interval(Real, 0, None, closed="neither"),
            StrOptions({"1se", "min"}),
        ],
        "network_weight": [Interval(Real, 0, 1, closed="both"), StrOptions({"auto"})],
    }

    # files saved before these parameters existed (or had these defaults):
    # no linear part, learned jointly where there was one, no early stopping,
    # the network's output added whole
    _legacy_params = {
        "differences": 0,
        "linear_steps": None,
        "linear_fit": "joint",
        "linear_alpha": "1se",
        "early_stopping": False,
        "validation_folds": None,
        "validation_split": "random",
        "network_weight": 1.0,
    }

    def _record_linear_fit(self, modules):
        self.linear_alpha_ = ridge_penalties(modules)

    def _fit_network_weight(self, net, held_out):
        """``network_weight_``: the weight of the network's output added to
        the linear part (one per target; None without a linear part), as
        given, or for ``"auto"`` fitted on the held-out predictions of early
        stopping (1 without them)."""
        if self.linear_steps_ is None:
            self.network_weight_ = None
            return
        held_out = [(m, d) for m, d in held_out if isinstance(d, SequenceData)]
        if self.network_weight != "auto":
            weight = np.full(self._n_outputs, float(self.network_weight))
        elif held_out:
            weight = held_out_network_weight(held_out, self._held_out_outputs)
        else:
            weight = np.ones(self._n_outputs)
        set_network_weight(net.module_, weight)
        # as the network holds it (float32 in training)
        self.network_weight_ = weight.astype(np.float32).astype(np.float64)
        if self.verbose and self.network_weight == "auto":
            shown = ", ".join(f"{w:.3f}" for w in weight)
            print(
                f'network_weight="auto": the network\'s output weighs {shown} '
                "against the linear part's, fitted on held-out sequences",
                flush=True,
            )

    def _restore_network(self, state_dict, device):
        super()._restore_network(state_dict, device)
        if not hasattr(self, "network_weight_"):  # files saved before it existed
            self.network_weight_ = (
                None
                if getattr(self, "linear_steps_", None) is None
                else np.ones(self._n_outputs)
            )
        if not hasattr(self, "linear_alpha_"):  # (the penalty was not kept)
            self.linear_alpha_ = None

    def _prepare_target(self, y, warm=False, classes=None):
        return self._prepare_regression_target(y, warm)

    def _criterion(self):
        return PerSampleMSE()

    def _check_target_fitted(self):
        self._check_scaling_fitted()

    @_streaming.lazy_output
    def predict(self, X):
        """Predicted targets of each sequence.

        Parameters
        ----------
        X : sequences in any format ``fit`` accepts
            The sequences to predict for.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Float64 predictions, shaped like the training ``y``.
        """
        return self._unscale(self._run(X, "forward"))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
