"""AttentionPoolingTransformer: sequences in, fixed-size vectors out."""

import inspect
import re
import textwrap
from numbers import Real

import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import type_of_target

from . import _streaming
from ._architectures import (
    ENCODER_CHOICE_CONSTRAINTS,
    TRANSFORMER_DEFAULTS,
    EncoderChoice,
)
from ._base import SequenceEstimator
from ._docs import (
    AUTO_JITTER_MEANING,
    CONV_STEM_DOC,
    EVENT_PARAMS_DOC,
    FITTED_ATTRIBUTES_DOC,
    POOLING_PARAMS_DOC,
    fill_doc,
    jitter_doc,
    training_doc,
)
from ._lstm import LSTMAttentionClassifier, LSTMAttentionRegressor
from ._persistence import model_class
from ._targets import (
    ClassTargets,
    MaskedReconstructionLoss,
    PerSampleMSE,
    TargetScaling,
    check_label_types,
)
from ._transformer import TransformerClassifier, TransformerRegressor
from .modules import MaskedReconstruction

__all__ = ["AttentionPoolingTransformer"]

# The supervised estimator whose defaults the "auto" parameters take, by
# encoder and by whether the task is classification: the family's classifier
# for class labels, its regressor for continuous targets and for
# self-supervised training.
SUPERVISED_MODELS = {
    "transformer": {True: TransformerClassifier, False: TransformerRegressor},
    "lstm": {True: LSTMAttentionClassifier, False: LSTMAttentionRegressor},
}
# The parameters whose "auto" is that estimator's default.
TASK_PARAMS = (
    "stem_norm",
    "series_norm",
    "max_pooling",
    "max_steps",
    "lr",
    "weight_decay",
    "jitter",
    "relative_positions",
    "dropout",
    "batch_renorm",
    "stem_pooling",
    "differences",
)
# The value of a parameter that an estimator lacks: the regressors add no
# noise, and the recurrent encoder has no attention scores to bias.
_ABSENT = {"jitter": 0.0, "relative_positions": False}


def supervised_default(encoder, classification, name):
    """The default of parameter ``name`` in the supervised estimator that
    ``AttentionPoolingTransformer``'s ``"auto"`` follows (``_ABSENT``'s value
    where that estimator lacks the parameter)."""
    model = SUPERVISED_MODELS[encoder][classification]
    parameters = inspect.signature(model).parameters
    if name not in parameters:
        return _ABSENT[name]
    return parameters[name].default


def _auto_entry(block, name, choices, meaning):
    """Rewrite parameter ``name``'s entry in the docstring ``block``: the
    type line gets ``choices`` and ``"auto"`` as default, and the sentence
    ``meaning`` closes the description."""
    # the entry's description: its indented lines, the last one perhaps
    # without a newline (the end of the block)
    pattern = re.compile(rf"^(    {name} : ).*\n((?:        .*(?:\n|\Z))+)", re.M)
    match = pattern.search(block)
    if match is None:
        raise ValueError(f"no entry for {name!r}")
    meaning = textwrap.fill(
        meaning,
        width=78,
        initial_indent=" " * 8,
        subsequent_indent=" " * 8,
        break_on_hyphens=False,
    )
    description = match.group(2)
    end = "\n" if description.endswith("\n") else ""
    description = description.rstrip("\n")
    entry = f'{match.group(1)}{choices}, default="auto"\n{description}\n{meaning}{end}'
    return block[: match.start()] + entry + block[match.end() :]


def _auto_values(name):
    """What ``"auto"`` gives parameter ``name``, as docstring text."""

    def shown(value):
        return f'``"{value}"``' if isinstance(value, str) else f"``{value}``"

    def by_family(classification):
        transformer, lstm = (
            supervised_default(encoder, classification, name)
            for encoder in ("transformer", "lstm")
        )
        if transformer == lstm:
            return shown(transformer)
        return f"{shown(transformer)} (Transformer), {shown(lstm)} (LSTM/GRU)"

    if by_family(True) == by_family(False):
        return f'``"auto"``: {by_family(True)}, for every task.'
    return (
        f'``"auto"``: {by_family(True)} for class labels; {by_family(False)} for '
        "continuous targets and self-supervised training."
    )


# Files saved before the stem existed hold no conv_stem: their networks have
# none (the constructor default "auto" would build one); those saved before
# series_norm, max_steps, max_pooling, jitter, relative_positions or
# batch_renorm existed had none of them, none pooled the stem before
# stem_pooling took "auto", and none appended differences before
# differences took "auto".
_LEGACY = {
    "conv_stem": None,
    "stem_norm": None,
    "series_norm": None,
    "max_steps": None,
    "max_pooling": False,
    "jitter": 0.0,
    "relative_positions": False,
    "batch_renorm": False,
    "stem_pooling": False,
    "differences": 0,
}

_JITTER_DOC = jitter_doc(
    '"auto"',
    'With class labels ``"auto"`` is the classifier\'s default: none for the '
    f"Transformer, and for the LSTM/GRU {AUTO_JITTER_MEANING} Continuous "
    "targets get none (the regressors add none), and self-supervised training "
    "(``fit(X)``) takes none: it would learn to reconstruct the noise.",
)


def _pooling_docs():
    """The stem and training parameter blocks, with the "auto" entries."""
    stem = CONV_STEM_DOC.format(
        width="d_model`` or ``hidden_size",
        stem_norm='"auto"',
        series_norm='"auto"',
        batch_renorm='"auto"',
        stem_pooling='"auto"',
        differences='"auto"',
    )
    stem = _auto_entry(
        stem,
        "stem_norm",
        '{"auto", "layer", "batch"} or None',
        _auto_values("stem_norm"),
    )
    stem = _auto_entry(
        stem,
        "series_norm",
        '{"auto", "stats", "instance"} or None',
        'With class labels ``"auto"`` is that rule (the classifiers\' default); '
        "for continuous targets and self-supervised training it is None (the "
        "regressors').",
    )
    stem = _auto_entry(
        stem, "batch_renorm", '"auto" or bool', _auto_values("batch_renorm")
    )
    stem = _auto_entry(
        stem,
        "stem_pooling",
        '"auto" or bool',
        "Here that holds with class labels and the LSTM/GRU encoder only (the "
        'LSTM classifier\'s default); otherwise ``"auto"`` pools no stem '
        "(``False``, the other estimators' default).",
    )
    stem = _auto_entry(
        stem,
        "differences",
        '{0, 1, 2, "auto"}',
        "Here that rule holds for continuous targets and self-supervised "
        'training (the regressors\' default); with class labels ``"auto"`` '
        "appends none (``0``, the classifiers' default).",
    )
    training = training_doc(**TRANSFORMER_DEFAULTS)
    for name, choices in (
        ("max_steps", '"auto", int or None'),
        ("lr", '"auto" or float'),
        ("weight_decay", '"auto" or float'),
    ):
        training = _auto_entry(training, name, choices, _auto_values(name))
    return stem, training


_STEM_DOC, _TRAINING_DOC = _pooling_docs()


@model_class
@fill_doc(
    pooling=_auto_entry(
        _auto_entry(
            POOLING_PARAMS_DOC.format(
                pooling_options='{"attention", "mean", "max", "last"}',
                cls_doc="",
                attention="multihead",
                num_heads=4,
                heads_doc=" (and of the Transformer's layers)",
                dropout='"auto"',
                dropout_doc="",
                max_pooling='"auto"',
            ),
            "max_pooling",
            '"auto" or bool',
            _auto_values("max_pooling"),
        ),
        "dropout",
        '"auto" or float',
        _auto_values("dropout"),
    ),
    jitter=_JITTER_DOC,
    events=EVENT_PARAMS_DOC.format().lstrip("\n"),
    stem=_STEM_DOC,
    training=_TRAINING_DOC,
    attributes=FITTED_ATTRIBUTES_DOC,
)
class AttentionPoolingTransformer(
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    EncoderChoice,
    ClassTargets,
    TargetScaling,
    SequenceEstimator,
):
    """Turn each sequence into one fixed-size vector with a trained encoder.

    An encoder (Transformer or LSTM/GRU) with attention pooling is trained,
    and ``transform`` returns the pooled vector of every sequence, so any
    scikit-learn model can work on sequences. The encoder learns from:

    - ``fit(X, y)``: a supervised head, classification or regression
      (decided by the type of ``y``, or by ``task``);
    - ``fit(X)``: self-supervised masked reconstruction. A random 15% of
      each sequence's real timesteps is hidden, and a linear decoder
      reconstructs them from each step's state and the pooled vector, so the
      pooled vector learns to summarise the sequence. This works in
      unsupervised pipelines (e.g. before clustering).

    The defaults are those of the supervised models (``TransformerClassifier``:
    the convolutional stem, 200 epochs in batches of 16; with
    ``encoder="lstm"``, ``LSTMAttentionClassifier``'s training defaults and
    learning rate). Fitted on class labels with the same settings and
    ``random_state``, the encoder is the one ``TransformerClassifier`` trains,
    and ``transform`` returns the pooled vector its linear head reads, so a
    ``LogisticRegression`` on the embeddings comes close to the supervised
    model (``benchmarks/POOLING.md``). A penalised linear model on
    self-supervised embeddings needs them standardised: put a
    ``StandardScaler`` between, ``make_pipeline(pool, StandardScaler(),
    LogisticRegression())`` (0.48 without and 0.90 with it in 3-fold
    cross-validation on GunPoint's training split); on supervised
    embeddings it changes nothing.

    Parameters
    ----------
    encoder : {"transformer", "lstm"}, default="transformer"
        The sequence encoder.
    d_model : int, default=64
        Width of the Transformer (``encoder="transformer"``); the output has
        ``d_model`` features.
    hidden_size : int, default=32
        Hidden units per direction of the recurrent encoder
        (``encoder="lstm"``); the output has ``hidden_size`` times the number
        of directions features.
    num_layers : int, default=2
        Encoder layers.
    dim_feedforward : int, default=128
        Feed-forward width of the Transformer layers.
    positional_encoding : {"auto", "sinusoidal", "tape", "learned"} or None, \
default="auto"
        Positional codes of the Transformer (see
        :class:`~skattn.TransformerClassifier`); this estimator trains on
        whole sequences, where ``"auto"`` gives sinusoidal codes.
    relative_positions : "auto" or bool, default="auto"
        A learned score per head and distance on the attention scores of the
        Transformer's layers (see :class:`~skattn.TransformerClassifier`).
        With class labels ``"auto"`` is ``True`` (the classifier's default);
        for continuous targets and self-supervised training it is ``False``
        (the regressor's). The recurrent encoder has no such scores.
    cell : {"lstm", "gru"}, default="lstm"
        Cell of the recurrent encoder.
    bidirectional : bool, default=True
        Bidirectional recurrent encoder.
    {stem}
    {pooling}
    task : {"auto", "classification", "regression"}, default="auto"
        Supervised objective when ``y`` is given; ``"auto"`` decides from
        ``y`` with scikit-learn's ``type_of_target``.
    {jitter}
    vocab_size : int or None, default=None
        Token-id input: integers in ``[0, vocab_size)`` are embedded first
        (supervised fits only).
    embedding_dim : int or None, default=None
        Size of the token embedding.
    padding_idx : int or None, default=None
        Token id used for padding (trailing runs of it).
    {events}
    {training}

    Attributes
    ----------
    task_ : str
        ``"classification"``, ``"regression"`` or ``"reconstruction"``.
    classes_ : ndarray
        Class labels, when ``task_ == "classification"``.
    {attributes}

    Examples
    --------
    >>> from skattn import AttentionPoolingTransformer
    >>> from skattn.datasets import load_gunpoint
    >>> X_train, X_test, y_train, y_test = load_gunpoint(return_X_y=True)
    >>> pool = AttentionPoolingTransformer(d_model=16, max_epochs=3, random_state=0)
    >>> pool.fit(X_train, y_train).transform(X_test).shape  # attended, maxima
    (150, 32)
    >>> pool.get_feature_names_out()[:2]
    array(['attentionpoolingtransformer0', 'attentionpoolingtransformer1'],
          dtype=object)
    """

    _supervised = False

    _parameter_constraints = {
        **SequenceEstimator._parameter_constraints,
        **ENCODER_CHOICE_CONSTRAINTS,
        "task": [StrOptions({"auto", "classification", "regression"})],
        **{
            name: [
                *SequenceEstimator._parameter_constraints[name],
                StrOptions({"auto"}),
            ]
            for name in ("max_steps", "lr", "weight_decay")
        },
        "stem_norm": [*ENCODER_CHOICE_CONSTRAINTS["stem_norm"], StrOptions({"auto"})],
        "max_pooling": ["boolean", StrOptions({"auto"})],
        "batch_renorm": ["boolean", StrOptions({"auto"})],
        "relative_positions": ["boolean", StrOptions({"auto"})],
        "jitter": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "dropout": [Interval(Real, 0, 1, closed="left"), StrOptions({"auto"})],
    }

    # read by skattn.load for files that lack these parameters
    _legacy_params = _LEGACY

    _target_attributes = (
        ("task_", "_n_features_out")
        + ClassTargets._target_attributes
        + TargetScaling._target_attributes
    )

    def __init__(
        self,
        *,
        encoder="transformer",
        d_model=64,
        hidden_size=32,
        num_layers=2,
        dim_feedforward=128,
        positional_encoding="auto",
        relative_positions="auto",
        cell="lstm",
        bidirectional=True,
        conv_stem="auto",
        stem_norm="auto",
        stem_dilation=1,
        stem_scales=1,
        stem_pooling="auto",
        differences="auto",
        series_norm="auto",
        batch_renorm="auto",
        pooling="attention",
        attention="multihead",
        num_heads=4,
        query="learned",
        aggregation="sum",
        max_pooling="auto",
        dropout="auto",
        task="auto",
        jitter="auto",
        vocab_size=None,
        embedding_dim=None,
        padding_idx=None,
        categorical_features="from_dtype",
        time_features=None,
        static_features=None,
        static_query=False,
        max_epochs=TRANSFORMER_DEFAULTS["max_epochs"],
        max_steps="auto",
        batch_size=TRANSFORMER_DEFAULTS["batch_size"],
        group_by_length=True,
        lr="auto",
        weight_decay="auto",
        lr_schedule="cosine",
        clip_grad_norm=1.0,
        weight_averaging=None,
        early_stopping=False,
        validation_fraction=0.1,
        validation_split="random",
        n_iter_no_change=10,
        warm_start=False,
        device="auto",
        mixed_precision=False,
        inference_dtype="float64",
        n_threads="auto",
        random_state=None,
        verbose=0,
    ):
        self.encoder = encoder
        self.d_model = d_model
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dim_feedforward = dim_feedforward
        self.positional_encoding = positional_encoding
        self.relative_positions = relative_positions
        self.cell = cell
        self.bidirectional = bidirectional
        self.conv_stem = conv_stem
        self.stem_norm = stem_norm
        self.stem_dilation = stem_dilation
        self.stem_scales = stem_scales
        self.stem_pooling = stem_pooling
        self.differences = differences
        self.series_norm = series_norm
        self.batch_renorm = batch_renorm
        self.pooling = pooling
        self.attention = attention
        self.num_heads = num_heads
        self.query = query
        self.aggregation = aggregation
        self.max_pooling = max_pooling
        self.dropout = dropout
        self.task = task
        self.jitter = jitter
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.padding_idx = padding_idx
        self.categorical_features = categorical_features
        self.time_features = time_features
        self.static_features = static_features
        self.static_query = static_query
        self.max_epochs = max_epochs
        self.max_steps = max_steps
        self.batch_size = batch_size
        self.group_by_length = group_by_length
        self.lr = lr
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.clip_grad_norm = clip_grad_norm
        self.weight_averaging = weight_averaging
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.validation_split = validation_split
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.device = device
        self.mixed_precision = mixed_precision
        self.inference_dtype = inference_dtype
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose

    def _effective(self, name):
        value = getattr(self, name)
        if name in TASK_PARAMS and value == "auto":
            # series_norm="auto" of the classifiers is resolved from the data
            return supervised_default(
                self.encoder, self.task_ == "classification", name
            )
        return value

    def _jitter(self):
        jitter = self._noise_level(self._effective("jitter"))
        if jitter and self.task_ == "reconstruction":
            raise ValueError(
                f"jitter={self.jitter} adds noise to the input, which "
                "self-supervised training (fit without y) would learn to "
                "reconstruct; pass y, or set jitter=0"
            )
        return jitter

    def _build_network(self, n_channels, n_outputs, max_length):
        network = super()._build_network(n_channels, n_outputs, max_length)
        self._n_features_out = network.output_size
        if self.task_ == "reconstruction":
            if self._categorical_mask().any():
                raise ValueError(
                    "AttentionPoolingTransformer reconstructs the input values when "
                    "fitted without y, which category codes are not; pass y, or "
                    "set categorical_features=None (and encode the categories as "
                    "numbers)"
                )
            if self.static_features is not None:
                raise ValueError(
                    "AttentionPoolingTransformer fitted without y reconstructs the "
                    "events only; pass y to use static_features, or set "
                    "static_features=None"
                )
            return MaskedReconstruction(network, n_channels)
        return network

    # task
    def _target_task(self, y):
        if y is None:
            return "reconstruction"
        if self.task != "auto":
            return self.task
        check_label_types(y)
        kind = type_of_target(y, input_name="y")
        if kind in ("binary", "multiclass"):
            return "classification"
        if kind in ("continuous", "continuous-multioutput"):
            return "regression"
        raise ValueError(
            f"Unknown label type: y is of type {kind!r}; AttentionPoolingTransformer "
            "learns from class "
            "labels (binary or multiclass) or continuous targets. Pass task= to "
            "choose, or y=None for self-supervised training."
        )

    def _prepare_target(self, y, warm=False, classes=None):
        task = self._target_task(y)
        if warm and task != self.task_:
            raise ValueError(
                f"warm_start: the model was fitted for {self.task_}, but this y asks "
                f"for {task}"
            )
        self.task_ = task
        if task == "reconstruction":
            if self.vocab_size is not None:
                raise ValueError(
                    "self-supervised training (y=None) reconstructs continuous "
                    "values; token input (vocab_size) needs a target y"
                )
            return None, 0
        if task == "classification":
            return self._prepare_class_target(y, warm, classes)
        return self._prepare_regression_target(y, warm)

    def _class_weight(self, y):
        return 1.0  # no class_weight parameter

    def _stratify(self, target):
        if self.task_ == "classification" and target is not None:
            return target.numpy()
        return None

    def _criterion(self):
        if self.task_ == "classification":
            return torch.nn.CrossEntropyLoss(reduction="none")
        if self.task_ == "regression":
            return PerSampleMSE()
        return MaskedReconstructionLoss()

    def _check_target_fitted(self):
        if self.task_ == "classification":
            self._check_classes_fitted()
        elif self.task_ == "regression":
            self._check_scaling_fitted()
        elif self.task_ != "reconstruction":
            raise ValueError(f"unknown task_ {self.task_!r}")
        elif self._n_outputs != 0:
            raise ValueError("a reconstruction model has no outputs")

    def fit(self, X, y=None, sample_weight=None):
        """Train the encoder, supervised by ``y`` or self-supervised.

        Parameters
        ----------
        X : sequences in any format :mod:`skattn.data` accepts
            Training sequences.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), or None
            Class labels or continuous targets; None for self-supervised
            masked reconstruction.
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights of the samples in the loss.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        return super().fit(X, y, sample_weight)

    @_streaming.lazy_output
    def transform(self, X):
        """Pooled vector of each sequence.

        Parameters
        ----------
        X : sequences in any format ``fit`` accepts
            The sequences to embed.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_out)
            Float64 pooled vector of each sequence.
        """
        return self._run(X, "embed")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        return tags
