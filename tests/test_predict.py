"""Prediction (``skattn/_predict.py``): inputs predicted in chunks, long
DataFrames in chunks of whole entities, concurrent predictions, and outputs
that cannot be computed."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skattn import LSTMAttentionClassifier, TransformerClassifier
from skattn._predict import iter_chunks

from ._params import small


def test_long_format_is_predicted_in_chunks_of_whole_entities(monkeypatch):
    import skattn._predict

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
    monkeypatch.setattr(skattn._predict, "CHUNK_VALUES", 16)
    chunks = list(iter_chunks(long, model.batch_size))
    assert len(chunks) == 15 and all(c.index.levels[0].size for _, c, _ in chunks)
    assert [n for *_, n in chunks] == [60] * 15
    shuffled = long.sample(frac=1.0, random_state=0)  # rows in any order
    for frame in (long, shuffled):
        assert_allclose(model.predict_proba(frame), whole[0], atol=1e-12)
        assert_allclose(model.attention_weights(frame), whole[1], atol=1e-12)


@pytest.mark.parametrize("form", ["3d", "2d", "list"])
def test_chunked_prediction_equals_prediction_at_once(monkeypatch, form):
    import skattn._predict

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
    monkeypatch.setattr(skattn._predict, "CHUNK_VALUES", 16)
    # chunks of max(batch_size, 16 // 8) rows
    assert len(list(iter_chunks(X, model.batch_size))) == 13
    assert_allclose(model.predict_proba(X), whole[0], atol=1e-12)
    assert_allclose(model.attention_weights(X), whole[1], atol=1e-12)
    assert_array_equal(model.predict(X), whole[2])


def test_concurrent_predictions_equal_serial_ones(data3d):
    from concurrent.futures import ThreadPoolExecutor

    from skattn._predict import InferenceModules

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


def test_input_far_outside_the_training_range_is_an_error_not_nan(data3d):
    X, y = data3d
    # on the CPU, whose float64 layer norm overflows on these values (CUDA's
    # does not, and then returns finite outputs)
    clf = small(TransformerClassifier, device="cpu").fit(X, y)
    far = X[:3].copy()
    far[1] = 1e300
    with pytest.raises(
        ValueError, match="output for sequence 1 of X.*reach 1.0.e\\+300"
    ):
        clf.predict_proba(far)  # was NaN (the layer norm overflowed)
    with pytest.raises(ValueError, match="sequence 1 of X"):
        clf.attention_weights(far)
