"""Fully convolutional encoders with attention pooling: classifier and
regressor."""

from ._architectures import (
    CLASSIFIER_MAX_STEPS,
    CONV_CONSTRAINTS,
    TRANSFORMER_DEFAULTS,
    ConvArchitecture,
)
from ._base import SequenceClassifierBase, SequenceRegressorBase
from ._docs import (
    ENSEMBLE_DOC,
    FITTED_ATTRIBUTES_DOC,
    classifier_loss_doc,
    conv_params_doc,
    fill_doc,
    linear_doc,
    training_doc,
)
from ._persistence import model_class

__all__ = ["ConvAttentionClassifier", "ConvAttentionRegressor"]

# Both estimators train like the Transformer family (learning rate 1e-3,
# weight decay 0.01, batches of 16, 200 epochs).
CONV_DEFAULTS = TRANSFORMER_DEFAULTS


@model_class
@fill_doc(
    architecture=conv_params_doc(),
    training=training_doc(max_steps=CLASSIFIER_MAX_STEPS, **CONV_DEFAULTS),
    attributes=FITTED_ATTRIBUTES_DOC,
    linear=linear_doc(),
    ensemble=ENSEMBLE_DOC,
    loss=classifier_loss_doc("0.0"),
)
class ConvAttentionClassifier(ConvArchitecture, SequenceClassifierBase):
    """Sequence classifier: convolution layers, attention pooling, linear head.

    Three ``Conv1d -> batch norm -> GELU`` layers compute one state per
    step (half as many steps as the input: ``conv_stem=2``), each a function
    of a window of the input around it; attention pooling weighs the states
    into one vector for a linear head. There is no recurrent or
    self-attention layer: the model sees local patterns and where they
    occur, as the fully convolutional classifiers of Wang et al. ("Time
    series classification from scratch with deep neural networks", 2017)
    do, with attention in place of their global average pooling. It fits
    long series at full detail for about the cost of
    :class:`TransformerClassifier`, which shortens them more.

    Parameters
    ----------
    {architecture}
    {linear}
    {ensemble}
    {loss}
    {training}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    {attributes}

    See Also
    --------
    TransformerClassifier : The same task with a Transformer encoder.
    LSTMAttentionClassifier : The same task with a recurrent encoder.

    Examples
    --------
    >>> from skattn import ConvAttentionClassifier
    >>> from skattn.datasets import load_basic_motions
    >>> X_train, X_test, y_train, y_test = load_basic_motions(return_X_y=True)
    >>> clf = ConvAttentionClassifier(max_epochs=5, random_state=0)
    >>> clf.fit(X_train, y_train).predict_proba(X_test[:2]).shape
    (2, 4)
    """

    _parameter_constraints = {
        **SequenceClassifierBase._parameter_constraints,
        **CONV_CONSTRAINTS,
    }

    def __init__(
        self,
        *,
        channels=64,
        num_layers=3,
        conv_stem=2,
        stem_norm="batch",
        stem_dilation=1,
        stem_scales=1,
        series_norm="auto",
        pooling="attention",
        attention="multihead",
        num_heads=4,
        query="learned",
        aggregation="sum",
        max_pooling=False,
        dropout=0.0,
        vocab_size=None,
        embedding_dim=None,
        padding_idx=None,
        categorical_features="from_dtype",
        time_features=None,
        static_features=None,
        static_query=False,
        linear_steps=None,
        n_estimators=1,
        class_weight=None,
        label_smoothing=0.0,
        random_crop=None,
        jitter=0.0,
        random_scale=0.0,
        max_epochs=CONV_DEFAULTS["max_epochs"],
        max_steps=CLASSIFIER_MAX_STEPS,
        batch_size=CONV_DEFAULTS["batch_size"],
        group_by_length=True,
        lr=CONV_DEFAULTS["lr"],
        weight_decay=CONV_DEFAULTS["weight_decay"],
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
        self.channels = channels
        self.num_layers = num_layers
        self.conv_stem = conv_stem
        self.stem_norm = stem_norm
        self.stem_dilation = stem_dilation
        self.stem_scales = stem_scales
        self.series_norm = series_norm
        self.pooling = pooling
        self.attention = attention
        self.num_heads = num_heads
        self.query = query
        self.aggregation = aggregation
        self.max_pooling = max_pooling
        self.dropout = dropout
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.padding_idx = padding_idx
        self.categorical_features = categorical_features
        self.time_features = time_features
        self.static_features = static_features
        self.static_query = static_query
        self.linear_steps = linear_steps
        self.n_estimators = n_estimators
        self.class_weight = class_weight
        self.label_smoothing = label_smoothing
        self.random_crop = random_crop
        self.jitter = jitter
        self.random_scale = random_scale
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


@model_class
@fill_doc(
    architecture=conv_params_doc(),
    training=training_doc(early_stopping="auto", **CONV_DEFAULTS),
    attributes=FITTED_ATTRIBUTES_DOC,
    linear=linear_doc("auto", regressor=True),
    ensemble=ENSEMBLE_DOC,
)
class ConvAttentionRegressor(ConvArchitecture, SequenceRegressorBase):
    """Sequence regressor: convolution layers, attention pooling, linear head.

    The network of :class:`ConvAttentionClassifier` with one output per
    target. Targets are standardised for training and predictions come back
    on their original scale, float64; by default a ridge regression on the
    whole series (``linear_steps="auto"``) is fitted first and the network
    learns what it leaves.

    Parameters
    ----------
    {architecture}
    {linear}
    {ensemble}
    {training}

    Attributes
    ----------
    {attributes}

    See Also
    --------
    TransformerRegressor : The same task with a Transformer encoder.
    LSTMAttentionRegressor : The same task with a recurrent encoder.

    Examples
    --------
    >>> import numpy as np
    >>> from skattn import ConvAttentionRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(64, 20, 2))
    >>> y = X[:, :, 0].mean(axis=1)
    >>> reg = ConvAttentionRegressor(max_epochs=5, random_state=0).fit(X, y)
    >>> reg.predict(X[:4]).shape
    (4,)
    """

    _parameter_constraints = {
        **SequenceRegressorBase._parameter_constraints,
        **CONV_CONSTRAINTS,
    }

    def __init__(
        self,
        *,
        channels=64,
        num_layers=3,
        conv_stem=2,
        stem_norm="batch",
        stem_dilation=1,
        stem_scales=1,
        series_norm=None,
        pooling="attention",
        attention="multihead",
        num_heads=4,
        query="learned",
        aggregation="sum",
        max_pooling=False,
        dropout=0.0,
        vocab_size=None,
        embedding_dim=None,
        padding_idx=None,
        categorical_features="from_dtype",
        time_features=None,
        static_features=None,
        static_query=False,
        linear_steps="auto",
        linear_fit="ridge",
        n_estimators=1,
        max_epochs=CONV_DEFAULTS["max_epochs"],
        max_steps=None,
        batch_size=CONV_DEFAULTS["batch_size"],
        group_by_length=True,
        lr=CONV_DEFAULTS["lr"],
        weight_decay=CONV_DEFAULTS["weight_decay"],
        lr_schedule="cosine",
        clip_grad_norm=1.0,
        weight_averaging=None,
        early_stopping="auto",
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
        self.channels = channels
        self.num_layers = num_layers
        self.conv_stem = conv_stem
        self.stem_norm = stem_norm
        self.stem_dilation = stem_dilation
        self.stem_scales = stem_scales
        self.series_norm = series_norm
        self.pooling = pooling
        self.attention = attention
        self.num_heads = num_heads
        self.query = query
        self.aggregation = aggregation
        self.max_pooling = max_pooling
        self.dropout = dropout
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.padding_idx = padding_idx
        self.categorical_features = categorical_features
        self.time_features = time_features
        self.static_features = static_features
        self.static_query = static_query
        self.linear_steps = linear_steps
        self.linear_fit = linear_fit
        self.n_estimators = n_estimators
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
