"""Tests of skattn.preprocessing: masked statistics, formats, and pipelines."""

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.pipeline import make_pipeline

from skattn import (
    LSTMAttentionClassifier,
    SequenceImputer,
    SequenceResampler,
    SequenceScaler,
    SequenceTruncator,
    TokenEncoder,
    TransformerClassifier,
)
from skattn.data import _check_sequences, to_long

NUMERIC = [SequenceScaler, SequenceImputer, SequenceResampler, SequenceTruncator]


def ragged(n_channels=2):
    """Three sequences of lengths 4, 2, 3 with distinct values."""
    rng = np.random.RandomState(0)
    return [rng.normal(5.0, 2.0, (n, n_channels)) for n in (4, 2, 3)]


def padded(seqs):
    out = np.full((len(seqs), max(len(s) for s in seqs), seqs[0].shape[1]), np.nan)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = s
    return out


def to_long_frame(seqs):
    names = ["x", "y"][: seqs[0].shape[1]]
    frame = to_long(seqs, ids=["a", "b", "c"], value_cols=names)
    return frame.set_index(["id", "time"])


def as_format(seqs, layout):
    """The same sequences in each input format of skattn.data."""
    if layout == "tabular":
        return padded(seqs)[..., 0]
    if layout == "padded":
        return padded(seqs)
    if layout == "ragged_1d":
        return [s[:, 0] for s in seqs]
    if layout == "ragged_2d":
        return list(seqs)
    return to_long_frame(seqs)


LAYOUTS = ["tabular", "padded", "ragged_1d", "ragged_2d", "long"]


def assert_same_format(out, X):
    """``out`` has the type, shape, padding and index of ``X``."""
    assert type(out) is type(X)
    if isinstance(X, list):
        assert [o.shape for o in out] == [x.shape for x in X]
    elif isinstance(X, pd.DataFrame):
        assert out.index.equals(X.index)
        assert list(out.columns) == list(X.columns)
    else:
        assert out.shape == X.shape
        assert_array_equal(np.isnan(out), np.isnan(X))  # padding untouched


# SequenceScaler -------------------------------------------------------------


def test_scaler_statistics_use_real_steps_only():
    seqs = ragged()
    steps = np.concatenate(seqs)  # every real step, no padding
    for X in (seqs, padded(seqs), to_long_frame(seqs)):
        scaler = SequenceScaler().fit(X)
        assert_allclose(scaler.mean_, steps.mean(axis=0))
        assert_allclose(scaler.scale_, steps.std(axis=0))


def test_scaler_transform_values():
    seqs = ragged()
    steps = np.concatenate(seqs)
    out = SequenceScaler().fit_transform(seqs)
    for o, s in zip(out, seqs, strict=True):
        assert_allclose(o, (s - steps.mean(axis=0)) / steps.std(axis=0))


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("per_sequence", [False, True])
def test_scaler_keeps_format_and_padding(layout, per_sequence):
    n_channels = 1 if layout in ("tabular", "ragged_1d") else 2
    X = as_format(ragged(n_channels), layout)
    scaler = SequenceScaler(per_sequence=per_sequence).fit(X)
    Xt = scaler.transform(X)
    assert_same_format(Xt, X)
    if not per_sequence:
        back = scaler.inverse_transform(Xt)
        assert_same_format(back, X)
        if isinstance(X, list):
            for b, x in zip(back, X, strict=True):
                assert_allclose(b, x)
        else:
            assert_allclose(np.asarray(back), np.asarray(X))


def test_scaler_per_sequence_gives_mean_0_std_1():
    seqs = ragged()
    out = SequenceScaler(per_sequence=True).fit_transform(padded(seqs))
    for o, s in zip(out, seqs, strict=True):
        real = o[: len(s)]
        assert_allclose(real.mean(axis=0), 0.0, atol=1e-12)
        assert_allclose(real.std(axis=0), 1.0)
        assert np.isnan(o[len(s) :]).all()


def test_scaler_per_sequence_has_no_inverse():
    scaler = SequenceScaler(per_sequence=True).fit(ragged())
    assert not hasattr(scaler, "inverse_transform")
    with pytest.raises(AttributeError) as error:
        scaler.inverse_transform(ragged())
    # the reason is the cause shown in the traceback
    assert "per_sequence=True" in str(error.value.__cause__)


def test_scaler_constant_channel_divides_by_one():
    X = [np.array([[3.0, 1.0], [3.0, 2.0]]), np.array([[3.0, 3.0]])]
    scaler = SequenceScaler().fit(X)
    assert_allclose(scaler.scale_[0], 1.0)
    assert_allclose(scaler.transform(X)[0][:, 0], 0.0)
    # a single-step sequence is constant on its own
    assert_allclose(SequenceScaler(per_sequence=True).fit_transform(X)[1], 0.0)


def test_scaler_with_mean_or_std_off():
    seqs = ragged()
    steps = np.concatenate(seqs)
    only_std = SequenceScaler(with_mean=False).fit(seqs)
    assert only_std.mean_ is None
    assert_allclose(only_std.transform(seqs)[0], seqs[0] / steps.std(axis=0))
    only_mean = SequenceScaler(with_std=False).fit(seqs)
    assert only_mean.scale_ is None
    assert_allclose(only_mean.transform(seqs)[0], seqs[0] - steps.mean(axis=0))


def test_scaler_other_lengths_at_transform():
    scaler = SequenceScaler().fit(padded(ragged()))
    X = np.random.RandomState(1).normal(size=(2, 7, 2))
    assert scaler.transform(X).shape == (2, 7, 2)
    assert len(scaler.transform([np.ones((9, 2))])[0]) == 9


def test_input_contract_errors():
    scaler = SequenceScaler().fit(np.ones((3, 5)) * np.arange(5))
    assert scaler.n_features_in_ == 5
    with pytest.raises(ValueError, match="X has 4 features"):
        scaler.transform(np.ones((3, 4)))
    with pytest.raises(ValueError, match="fitted on fixed-length univariate"):
        scaler.transform(np.ones((3, 5, 1)))
    scaler.fit(padded(ragged()))
    assert not hasattr(scaler, "n_features_in_")
    with pytest.raises(ValueError, match="X has 3 channels, but SequenceScaler"):
        scaler.transform(np.ones((2, 4, 3)))
    scaler.fit(to_long_frame(ragged()))
    with pytest.raises(ValueError, match="value columns"):
        scaler.transform(to_long_frame(ragged()).rename(columns={"y": "z"}))


def test_missing_value_without_imputer_raises():
    X = [np.array([[1.0, 2.0], [np.nan, 3.0], [4.0, 5.0]])]
    with pytest.raises(ValueError, match="NaN at sequence 0, timestep 1, channel 0"):
        _check_sequences(X)
    with pytest.raises(ValueError, match="SequenceImputer"):
        SequenceScaler().fit(X)
    with pytest.raises(ValueError, match="NaN"):
        SequenceResampler(length=4).fit(X)


# SequenceImputer ------------------------------------------------------------

# channel 0 has gaps; channel 1 is observed on every step, so no step is
# padding but the last step of channel 0 is missing
GAPPY = np.stack([[np.nan, 2.0, np.nan, np.nan, 8.0, np.nan], np.zeros(6)], -1)[None]


@pytest.mark.parametrize(
    "strategy, expected",
    [
        ("linear", [2.0, 2.0, 4.0, 6.0, 8.0, 8.0]),
        ("ffill", [2.0, 2.0, 2.0, 2.0, 8.0, 8.0]),
        ("zero", [0.0, 2.0, 0.0, 0.0, 8.0, 0.0]),
        ("mean", [5.0, 2.0, 5.0, 5.0, 8.0, 5.0]),
    ],
)
def test_imputer_strategies(strategy, expected):
    imputer = SequenceImputer(strategy=strategy).fit(GAPPY)
    assert_allclose(imputer.mean_, [5.0, 0.0])
    out = imputer.transform(GAPPY)
    assert_allclose(out[0, :, 0], expected)
    assert_allclose(out[0, :, 1], 0.0)


@pytest.mark.parametrize("strategy", ["linear", "ffill"])
def test_imputer_unobserved_channel_takes_training_mean(strategy):
    X = [np.array([[1.0, 10.0], [3.0, 20.0]]), np.array([[np.nan, 5.0], [np.nan, 7.0]])]
    out = SequenceImputer(strategy=strategy).fit_transform(X)
    assert_allclose(out[1][:, 0], 2.0)  # mean of the observed 1 and 3
    assert_allclose(out[1][:, 1], [5.0, 7.0])


def test_imputer_keeps_padding_and_format():
    X = np.array([[1.0, np.nan, 3.0, np.nan, np.nan], [np.nan, 4.0, 5.0, 6.0, 7.0]])
    out = SequenceImputer().fit_transform(X)
    assert_allclose(out, [[1.0, 2.0, 3.0, np.nan, np.nan], [4.0, 4.0, 5.0, 6.0, 7.0]])
    listed = SequenceImputer().fit_transform([np.array([1.0, np.nan, 5.0]), np.ones(2)])
    assert_allclose(listed[0], [1.0, 3.0, 5.0])
    assert listed[0].ndim == 1


def test_imputer_long_format_last_row_missing():
    seqs = [np.array([[1.0, 2.0], [3.0, 4.0]]), np.ones((1, 2)), np.ones((2, 2))]
    X = to_long_frame(seqs)
    X.iloc[1] = np.nan  # entity "a", last time: missing in every channel
    # a long row is a real step even when all its values are NaN
    assert_array_equal(_check_sequences(X, allow_missing=True).lengths, [2, 1, 2])
    out = SequenceImputer().fit_transform(X)
    assert out.index.equals(X.index)
    assert_allclose(out.loc["a"].to_numpy(), [[1.0, 2.0], [1.0, 2.0]])


def test_imputer_needs_an_observed_value_per_channel():
    X = np.array([[[1.0, np.nan], [2.0, np.nan]]])
    with pytest.raises(ValueError, match="channel 1 of X has no observed value"):
        SequenceImputer().fit(X)


def test_imputer_then_scaler_pipeline():
    X = [np.array([1.0, np.nan, 3.0]), np.array([np.nan, 5.0])]
    out = make_pipeline(SequenceImputer(), SequenceScaler()).fit_transform(X)
    assert not np.isnan(np.concatenate(out)).any()


def test_allow_nan_tags():
    assert SequenceImputer().__sklearn_tags__().input_tags.allow_nan
    assert not SequenceScaler().__sklearn_tags__().input_tags.allow_nan


# SequenceResampler ----------------------------------------------------------


@pytest.mark.parametrize("length", [1, 2, 5, 17])
def test_resampler_length_and_endpoints(length):
    seqs = ragged()
    out = SequenceResampler(length=length).fit_transform(seqs)
    assert out.shape == (3, length, 2)
    assert not np.isnan(out).any()
    for o, s in zip(out, seqs, strict=True):
        assert_array_equal(o[0], s[0])
        if length > 1:
            assert_array_equal(o[-1], s[-1])


def test_resampler_interpolates_real_steps_only():
    X = np.array([[0.0, 4.0, np.nan, np.nan], [0.0, 1.0, 2.0, 3.0]])
    resampler = SequenceResampler(length=5).fit(X)
    assert_allclose(resampler.transform(X), [[0, 1, 2, 3, 4], [0, 0.75, 1.5, 2.25, 3]])
    nearest = SequenceResampler(length=3, method="nearest").fit(X)
    assert_allclose(nearest.transform(X), [[0, 4, 4], [0, 2, 3]])


def test_resampler_default_length_and_formats():
    seqs = ragged()
    resampler = SequenceResampler().fit(seqs)
    assert resampler.length_ == 4
    assert_allclose(resampler.transform(seqs)[0], seqs[0])
    out = resampler.transform(to_long_frame(seqs))
    assert isinstance(out, np.ndarray) and out.shape == (3, 4, 2)


# SequenceTruncator ----------------------------------------------------------


def test_truncator_keeps_the_right_end():
    seqs = [np.arange(5.0), np.arange(2.0)]
    end = SequenceTruncator(max_length=3).fit_transform(seqs)
    assert_allclose(end[0], [0.0, 1.0, 2.0])
    start = SequenceTruncator(max_length=3, truncate="start").fit_transform(seqs)
    assert_allclose(start[0], [2.0, 3.0, 4.0])
    for out in (end, start):
        assert_allclose(out[1], [0.0, 1.0])


@pytest.mark.parametrize("truncate", ["end", "start"])
def test_truncator_padded_and_tabular(truncate):
    seqs = ragged()
    X = padded(seqs)
    out = SequenceTruncator(max_length=3, truncate=truncate).fit_transform(X)
    assert out.shape == (3, 3, 2)
    first = seqs[0][:3] if truncate == "end" else seqs[0][-3:]
    assert_allclose(out[0], first)
    assert_allclose(out[1, :2], seqs[1])
    assert np.isnan(out[1, 2]).all()  # still padding
    truncator = SequenceTruncator(max_length=3, truncate=truncate)
    assert_allclose(truncator.fit_transform(X[..., 0]), out[..., 0])


def test_truncator_long_keeps_original_index():
    X = to_long_frame(ragged())
    out = SequenceTruncator(max_length=2, truncate="start").fit_transform(X)
    kept = [("a", 2), ("a", 3), ("b", 0), ("b", 1), ("c", 1), ("c", 2)]
    assert list(out.index) == kept
    assert_allclose(out.to_numpy(), X.loc[out.index].to_numpy())


def test_truncator_default_cap_is_training_length():
    truncator = SequenceTruncator().fit([np.ones(3), np.ones(2)])
    assert truncator.max_length_ == 3
    assert [len(x) for x in truncator.transform([np.ones(6), np.ones(1)])] == [3, 1]


# TokenEncoder ---------------------------------------------------------------


def test_token_encoder_vocabulary_order_and_unknown():
    encoder = TokenEncoder().fit(["b a c", "c b", "C d"])
    # by frequency (c: 3, b: 2), then alphabetically (a, d: 1)
    assert encoder.vocabulary_ == {"c": 2, "b": 3, "a": 4, "d": 5}
    assert encoder.vocab_size_ == 6
    out = encoder.transform(["a zz C", "", "!!"])
    assert all(o.dtype == np.int64 for o in out)
    assert [o.tolist() for o in out] == [[4, 1, 2], [1], [1]]


def test_token_encoder_options():
    texts = ["x y z", "x y", "x", "Q"]
    capped = TokenEncoder(max_tokens=2).fit(texts)
    assert capped.vocabulary_ == {"x": 2, "y": 3}
    assert capped.vocab_size_ == 2 + 2
    assert TokenEncoder(min_frequency=2).fit(texts).vocabulary_ == {"x": 2, "y": 3}
    assert "Q" in TokenEncoder(lowercase=False).fit(texts).vocabulary_
    short = TokenEncoder(max_length=2).fit(texts)
    assert [len(o) for o in short.transform(texts)] == [2, 2, 1, 1]
    pattern = TokenEncoder(token_pattern=r"[a-z]").fit(["ab"])
    assert pattern.vocabulary_ == {"a": 2, "b": 3}
    encoder = TokenEncoder()
    once = np.concatenate(encoder.fit_transform(texts))
    assert_array_equal(once, np.concatenate(encoder.transform(texts)))


@pytest.mark.parametrize(
    "X, match",
    [
        ("one text", "single string"),
        (["fine", 3], r"X\[1\] is int"),
        ([b"bytes"], r"X\[0\] is bytes"),
        (pd.DataFrame({"text": ["a"]}), "df\\['text'\\]"),
        (5, "iterable of strings"),
    ],
)
def test_token_encoder_rejects_non_text(X, match):
    with pytest.raises(TypeError, match=match):
        TokenEncoder().fit(X)


def test_token_encoder_bad_pattern():
    with pytest.raises(ValueError, match="not a valid regular expression"):
        TokenEncoder(token_pattern="(").fit(["a"])
    with pytest.raises(ValueError, match="2 capturing groups"):
        TokenEncoder(token_pattern="(a)(b)").fit(["ab"])


def sentiment_texts(n, seed):
    rng = np.random.RandomState(seed)
    fillers = ["the", "film", "plot", "was", "very", "actors", "a", "story", "it"]
    texts, y = [], rng.randint(0, 2, n)
    for label in y:
        words = list(rng.choice(fillers, rng.randint(3, 8)))
        words.insert(rng.randint(len(words) + 1), "good" if label else "bad")
        texts.append(" ".join(words))
    return texts, y


def test_token_encoder_pipeline_learns_a_word_rule():
    X_train, y_train = sentiment_texts(96, seed=0)
    X_test, y_test = sentiment_texts(60, seed=1)
    model = make_pipeline(
        TokenEncoder(max_tokens=20),
        LSTMAttentionClassifier(
            vocab_size=22,
            padding_idx=0,
            hidden_size=8,
            max_epochs=15,
            batch_size=16,
            lr=1e-2,
            random_state=0,
        ),
    )
    model.fit(X_train, y_train)
    assert model[0].vocab_size_ <= 22
    assert model.score(X_test, y_test) >= 0.9


def test_scaler_pipeline_on_ragged_sequences():
    rng = np.random.RandomState(0)
    y = np.arange(40) % 2
    X = [rng.normal(3.0 * (2 * label - 1), 1.0, (rng.randint(5, 12), 2)) for label in y]
    model = make_pipeline(
        SequenceScaler(),
        TransformerClassifier(
            d_model=8,
            num_heads=2,
            num_layers=1,
            dim_feedforward=16,
            max_epochs=10,
            batch_size=16,
            lr=1e-2,
            random_state=0,
        ),
    )
    pred = model.fit(X, y).predict(X)
    assert pred.shape == (40,)
    assert (pred == y).mean() >= 0.9


@pytest.mark.parametrize("cls", NUMERIC)
def test_transform_before_fit_raises(cls):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        cls().transform(ragged())


@pytest.mark.parametrize("scale", [1e200, 1e-200])
def test_statistics_of_huge_and_tiny_values_stay_finite(scale):
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(n, 2)) for n in (3, 5, 4)]
    big = [s * scale for s in X]
    # the squares of 1e200 overflowed the std (inf): the output was all 0
    expected = SequenceScaler().fit_transform(X)
    for a, b in zip(SequenceScaler().fit_transform(big), expected, strict=True):
        assert_allclose(a, b, rtol=1e-9)
    imputer = SequenceImputer(strategy="mean").fit(big)
    assert_allclose(imputer.mean_ / scale, SequenceImputer().fit(X).mean_, rtol=1e-9)


# event data: categorical columns, entity attributes, passthrough -------------


def event_frame():
    """Events in shuffled rows: a string event type with a missing value, a
    category column, an amount, and the customer's plan and age (constant per
    customer); tz-aware times, one of them shared by two events."""
    times = pd.to_datetime(
        ["2024-01-01", "2024-01-03", "2024-01-03", "2024-01-09", "2024-01-02"]
        + ["2024-01-05", "2024-02-01"],
        utc=True,
    )
    X = pd.DataFrame(
        {
            "event": ["view", "buy", None, "view", "refund", "buy", "view"],
            "shop": pd.Categorical(["web", "web", "app", "app", "web", "app", "web"]),
            "amount": [1.0, 4.0, 2.0, 8.0, 3.0, 5.0, 7.0],
            "plan": ["gold"] * 4 + ["free"] * 3,
            "age": [30.0] * 4 + [55.0] * 3,
        },
        index=pd.MultiIndex.from_arrays(
            [["a", "a", "a", "a", "b", "b", "b"], times], names=["customer", "time"]
        ),
    )
    return X.iloc[[4, 0, 6, 2, 1, 5, 3]]  # not in (customer, time) order


def assert_columns_untouched(out, X, columns):
    for c in columns:
        pd.testing.assert_series_equal(out[c], X[c])


@pytest.mark.parametrize("per_sequence", [False, True])
def test_scaler_passes_categories_and_attributes_through(per_sequence):
    X = event_frame()
    before = X.copy()
    scaler = SequenceScaler(per_sequence=per_sequence, passthrough=["age"])
    out = scaler.fit_transform(X)
    pd.testing.assert_frame_equal(X, before)  # not changed in place
    # the index (times included), the row order and the columns are X's
    assert out.index.equals(X.index)
    assert list(out.columns) == list(X.columns)
    assert_columns_untouched(out, X, ["event", "shop", "plan", "age"])
    assert scaler.is_passthrough_.tolist() == [True, True, False, True, True]
    amount = X["amount"]
    if per_sequence:
        by_customer = amount.groupby(level=0)
        expected = (amount - by_customer.transform("mean")) / by_customer.transform(
            lambda a: a.std(ddof=0)
        )
    else:
        expected = (amount - amount.mean()) / amount.std(ddof=0)
        assert_allclose(scaler.mean_, [0.0, 0.0, amount.mean(), 0.0, 0.0])
        assert_allclose(scaler.scale_, [1.0, 1.0, amount.std(ddof=0), 1.0, 1.0])
        back = scaler.inverse_transform(out)
        pd.testing.assert_frame_equal(back, X)
    assert_allclose(out["amount"], expected)


def test_pipeline_scaler_and_event_model():
    X = event_frame()
    y = pd.Series([1, 0], index=["a", "b"])
    model = make_pipeline(
        SequenceScaler(passthrough=["age"]),
        LSTMAttentionClassifier(
            hidden_size=4,
            max_epochs=2,
            time_features="gap",
            static_features=["plan", "age"],
            n_threads=1,
            random_state=0,
        ),
    ).fit(X, y)
    estimator = model[-1]
    assert estimator.categories_[0].tolist() == ["buy", "refund", "view"]
    assert estimator.static_categories_[0].tolist() == ["free", "gold"]
    assert model.predict(X).shape == (2,)


def test_scaler_warns_when_per_sequence_erases_an_attribute():
    X = event_frame()
    with pytest.warns(UserWarning, match=r"columns \['age'\] of X are constant"):
        SequenceScaler(per_sequence=True).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SequenceScaler(per_sequence=True, passthrough=["age"]).fit(X)
        SequenceScaler(passthrough=None).fit(X)  # an affine map keeps it constant


def test_passthrough_on_arrays():
    rng = np.random.default_rng(0)
    X = rng.normal(3.0, 2.0, size=(5, 6, 3))
    X[:, :, 1] = rng.integers(0, 4, size=(5, 6))  # integer codes
    X[0, 2, 1] = np.nan  # a missing category
    X[1, 4:] = np.nan  # padding
    for spec in ([1], [-2], [False, True, False]):
        scaler = SequenceScaler(passthrough=spec).fit(X)
        out = scaler.transform(X)
        assert_array_equal(out[..., 1], X[..., 1])  # codes as they were
        assert_array_equal(scaler.is_passthrough_, [False, True, False])
        assert (scaler.mean_[1], scaler.scale_[1]) == (0.0, 1.0)
        steps = X[~np.isnan(X[..., 0])][:, [0, 2]]
        scaled = (steps - steps.mean(0)) / steps.std(0)
        assert_allclose(out[..., [0, 2]][~np.isnan(X[..., 0])], scaled)
        assert_allclose(scaler.inverse_transform(out), X)
    per_sequence = SequenceScaler(per_sequence=True, passthrough=[1]).fit_transform(X)
    assert_array_equal(per_sequence[..., 1], X[..., 1])
    # without passthrough the missing category is a missing value
    with pytest.raises(ValueError, match="NaN at sequence 0, timestep 2, channel 1"):
        SequenceScaler().fit(X)
    hole = X.copy()
    hole[2, 1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN at sequence 2, timestep 1, channel 2"):
        SequenceScaler(passthrough=[1]).fit(X).transform(hole)
    # the imputer leaves a missing category missing, fills the other channels
    imputed = SequenceImputer(passthrough=[1]).fit_transform(hole)
    assert np.isnan(imputed[0, 2, 1]) and not np.isnan(imputed[2, 1, 2])
    assert np.isnan(SequenceImputer(passthrough=[1]).fit(X).mean_[1])
    # the resampler takes the nearest step of the codes, never a fraction
    resampled = SequenceResampler(length=11, passthrough=[1]).fit_transform(X[2:])
    codes = resampled[..., 1]
    assert set(np.unique(codes)) <= set(np.unique(X[2:, :, 1]))
    assert_allclose(resampled[:, [0, -1], 0], X[2:, [0, -1], 0])


def test_other_transformers_on_event_frames():
    X = event_frame()
    imputed = SequenceImputer().fit_transform(X)
    assert imputed["event"].isna().sum() == 1  # a missing category stays missing
    assert_columns_untouched(imputed, X, ["event", "shop", "plan"])
    # the truncator keeps whole rows: every column with its dtype, in X's order
    kept = SequenceTruncator(max_length=2, truncate="start").fit_transform(X)
    # the last two events of each: b at 02-01 and 01-05; a at 01-09 and the
    # later of its two events at 01-03 (in row order), the "buy"
    pd.testing.assert_frame_equal(kept, X.iloc[[2, 4, 5, 6]])
    # duplicate times: the two events of a at 01-03 are both kept at max_length 3
    tied = SequenceTruncator(max_length=3).fit_transform(X)
    assert (tied.index.get_level_values(0) == "a").sum() == 3
    # the resampler's float output cannot hold strings: an error names them
    with pytest.raises(TypeError, match=r"cannot hold the columns \['event', 'shop'"):
        SequenceResampler(length=3).fit(X).transform(X)
    numeric = X[["amount", "age"]]
    resampled = SequenceResampler(length=3, passthrough=["age"]).fit_transform(numeric)
    assert_allclose(resampled[:, :, 1], [[30.0] * 3, [55.0] * 3])


def test_passthrough_errors():
    X = event_frame()
    with pytest.raises(ValueError, match="passthrough names column 'plna'"):
        SequenceScaler(passthrough=["plna"]).fit(X)
    with pytest.raises(ValueError, match="passthrough holds channel index 7"):
        SequenceScaler(passthrough=[7]).fit(X)
    with pytest.raises(ValueError, match="passthrough is a boolean mask of 2 entries"):
        SequenceScaler(passthrough=[True, False]).fit(X)
    with pytest.raises(ValueError, match="no named value columns"):
        SequenceScaler(passthrough=["age"]).fit(np.ones((2, 3, 2)))
    scaler = SequenceScaler().fit(X.assign(plan=np.arange(len(X), dtype=float)))
    with pytest.raises(TypeError, match="column 'plan' of X holds strings, but it"):
        scaler.transform(X)
    with pytest.raises(ValueError, match="value columns"):
        scaler.transform(X.rename(columns={"age": "years"}))
    with pytest.raises(ValueError, match="'amount' is NaN for entity 'b', time"):
        SequenceScaler().fit(X).transform(X.assign(amount=[np.nan, *X["amount"][1:]]))
