"""Input formats, padding, missing values and the long-format converters."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.model_selection import cross_val_score

from skattn import LSTMAttentionClassifier, TransformerClassifier
from skattn.data import (
    _check_sequences,
    event_values,
    from_channels_first,
    from_long,
    sequence_lengths,
    to_long,
    to_padded,
)
from skattn.exceptions import IgnoredColumnsWarning

from ._data import make_sequences, pad


def test_to_padded_from_every_format():
    X, _ = make_sequences(n=6, n_channels=2)
    expected_lengths = [len(s) for s in X]
    for form in (X, pad(X), pad(X, 30), np.array(X, dtype=object), pd.Series(X)):
        values, mask = to_padded(form)
        assert values.dtype == np.float32
        assert_array_equal(mask.sum(1), expected_lengths)
        for i, s in enumerate(X):
            assert_allclose(values[i, : len(s)], s, rtol=1e-6)
            assert np.all(values[i, len(s) :] == 0)
    values, mask = to_padded(np.arange(12.0).reshape(3, 4))  # 2D: univariate
    assert values.shape == (3, 4, 1) and mask.all()


def test_univariate_lists_keep_their_shape_in_restore():
    seqs = _check_sequences([np.arange(3.0), np.arange(5.0)])
    restored = seqs.restore(seqs.values * 2)
    assert [r.shape for r in restored] == [(3,), (5,)]
    assert_allclose(restored[1], np.arange(5.0) * 2)


def test_nan_inside_a_sequence_is_an_error_that_says_where():
    X = pad(make_sequences(n=4)[0])
    X[2, 3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN at sequence 2, timestep 3, channel 1"):
        to_padded(X)
    values, mask = to_padded(X, allow_missing=True)
    assert np.isnan(values[2, 3, 1]) and mask[2, 3]


def test_trailing_nan_in_some_channels_is_missing_not_padding():
    X = np.ones((2, 5, 2))
    X[0, 4, 0] = np.nan  # only one channel: a missing value
    with pytest.raises(ValueError, match="sequence 0, timestep 4, channel 0"):
        to_padded(X)
    X[0, 4, 1] = np.nan  # every channel: padding
    assert_array_equal(sequence_lengths(X), [4, 5])


@pytest.mark.parametrize(
    "X, message",
    [
        ([np.ones(3), np.ones(0)], "empty sequence: X\\[1\\] has length 0"),
        (np.full((2, 3, 1), np.nan), "sequence 0 has no timestep"),
        ([np.ones((3, 2)), np.ones((3, 3))], "X\\[1\\] has 3 channels"),
        ([np.ones(3), np.array([1.0, np.inf])], "inf at sequence 1, timestep 1"),
        ([np.ones(3), 5.0], "X\\[1\\] is a scalar"),
        ([np.ones(3), np.array(["a", "b"])], "X\\[1\\] could not be converted"),
        ([np.ones(3), np.array([1j, 2j])], "X\\[1\\] is complex"),
        (np.ones((2, 3, 4, 5)), "4 dimensions"),
        ([], "0 sequences"),
    ],
)
def test_bad_input_gets_a_clear_error(X, message):
    with pytest.raises(ValueError, match=message):
        to_padded(X)


def test_from_channels_first():
    X = np.arange(24.0).reshape(2, 3, 4)  # (n, channels, time)
    out = from_channels_first(X)
    assert out.shape == (2, 4, 3)
    assert_array_equal(out[1, :, 2], X[1, 2])
    ragged = from_channels_first([np.zeros((3, 5)), np.zeros((3, 2))])
    assert [a.shape for a in ragged] == [(5, 3), (2, 3)]


def test_from_long_sorts_entities_and_times(transactions):
    # numeric columns only (amount, items); the string column is named
    with pytest.warns(IgnoredColumnsWarning, match=r"leaves out \['channel'\]"):
        X, ids = from_long(transactions, id_col="customer", time_col="day")
    assert_array_equal(ids, ["a", "b", "c"])
    assert X.shape == (3, 3, 2)
    assert_array_equal(X[0, :, 0], [10.0, 20.0, 50.0])
    assert_array_equal(X[1, :2, 0], [5.0, 30.0])
    assert np.isnan(X[1, 2]).all() and np.isnan(X[2, 1:]).all()
    X1, _ = from_long(
        transactions, id_col="customer", time_col="day", value_cols="items"
    )
    assert X1.shape == (3, 3, 1)


@pytest.mark.filterwarnings("ignore::skattn.exceptions.IgnoredColumnsWarning")
def test_from_long_errors(transactions):
    dup = pd.concat([transactions, transactions.iloc[[0]]])
    with pytest.raises(
        ValueError, match="duplicate \\(customer, day\\) pair \\('b', 3\\)"
    ):
        from_long(dup, id_col="customer", time_col="day")
    with pytest.raises(TypeError, match="value column 'channel' has dtype"):
        from_long(
            transactions, id_col="customer", time_col="day", value_cols=["channel"]
        )
    holes = transactions.assign(amount=[30.0, np.nan, 10.0, 5.0, 50.0, 1.0])
    with pytest.raises(ValueError, match="'amount' is NaN for customer='a', day=2"):
        from_long(holes, id_col="customer", time_col="day")
    X, _ = from_long(holes, id_col="customer", time_col="day", allow_missing=True)
    assert np.isnan(X[0, 1, 0])
    with pytest.raises(ValueError, match="id_col='user' is not a column"):
        from_long(transactions, id_col="user", time_col="day")


@pytest.mark.filterwarnings("ignore::skattn.exceptions.IgnoredColumnsWarning")
def test_to_long_round_trip(transactions):
    X, ids = from_long(transactions, id_col="customer", time_col="day")
    frame = to_long(
        X, ids, id_col="customer", time_col="step", value_cols=["amount", "items"]
    )
    assert len(frame) == len(transactions)
    back, back_ids = from_long(frame, id_col="customer", time_col="step")
    assert_array_equal(back_ids, ids)
    assert_allclose(back, X)


def test_long_multiindex_frames_are_sequences(transactions):
    frame = transactions.set_index(["customer", "day"])[["amount", "items"]]
    seqs = _check_sequences(frame)
    assert seqs.layout == "long" and seqs.n_channels == 2
    assert_array_equal(seqs.lengths, [3, 2, 1])
    assert_array_equal(seqs.ids, ["a", "b", "c"])


def test_cross_validation_splits_ragged_input_by_sequence():
    X, y = make_sequences(n=30, n_channels=1, seed=5)
    # 40 epochs of 2 batches: with the states' maxima joined to the pooled
    # vector (the default), this small network needs more than 20 to learn
    clf = LSTMAttentionClassifier(hidden_size=4, max_epochs=40, random_state=0)
    scores = [
        cross_val_score(clf, form, y, cv=3) for form in (X, np.array(X, dtype=object))
    ]
    # both forms split into the same sequences, so the folds score the same
    assert_array_equal(scores[0], scores[1])
    assert scores[0].shape == (3,)
    # each fold scored whole held-out sequences: 10 of them, in steps of 1/10
    assert_allclose(scores[0] * 10, np.round(scores[0] * 10), atol=1e-12)
    assert scores[0].mean() > 0.7  # the fits learned the class from the sequences


def test_grid_search_a_scaled_pipeline_on_long_format_data():
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline

    from skattn import SequenceScaler

    rng = np.random.default_rng(0)
    rows = []
    for customer in range(36):
        label = customer % 2
        for day in rng.choice(60, size=rng.integers(4, 12), replace=False):
            amount = rng.gamma(2.0, 20.0) * (3.0 if label else 1.0)
            rows.append((f"c{customer:02d}", day, amount, rng.poisson(2 + 2 * label)))
    frame = pd.DataFrame(rows, columns=["customer", "day", "amount", "items"])
    X, ids = from_long(frame, id_col="customer", time_col="day")
    y = np.array([int(i[1:]) % 2 for i in ids])
    pipe = make_pipeline(
        SequenceScaler(),
        TransformerClassifier(
            d_model=8, dim_feedforward=16, max_epochs=15, lr=1e-2, random_state=0
        ),
    )
    grid = GridSearchCV(
        pipe,
        {
            "transformerclassifier__attention": ["additive", "multihead"],
            "transformerclassifier__num_heads": [1, 2],
        },
        cv=3,
    )
    grid.fit(X, y)
    assert len(grid.cv_results_["params"]) == 4
    assert grid.best_score_ > 0.7  # spending triples for one class: easy to learn


# Regressions found by fuzzing (tests/test_fuzz.py) -------------------------


@pytest.mark.parametrize(
    "X, error, message",
    [
        (np.zeros((3, 0, 2)), ValueError, "sequences of 0 timesteps"),
        (None, TypeError, "X is NoneType"),
        ("abc", TypeError, "X is str"),
        ({"a": [1.0]}, TypeError, "X is dict"),
        (3.0, TypeError, "X is float"),
        ((s for s in [np.ones(3)]), TypeError, "X is generator"),
        (np.zeros((2, 3), "datetime64[s]"), TypeError, "dtype datetime64"),
        (np.zeros((2, 3, 1), "timedelta64[s]"), TypeError, "dtype timedelta64"),
        (
            np.full((2, 3), "a"),
            ValueError,
            "could not be converted to numbers.*OrdinalEncoder.*TokenEncoder",
        ),
        ([np.ones(3), {"a": 1}], ValueError, "X\\[1\\] is not an array \\(dict"),
        (
            [np.ones((2, 2)), [[1.0, 2.0], [3.0]]],
            ValueError,
            "X\\[1\\] is ragged itself",
        ),
        (
            pd.DataFrame(np.ones((2, 2)), columns=[0, 0]),
            ValueError,
            "duplicate column names \\[0\\]",
        ),
        (pd.DataFrame(index=[0, 1]), ValueError, "DataFrame without columns"),
        (
            pd.DataFrame({"s": [[1.0, 2.0], [3.0]]}),
            ValueError,
            "a cell holds a sequence",
        ),
        (
            pd.DataFrame({"t": pd.date_range("2020", periods=2), "v": [1.0, 2.0]}),
            TypeError,
            "column 't' has dtype datetime64",
        ),
    ],
)
def test_unusable_input_gets_a_clear_error(X, error, message):
    with pytest.raises(error, match=message):
        to_padded(X)
    if hasattr(X, "__next__"):  # consumed
        return
    with pytest.raises(error, match=message):  # the estimators say the same
        LSTMAttentionClassifier().fit(X, [0, 1])


def test_long_frame_columns_are_all_channels_and_must_be_numeric(transactions):
    long = transactions.set_index(["customer", "day"])
    # a string column used to be dropped silently, losing a feature
    with pytest.raises(TypeError, match="value column 'channel' has dtype"):
        to_padded(long)
    with pytest.raises(ValueError, match="a column named 'day', like a level"):
        to_padded(long.drop(columns="channel").assign(day=1.0))  # was a pandas error
    assert to_padded(long.drop(columns="channel"))[0].shape == (3, 3, 2)


def test_from_long_with_duplicate_column_names(transactions):
    df = transactions.rename(columns={"items": "amount"})  # was a pandas error
    with pytest.raises(ValueError, match="more than one column named 'amount'"):
        from_long(df, id_col="customer", time_col="day")


def test_long_errors_show_ids_and_times_as_given():
    index = pd.MultiIndex.from_tuples([(1, 0), (1, 0)], names=["id", "t"])
    df = pd.DataFrame({"v": [1.0, 2.0]}, index=index)
    with pytest.raises(ValueError, match="pair \\(1, 0\\)"):  # was (1.0, 0.0)
        to_padded(df)


def test_to_padded_refuses_to_overflow_float32():
    X = np.full((2, 3, 1), 1e300)
    with pytest.raises(ValueError, match="beyond the range of float32"):
        to_padded(X)  # was silently inf
    assert to_padded(X, dtype=np.float64)[0].max() == 1e300


def events_table():
    """Events: a string event type (one missing), a category column, an
    amount, and the customer's plan (constant per customer), rows unsorted."""
    return pd.DataFrame(
        {
            "customer": ["b", "a", "a", "b", "a"],
            "day": [2, 3, 1, 1, 2],
            "event": ["view", "buy", "view", None, "refund"],
            "shop": pd.Categorical(["web", "app", "web", "app", "web"]),
            "amount": [4.0, 9.0, 1.0, 2.0, 3.0],
            "plan": ["free", "gold", "gold", "free", "gold"],
        }
    )


def test_from_long_reads_categories_as_codes_and_to_long_reads_them_back():
    df = events_table()
    X, ids, categories = from_long(
        df,
        id_col="customer",
        time_col="day",
        categorical_cols="from_dtype",
        return_categories=True,
    )
    # every value column is a channel, in the order of df: nothing left out
    assert X.shape == (2, 3, 4)
    assert list(categories) == ["event", "shop", "plan"]
    assert categories["event"].tolist() == ["buy", "refund", "view"]
    # a: view (day 1), refund (2), buy (3); b: missing (1), view (2)
    assert_array_equal(X[0, :, 0], [2, 1, 0])
    assert_array_equal(X[1, :2, 0], [np.nan, 2])
    assert_array_equal(X[:, 0, 3], [1, 0])  # the plan, per step: gold, free
    frame = to_long(
        X,
        ids,
        id_col="customer",
        time_col="step",
        value_cols=["event", "shop", "amount", "plan"],
        categories=categories,
    )
    original = df.sort_values(["customer", "day"]).reset_index(drop=True)
    for column in ["event", "shop", "plan"]:
        assert frame[column].dtype == "category"
        assert frame[column].astype(object).where(
            frame[column].notna(), None
        ).tolist() == (
            original[column]
            .astype(object)
            .where(original[column].notna(), None)
            .tolist()
        )
    assert_array_equal(frame["amount"], original["amount"])
    # and the codes again: a round trip
    again = from_long(
        frame, id_col="customer", time_col="step", categorical_cols="from_dtype"
    )[0]
    assert_array_equal(again, X)
    # an estimator reads the codes as categories (the event, and the amount)
    est = LSTMAttentionClassifier(
        hidden_size=4, max_epochs=1, categorical_features=[0], random_state=0
    ).fit(X[:, :, [0, 2]], [0, 1])
    assert est.categories_[0].tolist() == [0, 1, 2]


def test_from_long_names_categories_and_checks_them():
    df = events_table()
    X, _ = from_long(
        df,
        id_col="customer",
        time_col="day",
        value_cols=["amount", "event"],
        categorical_cols=["event"],
    )
    assert_array_equal(X[0, :, 1], [2, 1, 0])
    # "from_dtype" marks the chosen value columns only
    X, _, categories = from_long(
        df,
        id_col="customer",
        time_col="day",
        value_cols=["plan", "amount"],
        categorical_cols="from_dtype",
        return_categories=True,
    )
    assert X.shape == (2, 3, 2) and list(categories) == ["plan"]
    with pytest.raises(ValueError, match="categorical_cols names 'kind', which is not"):
        from_long(df, id_col="customer", time_col="day", categorical_cols=["kind"])
    with pytest.raises(ValueError, match=r"names \['plan'\], which value_cols leaves"):
        from_long(
            df,
            id_col="customer",
            time_col="day",
            value_cols=["amount"],
            categorical_cols=["plan"],
        )
    with pytest.raises(TypeError, match=r"categorical_cols=\['event'\]"):
        from_long(df, id_col="customer", time_col="day", value_cols=["event"])
    with pytest.warns(IgnoredColumnsWarning, match="categorical_cols='from_dtype'"):
        from_long(df, id_col="customer", time_col="day")
    # the codes must be codes of the categories
    X, ids, categories = from_long(
        df,
        id_col="customer",
        time_col="day",
        value_cols=["event"],
        categorical_cols=["event"],
        return_categories=True,
    )
    X[0, 1, 0] = 3.0
    with pytest.raises(ValueError, match="channel 'event' holds 3.0, which is not"):
        to_long(X, ids, value_cols=["event"], categories=categories)
    with pytest.raises(ValueError, match="categories names 'shop', which is not"):
        to_long(X, ids, value_cols=["event"], categories={"shop": ["app"]})


def test_event_values_errors():
    frame = events_table().set_index(["customer", "day"])
    with pytest.raises(TypeError, match="X must be a long DataFrame"):
        event_values(np.ones((2, 3)), frame.reset_index())
    with pytest.raises(ValueError, match=r"values has shape \(2, 2\), but X has 2 "):
        event_values(np.ones((2, 2)), frame)  # a has 3 events
    with pytest.raises(ValueError, match="expected \\(2, >= 3\\)"):
        event_values(np.ones(5), frame)
    wider = event_values(np.arange(8.0).reshape(2, 4), frame, name="w")
    assert wider.name == "w" and wider.loc["b"].tolist() == [5.0, 4.0]
