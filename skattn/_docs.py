"""Docstring blocks shared by several estimators, and the decorator that
fills them in.

A class docstring holds placeholder lines such as ``{training}``;
:func:`fill_doc` replaces each with its block, indented like the
placeholder, so text that several classes share is written once.
"""

import re
import textwrap

TRAINING_PARAMS_DOC = """\
    max_epochs : int, default={max_epochs}
        Number of passes over the training data (twice as many for a
        network on the windows that a classifier's ``random_crop="auto"``
        chose).
    max_steps : int or None, default={max_steps}
        At most this many optimizer steps in ``fit``: large training sets
        then get fewer than ``max_epochs`` passes (``ceil(max_steps /
        batches per epoch)``), small ones are unaffected. The learning-rate
        schedule spans the passes that run. None: ``max_epochs`` passes.
    batch_size : int, default={batch_size}
        Sequences per gradient step (and per prediction batch).
    group_by_length : bool, default=True
        Put training sequences of similar length into the same batch, which
        pads less and so trains faster when lengths differ. Batches are
        grouped within a shuffled pool of 50 batches, so training sets of
        up to ``50 * batch_size`` sequences get the same batches every
        epoch, in another order; when length says something about the
        target, batch statistics (``stem_norm="batch"``, ``series_norm``)
        then differ between training and prediction. False draws every
        training batch at random. Prediction always groups.
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
    weight_averaging : {{"ema", "swa"}} or None, default=None
        End ``fit`` with an average of the weights that training went
        through rather than the last ones: ``"ema"`` an exponential moving
        average over the optimizer steps with a time constant of a tenth of
        the fit's steps, ``"swa"`` the mean of the weights after each step
        of the last half of the fit (stochastic weight averaging, Izmailov
        et al. 2018). Batch-normalisation statistics are averaged with the
        weights; with early stopping, the validation loss is that of the
        averaged weights. ``partial_fit`` does not average. None: the last
        weights.
    early_stopping : bool or "auto", default={early_stopping}
        Hold out ``validation_fraction`` of the training data (stratified for
        classifiers), stop when its loss has not improved for
        ``n_iter_no_change`` epochs and restore the best epoch's weights.
        ``"auto"``: on when the training data are in memory and hold at
        least 40 sequences, off otherwise (and when read block by block);
        ``early_stopping_`` records whether the fit used it.
{early_stopping_why}
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping.
    validation_split : {{"random", "last"}}, default={validation_split}
        Which share: drawn at random (stratified for classifiers), or the
        last sequences in the order given (the last blocks of data read
        block by block). ``"last"`` suits sequences in time order, such as
        windows of one series, where a random share holds near-copies of
        training windows and so does not show when the network stops
        generalising to later data; with sequences in random order it is a
        random share too.
    n_iter_no_change : int, default={n_iter_no_change}
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
    n_threads : "auto", int or None, default="auto"
        Torch threads used during ``fit`` and prediction. ``"auto"`` gives
        one thread per 2e10 floating-point operations of a training step
        (forward and backward of one batch, estimated from ``batch_size``,
        the length after the convolutional stem and the network's layers),
        at least 1 and at most torch's thread count before the call (all
        cores in a main process, ``cores // n_jobs`` in joblib's process
        workers and 1 in dask's, which limit ``OMP_NUM_THREADS`` before
        torch starts). Torch's threads spin-wait for each other after every
        operation, so while other processes keep the cores busy a network
        with short operations runs 10 to 30 times slower on several threads
        than on one, and gains little from them on an idle machine: the
        default networks on data sets of a few hundred steps get one thread
        (see ``benchmarks/THREADS.md``). An int sets exactly that many
        threads, at most 1024; None leaves torch's setting alone (the
        behaviour before ``"auto"``).
        Torch's setting is process-wide (per thread in OpenMP builds): each
        call sets it and, when it ends, restores the value from before the
        first of any calls that overlap it, so concurrent ``predict`` calls
        from several threads leave the setting as they found it. Outputs
        depend on the thread count only through float rounding, and
        ``"auto"`` depends only on the network, ``batch_size``, the training
        length and torch's setting, never on the machine's load; for
        bit-identical results across machines, set an int.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and dropout. With the same
        seed, data, torch version, device and thread count, results are
        identical.
    verbose : int, default=0
        0 shows nothing. 1 shows the progress of the epochs with the
        current losses and the estimated time left: a tqdm progress bar on
        a terminal or in a notebook, otherwise (output to a file or a pipe)
        one plain line per epoch, ``epoch 12/200  train_loss 0.4312
        valid_loss 0.4711  2.1 s/epoch  eta 6 min``, without colour codes.
        2 also shows every value recorded per epoch (learning rate; ``*``
        marks a loss that improved). The early stop is printed; an
        interruption by Ctrl-C keeps the best weights and gives a
        :class:`~skattn.exceptions.TrainingInterruptedWarning`.\
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
    differences_ : {0, 1, 2}
        The ``differences`` the network was built with (``"auto"``
        resolved from the training data).
    series_norm_ : {"stats", "instance"} or None
        The ``series_norm`` the network was built with (``"auto"``
        resolved from the training data).
    linear_steps_ : int or None
        The number of steps the network's linear part reads (``"all"`` and
        ``"auto"`` resolved from the training data).
    linear_fit_ : {"ridge", "joint"} or None
        How the network's ``linear_steps`` part was fitted (None: it has
        none).
    early_stopping_ : bool
        Whether the last fit held out a validation share and stopped early
        (``early_stopping="auto"`` resolved from the training data).
    n_folds_ : int
        How many folds of the training data the network's members were
        trained on, one set per fold (``validation_folds``; 1: one network
        or one set, on a validation share or on all the data).
    n_features_in_ : int
        Only for 2D (tabular) training input: its number of columns, i.e.
        timesteps. Set neither for 3D, list nor long-format input.
    feature_names_in_ : ndarray of str
        Column names of a wide training DataFrame, when it had string names.
    is_categorical_ : ndarray of bool of shape (n_channels_in_,)
        Which input channels are categorical fields.
    categories_ : list of ndarray
        The vocabulary of each categorical field, in channel order, sorted
        (as ``OrdinalEncoder.categories_``); only with categorical fields.
    static_is_categorical_ : ndarray of bool of shape (n_static_features,)
        Which ``static_features`` are categorical; only with static features.
    static_categories_ : list of ndarray
        The vocabulary of each categorical static feature.\
"""

CLASSIFIER_ATTRIBUTES_DOC = (
    """\
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    random_crop_ : float or None
        The share of each sequence that training windows kept (None: whole
        sequences; ``random_crop="auto"`` resolved from the training data).
    random_crop_scores_ : dict or None
        With ``random_crop="auto"``: the accuracy on the held-out training
        sequences of the network trained on whole sequences (key None) and
        of the one trained on windows (key 0.5); None where no such
        networks were trained.
"""
    + FITTED_ATTRIBUTES_DOC
)

REGRESSOR_ATTRIBUTES_DOC = (
    """\
    linear_alpha_ : float, ndarray of shape (n_folds_,) or None
        The penalty of the linear part's ridge fit (``linear_fit="ridge"``),
        one per network with ``validation_folds``; None where the linear
        part was learned with the network, or where there is none.
    network_weight_ : ndarray of shape (n_outputs,) or None
        The weight of the network's output added to the linear part, per
        target (``network_weight="auto"`` fitted on held-out sequences);
        None without a linear part.
"""
    + FITTED_ATTRIBUTES_DOC
)

CONV_STEM_DOC = """\
    conv_stem : "auto", int or None, default="auto"
        A convolutional stem before the encoder: three ``Conv1d -> norm ->
        GELU`` layers with ``{width}`` channels that give every step a
        view of its neighbourhood and divide the length by a total stride (a
        power of two). ``"auto"`` picks the stride from the median length of
        the training sequences (the largest power of two that leaves it at
        least 64 steps: 1 up to 127 steps, 2 up to 255, ...), so that
        sequences of unequal length keep their detail when most are short;
        an int sets it; None feeds the input straight to the encoder.
        Attention weights are still reported per input step.
    stem_norm : {{"layer", "batch"}} or None, default={stem_norm}
        The normalisation after each convolution of the stem. ``"layer"``
        normalises each step over its channels: it keeps the shape of the
        signal around a step but not its amplitude. ``"batch"``
        standardises each channel over the real steps of the training batch
        (running averages at prediction, so predictions do not depend on the
        batch) and keeps amplitudes, for targets that depend on the level of
        the series (regression, forecasting, amounts). None: no
        normalisation.
    stem_dilation : int, default=1
        Dilation growth of the stem's convolutions: layer ``i`` (from 0)
        spaces its kernel's taps ``stem_dilation ** i`` steps apart, so 2
        widens the window each output step sees from 13 to 29 input steps
        (at a stride of 1) at the same cost.
    stem_scales : int, default=1
        Kernel widths in each layer of the stem: with ``k`` > 1, each layer
        runs ``k`` convolutions side by side whose windows are 1, 2, 4, ...
        times as wide as the single kernel's, with the ``{width}`` channels
        shared out between them (the multi-scale kernels of InceptionTime),
        so that the stem sees both fine detail and longer patterns.
    stem_pooling : bool or "auto", default={stem_pooling}
        Join each stem channel's mean and maximum over the real steps to
        the pooled vector the head reads: a path from the convolutions to
        the head around the encoder, as in the global average pooling of
        FCN and ResNet classifiers. The pooled vector (and
        ``AttentionPoolingTransformer``'s embedding) grows by twice the
        stem's ``{width}`` channels. True needs ``conv_stem``; ``"auto"``
        pools the stem where there is one (``conv_stem`` not None).
    differences : {{0, 1, 2, "auto"}}, default={differences}
        Give the network each channel's differences between neighbouring
        steps as extra input channels (with 2, also the differences of
        those), standardised by the training batches' statistics (their
        running averages at prediction): the slope and the curvature of a
        smooth series, which are small next to its level and stay small
        after the input's standardisation (spectra, outlines, slowly
        varying sensors). ``"auto"`` picks 2 when the
        training series are smooth (the median, over sequences and
        channels, of the standard deviation of the differences over that of
        the values is below 0.15: a sine of about 42 steps a period or
        longer) and 0 otherwise (and always for token ids or categorical
        features); the choice is kept in ``differences_``. Numeric input
        only (not with token ids or categorical features). See
        :class:`skattn.modules.Differences`.
    series_norm : {{"auto", "stats", "instance"}} or None, default={series_norm}
        Give the network each sequence's own level and scale: per channel,
        the mean and the log standard deviation over the sequence's real
        steps become extra input channels (standardised over the training
        set). The input is standardised over the whole training set, which
        squeezes series whose amplitudes differ by orders of magnitude
        (currents of different appliances, amounts, counts) together near
        zero; these channels keep them apart. ``"instance"`` also
        standardises each sequence by its own statistics, so the values
        carry only its shape. ``"auto"`` picks ``"instance"`` when, in some
        channel, the standard deviations of the training sequences spread
        over more than a factor 10 from the 10th to the 90th percentile,
        and None otherwise (and always for token ids or categorical
        features); the choice is kept in ``series_norm_``. Numeric input
        only (not with token ids or categorical features). See
        :class:`skattn.modules.SeriesNorm`.
    batch_renorm : bool, default={batch_renorm}
        Batch renormalisation (Ioffe 2017) in the layers that normalise by
        batch statistics (the stem's with ``stem_norm="batch"``,
        ``series_norm``'s): after 100 training batches, each batch's
        standardisation is corrected towards the running statistics that
        prediction uses, within limits, so that batches unlike the whole
        training set (sequences of similar length, see
        ``group_by_length``) are normalised as at prediction. See
        :class:`skattn.modules.MaskedBatchNorm`.
"""


ENSEMBLE_DOC_TEMPLATE = """\
    n_estimators : int, default=1
        Train this many networks side by side, each from its own random
        initialisation and on its own loss, and predict with their mean
        class probabilities (classifiers) or mean outputs (regressors), as
        InceptionTime's ensemble of five networks does: steadier accuracy
        on small training sets, at about ``n_estimators`` times the fit and
        prediction time. ``attention_weights`` gives the members' mean
        weights. See :class:`skattn.modules.NetworkEnsemble`.
    validation_folds : int >= 2 or None, default={validation_folds}
        Where the fit stops early (``early_stopping``), train one network
        (``n_estimators`` of them) per fold of the training sequences
        instead of one on a ``validation_fraction`` share: each trains on
        the other folds, stops when the loss on its own fold has not
        improved for ``n_iter_no_change`` epochs, and prediction combines
        them all as ``n_estimators`` does (k-fold bagging). Every sequence
        then serves both for training and for choosing when to stop, where
        a share of a small training set is too few sequences to tell a
        lasting improvement from noise; fit and prediction take about
        ``validation_folds`` times as long. Folds follow
        ``validation_split``: shuffled (stratified for classifiers), or
        blocks of consecutive sequences for ``"last"``. ``history_`` holds
        every fold's epochs, each marked with its ``fold``; ``n_folds_``
        records how many folds the fit trained on (1: none). Data read
        block by block stop on a validation share of whole blocks instead.
        ``warm_start`` and ``partial_fit`` continue training all the
        networks on all the data. Ctrl-C ends the fit with the folds
        trained so far (the interrupted one keeps its best epoch's
        weights, as one network does).
{validation_folds_why}
    n_jobs : int or None, default=None
        How many fold networks (``validation_folds``), or the two networks
        that ``random_crop="auto"`` compares (classifiers), train at once,
        each in a worker process of joblib (at most one per network): None means 1
        unless in a :func:`joblib.parallel_backend` context, -1 means all
        cores. Each fold trains with the same seed whichever process trains
        it, so with an int ``n_threads`` the fitted model is the one
        ``n_jobs=1`` gives (``"auto"`` threads may differ in a worker, which
        gets ``cores // n_jobs`` at most). A ``"threading"`` backend shares
        torch's random state between the folds and so is not reproducible.
        Ctrl-C stops the workers and ``fit`` raises ``KeyboardInterrupt``.
        Otherwise it has no effect: the ``n_estimators`` networks of one
        fold train side by side in one loop."""

# Why an estimator's validation_folds default is what it is.
VALIDATION_FOLDS_WHY = {
    "classifier": (
        "None by default: the classifiers do not stop early by default "
        "(``early_stopping``)."
    ),
    "lstm_regressor": (
        "None by default: with folds of consecutive windows "
        '(``validation_split="last"``), leave-one-data-set-out '
        "cross-validation was better on spectra (Tecator: 0.206 to 0.141 "
        "of the training mean's error) but worse on two forecasting sets "
        "(Sunspots 0.498 to 0.536, USMacro 0.249 to 0.280)."
    ),
    "transformer_regressor": (
        "5 by default: in leave-one-data-set-out cross-validation on six "
        "regression sets the mean error fell from 0.599 to 0.577 and from "
        "0.623 to 0.574 of the training mean's (two seed sets), no set "
        "worse by more than 0.002, spectra most (Tecator: 0.188 to 0.158 "
        "and 0.205 to 0.170); 3 folds were worse than one network on three "
        "sets. It costs about ten times the fit time of one network, "
        "seconds to minutes on such sets."
    ),
}


def _reason(text):
    """``text`` wrapped as a paragraph of a parameter's description."""
    return textwrap.fill(
        text,
        width=78,
        initial_indent=" " * 8,
        subsequent_indent=" " * 8,
        break_on_hyphens=False,
    )


def ensemble_doc(validation_folds=None, why="classifier"):
    """The ``n_estimators`` and ``validation_folds`` block with an
    estimator's ``validation_folds`` default and the reason for it."""
    return ENSEMBLE_DOC_TEMPLATE.format(
        validation_folds=validation_folds,
        validation_folds_why=_reason(VALIDATION_FOLDS_WHY[why]),
    )


CLASSIFIER_LOSS_DOC = """\
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, as in scikit-learn; multiplied
        with ``sample_weight``.
    label_smoothing : float in [0, 1), default=0.0
        Train against targets that give the true class ``1 -
        label_smoothing`` plus an equal share of ``label_smoothing`` to
        every class (``torch.nn.CrossEntropyLoss``), which keeps the
        network from driving its logits apart without bound on small
        training sets.
    random_crop : float in (0, 1], "auto" or None, default={random_crop}
        Window slicing: each training sequence is replaced, in every
        batch, by a window of ``ceil(random_crop * length)`` consecutive
        steps at a random place, so the network learns from shifted parts
        of it; early stopping's validation share, ``score`` and ``predict``
        see whole sequences. For long recordings where any stretch carries
        the class (a person, an animal or a machine recognised from its
        recording), it keeps the network from learning the few training
        series of a class by heart; where the class is a shape in time
        (a gesture, a transient), windows cut it and lose accuracy. None
        trains on whole sequences. ``"auto"`` decides from the data where
        the median class has at most 4 training sequences: one sequence of
        each class (of two or more) is held out, a network is trained on
        the others once on windows of half of each sequence and once on
        whole sequences, and windows are kept only if they classify at
        least two more of the held-out sequences correctly; the final
        network then trains on all sequences, so such a fit costs about
        twice as long (less with ``n_jobs=2``, which trains the two at
        once; Ctrl-C during the comparison ends the fit). A network on the
        windows it chose trains twice ``max_epochs`` (and ``max_steps``),
        so that it sees each step as often as on whole sequences (each of
        its epochs costs less: the windows are half as long). With more
        sequences per class, and for data read block by block or
        ``partial_fit``, ``"auto"`` trains on whole sequences.
        ``random_crop_`` holds the share used (None: whole sequences) and
        ``random_crop_scores_`` the two networks' held-out accuracies
        (None where none were trained); with ``verbose``, fit prints both
        and the choice.
{jitter}
    random_scale : float >= 0, default=0.0
        Magnitude scaling, an augmentation for small training sets: in every
        training batch, each sequence's numeric channels are multiplied by
        factors drawn from a normal distribution with mean 1 and this
        standard deviation, one per sequence and channel, so the network
        sees every sequence at other amplitudes (about the training set's
        mean: the factors multiply the standardised values); early
        stopping's validation share and everything after ``fit`` see the
        sequences as given. 0 scales none.
    random_warp : float >= 0, default=0.0
        Time warping, an augmentation for small training sets: in every
        training batch, each sequence is read at a speed that varies
        smoothly along it (drawn at four points spread over the sequence
        from a normal distribution with mean 1 and this standard deviation,
        interpolated between them, and resampled so that the sequence still
        starts and ends where it did), so the network sees its events a
        little earlier or later and stretched or compressed; numeric
        channels are interpolated between steps, other channels take the
        nearest step's value. Lengths, padding, early stopping's validation
        share and everything after ``fit`` stay as given. 0 warps none.
        Where the class is a shape whose timing varies it can help; where
        it lies in a rhythm or in fast oscillations, warping blurs it: in
        cross-validation on training splits, 0.2 raised the accuracy on
        gestures by 4 to 8 points and on appliance currents (PLAID) by 2 to
        3, and cut it on appliance power draw (ACSF1) by 25 to 27 and on
        pressure curves told apart by their heartbeat (PigCVP) by 7 to
        16.
"""


JITTER_DESCRIPTION = (
    "Jittering, an augmentation for small training sets: every training batch "
    "gets new Gaussian noise on the real steps of the input's numeric "
    "channels, of this standard deviation as a fraction of each sequence's own "
    "standard deviation of the channel (so series whose amplitudes span orders "
    "of magnitude are disturbed alike, and a constant channel not at all); "
    "early stopping's validation share and everything after ``fit`` see the "
    "sequences as given. 0 adds none."
)

# What the classifiers' jitter="auto" gives.
AUTO_JITTER_MEANING = (
    "0.1 when the input has numeric channels, none for token ids or "
    "categorical features alone."
)


def jitter_doc(default, auto):
    """The ``jitter`` entry with its ``default``, closed by the sentence
    ``auto`` on what ``"auto"`` gives."""
    text = textwrap.fill(
        f"{JITTER_DESCRIPTION} {auto}",
        width=78,
        initial_indent=" " * 8,
        subsequent_indent=" " * 8,
        break_on_hyphens=False,
    )
    return f'    jitter : float >= 0 or "auto", default={default}\n{text}'


def classifier_loss_doc(jitter, random_crop):
    """The classifiers' loss and augmentation parameters, ``jitter`` and
    ``random_crop`` the defaults of theirs."""
    return CLASSIFIER_LOSS_DOC.format(
        jitter=jitter_doc(jitter, f'``"auto"``: {AUTO_JITTER_MEANING}'),
        random_crop=random_crop,
    )


LINEAR_STEPS_DOC = """\
    linear_steps : int, "all", "auto" or None, default={default}
        Add a linear function of the last ``linear_steps`` real steps of
        every input channel (standardised, aligned on each sequence's end)
        to the network's output: the linear model on the recent past that
        forecasting targets are often close to (the autoregressive highway
        of LSTNet), with the network left to learn what it misses.
        ``"all"``: as many steps as the longest training sequence has (a
        linear model on the whole series). ``"auto"``: the same, up to
        2,048 values over the channels (fewer steps when there are many
        channels), on numeric input, and no linear part on token ids or
        categorical features; ``linear_steps_`` gives the number. Steps
        before the start of a shorter sequence count as the training mean.
        An int or ``"all"`` needs numeric input (not token ids or
        categorical features); entity attributes are not part of it. See
        :class:`skattn.modules.LinearSteps`.\
"""


LINEAR_FIT_DOC = """\
    linear_fit : {{"ridge", "joint"}}, default="ridge"
        How the ``linear_steps`` part is fitted. ``"ridge"``: first, by
        ridge regression of the target on the standardised steps with the
        penalty ``linear_alpha``, and kept fixed while the network learns
        what the linear model leaves; on small sets of windows of a series,
        where a linear model on the recent past is hard to beat, the
        network starts from that fit. ``"joint"``: from zero, with the
        network. Fits on data read block by block (dask, memory-mapped) and
        ``partial_fit`` learn it jointly, as the fitted ``linear_fit_``
        records.
    linear_alpha : float > 0, "1se" or "min", default={default}
        The penalty of ``linear_fit="ridge"`` (on standardised steps and
        targets), or how it is chosen from 17 values from 0.01 to 1e6 by
        the error cross-validated on five blocks of consecutive training
        sequences: ``"min"`` the smallest error's, ``"1se"`` the largest
        whose error is within one standard error of the smallest (glmnet's
        ``lambda.1se``: the simplest model the data cannot tell from the
        best). Blocks rather than leave-one-out: overlapping windows of a
        series nearly repeat their neighbours, and a window validated on a
        fit to its neighbours calls for penalties too weak to extrapolate.
        ``linear_alpha_`` holds the penalty used (one per network with
        ``validation_folds``).\
"""


NETWORK_WEIGHT_DOC = """\
    network_weight : float in [0, 1] or "auto", default={default}
        How much of the rest of the network's output is added to the
        ``linear_steps`` part once training ends: 1 adds it whole, 0 leaves
        the linear model alone. ``"auto"``: the weight that minimises the
        squared error on the sequences early stopping held out (each
        fold's own with ``validation_folds``), clipped to [0, 1], so that a
        network whose correction does not carry over to held-out sequences
        is shrunk toward the linear model; 1 where nothing is held out
        (``early_stopping=False``, ``partial_fit``, data read block by
        block). The weight is fitted per target; ``network_weight_`` holds
        it (None without a linear part). Training itself always adds the
        network whole.\
"""


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
    max_pooling : bool, default={max_pooling}
        Join each state channel's maximum over the real steps to the pooled
        vector, so the head sees, beside the attended summary, how strongly
        each learned feature occurs anywhere in the sequence (the global
        pooling of convolutional classifiers such as ROCKET's max feature).
        Attention weights are unchanged; the pooled vector (and
        ``AttentionPoolingTransformer``'s embedding) doubles in width. With
        ``pooling="max"`` the pooled vector already is that maximum, and it
        is not joined twice.
    dropout : float, default={dropout}
        Dropout rate{dropout_doc}.\
"""


TOKEN_PARAMS_DOC = """
    vocab_size : int or None, default=None
        Set it for token-id input: sequences of integers in
        ``[0, vocab_size)`` are embedded before the encoder.
    embedding_dim : int or None, default=None
        Size of the token embedding; defaults to ``{width}``.
    padding_idx : int or None, default=None
        Token id used for padding: trailing runs of it are padding, and its
        embedding stays zero.\
"""


EVENT_PARAMS_DOC = """
    categorical_features : "from_dtype", list of str or int, array-like of \
bool, or None, default="from_dtype"
        Categorical fields, following ``HistGradientBoostingClassifier``:
        ``"from_dtype"`` marks the ``category``, ``object`` and string
        columns of a long DataFrame (arrays have none); or column names of a
        long DataFrame, channel indices, a boolean mask over the channels, or
        None. ``fit`` learns one vocabulary per field (``categories_``) and the
        network embeds each field in ``min(50, (n_categories + 1) // 2 + 1)``
        dimensions, concatenated with the standardised numeric channels
        before the stem and encoder; category codes are not standardised.
        Channels of arrays marked categorical hold integer codes (any
        integers). NaN, None and ``pd.NA`` are a category of their own
        ("missing"); a value not seen in ``fit`` maps to a reserved
        "unknown" category, with one
        :class:`skattn.exceptions.UnknownCategoryWarning` per call naming the
        field, the count and a few of the values.
    time_features : {{"elapsed", "gap", "both"}} or None, default=None
        Channels of real time, for long DataFrames whose time level holds
        timestamps (naive or tz-aware) or numbers: ``"elapsed"`` is the time
        since the entity's first event, ``"gap"`` the time since its previous
        event (0 for the first, and for events that share a timestamp),
        ``"both"`` adds both. They are measured in seconds for timestamps and
        in the level's own unit for numbers, transformed with ``log1p`` and
        standardised like the numeric channels; they are appended after the
        value columns. With time features, an entity may have several events
        at the same time (kept in their row order). Array input has no times,
        so setting it there is an error. Positional encodings still count
        steps.
    static_features : list of str or None, default=None
        Columns of a long DataFrame that hold attributes of the entity (plan,
        region), constant over its rows (an error names the entity and the
        column otherwise). They are not per-step channels: categorical ones
        (by ``categorical_features``; their vocabularies are
        ``static_categories_``) are embedded, numeric ones standardised, and
        the vector is joined to the pooled vector before the head. With
        static features, channel indices in ``categorical_features`` count
        the other value columns first, then these, in the given order.
    static_query : bool, default=False
        Condition attention pooling's learned query on the attributes:
        ``query = learned + Linear(attributes)``. Needs ``static_features``,
        ``pooling="attention"`` and ``query="learned"``.\
"""


def _shown(default):
    """A default as a docstring shows it: strings in double quotes."""
    return f'"{default}"' if isinstance(default, str) else default


# why the default of early_stopping is what it is
EARLY_STOPPING_WHY = {
    False: (
        "Off by default: on the small data sets typical of sequences the "
        "held-out share costs more accuracy than early stopping gains, and "
        "the cosine schedule already ends training at a low learning rate."
    ),
    "auto": (
        '``"auto"`` by default: the network learns what the ridge-fitted '
        "linear part (``linear_steps``) leaves, and training it to the last "
        "epoch overfits that."
    ),
}


def training_doc(
    max_steps=None,
    early_stopping=False,
    validation_split="random",
    n_iter_no_change=10,
    **defaults,
):
    """The training parameters block with a family's ``defaults`` (and the
    estimator's ``max_steps``, ``early_stopping``, ``validation_split`` and
    ``n_iter_no_change``) filled in."""
    return TRAINING_PARAMS_DOC.format(
        max_steps=max_steps,
        early_stopping=_shown(early_stopping),
        early_stopping_why=_reason(EARLY_STOPPING_WHY[early_stopping]),
        validation_split=_shown(validation_split),
        n_iter_no_change=n_iter_no_change,
        **defaults,
    )


def linear_doc(default=None, regressor=False, network_weight=None, linear_alpha=None):
    """The ``linear_steps`` block with its ``default``, and for regressors
    the ``linear_fit``, ``linear_alpha`` and ``network_weight`` blocks
    (with the defaults of the last two)."""
    block = LINEAR_STEPS_DOC.format(default=_shown(default))
    if not regressor:
        return block
    fit = LINEAR_FIT_DOC.format(default=_shown(linear_alpha))
    weight = NETWORK_WEIGHT_DOC.format(default=_shown(network_weight))
    return "\n".join([block, fit, weight])


def fill_doc(**blocks):
    """Decorator for a class or function: replace each docstring line
    holding only ``{name}`` with the text block ``name``, indented like the
    placeholder."""

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


def recurrent_params_doc(
    stem_norm='"layer"',
    series_norm="None",
    max_pooling=False,
    batch_renorm=False,
    stem_pooling=False,
    differences=0,
):
    """The LSTM estimators' architecture parameters, with the defaults of
    ``stem_norm``, ``series_norm``, ``max_pooling``, ``batch_renorm``,
    ``stem_pooling`` and ``differences`` (which differ between
    estimators)."""
    return (
        """\
    hidden_size : int, default=64
        Hidden units per direction of each recurrent layer.
    num_layers : int, default=1
        Stacked recurrent layers.
    cell : {"lstm", "gru"}, default="lstm"
        Recurrent cell. GRU cells have fewer weights, but with torch on a
        CPU they train more slowly than LSTM cells (``benchmarks/RESULTS.md``,
        "Overhead").
    bidirectional : bool, default=True
        Read each sequence in both directions; states have size
        ``2 * hidden_size``.
"""
        + CONV_STEM_DOC.format(
            width="hidden_size",
            stem_norm=stem_norm,
            series_norm=series_norm,
            batch_renorm=batch_renorm,
            stem_pooling=stem_pooling,
            differences=differences,
        )
        + POOLING_PARAMS_DOC.format(
            pooling_options='{"attention", "mean", "max", "last"}',
            cls_doc=" (the final hidden state)",
            attention="additive",
            num_heads=4,
            heads_doc=" (must divide the state size)",
            dropout=0.1,
            dropout_doc=" between recurrent layers and before the output layer",
            max_pooling=max_pooling,
        )
        + TOKEN_PARAMS_DOC.format(width="hidden_size")
        + EVENT_PARAMS_DOC.format()
    )


def transformer_params_doc(
    stem_norm='"layer"',
    series_norm="None",
    max_pooling=False,
    relative_positions=False,
    dropout=0.1,
    differences=0,
):
    """The Transformer estimators' architecture parameters, with the
    defaults of ``stem_norm``, ``series_norm``, ``max_pooling``,
    ``relative_positions``, ``dropout`` and ``differences`` (which differ
    between estimators)."""
    return (
        """\
    d_model : int, default=64
        Width of the encoder (and of the pooled vector).
    num_layers : int, default=2
        Encoder layers.
    dim_feedforward : int, default=128
        Hidden width of each layer's feed-forward block.
    positional_encoding : {"auto", "sinusoidal", "tape", "learned"} or None, \
default="auto"
        Fixed sine/cosine codes (any length); the same with frequencies
        fitted to the longest training sequence (tAPE, Foumani et al. 2023:
        codes that change gradually across long series; any length);
        one trained vector per position (up to the longest training
        sequence); or none. With window slicing (the classifier's
        ``random_crop``) a window's steps are numbered from its start, so
        absolute codes for the later steps of a whole sequence are never
        trained: ``"auto"`` gives sinusoidal codes to a network trained on
        whole sequences and none to one trained on windows (which keeps
        ``relative_positions``).
"""
        + f"    relative_positions : bool, default={relative_positions}\n"
        + """\
        Every layer also learns a score per head and per distance between
        two steps, added to its attention scores (relative position bias:
        Shaw et al. 2018, T5; ConvTran's eRPE); distances beyond the
        longest training sequence share the last score. The scores of a
        batch are then held as ``batch_size * num_heads * t * t`` values
        (``t``: steps after the stem), against ``t`` for the padding mask.
"""
        + CONV_STEM_DOC.format(
            width="d_model",
            stem_norm=stem_norm,
            series_norm=series_norm,
            batch_renorm=False,
            stem_pooling=False,
            differences=differences,
        )
        + POOLING_PARAMS_DOC.format(
            pooling_options='{"attention", "cls", "mean", "max", "last"}',
            cls_doc=(
                ', or ``"cls"``: the final state of a learned token prepended '
                "to every sequence"
            ),
            attention="multihead",
            num_heads=4,
            heads_doc=" in the encoder layers and in multi-head pooling; must divide "
            "``d_model``",
            dropout=dropout,
            dropout_doc=" on the residual branches, the feed-forward block and before "
            "the output layer (never inside the attention)",
            max_pooling=max_pooling,
        )
        + TOKEN_PARAMS_DOC.format(width="d_model")
        + EVENT_PARAMS_DOC.format()
    )
