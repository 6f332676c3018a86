"""Behaviour every estimator shares: the template of ``skattn/_base.py``
(``SequenceEstimator``: outputs, fit, sample weights, warm start,
partial_fit, parameters, input formats, attention weights), on every
estimator, and padding and batch invariance at estimator level."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skattn import (
    LSTMAttentionClassifier,
    LSTMAttentionRegressor,
    TransformerClassifier,
)
from skattn.data import to_long
from skattn.modules import ATTENTION_SCORES

from ._data import make_sequences, pad
from ._params import (
    CLASSIFIERS,
    REGRESSORS,
    SMALL_TRANSFORMER,
    TINY_BY_CLASS,
    small,
)

# Outputs -----------------------------------------------------------------------


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


# The fit template ----------------------------------------------------------------


@pytest.mark.parametrize("cls", CLASSIFIERS + REGRESSORS)
def test_same_seed_same_predictions(cls, data3d):
    X, y = data3d
    params = dict(dropout=0.3)
    if cls in REGRESSORS:
        y = X[:, :, 0].sum(1)
        # the network counts whole: for a target this linear, "auto" keeps
        # the ridge part alone, the same for every seed
        params["network_weight"] = 1.0
    # probabilities, not labels: seeds 0 and 1 give the same labels here
    method = "predict" if cls in REGRESSORS else "predict_proba"
    first = getattr(small(cls, **params).fit(X, y), method)(X)
    second = getattr(small(cls, **params).fit(X, y), method)(X)
    other = getattr(small(cls, **params, random_state=1).fit(X, y), method)(X)
    assert_array_equal(first, second)
    # another seed starts from other weights and batches: far beyond rounding
    assert np.abs(first - other).max() > 1e-3


def test_sample_weight_zero_removes_samples_and_weights_shift_the_fit(data):
    X, y = data
    params = dict(max_epochs=5, lr=1e-2, **SMALL_TRANSFORMER)
    weights = np.r_[np.ones(60), np.zeros(20)]
    weighted = TransformerClassifier(**params).fit(X, y, sample_weight=weights)
    subset = TransformerClassifier(**params).fit(X[:60], y[:60])
    assert_array_equal(weighted.predict_proba(X), subset.predict_proba(X))

    heavy_a = np.where(y == "a", 50.0, 1.0)
    favoured = TransformerClassifier(**params).fit(X, y, sample_weight=heavy_a)
    plain = TransformerClassifier(**params).fit(X, y)
    assert (favoured.predict(X) == "a").sum() > (plain.predict(X) == "a").sum()


def test_bad_sample_weight(data):
    X, y = data
    clf = TransformerClassifier(max_epochs=1, **SMALL_TRANSFORMER)
    with pytest.raises(ValueError, match="Negative values"):
        clf.fit(X, y, sample_weight=-np.ones(80))
    with pytest.raises(ValueError, match="at least one non-zero"):
        clf.fit(X, y, sample_weight=np.zeros(80))


def test_warm_start_continues_from_the_fitted_weights(data):
    X, y = data
    clf = TransformerClassifier(
        max_epochs=3, lr=1e-2, warm_start=True, **SMALL_TRANSFORMER
    )
    clf.fit(X, y)
    before = clf.predict_proba(X)
    first_losses = [row["train_loss"] for row in clf.history_]
    clf.fit(X, y)
    assert clf.n_iter_ == 6  # the history continues
    assert not np.array_equal(clf.predict_proba(X), before)
    assert clf.history_[3]["train_loss"] < first_losses[0]
    with pytest.raises(ValueError, match="cannot learn new classes"):
        clf.fit(X, np.where(y == "a", "a", "z"))


def test_partial_fit_streams_epochs(data):
    X, y = data
    clf = TransformerClassifier(lr=1e-2, **SMALL_TRANSFORMER)
    clf.partial_fit(X[:40], y[:40], classes=["a", "b"])
    assert clf.n_iter_ == 1
    for _ in range(5):
        clf.partial_fit(X[40:], y[40:])
    assert clf.n_iter_ == 6
    assert clf.score(X, y) > 0.6
    reg = LSTMAttentionRegressor(hidden_size=4, random_state=0)
    first = reg.partial_fit(X, X[:, :, 0].sum(1)).predict(X)
    reg.partial_fit(X, X[:, :, 0].sum(1))
    assert reg.n_iter_ == 2 and reg.predict(X).shape == (80,)
    # the second call trained on from the first call's weights
    assert reg.history_[1]["train_loss"] < reg.history_[0]["train_loss"]
    assert not np.array_equal(reg.predict(X), first)


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


# Input: every format ---------------------------------------------------------


def formats():
    X, y = make_sequences(n=20, n_channels=2, seed=3)
    long = to_long(X, np.arange(100, 120), id_col="id", time_col="t")
    return {
        "list": X,
        "object array": np.array(X, dtype=object),
        "nan-padded 3D": pad(X),
        "3D": np.stack([s[:5] for s in X]),
        "2D": np.stack([s[:5, 0] for s in X]),
        "long frame": long.set_index(["id", "t"]),
    }, y


@pytest.mark.parametrize(
    "cls, params", list(TINY_BY_CLASS.items()), ids=lambda p: getattr(p, "__name__", "")
)
def test_every_estimator_on_every_format(cls, params):
    inputs, labels = formats()
    y = labels if "Regressor" not in cls.__name__ else (labels == "up").astype(float)
    results = {}
    for name, X in inputs.items():
        est = cls(max_epochs=2, random_state=0, **params).fit(X, y)
        out = est.transform(X) if hasattr(est, "transform") else est.predict(X)
        if hasattr(est, "predict_proba"):  # more telling than labels
            out = est.predict_proba(X)
        assert len(out) == 20, name
        assert np.all(np.isfinite(out)), name
        results[name] = out
    # the same ragged sequences in four formats: the same model and outputs
    for name in ("object array", "nan-padded 3D", "long frame"):
        assert_same(results[name], results["list"])


def test_string_labels_and_nan_padded_input(ragged):
    X, y = ragged
    clf = small(LSTMAttentionClassifier, max_epochs=10).fit(pad(X), y)
    assert set(clf.predict(X)) <= {"up", "down"}
    assert_array_equal(clf.predict(X), clf.predict(pad(X, 20)))


# Padding and batches never matter ----------------------------------------------
#
# For every estimator and every attention variant, adding padding or
# regrouping sequences into other batches changes no prediction, probability,
# embedding or attention weight, and attention puts exactly zero weight on
# padding.


def assert_same(actual, expected):
    if expected.dtype.kind == "f":
        assert_allclose(actual, expected, rtol=1e-10, atol=1e-12)
    else:
        assert_array_equal(actual, expected)


def outputs(est, X):
    """Every array the estimator produces for X."""
    out = {}
    for method in ("predict", "predict_proba", "transform"):
        if hasattr(est, method):
            out[method] = getattr(est, method)(X)
    return out


@pytest.mark.parametrize("attention", ATTENTION_SCORES)
@pytest.mark.parametrize("cls", list(TINY_BY_CLASS), ids=lambda c: c.__name__)
def test_padding_changes_nothing(cls, attention):
    X, labels = make_sequences(n=24, n_channels=2, min_length=3, max_length=11)
    y = labels if "Regressor" not in cls.__name__ else (labels == "up") * 1.0
    est = cls(
        attention=attention,
        max_epochs=2,
        batch_size=8,
        random_state=0,
        **TINY_BY_CLASS[cls],
    ).fit(X, y)

    reference = outputs(est, X)
    for method, values in outputs(est, pad(X, 19)).items():  # 8 extra padded steps
        assert_same(values, reference[method])
    # each sequence alone: no batch mates, no padding at all
    alone = {m: np.concatenate([outputs(est, [s])[m] for s in X]) for m in reference}
    for method, values in alone.items():
        assert_same(values, reference[method])

    weights = est.attention_weights(X)
    assert weights.shape == (24, 11)
    lengths = np.array([len(s) for s in X])
    padding = np.arange(11) >= lengths[:, None]
    assert np.all(weights[padding] == 0)
    assert_allclose(weights.sum(1), 1.0, rtol=1e-12)
    padded_weights = est.attention_weights(pad(X, 19))
    assert np.all(padded_weights[:, 11:] == 0)
    assert_allclose(padded_weights[:, :11], weights, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "max_length, stride", [(250, 2), (400, 4)], ids=["stride2", "stride4"]
)
@pytest.mark.parametrize("cls", CLASSIFIERS + REGRESSORS, ids=lambda c: c.__name__)
def test_padding_changes_nothing_with_a_downsampling_stem(cls, max_length, stride):
    # A striding stem; ragged lengths that are not multiples of the stride
    # check each sequence's last, partial window, which must read zeros
    # whether padding follows or not.
    X, labels = make_sequences(
        n=12, n_channels=2, min_length=150, max_length=max_length
    )
    assert len({len(s) % stride for s in X}) > 1
    y = labels if cls in CLASSIFIERS else (labels == "up") * 1.0
    est = cls(
        conv_stem=stride,
        max_epochs=2,
        batch_size=4,
        random_state=0,
        **TINY_BY_CLASS[cls],
    )
    est.fit(X, y)
    assert est.net_.module_.stem.stride == stride  # the stem does downsample

    reference = outputs(est, X)  # batches mixing shorter and longer sequences
    width = max(len(s) for s in X) + 37  # NaN padding beyond the longest
    for method, values in outputs(est, pad(X, width)).items():
        assert_same(values, reference[method])
    alone = {m: np.concatenate([outputs(est, [s])[m] for s in X]) for m in reference}
    for method, values in alone.items():
        assert_same(values, reference[method])
    # the shortest sequence next to the longest: only its own steps count
    short, long = np.argsort([len(s) for s in X])[[0, -1]]
    pair = outputs(est, [X[short], X[long]])
    for method, values in pair.items():
        assert_same(values[0], reference[method][short])

    weights = est.attention_weights(X)
    lengths = np.array([len(s) for s in X])
    assert np.all(weights[np.arange(weights.shape[1]) >= lengths[:, None]] == 0)
    assert_allclose(weights.sum(1), 1.0, rtol=1e-12)
    padded = est.attention_weights(pad(X, width))
    assert np.all(padded[:, weights.shape[1] :] == 0)
    assert_allclose(padded[:, : weights.shape[1]], weights, rtol=1e-10, atol=1e-12)
    for i, s in enumerate(X):
        assert_allclose(
            est.attention_weights([s])[0], weights[i, : len(s)], rtol=1e-10, atol=1e-12
        )


@pytest.mark.parametrize("cls", list(TINY_BY_CLASS), ids=lambda c: c.__name__)
def test_training_on_padded_input_gives_the_same_model(cls):
    X, labels = make_sequences(n=24, n_channels=2, min_length=3, max_length=11)
    y = labels if "Regressor" not in cls.__name__ else (labels == "up") * 1.0
    params = dict(max_epochs=2, batch_size=8, random_state=0, **TINY_BY_CLASS[cls])
    ragged = cls(**params).fit(X, y)
    padded = cls(**params).fit(pad(X, 30), y)
    for method, values in outputs(ragged, X).items():
        assert_array_equal(outputs(padded, X)[method], values)


@pytest.mark.parametrize("pooling", ["mean", "max", "last"])
@pytest.mark.parametrize("cls", [LSTMAttentionClassifier, TransformerClassifier])
def test_pooling_baselines_ignore_padding(cls, pooling):
    X, y = make_sequences(n=24, n_channels=2, min_length=3, max_length=11)
    est = cls(pooling=pooling, max_epochs=2, random_state=0, **TINY_BY_CLASS[cls]).fit(
        X, y
    )
    assert_allclose(
        est.predict_proba(pad(X, 25)), est.predict_proba(X), rtol=1e-10, atol=1e-12
    )


@pytest.mark.parametrize("cls", [LSTMAttentionClassifier, TransformerClassifier])
def test_token_padding_is_masked(cls):
    rng = np.random.default_rng(0)
    tokens = [rng.integers(1, 20, size=rng.integers(2, 9)) for _ in range(30)]
    y = np.array(["has 7" if 7 in t else "no 7" for t in tokens])
    est = cls(
        vocab_size=20, padding_idx=0, max_epochs=2, random_state=0, **TINY_BY_CLASS[cls]
    )
    est.fit(tokens, y)
    padded = np.zeros((30, 12), dtype=int)  # padding id 0 at the end
    for i, t in enumerate(tokens):
        padded[i, : len(t)] = t
    assert_allclose(est.predict_proba(padded), est.predict_proba(tokens), rtol=1e-10)
    weights = est.attention_weights(padded)
    assert np.all(weights[padded == 0] == 0)
    with pytest.raises(
        ValueError, match="token ids must be integers in \\[0, vocab_size=20\\)"
    ):
        est.predict([np.array([3, 25])])


def test_predictions_do_not_depend_on_batching(fitted_classifiers, data3d):
    clf, (X, _) = fitted_classifiers[TransformerClassifier], data3d
    full = clf.predict_proba(X)
    one_by_one = np.concatenate(
        [clf.predict_proba(X[i : i + 1]) for i in range(len(X))]
    )
    assert_allclose(one_by_one, full, rtol=1e-12, atol=1e-14)
    order = np.random.default_rng(0).permutation(len(X))
    assert_allclose(clf.predict_proba(X[order]), full[order], rtol=1e-12, atol=1e-14)
