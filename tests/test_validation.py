"""The input contract (``skattn/_validation.py``): 2D input as scikit-learn's
tabular data, other lengths and the channel checks at predict, channels-first
arrays caught at fit, targets aligned with the entities of a long DataFrame."""

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skattn import LSTMAttentionClassifier, SequenceScaler, TransformerClassifier
from skattn.data import from_channels_first, from_long
from skattn.datasets import load_basic_motions, load_gunpoint
from skattn.exceptions import DataLayoutWarning

from ._data import make_sequences
from ._params import ONE_EPOCH_LSTM, small


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


def test_other_lengths_at_predict_and_channel_checks():
    X, y = make_sequences(n=20, n_channels=2)
    clf = TransformerClassifier(d_model=8, num_heads=2, max_epochs=2, random_state=0)
    clf.fit(X, y)
    assert clf.predict([np.ones((40, 2)), np.ones((1, 2))]).shape == (2,)
    with pytest.raises(
        ValueError,
        match="X has 3 channels, but TransformerClassifier was fitted with 2",
    ):
        clf.predict([np.ones((4, 3))])
    with pytest.raises(ValueError, match="empty sequence"):
        clf.predict([np.ones((4, 2)), np.ones((0, 2))])


def test_long_frame_y_is_aligned_by_entity(transactions):
    frame = transactions.set_index(["customer", "day"])[["amount", "items"]]
    y = pd.Series({"c": "low", "a": "high", "b": "low"})  # not in sorted order
    clf = LSTMAttentionClassifier(hidden_size=4, max_epochs=2, random_state=0)
    clf.fit(frame, y)
    same = LSTMAttentionClassifier(hidden_size=4, max_epochs=2, random_state=0)
    same.fit(frame, ["high", "low", "low"])
    assert_array_equal(clf.predict_proba(frame), same.predict_proba(frame))
    with pytest.raises(ValueError, match="not the entity ids of X"):
        clf.fit(frame, pd.Series(["x", "y", "z"], index=["p", "q", "r"]))
    renamed = frame.rename(columns={"items": "quantity"})
    with pytest.raises(ValueError, match="value columns \\['amount', 'quantity'\\]"):
        clf.predict(renamed)


@pytest.mark.parametrize(
    "load, aeon_shape",
    [(load_gunpoint, (50, 1, 150)), (load_basic_motions, (40, 6, 100))],
)
def test_channels_first_arrays_warn_at_fit(load, aeon_shape):
    X_train, _, y_train, _ = load(return_X_y=True)
    X_aeon = X_train.transpose(0, 2, 1)  # as aeon and sktime hold it
    assert X_aeon.shape == aeon_shape
    n, c, t = aeon_shape
    clf = LSTMAttentionClassifier(**ONE_EPOCH_LSTM)
    with pytest.warns(DataLayoutWarning) as record:
        clf.fit(X_aeon, y_train)
    message = str(record[0].message)
    assert f"X has shape {aeon_shape}" in message
    assert f"{n} sequences of {c} timestep" in message
    assert "skattn.data.from_channels_first(X)" in message
    # attributed to the line that called fit, not to skattn's internals
    assert record[0].filename == __file__
    assert issubclass(DataLayoutWarning, UserWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # converted: no warning at all
        clf.fit(from_channels_first(X_aeon), y_train)
        assert clf.n_channels_in_ == c
        clf.predict(X_train)  # predict never warns about the layout


def test_layout_warning_for_lists_and_preprocessing_not_for_time_major():
    rng = np.random.default_rng(0)
    # aeon's unequal-length format: a list of (n_channels, length_i) arrays
    aeon_list = [rng.normal(size=(6, length)) for length in (20, 25, 30)]
    with pytest.warns(DataLayoutWarning, match="at most 6 timesteps with 20 chan"):
        SequenceScaler().fit(aeon_list[:1] * 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SequenceScaler().fit(from_channels_first(aeon_list))
        SequenceScaler().fit(rng.normal(size=(4, 64, 64)))  # as many: no warning
        SequenceScaler().fit(rng.normal(size=(4, 150)))  # 2D: univariate
    # 10 steps of 64 features is legitimate but looks the same: a warning
    # (not an error) that the standard filter silences.
    legit = rng.normal(size=(4, 10, 64))
    with pytest.warns(DataLayoutWarning, match="10 timesteps with 64 channels"):
        SequenceScaler().fit(legit)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=DataLayoutWarning)
        assert SequenceScaler().fit(legit).n_channels_in_ == 64


def _events(n_entities=9, seed=0):
    """A long frame of 9 entities with 3 to 7 steps each, and its labels."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, 8, size=n_entities)
    ids = np.repeat([f"e{i}" for i in range(n_entities)], lengths)
    steps = np.concatenate([np.arange(k) for k in lengths])
    frame = pd.DataFrame(
        {"value": rng.normal(size=len(ids))},
        index=pd.MultiIndex.from_arrays([ids, steps], names=["entity", "step"]),
    )
    labels = pd.Series(np.arange(n_entities) % 2, index=np.unique(ids))
    return frame, labels


def test_long_frame_y_with_one_row_per_step_points_to_from_long():
    frame, labels = _events()
    n_rows, n_entities = len(frame), len(labels)
    # a label repeated on every row of its entity (e.g. a column of the frame)
    y_rows = labels.loc[frame.index.get_level_values(0)].to_numpy()
    assert len(y_rows) == n_rows != n_entities
    clf = LSTMAttentionClassifier(**ONE_EPOCH_LSTM)
    expected = (
        f"y has {n_rows} rows, one per row of the long DataFrame X, but X holds "
        f"{n_entities} sequences \\(entities\\).*convert X once with "
        "skattn.data.from_long"
    )
    with pytest.raises(ValueError, match=expected):
        clf.fit(frame, y_rows)
    with pytest.raises(ValueError, match="one per row of the long DataFrame X"):
        clf.fit(frame, pd.Series(y_rows, index=frame.index))
    # cross-validation on the rows: each fold's fit gets the message
    with pytest.raises(ValueError, match="one per row of the long DataFrame X"):
        cross_val_score(clf, frame, y_rows, cv=2, error_score="raise")
    # a y of yet another length says what y needs
    with pytest.raises(ValueError, match="y needs one row per entity"):
        clf.fit(frame, y_rows[:5])

    clf.fit(frame, labels)
    with pytest.raises(ValueError, match="one per row of the long DataFrame X"):
        clf.score(frame, y_rows)
    assert 0 <= clf.score(frame, labels) <= 1

    # the documented pattern: convert once, then cross-validate the sequences
    X, ids = from_long(frame.reset_index(), id_col="entity", time_col="step")
    scores = cross_val_score(clf, X, labels.loc[ids], cv=3)
    assert scores.shape == (3,)
