"""Transformer encoders with attention pooling: classifier and regressor."""

from ._architectures import (
    CLASSIFIER_MAX_STEPS,
    TRANSFORMER_CLASSIFIER_WEIGHT_DECAY,
    TRANSFORMER_CONSTRAINTS,
    TRANSFORMER_DEFAULTS,
    TransformerArchitecture,
)
from ._base import SequenceClassifierBase, SequenceRegressorBase
from ._docs import (
    CLASSIFIER_ATTRIBUTES_DOC,
    REGRESSOR_ATTRIBUTES_DOC,
    classifier_loss_doc,
    ensemble_doc,
    fill_doc,
    linear_doc,
    training_doc,
    transformer_params_doc,
)
from ._persistence import model_class

__all__ = ["TransformerClassifier", "TransformerRegressor"]


@model_class
@fill_doc(
    architecture=transformer_params_doc(
        stem_norm='"batch"',
        series_norm='"auto"',
        max_pooling=True,
        relative_positions=True,
        dropout=0.0,
    ),
    training=training_doc(
        max_steps=CLASSIFIER_MAX_STEPS,
        **{**TRANSFORMER_DEFAULTS, "weight_decay": TRANSFORMER_CLASSIFIER_WEIGHT_DECAY},
    ),
    attributes=CLASSIFIER_ATTRIBUTES_DOC,
    linear=linear_doc(),
    ensemble=ensemble_doc(),
    loss=classifier_loss_doc("0.0", '"auto"'),
)
class TransformerClassifier(TransformerArchitecture, SequenceClassifierBase):
    """Sequence classifier: Transformer encoder, attention pooling, linear head.

    A convolutional stem (``conv_stem``) gives each timestep a view of its
    neighbourhood and shortens long sequences; each step is then projected to
    ``d_model``, given a positional code and passed through pre-norm encoder
    layers of multi-head self-attention
    (``F.scaled_dot_product_attention`` with the padding mask) and
    feed-forward blocks; attention pooling turns the states into one vector
    for a linear head, joined by each state channel's maximum over the
    sequence (``max_pooling``).

    Its defaults differ from :class:`TransformerRegressor`'s in seven
    places, chosen by leave-one-data-set-out cross-validation on seven real
    classification data sets (``benchmarks/LODO.md``): the stem keeps
    amplitudes (batch statistics, ``stem_norm="batch"``), each sequence is
    standardised by its own statistics when the training sequences' scales
    spread over more than a factor 10 (``series_norm="auto"``), the weight
    decay is 0.1 instead of 0.01, training stops after 2,000 optimizer steps
    (``max_steps``), which only large training sets reach, the head
    also reads the states' maxima (``max_pooling=True``), every layer
    learns a bias per distance between two steps
    (``relative_positions=True``), and there is no dropout
    (``dropout=0.0``: as accurate, and about a tenth faster to fit).

    Parameters
    ----------
    {architecture}
    {linear}
    {ensemble}
    {loss}
    {training}

    Attributes
    ----------
    {attributes}

    See Also
    --------
    LSTMAttentionClassifier : The same task with a recurrent encoder.

    Examples
    --------
    >>> from skattn import TransformerClassifier
    >>> from skattn.datasets import load_basic_motions
    >>> X_train, X_test, y_train, y_test = load_basic_motions(return_X_y=True)
    >>> clf = TransformerClassifier(max_epochs=5, random_state=0)
    >>> clf.fit(X_train, y_train).predict_proba(X_test[:2]).shape
    (2, 4)
    """

    # read by skattn.load for files saved before these defaults
    _legacy_params = {
        "stem_norm": "layer",
        "series_norm": None,
        "max_steps": None,
        "max_pooling": False,
        "relative_positions": False,
        "random_crop": None,
    }

    _parameter_constraints = {
        **SequenceClassifierBase._parameter_constraints,
        **TRANSFORMER_CONSTRAINTS,
    }

    def __init__(
        self,
        *,
        d_model=64,
        num_layers=2,
        dim_feedforward=128,
        positional_encoding="auto",
        relative_positions=True,
        conv_stem="auto",
        stem_norm="batch",
        stem_dilation=1,
        stem_scales=1,
        stem_pooling=False,
        differences=0,
        series_norm="auto",
        batch_renorm=False,
        pooling="attention",
        attention="multihead",
        num_heads=4,
        query="learned",
        aggregation="sum",
        max_pooling=True,
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
        validation_folds=None,
        n_jobs=None,
        class_weight=None,
        label_smoothing=0.0,
        random_crop="auto",
        jitter=0.0,
        random_scale=0.0,
        random_warp=0.0,
        max_epochs=TRANSFORMER_DEFAULTS["max_epochs"],
        max_steps=CLASSIFIER_MAX_STEPS,
        batch_size=TRANSFORMER_DEFAULTS["batch_size"],
        group_by_length=True,
        lr=TRANSFORMER_DEFAULTS["lr"],
        weight_decay=TRANSFORMER_CLASSIFIER_WEIGHT_DECAY,
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
        self.d_model = d_model
        self.num_layers = num_layers
        self.dim_feedforward = dim_feedforward
        self.positional_encoding = positional_encoding
        self.relative_positions = relative_positions
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
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.padding_idx = padding_idx
        self.categorical_features = categorical_features
        self.time_features = time_features
        self.static_features = static_features
        self.static_query = static_query
        self.linear_steps = linear_steps
        self.n_estimators = n_estimators
        self.validation_folds = validation_folds
        self.n_jobs = n_jobs
        self.class_weight = class_weight
        self.label_smoothing = label_smoothing
        self.random_crop = random_crop
        self.jitter = jitter
        self.random_scale = random_scale
        self.random_warp = random_warp
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
    architecture=transformer_params_doc(differences='"auto"'),
    training=training_doc(early_stopping="auto", **TRANSFORMER_DEFAULTS),
    attributes=REGRESSOR_ATTRIBUTES_DOC,
    linear=linear_doc("auto", regressor=True, network_weight=1.0, linear_alpha="1se"),
    ensemble=ensemble_doc(5, "transformer_regressor"),
)
class TransformerRegressor(TransformerArchitecture, SequenceRegressorBase):
    """Sequence regressor: Transformer encoder, attention pooling, linear head.

    Supports one or several targets; targets are standardised for training
    and predictions come back on their original scale, float64. The mean
    and standard deviation are computed in float64 without overflow, so
    targets of any finite scale (1e-300 to 1e300) train alike.

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
    LSTMAttentionRegressor : The same task with a recurrent encoder.

    Examples
    --------
    >>> import numpy as np
    >>> from skattn import TransformerRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(64, 20, 2))
    >>> y = X[:, :, 0].mean(axis=1)
    >>> reg = TransformerRegressor(max_epochs=5, random_state=0).fit(X, y)
    >>> reg.predict(X[:4]).shape
    (4,)
    """

    _parameter_constraints = {
        **SequenceRegressorBase._parameter_constraints,
        **TRANSFORMER_CONSTRAINTS,
    }

    def __init__(
        self,
        *,
        d_model=64,
        num_layers=2,
        dim_feedforward=128,
        positional_encoding="auto",
        relative_positions=False,
        conv_stem="auto",
        stem_norm="layer",
        stem_dilation=1,
        stem_scales=1,
        stem_pooling=False,
        differences="auto",
        series_norm=None,
        batch_renorm=False,
        pooling="attention",
        attention="multihead",
        num_heads=4,
        query="learned",
        aggregation="sum",
        max_pooling=False,
        dropout=0.1,
        vocab_size=None,
        embedding_dim=None,
        padding_idx=None,
        categorical_features="from_dtype",
        time_features=None,
        static_features=None,
        static_query=False,
        linear_steps="auto",
        linear_fit="ridge",
        linear_alpha="1se",
        network_weight=1.0,
        n_estimators=1,
        validation_folds=5,
        n_jobs=None,
        max_epochs=TRANSFORMER_DEFAULTS["max_epochs"],
        max_steps=None,
        batch_size=TRANSFORMER_DEFAULTS["batch_size"],
        group_by_length=True,
        lr=TRANSFORMER_DEFAULTS["lr"],
        weight_decay=TRANSFORMER_DEFAULTS["weight_decay"],
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
        self.d_model = d_model
        self.num_layers = num_layers
        self.dim_feedforward = dim_feedforward
        self.positional_encoding = positional_encoding
        self.relative_positions = relative_positions
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
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.padding_idx = padding_idx
        self.categorical_features = categorical_features
        self.time_features = time_features
        self.static_features = static_features
        self.static_query = static_query
        self.linear_steps = linear_steps
        self.linear_fit = linear_fit
        self.linear_alpha = linear_alpha
        self.network_weight = network_weight
        self.n_estimators = n_estimators
        self.validation_folds = validation_folds
        self.n_jobs = n_jobs
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
