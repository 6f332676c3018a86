"""Property-based fuzzing of every public entry point, with hypothesis.

The contract under test: every call either succeeds with finite output of
the right shape, or raises ``ValueError``/``TypeError`` raised by skattn or
by scikit-learn's validation (never an error from inside torch, numpy,
pandas or skorch, and never another type such as ``IndexError``); and no
call changes its input.

Most generated inputs are invalid and test the rejection paths; valid
inputs have their own strategy (``valid_sequences``) and tests that require
every example to succeed, so that a regression on the success path fails.

Budget: at most 60 s on one CPU core; measured 45 s of CPU time for the whole
file, start-up included, on a 2-core x86 VM. Models are tiny (4 units, 1 epoch)
and those that are only asked to predict are fitted once per module; the
example counts below are sized to that budget, with room for slower CI. Every
test runs derandomized, without an example database, so CI tries the same
inputs on every run. To search longer locally, multiply the counts
(``SKATTN_FUZZ_SCALE=20 python -m pytest tests/test_fuzz.py``: about 10
minutes), and to try other inputs than CI's, let hypothesis draw at random
(``SKATTN_FUZZ_RANDOM=1``; it prints the seed to reproduce a failure).
"""

import copy
import io
import os
import traceback
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, Phase, assume, event, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import is_classifier
from sklearn.pipeline import make_pipeline

import skattn
from skattn import (
    AttentionPoolingTransformer,
    LSTMAttentionClassifier,
    LSTMAttentionRegressor,
    SequenceImputer,
    SequenceResampler,
    SequenceScaler,
    SequenceTruncator,
    TokenEncoder,
    TransformerClassifier,
    TransformerRegressor,
)
from skattn.data import (
    _is_long,
    _is_ragged,
    from_channels_first,
    from_long,
    sequence_lengths,
    to_long,
    to_padded,
)
from skattn.exceptions import UnknownCategoryWarning
from skattn.inspection import attention_weights

from ._params import TINY_TRAINING, TINY_TRANSFORMER

pytestmark = pytest.mark.slow

SCALE = float(os.environ.get("SKATTN_FUZZ_SCALE", "1"))
RANDOM = bool(os.environ.get("SKATTN_FUZZ_RANDOM"))


def fuzz(max_examples):
    """Settings of every test here: reproducible, and sized to the budget."""
    return settings(
        max_examples=max(1, int(max_examples * SCALE)),
        derandomize=not RANDOM,
        database=None,
        deadline=None,  # a slow example is reported by the budget, not flakily
        phases=[Phase.explicit, Phase.generate, Phase.shrink],  # no slow "explain"
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# -- the contract ------------------------------------------------------------


def assert_clear_error(exc):
    """``exc`` is a ValueError/TypeError raised by skattn or sklearn."""
    assert isinstance(exc, (ValueError, TypeError)), repr(exc)
    origin = traceback.extract_tb(exc.__traceback__)[-1].filename
    inside = f"{os.sep}skattn{os.sep}", f"{os.sep}sklearn{os.sep}"
    assert any(part in origin for part in inside), (
        f"{type(exc).__name__} raised in {origin}: {exc}"
    )
    message = str(exc)
    assert message.strip() and "read-only" not in message, message


def attempt(fn, *args, **kwargs):
    """``(result, None)`` or ``(None, error)`` after checking the error."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = fn(*args, **kwargs)
    except (ValueError, TypeError) as exc:
        assert_clear_error(exc)
        event(f"{getattr(fn, '__name__', fn)}: {type(exc).__name__}: {str(exc)[:30]}")
        return None, exc
    event(f"{getattr(fn, '__name__', fn)}: ok")
    return result, None


def snapshot(X):
    if isinstance(X, tuple):
        return tuple(snapshot(x) for x in X)
    if hasattr(X, "__next__"):  # a generator cannot be copied
        return X
    return copy.deepcopy(X)


def assert_unchanged(before, after):
    """Deep, NaN-aware equality of inputs before and after a call."""
    assert type(before) is type(after)
    if isinstance(before, pd.DataFrame):
        pd.testing.assert_frame_equal(before, after)
    elif isinstance(before, pd.Series):
        assert before.index.equals(after.index)
        for a, b in zip(before.to_numpy(), after.to_numpy(), strict=True):
            assert_unchanged(a, b)
    elif isinstance(before, np.ndarray):
        assert before.dtype == after.dtype and before.shape == after.shape
        if before.dtype.kind == "O":
            for a, b in zip(before.ravel(), after.ravel(), strict=True):
                assert_unchanged(a, b)
        else:
            assert before.tobytes() == after.tobytes()
    elif isinstance(before, (list, tuple)):
        assert len(before) == len(after)
        for a, b in zip(before, after, strict=True):
            assert_unchanged(a, b)
    elif isinstance(before, torch.Tensor):
        assert torch.equal(before, after) or torch.equal(
            torch.isnan(before), torch.isnan(after)
        )
    elif hasattr(before, "__next__"):  # an iterator: copies are new objects
        pass
    elif isinstance(before, float) and np.isnan(before):
        assert np.isnan(after)
    else:
        assert before == after


def n_sequences(X):
    if isinstance(X, pd.DataFrame) and isinstance(X.index, pd.MultiIndex):
        return X.index.get_level_values(0).nunique()
    return len(X)


# -- inputs --------------------------------------------------------------------

DTYPES = [
    np.float64,
    np.float64,
    np.float32,
    np.float16,
    np.int64,
    np.int8,
    np.uint8,
    np.bool_,
    object,
    str,
    np.complex128,
    "datetime64[s]",
]
SPECIAL = [np.nan, np.inf, -np.inf, 0.0, 1e308, -1e308, 5e-324, 1e30, 1e-30]


@st.composite
def values(draw, shape):
    """Float64 values of ``shape``: normal at a random scale, a few special
    values, and trailing NaN padding on some sequences."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = draw(st.sampled_from([1.0, 1.0, 1e-30, 1e30, 1e300, 1e-300]))
    a = rng.normal(size=shape) * scale
    if draw(st.integers(0, 3)) == 0:
        a = np.round(a)  # constant-ish and integer data
    if a.size and draw(st.booleans()):
        for _ in range(draw(st.integers(1, 3))):
            where = tuple(draw(st.integers(0, s - 1)) for s in shape)
            a[where] = draw(st.sampled_from(SPECIAL))
    if a.ndim >= 2 and a.shape[1] > 1 and draw(st.booleans()):  # padding
        for i in range(a.shape[0]):
            a[i, draw(st.integers(1, a.shape[1])) :] = np.nan
    return a


@st.composite
def cast(draw, a):
    dtype = draw(st.sampled_from(DTYPES))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = a.astype(dtype)
    if dtype in (object, str) and out.size and draw(st.integers(0, 3)) == 0:
        out = out.astype(object)
        out.flat[draw(st.integers(0, out.size - 1))] = draw(
            st.sampled_from(["abc", "", None, b"1", {"a": 1}, [1.0], 2 + 1j])
        )
    return out


SIZES = st.sampled_from([1, 1, 2, 3, 5, 0, 40])
LENGTHS = st.sampled_from([1, 2, 3, 6, 6, 0, 300])
CHANNELS = st.sampled_from([1, 1, 1, 2, 0, 3])


@st.composite
def arrays(draw, ndim=None):
    ndim = draw(st.sampled_from([2, 3, 3])) if ndim is None else ndim
    shape = (draw(SIZES), draw(LENGTHS), draw(CHANNELS))[:ndim]
    return draw(cast(draw(values(shape))))


@st.composite
def ragged(draw):
    """A list (or tuple, object array, Series) of per-sequence arrays."""
    n = draw(st.sampled_from([1, 2, 3, 7, 0]))
    channels = draw(CHANNELS)
    seqs = []
    for _ in range(n):
        length = draw(st.sampled_from([1, 2, 5, 9, 0]))
        c = channels if draw(st.integers(0, 9)) else draw(CHANNELS)
        s = draw(values((length, c)))
        if c == 1 and draw(st.booleans()):
            s = s[:, 0]
        kind = draw(st.integers(0, 12))
        if kind == 0:
            s = s.tolist()
        elif kind == 1:
            s = draw(
                st.sampled_from(
                    [
                        None,
                        3.0,
                        "abc",
                        {"a": 1},
                        np.ones((2, 2, 2)),
                        [[1.0, 2.0], [3.0]],
                    ]
                )
            )
        elif kind == 2:
            s = draw(cast(s))
        seqs.append(s)
    form = draw(st.integers(0, 5))
    if form == 1:
        return tuple(seqs)
    if form == 2 and seqs:
        out = np.empty(len(seqs), dtype=object)
        out[:] = seqs
        return out
    if form == 3:
        index = draw(st.sampled_from([None, "odd"]))
        return pd.Series(
            seqs,
            dtype=object,
            index=None if index is None else [f"s{-i}" for i in range(len(seqs))],
        )
    return seqs


ODD_LABELS = [
    lambda k: list(range(k)),
    lambda k: [f"c{i}" for i in range(k)],
    lambda k: list(range(k, 0, -1)),
    lambda k: [("t", i) for i in range(k)],
    lambda k: [i if i % 2 else str(i) for i in range(k)],
    lambda k: [0] * k,  # duplicates
    lambda k: [1.5 * i - 3 for i in range(k)],
]


@st.composite
def wide_frames(draw):
    a = draw(arrays(ndim=2))
    n, t = a.shape
    columns = draw(st.sampled_from(ODD_LABELS))(t)
    index = draw(st.sampled_from(ODD_LABELS))(n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.DataFrame(a, columns=columns, index=index)


@st.composite
def long_frames(draw):
    """A long DataFrame: MultiIndex (entity, time), odd ids, times, columns."""
    n = draw(st.sampled_from([1, 2, 4, 0]))
    channels = draw(st.sampled_from([1, 1, 2, 0]))
    lengths = [draw(st.sampled_from([1, 2, 4])) for _ in range(n)]
    rows = sum(lengths)
    ids_kind = draw(st.integers(0, 5))
    entity = np.repeat(np.arange(n), lengths)
    ids = {
        0: entity,
        1: np.array([f"id{e}" for e in entity], dtype=object),
        2: np.array([e if e % 2 else f"x{e}" for e in entity], dtype=object),
        3: np.where(entity == 0, np.nan, entity.astype(float)),
        4: -entity * 1.5,
        5: pd.to_datetime(entity, unit="D").to_numpy(),
    }[ids_kind]
    time = np.concatenate([np.arange(k) for k in lengths]) if n else np.array([])
    time = {
        0: time,
        1: time[::-1].copy(),
        2: time * 0.5,
        3: np.array([f"t{x}" for x in time], dtype=object),
        4: np.zeros_like(time),  # duplicate (entity, time) pairs
    }[draw(st.integers(0, 4))]
    names = draw(st.sampled_from([["id", "time"], [None, None], ["a", "a"], [0, 1]]))
    index = pd.MultiIndex.from_arrays([ids, time], names=names)
    data = {}
    for c in range(channels):
        column = draw(values((rows,)))
        kind = draw(st.integers(0, 6))
        if kind == 0:
            column = column.astype(object).astype(str)
        elif kind == 1:
            column = pd.array(np.round(np.nan_to_num(column, posinf=0, neginf=0)))
            column = column.astype("Int64")
        elif kind == 2:
            column = column > 0
        name = draw(st.sampled_from([f"v{c}", c, "id", "time"]))
        data[name] = column
    frame = pd.DataFrame(data, index=index)
    if rows and draw(st.booleans()):
        frame = frame.sample(frac=1.0, random_state=0)  # rows out of order
    return frame


@st.composite
def event_frames(draw, n_entities=None):
    """An event table: a category column (missing values, sometimes a
    ``category`` dtype, sometimes high cardinality), an amount, a static
    plan and age per entity (sometimes not constant), and timestamps that
    may be tz-aware and may repeat within an entity; rows may be shuffled."""
    n = draw(st.integers(1, 6)) if n_entities is None else n_entities
    lengths = [draw(st.integers(1, 5)) for _ in range(n)]
    rows = sum(lengths)
    entity = np.repeat(np.arange(n), lengths)
    kinds = draw(st.sampled_from([["a", "b"], ["a", "b", "c", "d"], None]))
    if kinds is None:  # about one category per event
        kinds = [f"k{i}" for i in range(rows)]
    event = np.array(
        [draw(st.sampled_from([*kinds, None, np.nan])) for _ in range(rows)],
        dtype=object,
    )
    seconds = np.concatenate(
        [
            np.sort(draw(st.lists(st.integers(0, 10), min_size=k, max_size=k)))
            for k in lengths
        ]
    )  # repeats are several events at one time
    times = pd.to_datetime(seconds * 3600, unit="s")
    tz = draw(st.sampled_from([None, "UTC", "America/New_York"]))
    if tz is not None:
        times = times.tz_localize(tz)
    ids = np.array([f"id{e}" for e in entity], dtype=object)
    plan = np.array(["free", "gold", "team"], dtype=object)[entity % 3]
    age = 20.0 + entity
    if draw(st.booleans()) and rows > n:  # an attribute that varies
        age = age + np.arange(rows) % 2
    frame = pd.DataFrame(
        {
            "event": event,
            "amount": draw(values((rows,))) if draw(st.booleans()) else np.ones(rows),
            "plan": plan,
            "age": age,
        },
        index=pd.MultiIndex.from_arrays([ids, times], names=["id", "time"]),
    )
    if draw(st.booleans()):
        frame["event"] = frame["event"].astype("category")
    if draw(st.booleans()):
        frame = frame.sample(frac=1.0, random_state=0)  # rows out of order
    return frame


JUNK = st.sampled_from(
    [
        None,
        3.0,
        "abc",
        {"a": [1.0]},
        np.float64(2.0),
        np.ones(5),
        np.ones((2, 3, 1, 1)),
        torch.ones(2, 4, 1),
        pd.Series([1.0, 2.0]),
        [[1.0, 2.0], [3.0, 4.0]],
        [],
    ]
) | st.builds(lambda: (s for s in [np.ones(3)]))  # a generator, not a list
INPUTS = st.one_of(
    arrays(), ragged(), wide_frames(), long_frames(), event_frames(), JUNK
)


# Inputs that every entry point must accept. INPUTS above mostly reach the
# rejection paths (a few percent of its examples are valid), so valid input
# has its own strategy and tests that require success.
VALID_FORMATS = ["list", "tuple", "object array", "padded", "float32", "long"]


@st.composite
def valid_sequences(
    draw, n_channels=None, min_sequences=1, max_length=9, channel_names=None
):
    """Well-formed sequences in any format: finite values at a sane random
    scale, ragged or equal lengths, NaN only as trailing padding. Long frames
    name their value columns ``channel_names`` when given."""
    n = draw(st.integers(min_sequences, 10), label="n")
    channels = n_channels or draw(st.integers(1, 3), label="channels")
    if draw(st.booleans(), label="equal lengths"):
        lengths = [draw(st.integers(1, max_length), label="length")] * n
    else:
        lengths = draw(st.lists(st.integers(1, max_length), min_size=n, max_size=n))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = draw(st.sampled_from([1.0, 1.0, 1e-20, 1e20]), label="scale")
    offset = draw(st.sampled_from([0.0, 0.0, 1e3]), label="offset")
    seqs = [(rng.normal(size=(k, channels)) + offset) * scale for k in lengths]
    form = draw(st.sampled_from(VALID_FORMATS), label="format")
    if form == "list":
        return seqs
    if form == "tuple":
        return tuple(seqs)
    if form == "object array":
        out = np.empty(n, dtype=object)
        out[:] = seqs
        return out
    if form == "long":
        return to_long(seqs, value_cols=channel_names).set_index(["id", "time"])
    padded = to_padded(seqs, dtype=np.float64)[0]  # NaN after each sequence
    if form == "float32" and 1e-30 < scale < 1e30:
        padded = padded.astype(np.float32)
    if channels == 1 and len(set(lengths)) == 1 and draw(st.booleans()):
        padded = padded[:, :, 0]  # 2D, one column per timestep
    return padded


# -- fitted models (module scope: fitted once) --------------------------------


def _train_data():
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(rng.integers(1, 7), 1)) for _ in range(12)]
    return X, np.array(["a", "b", "c"] * 4)


@pytest.fixture(scope="module")
def fitted():
    torch.set_num_threads(1)
    X, y = _train_data()
    rng = np.random.default_rng(1)
    y2 = rng.normal(size=(12, 2))
    tokens = [rng.integers(1, 7, size=rng.integers(1, 6)) for _ in range(12)]
    long = to_long(X, value_cols=["a"]).set_index(["id", "time"])
    return [
        LSTMAttentionClassifier(hidden_size=4, **TINY_TRAINING).fit(X, y),
        LSTMAttentionRegressor(
            hidden_size=4, cell="gru", bidirectional=False, **TINY_TRAINING
        ).fit(X, y2),
        TransformerClassifier(
            positional_encoding="learned",
            query="last",
            **TINY_TRANSFORMER,
            **TINY_TRAINING,
        ).fit(X, y),
        TransformerRegressor(
            attention="additive", **TINY_TRANSFORMER, **TINY_TRAINING
        ).fit(X, y2[:, 0]),
        AttentionPoolingTransformer(
            encoder="lstm", hidden_size=2, attention="dot", **TINY_TRAINING
        ).fit(X),
        TransformerClassifier(**TINY_TRANSFORMER, **TINY_TRAINING).fit(
            np.stack([np.resize(s[:, 0], 6) for s in X]), y
        ),  # 2D: six timesteps
        LSTMAttentionClassifier(
            hidden_size=4, vocab_size=8, padding_idx=0, **TINY_TRAINING
        ).fit(tokens, y),
        LSTMAttentionRegressor(hidden_size=4, **TINY_TRAINING).fit(long, y2[:, 0]),
    ]


def check_output(model, method, X, out):
    n = n_sequences(X)
    if method == "predict":
        if hasattr(model, "classes_"):
            assert out.shape == (n,) and np.isin(out, model.classes_).all()
        else:
            assert out.shape[0] == n and np.isfinite(out).all()
    elif method == "predict_proba":
        assert out.shape == (n, len(model.classes_))
        assert np.isfinite(out).all() and (out >= 0).all()
        assert_allclose(out.sum(axis=1), 1.0, atol=1e-9)
    elif method == "transform":
        assert out.shape == (n, model._n_features_out) and np.isfinite(out).all()
    else:  # attention weights [n, t] or [n, h, t]
        assert out.shape[0] == n and np.isfinite(out).all() and (out >= 0).all()
        assert_allclose(out.sum(axis=-1), 1.0, atol=1e-9)
        # as wide as X: its padded width (a list: its longest sequence)
        assert out.shape[-1] == to_padded(X, dtype=np.float64)[0].shape[1]


METHODS = ["predict", "predict_proba", "transform", "attention_weights", "per_head"]


def draw_prediction(fitted, data):
    """A fitted model and one of its prediction methods, with its kwargs."""
    model = data.draw(st.sampled_from(fitted), label="model")
    method = data.draw(st.sampled_from(METHODS), label="method")
    kwargs = {}
    if method == "per_head":
        method, kwargs = "attention_weights", {"per_head": True}
    assume(hasattr(model, method))
    return model, method, kwargs


@fuzz(1000)
@given(data=st.data(), X=INPUTS)
def test_prediction_methods_on_any_input(fitted, data, X):
    model, method, kwargs = draw_prediction(fitted, data)
    before = snapshot(X)
    out, _ = attempt(getattr(model, method), X, **kwargs)
    if out is not None:
        check_output(model, method, X, out)
    assert_unchanged(before, X)


def valid_input_for(model, draw):
    """Input that ``model`` must accept: its channels, width or tokens."""
    if model.vocab_size is not None:
        n = draw(st.integers(1, 10))
        return [
            # padding (0) may follow real tokens; a sequence of padding only
            # is an error
            np.array(
                [draw(st.integers(1, 7))]
                + draw(st.lists(st.integers(0, 7), max_size=8))
            )
            for _ in range(n)
        ]
    if hasattr(model, "n_features_in_"):  # fitted on 2D input: that many columns
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        return rng.normal(size=(draw(st.integers(1, 10)), model.n_features_in_))
    # learned positions exist only up to the longest training sequence
    learned = getattr(model, "positional_encoding", None) == "learned"
    longest = model._max_length if learned else 9
    # a model fitted on named columns (a long frame) needs those names
    return draw(
        valid_sequences(
            n_channels=model.n_channels_in_,
            max_length=longest,
            channel_names=model._channel_names,
        )
    )


@fuzz(150)
@given(data=st.data())
def test_prediction_methods_on_valid_input(fitted, data):
    model, method, kwargs = draw_prediction(fitted, data)
    X = valid_input_for(model, data.draw)
    before = snapshot(X)
    out = getattr(model, method)(X, **kwargs)  # valid input: no error allowed
    check_output(model, method, X, out)
    assert_unchanged(before, X)


# -- fitting on any input and target -------------------------------------------


@st.composite
def targets(draw, n):
    kind = draw(st.integers(0, 14))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == 0:
        return rng.integers(0, 3, size=n)
    if kind == 1:
        return np.array(["a", "b"] * n)[:n]
    if kind == 2:
        return [1, "a"] * (n // 2) + [1] * (n % 2)  # mixed types
    if kind == 3:
        return np.array([1, "a", None] * n, dtype=object)[:n]
    if kind == 4:
        y = rng.normal(size=n)
        y[: draw(st.integers(0, 1))] = np.nan
        return y
    if kind == 5:
        return np.zeros(n)  # a single class
    if kind == 6:
        return rng.integers(0, 2, size=max(n + draw(st.sampled_from([-1, 1])), 0))
    if kind == 7:
        return rng.normal(size=(n, 2)) * draw(st.sampled_from([1e-12, 1e12, 1e300]))
    if kind == 8:
        return pd.Series(rng.integers(0, 2, size=n), index=[f"i{-k}" for k in range(n)])
    if kind == 9:
        return rng.normal(size=n) + 1j
    if kind == 10:
        return np.full(n, np.inf)
    if kind == 11:
        return rng.integers(0, 2, size=n).astype(bool)
    if kind == 12:
        return None
    if kind == 13:
        return rng.normal(size=(n, 1, 1))
    return (rng.normal(size=n) * 1e-12).tolist()


@st.composite
def sample_weights(draw, n):
    kind = draw(st.integers(0, 7))
    if kind <= 2:
        return None
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    w = rng.uniform(0, 2, size=n)
    if kind == 3:
        w[: max(n - 1, 0)] = 0.0  # one sample left
    elif kind == 4 and n:
        w[0] = draw(st.sampled_from([-1.0, np.nan, np.inf, 1e308]))
    elif kind == 5:
        w = np.zeros(n)
    elif kind == 6:
        w = w[:-1]
    return w


def _estimators():
    return [
        LSTMAttentionClassifier(hidden_size=4, **TINY_TRAINING),
        LSTMAttentionRegressor(
            hidden_size=4, attention="multihead", num_heads=2, **TINY_TRAINING
        ),
        TransformerClassifier(pooling="cls", **TINY_TRANSFORMER, **TINY_TRAINING),
        TransformerRegressor(
            positional_encoding=None, **TINY_TRANSFORMER, **TINY_TRAINING
        ),
        AttentionPoolingTransformer(**TINY_TRANSFORMER, **TINY_TRAINING),
        AttentionPoolingTransformer(encoder="lstm", hidden_size=2, **TINY_TRAINING),
    ]


@fuzz(320)
@given(data=st.data(), X=st.one_of(arrays(), ragged(), wide_frames(), long_frames()))
def test_fit_on_any_input_and_target(data, X):
    est = data.draw(st.sampled_from(_estimators()), label="estimator")
    n = n_sequences(X) if hasattr(X, "__len__") else 0
    y = data.draw(targets(n), label="y")
    if y is None and est._supervised:
        y = np.arange(n) % 2
    sample_weight = data.draw(sample_weights(n), label="sample_weight")
    before = snapshot((X, y, sample_weight))
    fitted, _ = attempt(est.fit, X, y, sample_weight=sample_weight)
    assert_unchanged(before, (X, y, sample_weight))
    if fitted is not None:
        method = "transform" if not hasattr(fitted, "predict") else "predict"
        out = getattr(fitted, method)(X)
        check_output(fitted, method, X, out)
        if fitted.pooling == "attention":
            check_output(fitted, "attention", X, fitted.attention_weights(X))
        buffer = io.BytesIO()  # whatever fit accepted, save and load keep
        fitted.save(buffer)
        buffer.seek(0)
        loaded = skattn.load(buffer)
        np.testing.assert_array_equal(getattr(loaded, method)(X), out)


@st.composite
def valid_targets(draw, estimator, n):
    """Targets ``estimator`` must accept for ``n`` sequences."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if not estimator._supervised:
        return None
    if is_classifier(estimator):
        labels = draw(
            st.sampled_from([[0, 1], ["a", "b", "c"], [-1.5, 2.0], [True, False]])
        )
        y = np.array(labels)[np.arange(n) % len(labels)]  # every class present
        return y.tolist() if draw(st.booleans()) else y
    scale = draw(st.sampled_from([1.0, 1e-12, 1e12]))
    shape = draw(st.sampled_from([(n,), (n, 2)]))
    return rng.normal(size=shape) * scale


@fuzz(60)
@given(data=st.data())
def test_fit_on_valid_input(data):
    est = data.draw(st.sampled_from(_estimators()), label="estimator")
    X = data.draw(valid_sequences(min_sequences=4), label="X")
    y = data.draw(valid_targets(est, n_sequences(X)), label="y")
    kind = data.draw(st.sampled_from([None, "varied", "one zero"]), label="weights")
    weight = None if kind is None else np.linspace(0.5, 2.0, n_sequences(X))
    if kind == "one zero":
        weight[0] = 0.0
    before = snapshot((X, y, weight))
    fitted = est.fit(X, y, sample_weight=weight)  # valid input: no error allowed
    assert_unchanged(before, (X, y, weight))
    assert fitted.n_iter_ == 1 and np.isfinite(fitted.history_[-1]["train_loss"])
    method = "transform" if not hasattr(fitted, "predict") else "predict"
    out = getattr(fitted, method)(X)
    check_output(fitted, method, X, out)
    if is_classifier(fitted):
        assert_array_equal(np.sort(fitted.classes_), np.unique(y))
    if fitted.pooling == "attention":
        check_output(fitted, "attention", X, fitted.attention_weights(X))
    buffer = io.BytesIO()
    fitted.save(buffer)
    buffer.seek(0)
    np.testing.assert_array_equal(getattr(skattn.load(buffer), method)(X), out)


@fuzz(100)
@given(data=st.data())
def test_partial_fit_and_warm_start_with_any_labels(data):
    X, _ = _train_data()
    labels = data.draw(
        st.lists(st.sampled_from([0, 1, 2, "a", 3.5, True]), min_size=12, max_size=12)
    )
    more = data.draw(
        st.lists(st.sampled_from([0, 1, 2, "a", 3.5, 7]), min_size=12, max_size=12)
    )
    classes = data.draw(st.sampled_from([None, [0, 1], [0, 1, 2, 7], [[0, 1]], [0]]))
    warm = data.draw(st.booleans())
    est = LSTMAttentionClassifier(hidden_size=4, warm_start=warm, **TINY_TRAINING)
    if warm:
        first, _ = attempt(est.fit, X, labels)
    else:
        first, _ = attempt(est.partial_fit, X, labels, classes=classes)
    if first is None:
        return
    seen = set(first.classes_.tolist())
    call = first.fit if warm else first.partial_fit
    again, error = attempt(call, X, more)
    if not set(np.asarray(more).tolist()) <= seen:
        assert error is not None  # a fitted model never learns new classes
    if again is not None:
        assert np.isin(again.predict(X), again.classes_).all()


# -- preprocessing -------------------------------------------------------------


def _transformers(draw):
    return draw(
        st.sampled_from(
            [
                SequenceScaler(),
                SequenceScaler(per_sequence=True),
                SequenceScaler(with_mean=False),
                SequenceImputer(),
                SequenceImputer(strategy="ffill"),
                SequenceImputer(strategy="mean"),
                SequenceImputer(strategy="zero"),
                SequenceResampler(),
                SequenceResampler(length=1, method="nearest"),
                SequenceResampler(length=7),
                SequenceTruncator(),
                SequenceTruncator(max_length=2, truncate="start"),
            ]
        )
    )


def check_transformed_frame(transformer, X, Xt):
    """A long frame keeps its index, row order, columns and the passed-through
    columns; the truncator keeps whole rows of X."""
    assert isinstance(Xt, pd.DataFrame) and list(Xt.columns) == list(X.columns)
    if isinstance(transformer, SequenceTruncator):
        counts = X.groupby(level=0, dropna=False).size()
        kept = Xt.groupby(level=0, dropna=False).size()
        assert (kept == np.minimum(counts, transformer.max_length_)).all()
        assert Xt.dtypes.equals(X.dtypes)
        return
    assert Xt.index.equals(X.index)
    for k, c in enumerate(X.columns):
        if transformer.is_passthrough_[k]:
            pd.testing.assert_series_equal(Xt[c], X[c])
        else:
            assert np.isfinite(Xt[c].to_numpy(dtype=np.float64)).all()


def check_transformed(transformer, X, Xt):
    n = n_sequences(X)
    if _is_long(X) and not isinstance(transformer, SequenceResampler):
        check_transformed_frame(transformer, X, Xt)
        return
    real = sequence_lengths(X)
    if isinstance(transformer, SequenceResampler):
        assert isinstance(Xt, np.ndarray) and len(Xt) == n
        assert Xt.shape[1] == transformer.length_ and np.isfinite(Xt).all()
        return
    layout = pd.DataFrame if _is_long(X) else list if _is_ragged(X) else np.ndarray
    assert isinstance(Xt, layout)
    values, mask = to_padded(Xt, dtype=np.float64, allow_missing=True)
    lengths = sequence_lengths(Xt)
    expected = real
    if isinstance(transformer, SequenceTruncator):
        expected = np.minimum(real, transformer.max_length_)
    assert len(lengths) == n and (lengths == expected).all()
    assert np.isfinite(values[mask]).all()


@fuzz(550)
@given(data=st.data(), X=INPUTS, X_new=INPUTS)
def test_preprocessing_on_any_input(data, X, X_new):
    transformer = _transformers(data.draw)
    before = snapshot((X, X_new))
    fitted, _ = attempt(transformer.fit, X)
    if fitted is not None:
        for Z in (X, X_new):
            Zt, _ = attempt(fitted.transform, Z)
            if Zt is not None:
                check_transformed(fitted, Z, Zt)
                if isinstance(fitted, SequenceScaler) and not fitted.per_sequence:
                    back = fitted.inverse_transform(Zt)
                    if _is_long(Z):  # only the scaled columns are numbers
                        scaled = Z.columns[~fitted.is_passthrough_]
                        a = back[scaled].to_numpy(dtype=np.float64)
                        b = Z[scaled].to_numpy(dtype=np.float64)
                    else:
                        a = to_padded(back, dtype=np.float64, allow_missing=True)[0]
                        b = to_padded(Z, dtype=np.float64, allow_missing=True)[0]
                    if not b.size:  # every column passed through
                        continue
                    size = sum(
                        np.abs(v).max()
                        for v in (fitted.mean_, fitted.scale_)
                        if v is not None
                    )
                    atol = 1e-9 * size + 1e-9 * np.abs(b).max()  # no overflow
                    assert_allclose(a, b, rtol=1e-9, atol=atol)
    assert_unchanged(before, (X, X_new))


@fuzz(120)
@given(data=st.data())
def test_preprocessing_on_valid_input(data):
    transformer = _transformers(data.draw)
    X = data.draw(valid_sequences(), label="X")
    channels = to_padded(X, dtype=np.float64)[0].shape[2]
    X_new = data.draw(valid_sequences(n_channels=channels), label="X_new")
    if isinstance(X, np.ndarray) and X.ndim == 2:
        # fitted on 2D input, a transformer takes 2D input of the same width
        rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
        X_new = rng.normal(size=(data.draw(st.integers(1, 10)), X.shape[1]))
    before = snapshot((X, X_new))
    fitted = transformer.fit(X)  # valid input: no error allowed
    for Z in (X, X_new):
        check_transformed(fitted, Z, fitted.transform(Z))
    assert_unchanged(before, (X, X_new))


# -- event data ----------------------------------------------------------------


@fuzz(40)
@given(data=st.data(), X=event_frames(), X_new=event_frames())
def test_event_models_and_transformers_on_event_frames(data, X, X_new):
    """An event model in a pipeline after a scaler fits any event table or
    says why not (an attribute that varies, an amount that is not finite),
    and predicts on another: unseen and missing categories included."""
    n = n_sequences(X)
    before = snapshot((X, X_new))
    scaler = SequenceScaler(passthrough=["age"])
    model = make_pipeline(
        scaler,
        LSTMAttentionClassifier(
            **TINY_TRAINING,
            hidden_size=4,
            static_features=["plan", "age"],
            time_features=data.draw(st.sampled_from(["gap", "elapsed", "both"])),
        ),
    )
    y = np.arange(n) % 2
    fitted, _ = attempt(model.fit, X, y)
    if fitted is not None:
        for Z in (X, X_new):
            Zt, _ = attempt(scaler.transform, Z)
            if Zt is not None:
                check_transformed(scaler, Z, Zt)
            proba, _ = attempt(fitted.predict_proba, Z)
            if proba is not None:
                assert proba.shape == (n_sequences(Z), 2)
                assert np.isfinite(proba).all()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UnknownCategoryWarning)
                    weights = attention_weights(fitted, Z)
                lengths = Z.groupby(level=0).size().sort_index().to_numpy()
                assert_allclose(weights.sum(axis=1), 1.0)
                assert all(
                    (w[k:] == 0).all() for w, k in zip(weights, lengths, strict=True)
                )
    assert_unchanged(before, (X, X_new))


# -- skattn.data ---------------------------------------------------------------


@fuzz(500)
@given(X=INPUTS, dtype=st.sampled_from([np.float32, np.float64]))
def test_data_converters_on_any_input(X, dtype):
    before = snapshot(X)
    out, _ = attempt(to_padded, X, dtype=dtype)
    if out is not None:
        values, mask = out
        assert values.dtype == dtype and values.shape[:2] == mask.shape
        assert len(values) == n_sequences(X) and mask[:, 0].all()
        assert np.isfinite(values).all()
    frame, _ = attempt(to_long, X)
    if frame is not None:
        assert len(frame) == sequence_lengths(X).sum()
    turned, _ = attempt(from_channels_first, X)
    if turned is not None and isinstance(turned, np.ndarray):
        assert turned.shape == tuple(np.shape(X)[i] for i in (0, 2, 1))
    assert_unchanged(before, X)


@fuzz(320)
@given(frame=long_frames(), allow_missing=st.booleans())
def test_from_long_on_any_frame(frame, allow_missing):
    df = frame.reset_index(allow_duplicates=True)
    columns = list(df.columns)
    assume(len(columns) >= 2)
    id_col, time_col = columns[0], columns[1]
    before = snapshot(df)
    out, _ = attempt(
        from_long, df, id_col=id_col, time_col=time_col, allow_missing=allow_missing
    )
    if out is not None:
        X, ids = out
        assert len(X) == len(ids) == df[id_col].nunique()
        if not allow_missing:  # (else a last row of NaN reads as padding)
            assert sequence_lengths(X).sum() == len(df)
            assert np.isfinite(to_padded(X, dtype=np.float64)[0]).all()
    assert_unchanged(before, df)


TEXTS = st.one_of(
    st.lists(st.text(max_size=30), max_size=8),
    st.lists(st.one_of(st.text(max_size=5), st.none(), st.integers()), max_size=4),
    st.sampled_from(["a single string", None, 3, pd.DataFrame({"t": ["a"]})]),
)


@fuzz(250)
@given(
    texts=TEXTS,
    new=TEXTS,
    max_tokens=st.sampled_from([None, 1, 3]),
    max_length=st.sampled_from([None, 1, 4]),
    min_frequency=st.sampled_from([1, 2]),
    pattern=st.sampled_from([r"(?u)\b\w+\b", r"(\w)(\w)", "[", r"\S+", "(a)|b"]),
)
def test_token_encoder_on_any_text(
    texts, new, max_tokens, max_length, min_frequency, pattern
):
    encoder = TokenEncoder(
        max_tokens=max_tokens,
        max_length=max_length,
        min_frequency=min_frequency,
        token_pattern=pattern,
    )
    fitted, _ = attempt(encoder.fit, texts)
    if fitted is None:
        return
    assert fitted.vocab_size_ <= (max_tokens or np.inf) + 2
    encoded, _ = attempt(fitted.transform, new)
    if encoded is not None:
        assert len(encoded) == len(new)
        for ids in encoded:
            assert ids.dtype == np.int64 and 1 <= len(ids) <= (max_length or np.inf)
            assert ((ids >= 1) & (ids < fitted.vocab_size_)).all()


# -- model files ---------------------------------------------------------------


@pytest.fixture(scope="module")
def model_file(fitted, tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "model.skattn"
    fitted[2].save(path)  # learned positions, string classes
    return path


def load_bytes(blob, tmp_path_factory):
    path = tmp_path_factory.getbasetemp() / "fuzzed.skattn"
    path.write_bytes(blob)
    return attempt(skattn.load, path)


def check_loaded(model):
    X, _ = _train_data()
    for method in ("predict_proba", "attention_weights"):
        out, _ = attempt(getattr(model, method), X)
        if out is not None:
            check_output(model, method, X, out)


@fuzz(160)
@given(blob=st.binary(max_size=3000))
def test_load_random_bytes(blob, tmp_path_factory):
    model, error = load_bytes(blob, tmp_path_factory)
    assert model is None and isinstance(error, ValueError)


@fuzz(320)
@given(data=st.data())
def test_load_damaged_archive(model_file, data, tmp_path_factory):
    blob = bytearray(model_file.read_bytes())
    damage = data.draw(st.sampled_from(["flip", "truncate", "insert", "delete"]))
    at = data.draw(st.integers(0, len(blob) - 1))
    if damage == "flip":
        for _ in range(data.draw(st.integers(1, 8))):
            blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(
                st.integers(0, 255)
            )
    elif damage == "truncate":
        blob = blob[:at]
    elif damage == "insert":
        blob[at:at] = data.draw(st.binary(min_size=1, max_size=16))
    else:
        del blob[at : at + data.draw(st.integers(1, 64))]
    model, _ = load_bytes(bytes(blob), tmp_path_factory)
    if model is not None:
        check_loaded(model)


def _leaves(obj, path=()):
    """Paths to every entry of nested dicts and lists."""
    items = obj.items() if isinstance(obj, dict) else enumerate(obj)
    for key, value in items:
        yield (*path, key)
        if isinstance(value, (dict, list)) and key != "history_":
            yield from _leaves(value, (*path, key))


PLAIN = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([2**40, -(2**40), 10**6]),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.sampled_from(["lstm", "classification", "<f8", "|O", "cuda"]),
    st.just([]),
    st.just({}),
    st.lists(st.floats(allow_nan=True), max_size=3),
    st.builds(
        lambda v, d: {"__ndarray__": v, "dtype": d},
        st.lists(st.one_of(st.floats(), st.text(max_size=2)), max_size=3),
        st.sampled_from(["<f8", "<i8", "|O", "<U1", "bogus", "|b1"]),
    ),
    st.builds(torch.zeros, st.integers(0, 3)),
    st.just(torch.tensor([float("nan")])),
)


@fuzz(200)
@given(data=st.data())
def test_load_tampered_contents(model_file, data, tmp_path_factory):
    """Valid archives whose plain-data contents were changed or removed."""
    state = torch.load(model_file, weights_only=True)
    path = data.draw(st.sampled_from(list(_leaves(state))), label="path")
    parent = state
    for key in path[:-1]:
        parent = parent[key]
    if isinstance(parent, dict) and data.draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(PLAIN, label="value")
    buffer = io.BytesIO()
    torch.save(state, buffer)
    model, _ = load_bytes(buffer.getvalue(), tmp_path_factory)
    if model is not None:
        check_loaded(model)


# -- no mutation, read-only input ----------------------------------------------


def _read_only(X):
    if isinstance(X, np.ndarray):
        X = X.copy()
        X.setflags(write=False)
        return X
    return [_read_only(s) for s in X]


@pytest.mark.parametrize("form", ["3d", "2d", "list", "long"])
def test_inputs_are_never_changed(form):
    """Every entry point leaves its inputs as they were, read-only ones too."""
    rng = np.random.default_rng(0)
    seqs = [rng.normal(size=(k, 1)) for k in (3, 5, 2, 4, 5, 1)]
    seqs[1][4:] = np.nan  # padding
    y = np.array([0, 1, 1, 0, 1, 0])
    y_reg = rng.normal(size=6)
    weight = np.linspace(0.5, 1.5, 6)
    X = {
        "3d": _read_only(np.stack([np.resize(s, (5, 1)) for s in seqs])),
        "2d": _read_only(np.stack([np.resize(s[:, 0], 5) for s in seqs])),
        "list": _read_only(seqs),
        "long": to_long(seqs).set_index(["id", "time"]),
    }[form]
    y, y_reg, weight = _read_only(y), _read_only(y_reg), _read_only(weight)
    before = snapshot((X, y, y_reg, weight))
    calls = []
    for est, target in [
        (LSTMAttentionClassifier(hidden_size=4, **TINY_TRAINING), y),
        (TransformerRegressor(**TINY_TRANSFORMER, **TINY_TRAINING), y_reg),
        (
            AttentionPoolingTransformer(encoder="lstm", hidden_size=2, **TINY_TRAINING),
            None,
        ),
    ]:
        est.fit(X, target, sample_weight=weight)
        calls += [est.attention_weights, est.partial_fit if target is None else None]
        calls.append(est.transform if target is None else est.predict)
    for transformer in (
        SequenceScaler(),
        SequenceScaler(per_sequence=True),
        SequenceImputer(),
        SequenceResampler(length=3),
        SequenceTruncator(max_length=2, truncate="start"),
    ):
        calls += [transformer.fit_transform, transformer.transform]
    calls += [to_padded, to_long, sequence_lengths, from_channels_first]
    for call in calls:
        if call is not None and not (call is from_channels_first and form in "2dlong"):
            call(X)
    frame = to_long(seqs, ids=list("abcdef"))
    frame_before = frame.copy()
    from_long(frame, id_col="id", time_col="time")
    pd.testing.assert_frame_equal(frame, frame_before)
    assert_unchanged(before, (X, y, y_reg, weight))
