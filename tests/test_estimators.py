"""Behaviour of the five estimators as a user sees it."""

import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skattn import (
    AttentionPoolingTransformer,
    LSTMAttentionClassifier,
    LSTMAttentionRegressor,
    TransformerClassifier,
    TransformerRegressor,
)

from ._data import pad

SMALL = {
    LSTMAttentionClassifier: dict(hidden_size=8, max_epochs=4),
    LSTMAttentionRegressor: dict(hidden_size=8, max_epochs=4),
    TransformerClassifier: dict(
        d_model=8, num_heads=2, dim_feedforward=16, max_epochs=4
    ),
    TransformerRegressor: dict(
        d_model=8, num_heads=2, dim_feedforward=16, max_epochs=4
    ),
    AttentionPoolingTransformer: dict(
        d_model=8, num_heads=2, dim_feedforward=16, max_epochs=4
    ),
}
CLASSIFIERS = [LSTMAttentionClassifier, TransformerClassifier]
REGRESSORS = [LSTMAttentionRegressor, TransformerRegressor]


def small(cls, **params):
    return cls(**{**SMALL[cls], "random_state": 0, **params})


@pytest.fixture(scope="module")
def data3d():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(48, 10, 3))
    y = np.where(X[:, :, 0].mean(1) > 0, "pos", "neg")
    return X, y


@pytest.fixture(scope="module")
def fitted_classifiers(data3d):
    X, y = data3d
    torch.set_num_threads(1)
    return {cls: small(cls).fit(X, y) for cls in CLASSIFIERS}


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_classifier_outputs(cls, fitted_classifiers, data3d):
    clf, (X, _) = fitted_classifiers[cls], data3d
    assert_array_equal(clf.classes_, ["neg", "pos"])
    proba = clf.predict_proba(X)
    assert proba.shape == (48, 2) and proba.dtype == np.float64
    assert_allclose(proba.sum(1), 1.0, rtol=1e-12)
    assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(1)])
    assert clf.n_iter_ == 4 == len(clf.history_)
    assert all(np.isfinite(row["train_loss"]) for row in clf.history_)
    assert isinstance(clf.history_[0], dict) and "batches" not in clf.history_[0]
    assert clf.n_channels_in_ == 3 and not hasattr(clf, "n_features_in_")


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_attention_weights(cls, fitted_classifiers, data3d):
    clf, (X, _) = fitted_classifiers[cls], data3d
    weights = clf.attention_weights(X)
    assert weights.shape == (48, 10)
    assert np.all(weights >= 0)
    assert_allclose(weights.sum(1), 1.0, rtol=1e-12)


def test_attention_weights_per_head(data3d):
    X, y = data3d
    clf = small(LSTMAttentionClassifier, attention="multihead", num_heads=4).fit(X, y)
    per_head = clf.attention_weights(X[:5], per_head=True)
    assert per_head.shape == (5, 4, 10)
    assert_allclose(per_head.sum(-1), 1.0, rtol=1e-12)
    assert_allclose(per_head.mean(1), clf.attention_weights(X[:5]), rtol=1e-12)


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_attention_weights_need_attention_pooling(cls, data3d):
    X, y = data3d
    clf = small(cls, pooling="mean").fit(X, y)
    with pytest.raises(ValueError, match="pooling='mean'.*no attention weights"):
        clf.attention_weights(X)


def test_invalid_combinations_name_both_values(data3d):
    X, y = data3d
    clf = TransformerClassifier(d_model=30, num_heads=4)  # construction never fails
    with pytest.raises(ValueError, match="d_model=30 must be divisible by num_heads=4"):
        clf.fit(X, y)
    lstm = LSTMAttentionClassifier(hidden_size=5, attention="multihead", num_heads=4)
    with pytest.raises(ValueError, match="hidden_size=5 .* num_heads=4"):
        lstm.fit(X, y)
    with pytest.raises(ValueError, match="max_epochs"):
        LSTMAttentionClassifier(max_epochs=0).fit(X, y)


@pytest.mark.parametrize("cls", CLASSIFIERS + REGRESSORS)
def test_same_seed_same_predictions(cls, data3d):
    X, y = data3d
    if cls in REGRESSORS:
        y = X[:, :, 0].sum(1)
    first = small(cls, dropout=0.3).fit(X, y).predict(X)
    second = small(cls, dropout=0.3).fit(X, y).predict(X)
    other = small(cls, dropout=0.3, random_state=1).fit(X, y)
    assert_array_equal(first, second)
    if cls in REGRESSORS:
        assert not np.array_equal(first, other.predict(X))


def test_fit_leaves_global_torch_rng_alone(data3d):
    X, y = data3d
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    small(TransformerClassifier).fit(X, y)
    assert_array_equal(torch.rand(3), expected)


def test_predictions_do_not_depend_on_batching(fitted_classifiers, data3d):
    clf, (X, _) = fitted_classifiers[TransformerClassifier], data3d
    full = clf.predict_proba(X)
    one_by_one = np.concatenate(
        [clf.predict_proba(X[i : i + 1]) for i in range(len(X))]
    )
    assert_allclose(one_by_one, full, rtol=1e-12, atol=1e-14)
    order = np.random.default_rng(0).permutation(len(X))
    assert_allclose(clf.predict_proba(X[order]), full[order], rtol=1e-12, atol=1e-14)


def test_clone_and_pickle_in_a_new_process(fitted_classifiers, data3d, tmp_path):
    clf, (X, _) = fitted_classifiers[LSTMAttentionClassifier], data3d
    copy = clone(clf)
    assert copy.get_params() == clf.get_params() and not hasattr(copy, "net_")
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(clf))
    np.save(tmp_path / "X.npy", X)
    script = (
        "import pickle, numpy as np, torch; torch.set_num_threads(1); "
        f"m = pickle.loads(open({str(path)!r}, 'rb').read()); "
        f"np.save({str(tmp_path / 'p.npy')!r}, "
        f"m.predict_proba(np.load({str(tmp_path / 'X.npy')!r})))"
    )
    subprocess.run([sys.executable, "-c", script], check=True)
    assert_array_equal(np.load(tmp_path / "p.npy"), clf.predict_proba(X))


def test_pipeline_with_standard_scaler_on_2d():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 16)) * 100 + 5
    y = (X[:, :4].mean(1) > 5).astype(int)
    pipe = make_pipeline(StandardScaler(), small(TransformerClassifier, max_epochs=10))
    pipe.fit(X, y)
    assert pipe.predict(X).shape == (60,)
    assert pipe[-1].n_features_in_ == 16
    with pytest.raises(ValueError, match="16 features"):
        pipe.predict(X[:, :10])


def test_grid_search_over_attention_and_heads_in_parallel(data3d):
    X, y = data3d
    grid = GridSearchCV(
        small(LSTMAttentionClassifier, max_epochs=2, n_threads=1),
        {"attention": ["additive", "multihead"], "num_heads": [1, 2]},
        cv=2,
        n_jobs=2,
    )
    grid.fit(X, y)
    assert len(grid.cv_results_["params"]) == 4
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    assert grid.best_estimator_.predict(X).shape == (48,)


@pytest.mark.parametrize("cls", REGRESSORS)
def test_regressor_targets_keep_their_shape(cls, data3d):
    X, _ = data3d
    y1 = X[:, :, 0].sum(1) * 1000 + 50  # large scale: standardised internally
    reg = small(cls, max_epochs=30, lr=1e-2).fit(X, y1)
    pred = reg.predict(X)
    assert pred.shape == (48,) and pred.dtype == np.float64
    assert reg.score(X, y1) > 0.5
    y2 = np.column_stack([y1, -y1, np.ones(48)])
    pred2 = small(cls).fit(X, y2).predict(X)
    assert pred2.shape == (48, 3) and np.isfinite(pred2).all()
    column = small(cls).fit(X, y1[:, None]).predict(X)
    assert column.shape == (48, 1)


def test_2d_contract_and_3d_lengths(data3d):
    X, y = data3d
    clf = small(TransformerClassifier).fit(X[:, :, 0], y)
    assert clf.n_features_in_ == 10
    with pytest.raises(
        ValueError, match="X has 8 features, but TransformerClassifier is expecting 10"
    ):
        clf.predict(X[:, :8, 0])
    with pytest.raises(ValueError, match="fitted on fixed-length univariate input"):
        clf.predict([np.zeros(4), np.zeros(7)])
    clf3 = small(TransformerClassifier).fit(X, y)
    assert clf3.predict(X[:, :6]).shape == (48,)  # other lengths are fine in 3D
    with pytest.raises(
        ValueError,
        match="X has 10 channels, but TransformerClassifier "
        "was fitted with 3.*from_channels_first",
    ):
        clf3.predict(np.zeros((5, 3, 10)))


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


def test_string_labels_and_nan_padded_input(ragged):
    X, y = ragged
    clf = small(LSTMAttentionClassifier, max_epochs=10).fit(pad(X), y)
    assert set(clf.predict(X)) <= {"up", "down"}
    assert_array_equal(clf.predict(X), clf.predict(pad(X, 20)))
