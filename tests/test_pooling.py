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
    TransformerClassifier,
    TransformerRegressor,
)

from ._data import make_sequences
from ._params import TINY_BY_CLASS, small

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
        assert Z.shape == (48, 8) and Z.dtype == np.float64
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
        assert_array_equal(names, [f"attentionpoolingtransformer{i}" for i in range(8)])
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


def test_defaults_are_the_supervised_transformers():
    """Every parameter the Transformer family shares with the supervised
    models has their default, so they cannot drift apart; ``lr="auto"``
    resolves to the family's learning rate. The classifier departs from
    the family in the stem's normalisation, ``series_norm``, ``max_steps``
    and ``weight_decay``, the regressor in ``early_stopping`` (each chosen
    for its task by the leave-one-data-set-out study); the pooling
    transformer, which serves every task, keeps the family's."""
    pool = AttentionPoolingTransformer()
    for Model, exceptions in (
        (TransformerRegressor, {"early_stopping": "auto"}),
        (
            TransformerClassifier,
            {
                "stem_norm": "batch",
                "series_norm": "auto",
                "max_steps": 2000,
                "weight_decay": 0.1,
            },
        ),
    ):
        supervised = Model().get_params()
        shared = set(pool.get_params()) & set(supervised)
        assert {"max_epochs", "batch_size", "conv_stem", "stem_norm"} <= shared
        differing = {
            name: (pool.get_params()[name], supervised[name])
            for name in shared
            if pool.get_params()[name] != supervised[name]
        }
        expected = {"lr": ("auto", Model().lr)}
        expected |= {k: (pool.get_params()[k], v) for k, v in exceptions.items()}
        assert differing == expected
        assert pool._learning_rate() == Model().lr


def test_lstm_encoder_takes_the_supervised_lstms_training_defaults(data3d):
    X, y = data3d
    supervised = LSTMAttentionClassifier().get_params()
    pool = AttentionPoolingTransformer(encoder="lstm")
    for name in TRAINING_PARAMS + ("conv_stem", "stem_norm"):
        if name != "lr":
            assert pool.get_params()[name] == supervised[name], name
    # the classifier alone standardises spread-out series and has a step
    # budget (chosen for classification; the pooling transformer serves
    # every task)
    assert supervised["series_norm"] == "auto" and supervised["max_steps"] == 2000
    assert pool.get_params()["series_norm"] is None
    assert pool.get_params()["max_steps"] is None
    # the learning rate training uses is the recurrent family's
    pool.set_params(hidden_size=4, num_heads=2, max_epochs=1).fit(X, y)
    assert pool.net_.lr == LSTMAttentionClassifier().lr != TransformerClassifier().lr
    lr = 0.05
    assert pool.set_params(lr=lr).fit(X, y).net_.lr == lr


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
    reconstruction, target, hidden = model(values, torch.ones(4, 199, dtype=bool))
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
