"""The network families: their parameters, checks, and how they are built.

An architecture mixin gives an estimator the three architecture hooks of
:class:`skattn._base.SequenceEstimator`: ``_check_architecture()``,
``_build_network(n_channels, n_outputs, max_length)`` and
``_max_input_length()``. :class:`RecurrentArchitecture` and
:class:`TransformerArchitecture` serve the supervised estimators (with the
convolutional stem); :class:`EncoderChoice` serves
``AttentionPoolingTransformer``, whose ``encoder`` parameter picks the
family (with the same stem).
"""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import is_classifier
from sklearn.utils._param_validation import Interval, StrOptions

from ._validation import int_param
from .modules import (
    NetworkEnsemble,
    lengths_to_mask,
    recurrent_network,
    transformer_network,
)

__all__ = [
    "CLASSIFIER_MAX_STEPS",
    "ENCODER_CHOICE_CONSTRAINTS",
    "EncoderChoice",
    "LSTM_CLASSIFIER_TRAINING",
    "RECURRENT_CONSTRAINTS",
    "RECURRENT_DEFAULTS",
    "RecurrentArchitecture",
    "TRANSFORMER_CONSTRAINTS",
    "TRANSFORMER_CLASSIFIER_WEIGHT_DECAY",
    "TRANSFORMER_DEFAULTS",
    "TransformerArchitecture",
    "check_conv_stem",
    "fit_linear_ridge",
    "held_out_network_weight",
    "ridge_penalties",
    "set_network_weight",
]

POOLING_CONSTRAINTS = {
    "attention": [
        StrOptions({"additive", "dot", "scaled_dot", "general", "multihead"})
    ],
    "num_heads": [int_param(1)],
    "query": [StrOptions({"learned", "last"})],
    "aggregation": [StrOptions({"sum", "mean", "max"})],
    "max_pooling": ["boolean"],
    "dropout": [Interval(Real, 0, 1, closed="left")],
}

# The convolutional stem in front of either encoder (modules.stem.ConvStem).
CONV_STEM_CONSTRAINTS = {
    "conv_stem": [StrOptions({"auto"}), int_param(1), None],
    "stem_norm": [StrOptions({"layer", "batch"}), None],
    "stem_dilation": [int_param(1)],
    "stem_scales": [int_param(1)],
    "stem_pooling": ["boolean", StrOptions({"auto"})],
    "differences": [Interval(Integral, 0, 2, closed="both"), StrOptions({"auto"})],
    "series_norm": [StrOptions({"auto", "stats", "instance"}), None],
    "batch_renorm": ["boolean"],
}

# The Transformer encoder's positional codes (see _positional_encoding).
POSITIONAL_ENCODING_CONSTRAINT = [
    StrOptions({"auto", "sinusoidal", "tape", "learned"}),
    None,
]

RECURRENT_CONSTRAINTS = {
    **CONV_STEM_CONSTRAINTS,
    "hidden_size": [int_param(1)],
    "num_layers": [int_param(1)],
    "cell": [StrOptions({"lstm", "gru"})],
    "bidirectional": ["boolean"],
    "pooling": [StrOptions({"attention", "mean", "max", "last"})],
    **POOLING_CONSTRAINTS,
}

TRANSFORMER_CONSTRAINTS = {
    **CONV_STEM_CONSTRAINTS,
    "d_model": [int_param(1)],
    "num_layers": [int_param(1)],
    "dim_feedforward": [int_param(1)],
    "positional_encoding": POSITIONAL_ENCODING_CONSTRAINT,
    "relative_positions": ["boolean"],
    "pooling": [StrOptions({"attention", "cls", "mean", "max", "last"})],
    **POOLING_CONSTRAINTS,
}

ENCODER_CHOICE_CONSTRAINTS = {
    **CONV_STEM_CONSTRAINTS,
    **POOLING_CONSTRAINTS,
    "encoder": [StrOptions({"transformer", "lstm"})],
    "d_model": [int_param(1)],
    "hidden_size": [int_param(1)],
    "num_layers": [int_param(1)],
    "dim_feedforward": [int_param(1)],
    "positional_encoding": POSITIONAL_ENCODING_CONSTRAINT,
    "relative_positions": ["boolean"],
    "cell": [StrOptions({"lstm", "gru"})],
    "bidirectional": ["boolean"],
    "pooling": [StrOptions({"attention", "mean", "max", "last"})],
}

RECURRENT_DEFAULTS = dict(max_epochs=200, batch_size=16, lr=3e-3, weight_decay=1e-2)
TRANSFORMER_DEFAULTS = dict(max_epochs=200, batch_size=16, lr=1e-3, weight_decay=1e-2)
# TransformerClassifier's step budget: 200 epochs of up to 10 batches;
# larger training sets get fewer epochs (benchmarks/LODO.md).
CLASSIFIER_MAX_STEPS = 2000
# TransformerClassifier's weight decay (benchmarks/LODO.md); the family's
# other estimators keep TRANSFORMER_DEFAULTS'.
TRANSFORMER_CLASSIFIER_WEIGHT_DECAY = 0.1
# LSTMAttentionClassifier's learning rate and step budget
# (benchmarks/LODO.md): the lower rate trains series that differ little from
# each other, and the larger budget gives it the steps it needs on large
# training sets; the family's other estimators keep RECURRENT_DEFAULTS'.
LSTM_CLASSIFIER_TRAINING = dict(lr=1e-3, max_steps=4000)


def check_conv_stem(conv_stem):
    """``conv_stem`` as an int must be a power of two."""
    if isinstance(conv_stem, Integral) and conv_stem & (conv_stem - 1):
        raise ValueError(
            f"conv_stem={conv_stem} must be a power of two (1, 2, 4, ...), "
            "'auto' or None"
        )


# The families as functions of the estimator's parameters, so that both the
# mixins below and EncoderChoice use them.


def _check_recurrent(est):
    size = est.hidden_size * (2 if est.bidirectional else 1)
    if est.pooling == "attention" and est.attention == "multihead":
        if size % est.num_heads:
            raise ValueError(
                f"multihead attention needs the state size to be divisible by "
                f"num_heads, but hidden_size={est.hidden_size} "
                f"(bidirectional={est.bidirectional}, state size {size}) is not "
                f"divisible by num_heads={est.num_heads}"
            )


def _stem_pooling(est):
    """``stem_pooling`` as the network takes it: ``"auto"`` pools the stem
    where there is one."""
    stem_pooling = est._effective("stem_pooling")
    if stem_pooling == "auto":
        return est.conv_stem is not None
    return stem_pooling


def _shared_network_params(est, max_length):
    """The input, stem and pooling parameters both families pass on as
    they are."""
    return dict(
        pooling=est.pooling,
        attention=est.attention,
        num_heads=est.num_heads,
        dropout=est._effective("dropout"),
        query=est.query,
        aggregation=est.aggregation,
        max_pooling=est._effective("max_pooling"),
        vocab_size=est.vocab_size,
        embedding_dim=est.embedding_dim,
        padding_idx=est.padding_idx,
        categorical=est._categorical_fields(),
        static=est._static_fields(),
        static_query=est.static_query,
        conv_stem=est.conv_stem,
        stem_norm=est._effective("stem_norm"),
        stem_dilation=est.stem_dilation,
        stem_scales=est.stem_scales,
        stem_pooling=_stem_pooling(est),
        # "auto" is resolved from the training data by fit
        differences=(
            est.differences_
            if hasattr(est, "differences_")
            else est._effective("differences")
        ),
        series_norm=(
            est.series_norm_
            if hasattr(est, "series_norm_")
            else est._effective("series_norm")
        ),
        batch_renorm=est._effective("batch_renorm"),
        # the supervised estimators only (the embedding estimator has no head)
        linear_steps=getattr(est, "linear_steps_", getattr(est, "linear_steps", None)),
        # a ridge fit is set on the linear part before training, which keeps it
        linear_trainable=getattr(est, "linear_fit_", None) != "ridge",
        max_length=max_length,
        # conv_stem="auto" reads the median training length (files saved
        # before it was kept read the longest)
        stem_length=getattr(est, "_stem_length", max_length),
    )


def _build_recurrent(est, n_channels, n_outputs, max_length):
    return recurrent_network(
        n_channels,
        n_outputs,
        hidden_size=est.hidden_size,
        num_layers=est.num_layers,
        cell=est.cell,
        bidirectional=est.bidirectional,
        **_shared_network_params(est, max_length),
    )


def _check_transformer(est):
    if est.d_model % est.num_heads:
        raise ValueError(
            f"d_model={est.d_model} must be divisible by num_heads={est.num_heads}"
        )
    if est.positional_encoding in ("auto", "sinusoidal", "tape") and est.d_model % 2:
        raise ValueError(
            f"positional_encoding={est.positional_encoding!r} needs an even "
            f"d_model, got d_model={est.d_model}"
        )


def _positional_limit(est):
    """Learned positions exist up to the longest training sequence only."""
    return est._max_length if est.positional_encoding == "learned" else None


def _positional_encoding(est):
    """The positional codes of ``est``'s network. ``"auto"``: sinusoidal
    codes, except in a network trained on windows (``random_crop_``): a
    window's steps are numbered from its start, so the codes of a whole
    sequence's later steps, which prediction reads, would never be trained;
    such a network gets none (relative positions, where set, remain)."""
    if est.positional_encoding != "auto":
        return est.positional_encoding
    return None if est._random_crop() is not None else "sinusoidal"


def _build_transformer(est, n_channels, n_outputs, max_length):
    return transformer_network(
        n_channels,
        n_outputs,
        d_model=est.d_model,
        num_layers=est.num_layers,
        dim_feedforward=est.dim_feedforward,
        positional_encoding=_positional_encoding(est),
        relative_positions=est._effective("relative_positions"),
        **_shared_network_params(est, max_length),
    )


def _ensemble(est, build, n_channels, n_outputs, max_length):
    """The network ``build`` makes, or as one :class:`NetworkEnsemble`
    ``n_estimators`` of them (times ``n_folds_`` where a fit trained one
    set per fold of its data)."""
    n = est.n_estimators * getattr(est, "n_folds_", 1)
    networks = [build(est, n_channels, n_outputs, max_length) for _ in range(n)]
    return network_ensemble(est, networks)


def network_ensemble(est, networks):
    """``networks`` (each one network or a :class:`NetworkEnsemble`) as one
    ensemble of all their members, combined as ``est``'s task needs; a
    single plain network stays itself."""
    if len(networks) == 1 and not isinstance(networks[0], NetworkEnsemble):
        return networks[0]
    members = [
        member
        for network in networks
        for member in (
            network.members if isinstance(network, NetworkEnsemble) else [network]
        )
    ]
    combine = "probabilities" if is_classifier(est) else "mean"
    return NetworkEnsemble(members, combine=combine)


# Penalties the ridge fit of the linear part chooses from (features: the
# standardised input values), and the folds that choose.
RIDGE_ALPHAS = np.logspace(-2, 6, 17)
RIDGE_FOLDS = 5


def _ridge_path(features, target, weight, alphas):
    """Weighted ridge coefficients ``[alphas, d, k]`` and intercepts
    ``[alphas, k]`` for every penalty, from one SVD of the centred data."""
    w = weight / weight.sum()
    x_mean, y_mean = w @ features, w @ target
    root = np.sqrt(weight)[:, None]
    u, s, vt = np.linalg.svd((features - x_mean) * root, full_matrices=False)
    projected = u.T @ ((target - y_mean) * root)  # [r, k]
    shrink = s / (s**2 + alphas[:, None])  # [alphas, r]
    coefs = np.einsum("dr,ar,rk->adk", vt.T, shrink, projected)
    return coefs, y_mean - np.einsum("d,adk->ak", x_mean, coefs)


def fit_ridge(features, target, weight, alpha="1se"):
    """Weighted ridge regression with the penalty ``alpha``: a number, or
    chosen from :data:`RIDGE_ALPHAS` by the error cross-validated on
    :data:`RIDGE_FOLDS` blocks of consecutive samples: ``"min"`` the
    penalty of the smallest, ``"1se"`` the largest penalty whose error is
    within one standard error of the smallest (the "one-standard-error
    rule": Hastie et al., The Elements of Statistical Learning, 7.10).

    Blocks keep neighbours together: overlapping windows of one series,
    given in time order, are nearly the same as their neighbours, and
    leave-one-out validation, which tests each on a model fitted with its
    neighbours, picks penalties too weak to extrapolate (0.01, twice the
    mean's error, for 69 windows of 72 values in a USMacro fold). For
    samples in no order the blocks are ordinary folds.

    Returns ``(coef [d, k], intercept [k], alpha)``; ``target`` is ``[n, k]``.
    """
    if not isinstance(alpha, str):
        alpha = float(alpha)
    elif len(features) < 2:  # nothing to validate on: the strongest penalty
        alpha = float(RIDGE_ALPHAS[-1])
    else:
        alpha = float(RIDGE_ALPHAS[_cross_validated(features, target, weight, alpha)])
    coefs, intercepts = _ridge_path(features, target, weight, np.array([alpha]))
    return coefs[0], intercepts[0], alpha


def _cross_validated(features, target, weight, rule):
    """The index in :data:`RIDGE_ALPHAS` that ``rule`` (``"min"`` or
    ``"1se"``) picks from the errors on blocks of consecutive samples."""
    n = len(features)
    errors = []  # [folds, alphas]
    for valid in np.array_split(np.arange(n), min(RIDGE_FOLDS, n)):
        train = np.setdiff1d(np.arange(n), valid)
        coefs, intercepts = _ridge_path(
            features[train], target[train], weight[train], RIDGE_ALPHAS
        )
        pred = np.einsum("nd,adk->ank", features[valid], coefs)
        squared = ((pred + intercepts[:, None] - target[valid]) ** 2).mean(2)
        errors.append(squared @ weight[valid] / weight[valid].sum())
    errors = np.array(errors)
    mean = errors.mean(axis=0)
    best = int(mean.argmin())
    if rule == "min":
        return best
    limit = mean[best] + errors[:, best].std(ddof=1) / np.sqrt(len(errors))
    return int(np.flatnonzero(mean <= limit).max())


def fit_linear_ridge(module, data, alpha="1se", rows=1024):
    """Set the linear part of ``module`` (each member's, for an ensemble) to
    the ridge regression of ``data``'s target on what it reads, weighted by
    the sample weights, with the penalty ``alpha`` (:func:`fit_ridge`),
    and record the penalty used on each network's linear part
    (``ridge_alpha``)."""
    networks = _networks(module)
    features = []
    with torch.no_grad():
        for start in range(0, len(data), rows):
            lengths = data.lengths[start : start + rows]
            t = int(lengths.max())
            values = data.values[start : start + rows, :t]
            inputs = networks[0].linear_inputs(values, lengths_to_mask(lengths, t))
            features.append(inputs.double().numpy())
    target = data.target.double().numpy()
    coef, intercept, alpha = fit_ridge(
        np.concatenate(features),
        target.reshape(len(target), -1),
        data.weight.double().numpy(),
        alpha,
    )
    coef, intercept = torch.as_tensor(coef.T), torch.as_tensor(intercept)
    with torch.no_grad():
        for network in networks:
            layer = network.linear.linear
            layer.weight.copy_(coef.to(layer.weight.dtype))
            layer.bias.copy_(intercept.to(layer.bias.dtype))
            network.linear.ridge_alpha = alpha


def ridge_penalties(modules):
    """The estimators' ``linear_alpha_``: the ridge penalty of the linear
    part of ``modules`` (one trained network, or one per validation fold,
    whose members share theirs), a float for one, an array for several;
    None where no ridge fit set it."""
    linear = [getattr(_networks(m)[0], "linear", None) for m in modules]
    alphas = [getattr(part, "ridge_alpha", None) for part in linear]
    if any(a is None for a in alphas):
        return None
    return alphas[0] if len(alphas) == 1 else np.array(alphas)


def _networks(module):
    """The networks of ``module``: its members for an ensemble."""
    return list(module.members) if isinstance(module, NetworkEnsemble) else [module]


def set_network_weight(module, weight):
    """Scale the network's output by ``weight`` (a float or one value per
    output) before the linear part is added, in every member of ``module``;
    nothing for networks without a linear part (or without a head)."""
    for network in _networks(module):
        if getattr(network, "linear", None) is not None:
            network.linear.network_weight.copy_(torch.as_tensor(weight))


def held_out_network_weight(parts, run):
    """The weight in [0, 1] (one per output) of the network's output that
    minimises the squared error of ``linear + weight * network`` on held-out
    data: the least-squares coefficient of the network's output on what the
    linear part leaves, clipped to [0, 1] (1 where the network's output is
    0 throughout: nothing to fit).

    ``parts`` pairs each trained module with its held-out ``SequenceData``;
    ``run(module, data)`` returns the module's outputs on ``data``
    ``[n, k]``. Each module's network weight is left at 1.
    """
    cross, square = 0.0, 0.0
    with torch.no_grad():
        for module, data in parts:
            set_network_weight(module, 0.0)
            linear = run(module, data)
            set_network_weight(module, 1.0)
            network = run(module, data) - linear
            left = data.target.double().numpy().reshape(len(data), -1) - linear
            weight = data.weight.double().numpy()[:, None]
            cross = cross + (weight * network * left).sum(0)
            square = square + (weight * network**2).sum(0)
    fitted = np.divide(cross, square, out=np.ones_like(square), where=square > 1e-12)
    return np.clip(fitted, 0.0, 1.0)


class RecurrentArchitecture:
    """LSTM/GRU encoder with the convolutional stem."""

    def _check_architecture(self):
        check_conv_stem(self.conv_stem)
        _check_recurrent(self)

    def _build_network(self, n_channels, n_outputs, max_length):
        return _ensemble(self, _build_recurrent, n_channels, n_outputs, max_length)


class TransformerArchitecture:
    """Transformer encoder with the convolutional stem."""

    def _check_architecture(self):
        check_conv_stem(self.conv_stem)
        _check_transformer(self)

    def _max_input_length(self):
        return _positional_limit(self)

    def _build_network(self, n_channels, n_outputs, max_length):
        return _ensemble(self, _build_transformer, n_channels, n_outputs, max_length)


class EncoderChoice:
    """Either family, chosen by the ``encoder`` parameter, with the stem."""

    def _check_architecture(self):
        check_conv_stem(self.conv_stem)
        if self.encoder == "lstm":
            _check_recurrent(self)
        else:
            _check_transformer(self)

    def _max_input_length(self):
        return _positional_limit(self) if self.encoder == "transformer" else None

    def _build_network(self, n_channels, n_outputs, max_length):
        build = _build_recurrent if self.encoder == "lstm" else _build_transformer
        return build(self, n_channels, n_outputs, max_length)
