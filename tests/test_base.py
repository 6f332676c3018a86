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


# Numerics: standardisation in float64 makes the scale of X and y irrelevant --


@pytest.mark.parametrize("scale", [1e-30, 1e30, 1e200])
def test_inputs_on_any_scale_train_the_same_model(scale):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 8, 2))
    y = np.where(X[:, :, 0].mean(1) > 0, "up", "down")
    reference = small(LSTMAttentionClassifier).fit(X, y).predict_proba(X)
    # values of 1e-30 used to count as a constant channel (not divided by
    # their std): the model saw zeros. Squares of 1e200 overflowed the std.
    scaled = small(LSTMAttentionClassifier).fit(X * scale + 3 * scale, y)
    assert_allclose(scaled.predict_proba(X * scale + 3 * scale), reference, atol=1e-5)


@pytest.mark.parametrize("scale", [1e-12, 1e12, 1e300])
def test_targets_on_any_scale_are_predicted_on_their_scale(scale):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 6, 1))
    y = X[:, :, 0].mean(1)
    reference = small(LSTMAttentionRegressor).fit(X, y).predict(X)
    # targets of 1e300 gave an inf scale and inf predictions
    scaled = small(LSTMAttentionRegressor).fit(X, y * scale).predict(X)
    assert np.isfinite(scaled).all()
    assert_allclose(scaled / scale, reference, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("cls", [*CLASSIFIERS, *REGRESSORS])
def test_constant_and_length_one_sequences_train(cls):
    y = np.arange(12) % 2
    for X in (
        np.full((12, 5, 2), 7.0),
        np.random.default_rng(0).normal(size=(12, 1, 2)),
    ):
        model = small(cls).fit(X, y)
        out = model.predict_proba(X) if hasattr(model, "predict_proba") else None
        assert np.isfinite(model.predict(X).astype(float)).all()
        assert out is None or np.isfinite(out).all()


def test_input_far_outside_the_training_range_is_an_error_not_nan(data3d):
    X, y = data3d
    clf = small(TransformerClassifier).fit(X, y)
    far = X[:3].copy()
    far[1] = 1e300
    with pytest.raises(
        ValueError, match="output for sequence 1 of X.*reach 1.0.e\\+300"
    ):
        clf.predict_proba(far)  # was NaN (the layer norm overflowed)
    with pytest.raises(ValueError, match="sequence 1 of X"):
        clf.attention_weights(far)


def test_bool_is_not_an_int_parameter(data3d):
    X, y = data3d
    with pytest.raises(ValueError, match="'batch_size' parameter .* must be an int"):
        small(LSTMAttentionClassifier, batch_size=True).fit(X, y)  # torch error


def test_messages_show_plain_values():
    with pytest.raises(ValueError, match="only 1 class: 0.0$"):  # not np.float64
        small(LSTMAttentionClassifier).fit(np.ones((4, 3)), np.zeros(4))
    tokens = small(LSTMAttentionClassifier, vocab_size=5).fit(
        [np.array([1, 2]), np.array([3])], [0, 1]
    )
    with pytest.raises(ValueError, match="X holds 7 at sequence 0, timestep 1"):
        tokens.predict([np.array([1, 7])])


# Volume and concurrency ------------------------------------------------------


def test_long_format_is_predicted_in_chunks_of_whole_entities(monkeypatch):
    import skattn._base

    rng = np.random.default_rng(0)
    X = [rng.normal(size=(rng.integers(1, 6), 1)) for _ in range(60)]
    y = np.arange(60) % 2
    model = small(LSTMAttentionClassifier, batch_size=4).fit(X, y)
    long = (
        pd.DataFrame({"v": np.concatenate(X)[:, 0]})
        .assign(id=np.repeat([f"e{i:02d}" for i in range(60)], [len(s) for s in X]))
        .assign(t=np.concatenate([np.arange(len(s)) for s in X]))
        .set_index(["id", "t"])
    )
    whole = model.predict_proba(long), model.attention_weights(long)
    monkeypatch.setattr(skattn._base, "_CHUNK_VALUES", 16)
    chunks = list(model._long_chunks(long))
    assert len(chunks) == 15 and all(c.index.levels[0].size for _, c, _ in chunks)
    assert [n for *_, n in chunks] == [60] * 15
    shuffled = long.sample(frac=1.0, random_state=0)  # rows in any order
    for frame in (long, shuffled):
        assert_allclose(model.predict_proba(frame), whole[0], atol=1e-12)
        assert_allclose(model.attention_weights(frame), whole[1], atol=1e-12)


@pytest.mark.parametrize("form", ["3d", "2d", "list"])
def test_chunked_prediction_equals_prediction_at_once(monkeypatch, form):
    import skattn._base

    rng = np.random.default_rng(1)
    lengths = rng.integers(2, 9, size=50)
    seqs = [rng.normal(size=(k, 1)) for k in lengths]
    if form == "list":
        X = seqs
    else:
        X = np.full((50, 8, 1), np.nan)
        for i, s in enumerate(seqs):
            X[i, : len(s)] = s
        X = X[:, :, 0] if form == "2d" else X
        X = np.nan_to_num(X) if form == "2d" else X  # 2D input is one length
    y = np.arange(50) % 2
    model = small(LSTMAttentionClassifier, batch_size=4).fit(X, y)
    whole = [model.predict_proba(X), model.attention_weights(X), model.predict(X)]
    monkeypatch.setattr(skattn._base, "_CHUNK_VALUES", 16)
    assert len(list(model._chunks(X))) == 13  # of max(batch_size, 16 // 8) rows
    assert_allclose(model.predict_proba(X), whole[0], atol=1e-12)
    assert_allclose(model.attention_weights(X), whole[1], atol=1e-12)
    assert_array_equal(model.predict(X), whole[2])


def test_concurrent_predictions_equal_serial_ones(data3d):
    from concurrent.futures import ThreadPoolExecutor

    from skattn._net import InferenceModules

    X, y = data3d
    for cls in (LSTMAttentionClassifier, TransformerClassifier):
        model = small(cls).fit(X, y)
        parts = [X[i::6] for i in range(6)] * 8
        serial = [model.predict_proba(p) for p in parts]
        weights = [model.attention_weights(p) for p in parts]
        model._inference = InferenceModules()  # built again, under the race
        with ThreadPoolExecutor(8) as pool:
            proba = list(pool.map(model.predict_proba, parts))
            attention = list(pool.map(model.attention_weights, parts))
        for a, b in zip(serial + weights, proba + attention, strict=True):
            assert_array_equal(a, b)


def test_n_threads_is_restored_after_overlapping_calls(data3d):
    from concurrent.futures import ThreadPoolExecutor

    X, y = data3d
    model = small(LSTMAttentionClassifier, n_threads=2).fit(X, y)
    before = torch.get_num_threads()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(model.predict_proba, [X[:8]] * 64))
    assert torch.get_num_threads() == before
    # new threads start from torch's last setting: it must be the old one
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(torch.get_num_threads).result() == before


def test_labels_of_mixed_types_are_named(data3d):
    X, _ = data3d
    y = np.array([1, "a", None] * 16, dtype=object)
    for est in (small(LSTMAttentionClassifier), small(AttentionPoolingTransformer)):
        # sklearn's own message said "unknown" type, regression-like
        with pytest.raises(ValueError, match="mixes labels of types.*None.*str"):
            est.fit(X, y)
