"""AttentionPoolingTransformer (``skattn/_pooling.py``): supervised and
self-supervised embeddings, feature names, the task it infers, defaults
shared with the supervised models, the convolutional stem, and files saved
before the stem existed."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal

import skattn
from skattn import (
    AttentionPoolingTransformer,
    LSTMAttentionClassifier,
    LSTMAttentionRegressor,
    TransformerClassifier,
    TransformerRegressor,
)
from skattn._pooling import TASK_PARAMS
from skattn.modules import ConvStem

from ._data import make_sequences
from ._params import SMALL_BY_CLASS, TINY_BY_CLASS, small

# The training parameters every estimator shares.
TRAINING_PARAMS = (
    "max_epochs",
    "batch_size",
    "lr",
    "weight_decay",
    "lr_schedule",
    "clip_grad_norm",
    "early_stopping",
    "validation_fraction",
    "validation_split",
    "n_iter_no_change",
)


class TestAttentionPoolingTransformer:
    def test_supervised_classification(self, data3d):
        X, y = data3d
        pool = small(AttentionPoolingTransformer).fit(X, y)
        assert pool.task_ == "classification"
        Z = pool.transform(X)
        # 8 attended values and, as for the classifiers, the 8 states' maxima
        assert Z.shape == (48, 16) and Z.dtype == np.float64
        assert_array_equal(pool.classes_, ["neg", "pos"])
        assert_allclose(pool.attention_weights(X).sum(1), 1.0, rtol=1e-12)

    def test_supervised_regression_and_lstm_encoder(self, data3d):
        X, _ = data3d
        pool = small(AttentionPoolingTransformer, encoder="lstm", hidden_size=6)
        pool.fit(X, X[:, :, 0].sum(1))
        assert pool.task_ == "regression"
        assert pool.transform(X).shape == (48, 12)  # bidirectional: 2 * hidden_size

    def test_self_supervised(self):
        # smooth waves: a hidden step is predictable from its neighbours
        rng = np.random.default_rng(0)
        t = np.linspace(0, 4 * np.pi, 30)
        X = np.sin(t[None, :, None] + rng.uniform(0, 6, size=(64, 1, 2)))
        pool = small(
            AttentionPoolingTransformer,
            encoder="lstm",
            hidden_size=8,
            max_epochs=30,
            lr=1e-2,
        ).fit(X)
        assert pool.task_ == "reconstruction"
        losses = [row["train_loss"] for row in pool.history_]
        assert losses[-1] < 0.5 * losses[0]
        assert pool.transform(X).shape == (64, 16)

    def test_feature_names_and_pandas_output(self, data3d):
        X, y = data3d
        pool = small(AttentionPoolingTransformer).fit(X, y)
        names = pool.get_feature_names_out()
        assert_array_equal(
            names, [f"attentionpoolingtransformer{i}" for i in range(16)]
        )
        frame = pool.set_output(transform="pandas").transform(X)
        assert isinstance(frame, pd.DataFrame)
        assert_array_equal(frame.columns, names)

    def test_task_can_be_forced(self, data3d):
        X, _ = data3d
        y = np.arange(48) % 3
        assert (
            small(AttentionPoolingTransformer, task="regression").fit(X, y).task_
            == "regression"
        )
        assert small(AttentionPoolingTransformer).fit(X, y).task_ == "classification"


# Defaults and the convolutional stem ------------------------------------------


def _network(pool):
    """The SequenceNetwork (inside MaskedReconstruction when fitted on X)."""
    module = pool.net_.module_
    return getattr(module, "network", module)


SUPERVISED = {
    "transformer": (TransformerClassifier, TransformerRegressor),
    "lstm": (LSTMAttentionClassifier, LSTMAttentionRegressor),
}


def _effective_params(pool, task):
    """The parameters a fit for ``task`` uses, "auto" resolved."""
    pool.task_ = task
    return {name: pool._effective(name) for name in pool.get_params()}


def _differing(params, Model, names=None):
    """The parameters in ``names`` (default: all) that ``Model`` also has and
    whose value differs from ``Model``'s default, as (pooling, supervised)."""
    supervised = Model().get_params()
    names = set(params if names is None else names) & set(supervised)
    return {n: (params[n], supervised[n]) for n in names if params[n] != supervised[n]}


def test_transformer_defaults_are_the_supervised_transformers():
    """Fitted on class labels, every parameter the pooling transformer shares
    with ``TransformerClassifier`` takes the classifier's default, so the two
    cannot drift apart: the "auto" ones resolve to it. For continuous targets
    and self-supervised training they are ``TransformerRegressor``'s, except
    early stopping (the regressor's "auto" was chosen with its linear part,
    which the embedding model does not have)."""
    pool = AttentionPoolingTransformer()
    assert {pool.get_params()[n] for n in TASK_PARAMS} == {"auto"}
    classifier, regressor = SUPERVISED["transformer"]
    assert _differing(_effective_params(pool, "classification"), classifier) == {}
    for task in ("regression", "reconstruction"):
        assert _differing(_effective_params(pool, task), regressor) == {
            "early_stopping": (False, "auto")
        }
    # the tasks' defaults differ, so the resolution is not vacuous
    assert _differing(classifier().get_params(), regressor, TASK_PARAMS)


def test_lstm_encoder_takes_the_supervised_lstms_training_defaults(data3d):
    X, y = data3d
    pool = AttentionPoolingTransformer(encoder="lstm")
    classifier, regressor = SUPERVISED["lstm"]
    names = {*TRAINING_PARAMS, *TASK_PARAMS, "conv_stem", "max_steps"}
    assert (
        _differing(_effective_params(pool, "classification"), classifier, names) == {}
    )
    # the embedding estimator does not stop early, so the regressor's
    # validation share and patience do not apply to it
    assert _differing(_effective_params(pool, "regression"), regressor, names) == {
        "early_stopping": (False, "auto"),
        "validation_split": ("random", "last"),
        "n_iter_no_change": (10, 30),
    }
    # the learning rate training uses is the supervised LSTM's for the task
    del pool.task_
    pool.set_params(hidden_size=4, num_heads=2, max_epochs=1)
    target = X[:, :, 0].mean(1)
    assert pool.fit(X, y).net_.lr == LSTMAttentionClassifier().lr
    assert pool.fit(X, target).net_.lr == regressor().lr != TransformerRegressor().lr
    lr = 0.05
    assert pool.set_params(lr=lr).fit(X, y).net_.lr == lr


def test_lstm_encoder_on_labels_trains_the_lstm_classifiers_network():
    """With ``LSTMAttentionClassifier``'s architecture and the same seed, the
    LSTM pooling transformer fitted on class labels trains the classifier's
    network, its jitter included, and embeds as the classifier's head
    reads."""
    torch.set_num_threads(1)
    X, y = make_sequences(n=32, min_length=20, max_length=30, seed=3)
    architecture = dict(hidden_size=8, num_layers=1, attention="additive")
    params = dict(architecture, max_epochs=4, random_state=0)
    clf = LSTMAttentionClassifier(**params).fit(X, y)
    pool = AttentionPoolingTransformer(encoder="lstm", **params).fit(X, y)
    assert pool.net_.jitter == clf.net_.jitter == 0.1
    assert_array_equal(pool.transform(X), clf._run(X, "embed"))
    # without the noise the encoder trains differently
    quiet = AttentionPoolingTransformer(encoder="lstm", jitter=0.0, **params)
    assert not np.allclose(quiet.fit(X, y).transform(X), pool.transform(X))


@pytest.mark.parametrize(
    "encoder, target, renorm",
    [("lstm", "labels", True), ("lstm", "continuous", False), ("lstm", None, False)]
    + [("transformer", target, False) for target in ("labels", "continuous", None)],
)
def test_auto_batch_renorm_reaches_the_network(data3d, encoder, target, renorm):
    """``batch_renorm="auto"`` builds the supervised estimator's choice into
    the network: on class labels the LSTM classifier's renormalisation."""
    X, y = data3d
    targets = {"labels": y, "continuous": X[:, :, 0].mean(1), None: None}
    pool = AttentionPoolingTransformer(
        encoder=encoder, series_norm="instance", max_epochs=1, random_state=0
    )
    pool.fit(X, targets[target])
    assert pool.batch_renorm == "auto"
    assert _network(pool).series_norm.norm.renorm is renorm


@pytest.mark.parametrize(
    "encoder, target, noise",
    [
        ("transformer", "labels", None),
        ("lstm", "labels", 0.1),
        ("lstm", "continuous", None),
        ("lstm", None, None),
    ],
)
def test_auto_jitter_follows_the_supervised_estimator(data3d, encoder, target, noise):
    X, y = data3d
    targets = {"labels": y, "continuous": X[:, :, 0].mean(1), None: None}
    pool = AttentionPoolingTransformer(
        encoder=encoder,
        hidden_size=4,
        max_epochs=1,
        **TINY_BY_CLASS[AttentionPoolingTransformer],
    )
    assert pool.fit(X, targets[target]).net_.jitter == noise


@pytest.mark.parametrize(
    "encoder, target, pooled",
    [("lstm", "labels", True), ("lstm", "continuous", False)]
    + [("transformer", "labels", False), ("lstm", None, False)],
)
def test_auto_stem_pooling_follows_the_supervised_estimator(
    data3d, encoder, target, pooled
):
    """``stem_pooling="auto"`` pools the stem as the supervised estimator
    of the task does (the LSTM classifier), and the embedding grows by the
    stem channels' means and maxima."""
    X, y = data3d
    targets = {"labels": y, "continuous": X[:, :, 0].mean(1), None: None}
    params = dict(encoder=encoder, hidden_size=4, max_epochs=1)
    params.update(TINY_BY_CLASS[AttentionPoolingTransformer])
    pool = AttentionPoolingTransformer(**params).fit(X, targets[target])
    plain = AttentionPoolingTransformer(stem_pooling=False, **params)
    plain.fit(X, targets[target])
    assert pool.stem_pooling == "auto"
    assert (_network(pool).stem_pooling is not None) is pooled
    grown = pool.transform(X).shape[1] - plain.transform(X).shape[1]
    assert grown == (2 * _network(pool).stem.output_size if pooled else 0)


@pytest.mark.parametrize("target, order", [("labels", 0), ("continuous", 2), (None, 2)])
def test_auto_differences_follow_the_supervised_estimator(target, order):
    """On smooth series ``differences="auto"`` appends differences where
    the regressors do (continuous targets, and self-supervised training),
    not with class labels (the classifiers' 0)."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 40)
    t = np.arange(100)
    X = np.sin(2 * np.pi * t / 100 * (1 + y[:, None]) + rng.uniform(0, 6, (40, 1)))
    targets = {"labels": y, "continuous": X[:, 0], None: None}
    params = dict(max_epochs=1, **TINY_BY_CLASS[AttentionPoolingTransformer])
    pool = AttentionPoolingTransformer(**params).fit(X[..., None], targets[target])
    assert pool.differences == "auto" and pool.differences_ == order


def test_jitter_applies_to_continuous_targets_and_not_to_reconstruction(data3d):
    X, _ = data3d
    pool = AttentionPoolingTransformer(
        jitter=0.05, max_epochs=1, **TINY_BY_CLASS[AttentionPoolingTransformer]
    )
    assert pool.fit(X, X[:, :, 0].mean(1)).net_.jitter == 0.05
    with pytest.raises(ValueError, match="jitter=0.05 .* pass y, or set jitter=0"):
        pool.fit(X)


def _stem_norm(pool):
    """The normalisation of the fitted network's convolutional stem."""
    (stem,) = [m for m in _network(pool).modules() if isinstance(m, ConvStem)]
    return stem.norm


def _relative_bias(pool):
    """Whether each encoder layer of the fitted network learns a bias per
    distance between steps (``relative_positions``)."""
    return [layer.relative_bias is not None for layer in _network(pool).encoder.layers]


def _dropout_rates(pool):
    """The rates of the fitted network's dropout layers."""
    return {m.p for m in _network(pool).modules() if isinstance(m, torch.nn.Dropout)}


def test_fitted_on_labels_the_embedding_is_the_classifiers_pooled_vector():
    """With the defaults and the same seed, the pooling transformer fitted on
    class labels trains ``TransformerClassifier``'s network (batch-normalised
    stem, per-sequence standardisation of series whose scales spread, its
    weight decay, relative positions) and embeds as the classifier's head
    reads; fitted on continuous targets it takes the regressor's choices
    instead."""
    torch.set_num_threads(1)
    X, y = make_sequences(n=32, min_length=20, max_length=30, seed=3)
    # scales spread over a factor 100: series_norm="auto" standardises each
    X = [s * 10.0 ** (i % 3) for i, s in enumerate(X)]
    params = dict(SMALL_BY_CLASS[TransformerClassifier], random_state=0)
    clf = TransformerClassifier(**params).fit(X, y)
    pool = AttentionPoolingTransformer(**params).fit(X, y)
    assert pool.series_norm_ == clf.series_norm_ == "instance"
    assert _stem_norm(pool) == _stem_norm(clf) == "batch"
    assert pool.net_.optimizer_.param_groups[0]["weight_decay"] == 0.1
    assert _relative_bias(pool) == _relative_bias(clf) == [True, True]
    assert _dropout_rates(pool) == _dropout_rates(clf) == {0.0}
    assert_array_equal(pool.transform(X), clf._run(X, "embed"))

    regression = AttentionPoolingTransformer(**params).fit(X, np.linspace(0, 1, 32))
    assert regression.series_norm_ is None
    assert _stem_norm(regression) == "layer"
    assert regression.net_.optimizer_.param_groups[0]["weight_decay"] == 0.01
    assert _relative_bias(regression) == [False, False]
    assert _dropout_rates(regression) == {0.1}


def test_invalid_lr_names_the_parameter(data3d):
    X, y = data3d
    with pytest.raises(ValueError, match="'lr' parameter"):
        AttentionPoolingTransformer(lr="fast").fit(X, y)


@pytest.mark.parametrize("supervised", [True, False], ids=["fit(X, y)", "fit(X)"])
@pytest.mark.parametrize("encoder", ["transformer", "lstm"])
def test_transform_ignores_padding_behind_a_downsampling_stem(encoder, supervised):
    # 150 to 250 steps: conv_stem="auto" strides by 2, and lengths that are
    # not multiples of 2 end in a partial window
    X, labels = make_sequences(n=12, n_channels=2, min_length=150, max_length=250)
    assert len({len(s) % 2 for s in X}) > 1
    pool = AttentionPoolingTransformer(
        encoder=encoder,
        hidden_size=4,
        max_epochs=2,
        batch_size=4,
        random_state=0,
        **TINY_BY_CLASS[AttentionPoolingTransformer],
    )
    pool.fit(X, labels if supervised else None)
    stem = _network(pool).stem
    assert stem is not None and stem.stride == 2

    together = pool.transform(X)
    alone = np.vstack([pool.transform([s]) for s in X])
    assert_allclose(alone, together, rtol=1e-10, atol=1e-12)
    width = max(len(s) for s in X) + 37
    padded = [np.vstack([s, np.full((width - len(s), 2), np.nan)]) for s in X]
    assert_allclose(pool.transform(np.stack(padded)), together, rtol=1e-10, atol=1e-12)
    weights = pool.attention_weights(X)
    lengths = np.array([len(s) for s in X])
    assert np.all(weights[np.arange(weights.shape[1]) >= lengths[:, None]] == 0)
    assert_allclose(weights.sum(1), 1.0, rtol=1e-12)


def test_self_supervised_reconstructs_every_step_behind_a_striding_stem():
    # smooth waves of 200 steps: the stem strides by 2, and each of its
    # states decodes the two input steps it stands for
    rng = np.random.default_rng(0)
    t = np.linspace(0, 4 * np.pi, 200)
    X = np.sin(t[None, :, None] + rng.uniform(0, 6, size=(32, 1, 2)))
    pool = small(AttentionPoolingTransformer, max_epochs=30, lr=1e-2).fit(X)
    model = pool.net_.module_
    assert model.network.stem.stride == 2
    values = torch.as_tensor(X[:4, :199], dtype=torch.float32)  # an odd length
    mask = torch.ones(4, 199, dtype=bool)
    device = pool.net_.device
    reconstruction, target, hidden = model(values.to(device), mask.to(device))
    assert reconstruction.shape == target.shape == (4, 199, 2)
    losses = [row["train_loss"] for row in pool.history_]
    assert losses[-1] < 0.5 * losses[0]


# Model files saved before the stem existed -------------------------------------

FIXTURES = Path(__file__).parent / "data"


@pytest.mark.parametrize("kind", ["supervised", "self_supervised"])
def test_files_saved_before_the_stem_load_without_one(kind, tmp_path):
    """Files of the AttentionPoolingTransformer without a stem (see
    tests/data/make_pooling_before_stem.py) hold no conv_stem: they must
    load as the stem-less networks they are, and embed as they did."""
    path = FIXTURES / f"pooling_{kind}_before_stem.skattn"
    assert "conv_stem" not in torch.load(path, weights_only=True)["params"]
    expected = json.loads((FIXTURES / "pooling_before_stem_expected.json").read_text())
    X = np.array(expected["X"])
    pool = skattn.load(path)
    assert pool.conv_stem is None and _network(pool).stem is None
    assert_allclose(
        pool.transform(X), expected[kind]["transform"], rtol=1e-6, atol=1e-9
    )
    if kind == "supervised":
        assert_allclose(
            pool.attention_weights(X),
            expected[kind]["attention_weights"],
            rtol=1e-6,
            atol=1e-9,
        )
    # saved again, the file names conv_stem=None and loads the same
    pool.save(tmp_path / "again.skattn")
    again = skattn.load(tmp_path / "again.skattn")
    assert again.conv_stem is None
    assert_allclose(again.transform(X), pool.transform(X), rtol=1e-12)
