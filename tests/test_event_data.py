"""Event data: categorical fields per step and real time (categorical_features,
time_features) in long DataFrames and arrays."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

import skattn
from skattn import (
    AttentionPoolingTransformer,
    LSTMAttentionClassifier,
    LSTMAttentionRegressor,
    SequenceScaler,
    TransformerClassifier,
)
from skattn._events import time_feature_rows
from skattn.data import event_values, from_long
from skattn.exceptions import UnknownCategoryWarning
from skattn.inspection import attention_weights

from ._params import small

DAY = 86400.0
EVENTS = ["purchase", "view", "support", "refund"]


def make_events(n_entities, seed):
    """Churn is a complaint followed by more than 30 days without an event.

    Each customer has 1-3 complaints and 1-3 long gaps at random places, so
    complaints and long gaps are common on their own: only their order says
    who churns. Amounts carry no signal.
    """
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-01-01")
    rows, labels = [], []
    for e in range(n_entities):
        n = int(rng.integers(6, 13))
        kinds = rng.choice(EVENTS, size=n).astype(object)
        kinds[rng.choice(n, size=int(rng.integers(1, 4)), replace=False)] = "complaint"
        gaps = rng.uniform(0.5, 20, size=n) * DAY
        gaps[0] = 0.0
        long = rng.choice(np.arange(1, n), size=int(rng.integers(1, 4)), replace=False)
        gaps[long] = rng.uniform(35, 90, size=len(long)) * DAY
        labels.append(
            int(
                any(
                    kinds[i] == "complaint" and gaps[i + 1] > 30 * DAY
                    for i in range(n - 1)
                )
            )
        )
        offset = rng.uniform(0, 30) * DAY
        times = start + pd.to_timedelta(np.cumsum(gaps) + offset, unit="s")
        rows += [
            (f"c{e:04d}", t, k, a)
            for t, k, a in zip(times, kinds, rng.lognormal(3, 1, size=n), strict=True)
        ]
    frame = pd.DataFrame(rows, columns=["customer", "time", "event", "amount"])
    return frame.set_index(["customer", "time"]), np.array(labels)


def aggregate_features(frame):
    """What a data scientist computes per customer today: counts per event
    type, amount statistics, number of events and gap statistics."""
    rows = frame.reset_index()
    gap = rows.groupby("customer")["time"].diff().dt.total_seconds().fillna(0.0)
    rows = rows.assign(gap=gap, long_gap=gap > 30 * DAY)
    counts = pd.crosstab(rows["customer"], rows["event"]).reindex(
        columns=[*EVENTS, "complaint"], fill_value=0
    )
    stats = rows.groupby("customer").agg(
        n=("amount", "size"),
        mean_amount=("amount", "mean"),
        max_amount=("amount", "max"),
        mean_gap=("gap", "mean"),
        max_gap=("gap", "max"),
        n_long_gaps=("long_gap", "sum"),
    )
    return counts.join(stats)


# a small bidirectional LSTM reading every event (no convolutional stem)
EVENT_MODEL = dict(
    hidden_size=8,
    conv_stem=None,
    lr=2e-2,
    max_epochs=25,
    batch_size=32,
    n_threads=1,
    random_state=0,
)


def test_category_and_timing_decide_churn_better_than_aggregates():
    X, y = make_events(600, seed=0)
    ids = X.index.get_level_values(0).unique()
    train, test = ids[:400], ids[400:]
    X_train, X_test = X.loc[train], X.loc[test]
    y_train, y_test = y[:400], y[400:]
    assert 0.3 < y.mean() < 0.5  # both classes well represented

    hgb = HistGradientBoostingClassifier(random_state=0)
    hgb.fit(aggregate_features(X_train), y_train)
    hgb_acc = hgb.score(aggregate_features(X_test), y_test)

    numeric = LSTMAttentionClassifier(**EVENT_MODEL).fit(X_train[["amount"]], y_train)
    numeric_acc = numeric.score(X_test[["amount"]], y_test)

    events = LSTMAttentionClassifier(**EVENT_MODEL, time_features="gap")
    events.fit(X_train, y_train)  # "event" is categorical from its dtype
    event_acc = events.score(X_test, y_test)

    assert events.categories_[0].tolist() == sorted([*EVENTS, "complaint"])
    assert event_acc > hgb_acc + 0.1, (event_acc, hgb_acc)
    assert event_acc > numeric_acc + 0.1, (event_acc, numeric_acc)


@pytest.fixture(scope="module")
def events():
    X, y = make_events(40, seed=1)
    return X, y


@pytest.fixture(scope="module")
def fitted(events):
    X, y = events
    return small(TransformerClassifier, time_features="both", n_threads=1).fit(X, y)


def test_categorical_from_dtype_and_explicit(events):
    X, y = events
    X = X.assign(kind=pd.Categorical(X["event"]), code=np.arange(len(X)) % 3)
    est = small(LSTMAttentionClassifier, max_epochs=1).fit(X, y)
    assert est.is_categorical_.tolist() == [True, False, True, False]
    assert est.categories_[1].tolist() == sorted([*EVENTS, "complaint"])
    # an integer column becomes categorical by name, or by channel index
    for spec in (["event", "kind", "code"], [0, 2, 3], [True, False, True, True]):
        est = small(LSTMAttentionClassifier, max_epochs=1, categorical_features=spec)
        est.fit(X, y)
        assert est.is_categorical_.tolist() == [True, False, True, True]
        assert est.categories_[2].tolist() == [0, 1, 2]
        assert est._input_loc[[0, 2, 3]].tolist() == [0.0, 0.0, 0.0]  # not scaled
        assert est._input_scale[1] != 1.0  # the amount is standardised
    with pytest.raises(TypeError, match="column 'event' holds strings; mark it"):
        small(LSTMAttentionClassifier, categorical_features=None).fit(X, y)
    with pytest.raises(ValueError, match="'shop', which is not a value column"):
        small(LSTMAttentionClassifier, categorical_features=["shop"]).fit(X, y)
    with pytest.raises(ValueError, match="boolean mask of 2 entries, but X has 4"):
        small(LSTMAttentionClassifier, categorical_features=[True, False]).fit(X, y)


def test_unseen_and_missing_categories(events, fitted, monkeypatch):
    X, y = events
    new = X.copy()
    new.iloc[[0, 5, 9], 0] = ["fraud", "fraud", "chargeback"]
    new.iloc[[1, 2], 0] = [None, np.nan]
    before = new.copy()
    # several chunks, still one warning per call
    monkeypatch.setattr(skattn._predict, "CHUNK_VALUES", 64)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        proba = fitted.predict_proba(new)
    unknown = [w for w in caught if issubclass(w.category, UnknownCategoryWarning)]
    assert len(unknown) == 1
    message = str(unknown[0].message)
    assert "'event': 3 values" in message and "'fraud'" in message
    assert "'chargeback'" in message
    assert np.isfinite(proba).all()
    pd.testing.assert_frame_equal(new, before)  # not changed in place
    # missing values are a category of their own, at fit too
    train = X.copy()
    train.iloc[:4, 0] = [None, np.nan, pd.NA, None]
    est = small(TransformerClassifier, max_epochs=1).fit(train, y)
    assert "complaint" in est.categories_[0].tolist()
    assert len(est.categories_[0]) == 5  # the missing ones are not in it
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est.predict(train)


def test_high_cardinality():
    # 10,000 merchants, each seen once: 2,000 customers of 5 events
    n = 2000
    index = pd.MultiIndex.from_arrays(
        [np.repeat(np.arange(n), 5), np.tile(np.arange(5), n)], names=["id", "t"]
    )
    X = pd.DataFrame({"merchant": [f"m{k}" for k in range(5 * n)]}, index=index)
    est = small(LSTMAttentionClassifier, max_epochs=1, batch_size=256, n_threads=1)
    est.fit(X, np.arange(n) % 2)
    assert len(est.categories_[0]) == 10_000
    embedding = est.net_.module_.embedding.embeddings[0]
    assert tuple(embedding.weight.shape) == (10_002, 50)
    assert est.predict(X.iloc[:50]).shape == (10,)


def test_integer_codes_in_arrays():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 6, 2))
    X[:, :, 0] = rng.choice([-7, 3, 1000], size=(30, 6))
    X[0, 2, 0] = np.nan  # a missing category
    X[1, 4:] = np.nan  # padding
    y = np.arange(30) % 2
    before = X.copy()
    est = small(TransformerClassifier, max_epochs=1, categorical_features=[0])
    est.fit(X, y)
    np.testing.assert_array_equal(X, before)  # not changed in place
    assert est.categories_[0].tolist() == [-7, 3, 1000]
    X_new = X.copy()
    X_new[2, 0, 0] = 5.0
    with pytest.warns(UnknownCategoryWarning, match="'channel 0': 1 value"):
        est.predict(X_new)
    fractional = X.copy()
    fractional[3, 1, 0] = 2.5
    with pytest.raises(
        ValueError, match="channel 0 holds 2.5 at sequence 3, timestep 1"
    ):
        est.predict(fractional)
    hole = X.copy()
    hole[3, 1, 1] = np.nan  # a numeric channel: still a missing value
    with pytest.raises(ValueError, match="NaN at sequence 3, timestep 1, channel 1"):
        est.predict(hole)
    # "from_dtype" finds no categories in arrays
    assert (
        not small(TransformerClassifier, max_epochs=1)
        .fit(before[2:], y[2:])
        .is_categorical_.any()
    )


def test_padding_and_batch_invariance_with_categories(events, fitted):
    X, _ = events
    full = fitted.predict_proba(X)
    ids = X.index.get_level_values(0).unique()
    for k in (0, 7):
        alone = fitted.predict_proba(X.loc[[ids[k]]])
        np.testing.assert_allclose(alone[0], full[k], rtol=1e-9, atol=1e-12)
    # arrays: padding a sequence changes nothing
    rng = np.random.default_rng(1)
    seqs = [
        np.column_stack([rng.integers(0, 4, n), rng.normal(size=n)]) for n in (3, 8, 5)
    ]
    est = small(LSTMAttentionClassifier, max_epochs=2, categorical_features=[0])
    est.fit(seqs * 4, np.arange(12) % 2)
    padded = np.full((3, 12, 2), np.nan)
    for i, s in enumerate(seqs):
        padded[i, : len(s)] = s
    np.testing.assert_allclose(
        est.predict_proba(seqs), est.predict_proba(padded), rtol=1e-9, atol=1e-12
    )
    one = est.predict_proba([seqs[1]])
    np.testing.assert_allclose(one[0], est.predict_proba(seqs)[1], rtol=1e-9)


def test_time_features_values_duplicates_and_time_zones():
    index = pd.MultiIndex.from_arrays(
        [
            ["a", "a", "a", "a", "b"],
            pd.to_datetime(
                ["2024-01-03", "2024-01-01", "2024-01-03", "2024-01-04", "2024-02-01"]
            ),
        ],
        names=["id", "t"],
    )
    X = pd.DataFrame({"kind": ["x", "y", "z", "x", "y"]}, index=index)
    _, rows = time_feature_rows(X, "both")
    # sorted rows: a@01 (y), a@03 (x), a@03 (z), a@04 (x), b@01 (one event)
    elapsed = np.array([0, 2, 2, 3, 0]) * DAY
    gap = np.array([0, 2, 0, 1, 0]) * DAY
    np.testing.assert_allclose(rows, np.log1p(np.column_stack([elapsed, gap])))
    y = [0, 1]
    est = small(LSTMAttentionClassifier, max_epochs=2, time_features="both").fit(X, y)
    assert est._input_loc.shape == (3,)  # kind, elapsed, gap
    naive = est.predict_proba(X)
    for tz in ("UTC", "Europe/Paris"):
        aware = X.set_axis(
            index.set_levels(index.levels[1].tz_localize(tz), level=1), axis=0
        )
        est_tz = small(LSTMAttentionClassifier, max_epochs=2, time_features="both")
        # the same durations: the same features and the same model
        np.testing.assert_allclose(est_tz.fit(aware, y).predict_proba(aware), naive)
    # without time features, a repeated (entity, time) pair is still an error
    with pytest.raises(ValueError, match="duplicate"):
        small(LSTMAttentionClassifier).fit(X, y)
    # numbers in the time level: their own unit
    numeric = X.set_axis(
        pd.MultiIndex.from_arrays([index.get_level_values(0), [3, 1, 3, 4, 1]]), axis=0
    )
    _, rows = time_feature_rows(numeric, "gap")
    np.testing.assert_allclose(rows[:, 0], np.log1p([0, 2, 0, 1, 0]))


def test_time_feature_errors(events):
    X, y = events
    with pytest.raises(ValueError, match="time_features='gap' reads the time level"):
        small(LSTMAttentionClassifier, time_features="gap").fit(
            np.zeros((4, 3, 1)), [0, 1, 0, 1]
        )
    text_times = X.set_axis(
        pd.MultiIndex.from_arrays(
            [X.index.get_level_values(0), X.index.get_level_values(1).astype(str)]
        ),
        axis=0,
    )
    with pytest.raises(TypeError, match="time level 'time' of X to hold timestamps"):
        small(LSTMAttentionClassifier, time_features="elapsed").fit(text_times, y)
    with pytest.raises(ValueError, match="token input"):
        small(LSTMAttentionClassifier, vocab_size=5, time_features="gap").fit(X, y)


def test_save_load_clone_and_search(events, fitted, tmp_path):
    X, y = events
    path = tmp_path / "events.skattn"
    fitted.save(path)
    loaded = skattn.load(path)
    assert [v.tolist() for v in loaded.categories_] == [
        v.tolist() for v in fitted.categories_
    ]
    np.testing.assert_array_equal(loaded.is_categorical_, fitted.is_categorical_)
    np.testing.assert_allclose(loaded.predict_proba(X), fitted.predict_proba(X))
    copy = clone(fitted)
    assert copy.time_features == "both" and not hasattr(copy, "categories_")
    np.testing.assert_allclose(  # a clone fits to the same model
        copy.fit(X, y).predict_proba(X), fitted.predict_proba(X)
    )
    # scikit-learn's searches split X by rows, so they take arrays (a long
    # frame has one row per event): codes of a categorical channel
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, size=(40, 6, 1)).astype(float)
    labels = (codes[:, :, 0] == 3).any(axis=1).astype(int)
    X_arr = np.concatenate([codes, rng.normal(size=(40, 6, 1))], axis=2)
    search = GridSearchCV(
        small(LSTMAttentionClassifier, max_epochs=1, n_threads=1),
        {"categorical_features": [None, [0], [True, False]]},
        cv=2,
    )
    search.fit(X_arr, labels)
    assert len(search.cv_results_["params"]) == 3
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.is_categorical_.shape == (2,)


def test_regressor_and_pooling_with_categories(events):
    X, y = events
    reg = small(LSTMAttentionRegressor, max_epochs=1, time_features="elapsed")
    assert reg.fit(X, y.astype(float)).predict(X).shape == (len(y),)
    pool = small(AttentionPoolingTransformer, max_epochs=1).fit(X, y)
    assert pool.transform(X).shape == (len(y), 16)  # attended and maxima
    with pytest.raises(ValueError, match="reconstructs the input values"):
        small(AttentionPoolingTransformer, max_epochs=1).fit(X)


def with_attributes(X, seed=0):
    """``X`` with a region (categorical) and an age (numeric) per customer."""
    rng = np.random.default_rng(seed)
    ids = X.index.get_level_values(0)
    unique = ids.unique()
    region = dict(
        zip(unique, rng.choice(["n", "s", "e", "w", "c"], len(unique)), strict=True)
    )
    age = dict(zip(unique, rng.uniform(18, 80, len(unique)), strict=True))
    return X.assign(region=ids.map(region), age=ids.map(age).astype(float))


def test_static_features_are_read_per_entity():
    X, _ = make_events(300, seed=2)
    X = with_attributes(X)
    first = X.groupby(level=0).first()
    y = first["region"].isin(["n", "e"]).to_numpy().astype(int)  # the region alone
    ids = first.index
    train, test = X.loc[ids[:200]], X.loc[ids[200:]]
    est = LSTMAttentionClassifier(**EVENT_MODEL, static_features=["region", "age"]).fit(
        train, y[:200]
    )
    assert est.n_channels_in_ == 2  # event and amount; the attributes are apart
    assert est.static_is_categorical_.tolist() == [True, False]
    assert est.static_categories_[0].tolist() == ["c", "e", "n", "s", "w"]
    assert est._input_loc[-1] > 18  # the age is standardised
    assert est.score(test, y[200:]) > 0.9
    without = LSTMAttentionClassifier(**EVENT_MODEL).fit(
        train.drop(columns=["region", "age"]), y[:200]
    )
    assert without.score(test.drop(columns=["region", "age"]), y[200:]) < 0.75


def test_static_query_conditions_the_attention(events, tmp_path):
    X, y = events
    X = with_attributes(X)
    ids = X.index.get_level_values(0).unique()
    params = dict(static_features=["region", "age"], max_epochs=3, n_threads=1)
    # the same events with two different attributes
    twin = X.loc[[ids[0]]].rename(index={ids[0]: "twin"}, level=0)
    twin = twin.assign(region="w" if X.loc[ids[0], "region"].iloc[0] != "w" else "n")
    pair = pd.concat([X.loc[[ids[0]]], twin])
    for static_query in (False, True):
        est = small(TransformerClassifier, **params, static_query=static_query)
        est.fit(X, y)
        weights = est.attention_weights(pair)
        assert np.allclose(weights[0], weights[1]) != static_query
    path = tmp_path / "static.skattn"
    est.save(path)
    loaded = skattn.load(path)
    assert loaded.static_categories_[0].tolist() == est.static_categories_[0].tolist()
    np.testing.assert_allclose(loaded.predict_proba(X), est.predict_proba(X))
    # unseen attribute values are unknown, like per-event categories
    with pytest.warns(UnknownCategoryWarning, match="'region': 1 value"):
        est.predict(twin.assign(region="north pole"))


def test_static_feature_errors(events):
    X, y = events
    X = with_attributes(X)
    varying = X.copy()
    first = varying.index.get_level_values(0)[0]
    varying.iloc[1, varying.columns.get_loc("region")] = "moon"
    with pytest.raises(
        ValueError, match=f"'region' is not constant within entity '{first}'"
    ):
        small(LSTMAttentionClassifier, static_features=["region"]).fit(varying, y)
    with pytest.raises(
        ValueError, match="names \\['plan'\\], which are not value columns"
    ):
        small(LSTMAttentionClassifier, static_features=["plan"]).fit(X, y)
    with pytest.raises(
        ValueError, match="static_features=\\['region'\\] names columns"
    ):
        small(LSTMAttentionClassifier, static_features=["region"]).fit(
            np.zeros((4, 3, 1)), [0, 1, 0, 1]
        )
    with pytest.raises(ValueError, match="static_query=True needs static_features"):
        small(LSTMAttentionClassifier, static_query=True).fit(X, y)
    with pytest.raises(ValueError, match="pooling='mean' and query='learned'"):
        small(
            LSTMAttentionClassifier,
            static_features=["age"],
            static_query=True,
            pooling="mean",
        ).fit(X, y)
    holes = X.assign(
        age=np.where(X.index.get_level_values(0) == first, np.nan, X["age"])
    )
    with pytest.raises(ValueError, match=f"'age' is nan for entity '{first}'"):
        small(LSTMAttentionClassifier, static_features=["age"]).fit(holes, y)
    with pytest.raises(ValueError, match="reconstructs the events only"):
        small(
            AttentionPoolingTransformer,
            static_features=["age"],
            categorical_features=None,
        ).fit(X.drop(columns=["event", "region"]))
    pool = small(
        AttentionPoolingTransformer, max_epochs=1, static_features=["region", "age"]
    )
    # the pooled vector holds the attributes too: 8 attended, 8 maxima, 4
    # (5 regions), 1 (age)
    assert pool.fit(X, y).transform(X).shape == (len(y), 21)


def test_pipeline_of_scaler_and_event_model(events):
    X, y = events
    X = with_attributes(X)
    model = make_pipeline(
        SequenceScaler(passthrough=["age"]),
        small(
            TransformerClassifier,
            max_epochs=2,
            n_threads=1,
            categorical_features=["event", "region"],
            static_features=["region", "age"],
            time_features="gap",
        ),
    )
    before = X.copy()
    model.fit(X, y)
    pd.testing.assert_frame_equal(X, before)
    estimator = model[-1]
    assert estimator.categories_[0].tolist() == sorted([*EVENTS, "complaint"])
    # the age reaches the model unscaled, which standardises it per entity
    assert estimator._input_loc[-1] > 18
    proba = model.predict_proba(X)
    assert proba.shape == (len(y), 2) and np.isfinite(proba).all()
    weights = attention_weights(model, X)
    lengths = X.groupby(level=0).size().to_numpy()
    assert weights.shape == (len(y), lengths.max())
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    assert all((weights[i, n:] == 0).all() for i, n in enumerate(lengths))
    # a clone fits to the same model
    np.testing.assert_allclose(clone(model).fit(X, y).predict_proba(X), proba)
    # searches split X by rows, so they take arrays: from_long's codes
    codes, ids = from_long(
        X.drop(columns=["region", "age"]).reset_index(),
        id_col="customer",
        time_col="time",
        categorical_cols=["event"],
    )
    search = GridSearchCV(
        make_pipeline(
            SequenceScaler(passthrough=[0]),
            small(
                TransformerClassifier,
                max_epochs=1,
                n_threads=1,
                categorical_features=[0],
            ),
        ),
        {"sequencescaler__per_sequence": [False, True]},
        cv=2,
    )
    search.fit(codes, y[np.searchsorted(X.index.levels[0], ids)])
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    best = search.best_estimator_
    assert best[-1].categories_[0].tolist() == list(range(5))
    assert (best[0].transform(codes)[..., 0] == codes[..., 0])[
        ~np.isnan(codes[..., 0])
    ].all()


def test_attention_weights_follow_the_events_in_time_order():
    # no positions (absolute or relative) and no convolution: the network
    # treats the events as a set, so reordering tied events reorders their
    # weights, nothing else
    index = pd.MultiIndex.from_arrays(
        [
            ["a", "a", "a", "a", "b", "b"],
            pd.to_datetime(
                ["2024-01-05", "2024-01-01", "2024-01-03", "2024-01-03"]
                + ["2024-01-02", "2024-01-01"]
            ),
        ],
        names=["id", "t"],
    )
    X = pd.DataFrame(
        {"kind": ["x", "y", "z", "x", "y", "z"], "amount": [1.0, 2, 3, 4, 5, 6]},
        index=index,
    )
    est = small(
        TransformerClassifier,
        max_epochs=3,
        n_threads=1,
        positional_encoding=None,
        relative_positions=False,
        conv_stem=None,
        time_features="elapsed",
    ).fit(pd.concat([X, X.rename(index={"a": "c", "b": "d"}, level=0)]), [0, 1, 1, 0])
    weights = est.attention_weights(X)
    # a, in time order: y (01-01), z and x (both 01-03, in row order), x (01-05)
    assert len(set(np.round(weights[0, :4], 12))) == 4  # all told apart
    # shuffled rows of other times: the same weights
    shuffled = X.iloc[[5, 2, 0, 4, 3, 1]]
    np.testing.assert_allclose(est.attention_weights(shuffled), weights, rtol=1e-9)
    # the two events at 01-03 swapped: their weights swap with them
    swapped = X.iloc[[0, 1, 3, 2, 4, 5]]
    expected = weights.copy()
    expected[0, [1, 2]] = weights[0, [2, 1]]
    np.testing.assert_allclose(est.attention_weights(swapped), expected, rtol=1e-9)
    # event_values puts each weight on its row: a's rows are its 4th, 1st,
    # 2nd and 3rd events, b's its 2nd and 1st
    per_event = event_values(weights, X)
    assert per_event.index.equals(X.index)
    np.testing.assert_array_equal(per_event[:4], weights[0, [3, 0, 1, 2]])
    np.testing.assert_array_equal(per_event[4:], weights[1, [1, 0]])
    np.testing.assert_allclose(
        event_values(est.attention_weights(shuffled), shuffled),
        per_event.iloc[[5, 2, 0, 4, 3, 1]],
        rtol=1e-9,
    )
