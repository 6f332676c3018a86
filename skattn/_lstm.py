"""LSTM/GRU encoders with attention pooling: classifier and regressor."""

from ._architectures import (
    LSTM_CLASSIFIER_TRAINING,
    RECURRENT_CONSTRAINTS,
    RECURRENT_DEFAULTS,
    RecurrentArchitecture,
)
from ._base import SequenceClassifierBase, SequenceRegressorBase
from ._docs import (
    CLASSIFIER_ATTRIBUTES_DOC,
    REGRESSOR_ATTRIBUTES_DOC,
    classifier_loss_doc,
    ensemble_doc,
    fill_doc,
    linear_doc,
    recurrent_params_doc,
    training_doc,
)
from ._persistence import model_class

__all__ = ["LSTMAttentionClassifier", "LSTMAttentionRegressor"]


@model_class
@fill_doc(
    architecture=recurrent_params_doc(
        series_norm='"auto"',
        max_pooling=True,
        batch_renorm=True,
        stem_pooling='"auto"',
    ),
    training=training_doc(**{**RECURRENT_DEFAULTS, **LSTM_CLASSIFIER_TRAINING}),
    attributes=CLASSIFIER_ATTRIBUTES_DOC,
    linear=linear_doc(),
    ensemble=ensemble_doc(),
    loss=classifier_loss_doc('"auto"', '"auto"'),
)
class LSTMAttentionClassifier(RecurrentArchitecture, SequenceClassifierBase):
    """Sequence classifier: LSTM/GRU encoder, attention pooling, linear head.

    A convolutional stem (``conv_stem``) gives each timestep a view of its
    neighbourhood and shortens long sequences; the encoder reads the result
    (never the padding); attention turns its hidden states into one vector,
    joined by each state channel's maximum over the sequence
    (``max_pooling``) and each stem channel's mean and maximum
    (``stem_pooling``), which a linear layer maps to class logits.
    ``attention_weights(X)`` returns how much each input timestep counted.

    Its defaults differ from :class:`LSTMAttentionRegressor`'s in seven
    places, chosen by leave-one-data-set-out cross-validation on seven real
    classification data sets (``benchmarks/LODO.md``): each sequence is
    standardised by its own statistics when the training sequences' scales
    spread over more than a factor 10 (``series_norm="auto"``), the peak
    learning rate is 0.001 instead of 0.003, which trains on series that
    differ little from each other (at 0.003 the network settles on a
    constant output on Coffee's spectra), the head also reads the states'
    maxima (``max_pooling=True``), every training batch gets Gaussian noise
    of a tenth of each sequence's own standard deviation (``jitter="auto"``),
    training stops after 4,000 optimizer steps (``max_steps``), which
    only training sets of over 320 sequences reach, ``series_norm``'s
    batch statistics are renormalised (``batch_renorm=True``), so that
    batches of sequences of similar length, which length grouping
    makes, are normalised in training as at prediction, and the head reads
    the stem's channels too (``stem_pooling="auto"``: where there is a
    stem), a path from the convolutions to the head around the LSTM.

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
    TransformerClassifier : The same task with a Transformer encoder.

    Examples
    --------
    >>> from skattn import LSTMAttentionClassifier
    >>> from skattn.datasets import load_gunpoint
    >>> X_train, X_test, y_train, y_test = load_gunpoint(return_X_y=True)
    >>> clf = LSTMAttentionClassifier(max_epochs=5, random_state=0)
    >>> clf.fit(X_train, y_train).predict(X_test[:3]).shape
    (3,)
    >>> clf.attention_weights(X_test[:3]).shape
    (3, 150)
    """

    # read by skattn.load for files saved before this default
    _legacy_params = {
        "series_norm": None,
        "max_steps": None,
        "max_pooling": False,
        "jitter": 0.0,
        "batch_renorm": False,
        "stem_pooling": False,
        "random_crop": None,
    }

    _parameter_constraints = {
        **SequenceClassifierBase._parameter_constraints,
        **RECURRENT_CONSTRAINTS,
    }

    def __init__(
        self,
        *,
        hidden_size=64,
        num_layers=1,
        cell="lstm",
        bidirectional=True,
        conv_stem="auto",
        stem_norm="layer",
        stem_dilation=1,
        stem_scales=1,
        stem_pooling="auto",
        differences=0,
        series_norm="auto",
        batch_renorm=True,
        pooling="attention",
        attention="additive",
        num_heads=4,
        query="learned",
        aggregation="sum",
        max_pooling=True,
        dropout=0.1,
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
        jitter="auto",
        random_scale=0.0,
        random_warp=0.0,
        max_epochs=RECURRENT_DEFAULTS["max_epochs"],
        max_steps=LSTM_CLASSIFIER_TRAINING["max_steps"],
        batch_size=RECURRENT_DEFAULTS["batch_size"],
        group_by_length=True,
        lr=LSTM_CLASSIFIER_TRAINING["lr"],
        weight_decay=RECURRENT_DEFAULTS["weight_decay"],
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
        self.hidden_size = hidden_size
        self.num_layers = num_layers
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
    architecture=recurrent_params_doc(differences='"auto"'),
    training=training_doc(
        early_stopping="auto",
        validation_split="last",
        n_iter_no_change=30,
        **RECURRENT_DEFAULTS,
    ),
    attributes=REGRESSOR_ATTRIBUTES_DOC,
    linear=linear_doc(
        "auto", regressor=True, network_weight="auto", linear_alpha="1se"
    ),
    ensemble=ensemble_doc(None, "lstm_regressor"),
)
class LSTMAttentionRegressor(RecurrentArchitecture, SequenceRegressorBase):
    """Sequence regressor: LSTM/GRU encoder, attention pooling, linear head.

    Supports one or several targets (``y`` of shape ``(n_samples,)`` or
    ``(n_samples, n_outputs)``); targets are standardised for training and
    predictions come back on their original scale, float64. The mean and
    standard deviation are computed in float64 without overflow, so
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
    TransformerRegressor : The same task with a Transformer encoder.

    Examples
    --------
    >>> from skattn import LSTMAttentionRegressor
    >>> from skattn.datasets import load_covid3month
    >>> X_train, X_test, y_train, y_test = load_covid3month(return_X_y=True)
    >>> reg = LSTMAttentionRegressor(max_epochs=5, random_state=0)
    >>> reg.fit(X_train, y_train).predict(X_test).shape
    (61,)
    """

    _parameter_constraints = {
        **SequenceRegressorBase._parameter_constraints,
        **RECURRENT_CONSTRAINTS,
    }

    def __init__(
        self,
        *,
        hidden_size=64,
        num_layers=1,
        cell="lstm",
        bidirectional=True,
        conv_stem="auto",
        stem_norm="layer",
        stem_dilation=1,
        stem_scales=1,
        stem_pooling=False,
        differences="auto",
        series_norm=None,
        batch_renorm=False,
        pooling="attention",
        attention="additive",
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
        network_weight="auto",
        n_estimators=1,
        validation_folds=None,
        n_jobs=None,
        max_epochs=RECURRENT_DEFAULTS["max_epochs"],
        max_steps=None,
        batch_size=RECURRENT_DEFAULTS["batch_size"],
        group_by_length=True,
        lr=RECURRENT_DEFAULTS["lr"],
        weight_decay=RECURRENT_DEFAULTS["weight_decay"],
        lr_schedule="cosine",
        clip_grad_norm=1.0,
        weight_averaging=None,
        early_stopping="auto",
        validation_fraction=0.1,
        validation_split="last",
        n_iter_no_change=30,
        warm_start=False,
        device="auto",
        mixed_precision=False,
        inference_dtype="float64",
        n_threads="auto",
        random_state=None,
        verbose=0,
    ):
        self.hidden_size = hidden_size
        self.num_layers = num_layers
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
