"""Data larger than memory: dask arrays, memory-mapped arrays and dask
DataFrames are read block by block (skattn._sources, skattn._streaming) and
give the results of the in-memory path."""

import tracemalloc

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

da = pytest.importorskip("dask.array", reason="needs the skattn[dask] extra")

from skattn import (  # noqa: E402
    AttentionPoolingTransformer,
    LSTMAttentionClassifier,
    LSTMAttentionRegressor,
    TransformerClassifier,
    TransformerRegressor,
    _predict,
    _sources,
)
from skattn.data import from_dask_long  # noqa: E402

from ._data import make_sequences, pad  # noqa: E402
from ._params import small  # noqa: E402


def learnable(n, seed=0, t=12):
    """``n`` sequences of ``t`` steps and 2 channels; the label is carried by
    the first 4 steps of channel 0, and every fourth sequence is padded."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, t, 2))
    y = np.arange(n) % 2
    X[:, :4, 0] += np.where(y == 1, 1.0, -1.0)[:, None]
    X[::4, t - 3 :] = np.nan  # trailing NaN: padding
    return X, y


@pytest.fixture(scope="module")
def fitted():
    """A classifier fitted on a dask array of 6 irregular blocks, and its data."""
    X, y = learnable(240)
    Xd = da.from_array(X, chunks=((50, 37, 60, 13, 40, 40), 12, 2))
    return small(LSTMAttentionClassifier).fit(Xd, y), X, Xd, y


def test_streamed_fit_matches_in_memory_accuracy():
    # The streamed fit visits the same rows in another order (blocks, then
    # rows within blocks), so its weights differ; on a task both learn, their
    # held-out accuracies must agree within 0.05 (both are near 0.95).
    X, y = learnable(400, seed=1)
    X_test, y_test = learnable(400, seed=2)
    params = dict(max_epochs=5)
    streamed = small(LSTMAttentionClassifier, **params).fit(
        da.from_array(X, chunks=(100, 12, 2)), y
    )
    in_memory = small(LSTMAttentionClassifier, **params).fit(X, y)
    acc_streamed = streamed.score(X_test, y_test)
    acc_memory = in_memory.score(X_test, y_test)
    assert acc_memory > 0.85
    assert abs(acc_streamed - acc_memory) <= 0.05, (acc_streamed, acc_memory)


def by_blocks(method, X, chunks, **kwargs):
    """``method`` applied to numpy ``X`` block by block (``chunks``: rows)."""
    bounds = np.cumsum([0, *chunks])
    return np.concatenate(
        [method(X[a:b], **kwargs) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    )


def test_dask_predictions_equal_numpy(fitted):
    # Block by block, a lazy prediction is exactly numpy's on each block. On
    # the whole array numpy batches the rows differently, which changes float64
    # results by a few units in the last place (the batch invariance that
    # tests/test_base.py checks to rtol 1e-12); labels are the same.
    model, X, Xd, _ = fitted
    rows = Xd.chunks[0]
    proba = model.predict_proba(Xd)
    assert isinstance(proba, da.Array)  # lazy
    assert proba.chunks[0] == rows
    assert proba.dtype == np.float64
    assert_array_equal(proba.compute(), by_blocks(model.predict_proba, X, rows))
    assert_allclose(proba.compute(), model.predict_proba(X), rtol=1e-12, atol=1e-14)
    labels = model.predict(Xd).compute()
    assert labels.dtype == model.predict(X).dtype
    assert_array_equal(labels, model.predict(X))
    for per_head in (False, True):
        weights = model.attention_weights(Xd, per_head=per_head).compute()
        expected = by_blocks(model.attention_weights, X, rows, per_head=per_head)
        assert_array_equal(weights, expected)
        assert_allclose(
            weights, model.attention_weights(X, per_head=per_head), atol=1e-14
        )


def test_dask_regression_transform_and_2d_equal_numpy():
    X, y = learnable(120)
    X2 = np.nan_to_num(X[..., 0])  # 2D: fixed-length univariate
    X2d = da.from_array(X2, chunks=(50, 6))  # chunked along time: rechunked
    target = X2[:, :4].mean(1)
    reg = small(LSTMAttentionRegressor).fit(X2d, target)
    out = reg.predict(X2d)
    assert out.shape == (120,) and out.dtype == np.float64
    assert_array_equal(out.compute(), reg.predict(X2))
    assert reg.n_features_in_ == 12
    # Dask input is predicted chunk by chunk, so its batches differ from the
    # in-memory ones, and float64 results are bit-identical only where the
    # kernels happen to agree (on the CPU here; CUDA's differ by an ulp): the
    # documented contract is 1e-12 relative.
    emb = small(AttentionPoolingTransformer, batch_size=32).fit(
        da.from_array(X, chunks=(40, 12, 2))
    )
    Xd = da.from_array(X, chunks=(70, 12, 2))
    assert_allclose(
        emb.transform(Xd).compute(), emb.transform(X), rtol=1e-12, atol=1e-12
    )


def test_streamed_scaling_equals_in_memory_statistics():
    # Values on a scale of 1e30 (squares near the float64 limit), padding and
    # zero weights (samples left out of the statistics).
    X, y = learnable(300)
    X = X * 1e30 + 3e30
    weight = np.ones(300)
    weight[::7] = 0.0
    kw = dict(max_epochs=1)
    streamed = small(LSTMAttentionClassifier, **kw).fit(
        da.from_array(X, chunks=(41, 12, 2)), y, sample_weight=weight
    )
    in_memory = small(LSTMAttentionClassifier, **kw).fit(X, y, sample_weight=weight)
    # float64 rounding: a few units in the last place after merging 8 blocks
    assert_allclose(streamed._input_loc, in_memory._input_loc, rtol=1e-13)
    assert_allclose(streamed._input_scale, in_memory._input_scale, rtol=1e-13)


def test_reproducible_with_random_state_and_block_layout():
    X, y = learnable(200)
    chunks = ((80, 70, 50), 12, 2)
    a = small(TransformerClassifier, max_epochs=2).fit(da.from_array(X, chunks), y)
    b = small(TransformerClassifier, max_epochs=2).fit(da.from_array(X, chunks), y)
    assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.history_[-1]["train_loss"] == b.history_[-1]["train_loss"]


def test_memmap_fit_equals_dask_fit_of_the_same_blocks(tmp_path, monkeypatch):
    X, y = learnable(200)
    path = tmp_path / "X.npy"
    np.save(path, X)
    Xm = np.load(path, mmap_mode="r")
    assert isinstance(Xm, np.memmap)
    row_bytes = 12 * 2 * 8
    monkeypatch.setattr(_sources, "BLOCK_BYTES", 64 * row_bytes)  # 64 rows
    source = _sources.as_source(Xm)
    assert source.bounds.tolist() == [0, 64, 128, 192, 200]
    from_memmap = small(LSTMAttentionClassifier).fit(Xm, y)
    from_dask = small(LSTMAttentionClassifier).fit(
        da.from_array(X, chunks=((64, 64, 64, 8), 12, 2)), y
    )
    assert_array_equal(from_memmap.predict_proba(Xm), from_dask.predict_proba(X))


def test_memmap_prediction_reads_chunks_only(tmp_path, monkeypatch):
    X = np.random.default_rng(0).normal(size=(1500, 200, 1))
    path = tmp_path / "X.npy"
    np.save(path, X)
    model = small(LSTMAttentionClassifier, max_epochs=1).fit(X[:64], np.arange(64) % 2)
    monkeypatch.setattr(_predict, "CHUNK_VALUES", 2**14)  # chunks of 81 rows
    expected = model.predict_proba(X)
    Xm = np.load(path, mmap_mode="r")
    tracemalloc.start()
    try:
        proba = model.predict_proba(Xm)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert_array_equal(proba, expected)
    # reading X whole would allocate its 2.4 MB at least once
    assert peak < X.nbytes / 4, peak


def test_errors_name_the_global_row():
    X, y = learnable(200)
    X[137, 2, 1] = np.nan  # a missing value inside sequence 137
    Xd = da.from_array(X, chunks=(50, 12, 2))
    with pytest.raises(ValueError, match="NaN at sequence 137, timestep 2, channel 1"):
        small(LSTMAttentionClassifier).fit(Xd, y)
    model = small(LSTMAttentionClassifier, max_epochs=1).fit(X[:100], y[:100])
    lazy = model.predict(Xd)  # checked when computed, block by block
    with pytest.raises(ValueError, match="NaN at sequence 137, timestep 2"):
        lazy.compute()


def test_dask_array_chunked_along_time_is_rechunked_or_refused():
    X, y = learnable(100)
    whole = small(LSTMAttentionClassifier, max_epochs=1)
    whole.fit(da.from_array(X, chunks=(100, 12, 2)), y)
    split = small(LSTMAttentionClassifier, max_epochs=1)
    split.fit(da.from_array(X, chunks=(100, 5, 1)), y)  # one block of whole rows
    assert_array_equal(whole.predict_proba(X), split.predict_proba(X))
    huge = da.zeros((4, 2**26, 4), dtype=np.float32, chunks=(1, 2**24, 4))
    with pytest.raises(ValueError, match="one sequence of it takes 1024 MiB"):
        small(LSTMAttentionClassifier).fit(huge, np.arange(4) % 2)
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        Xd = da.from_array(X, chunks=(50, 12, 2))
        small(LSTMAttentionClassifier).fit(Xd[Xd[:, 0, 1] > -10], y)


def test_targets_as_dask_early_stopping_and_partial_fit():
    X, y = learnable(240)
    Xd = da.from_array(X, chunks=(40, 12, 2))
    yd = da.from_array(y, chunks=40)
    model = small(LSTMAttentionClassifier, early_stopping=True, max_epochs=3)
    model.fit(Xd, yd)
    assert "valid_loss" in model.history_[-1]
    # 6 blocks: ceil(0.1 * 6) = 1 held out, 5 train (of 40 rows: 3 batches each)
    assert model.history_[-1]["train_batch_count"] == 5 * 3
    with pytest.raises(ValueError, match="whole blocks of X"):
        model.fit(da.from_array(X, chunks=(240, 12, 2)), y)
    # validation_folds: one network, stopped on a share of whole blocks
    folds = small(
        LSTMAttentionClassifier, early_stopping=True, validation_folds=3, max_epochs=3
    ).fit(Xd, yd)
    assert folds.n_folds_ == 1 and "valid_loss" in folds.history_[-1]
    assert folds.history_[-1]["train_batch_count"] == 5 * 3
    # validation_split="last": the last of the 6 blocks
    from skattn._net import SequenceNet

    seen = {}
    original = SequenceNet.partial_fit

    def spy(net, X, y=None, **kwargs):
        seen["valid"] = X[1]
        return original(net, X, y, **kwargs)

    last = small(
        LSTMAttentionClassifier,
        early_stopping=True,
        validation_split="last",
        max_epochs=1,
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(SequenceNet, "partial_fit", spy)
        last.fit(Xd, yd)
    assert list(seen["valid"].blocks) == [5]
    # "auto" does not hold blocks out: fits read block by block train on all
    auto = small(LSTMAttentionClassifier, early_stopping="auto", max_epochs=1)
    assert auto.fit(Xd, yd).early_stopping_ is False
    assert "valid_loss" not in auto.history_[-1]
    stream = small(LSTMAttentionClassifier)
    stream.partial_fit(Xd, y, classes=[0, 1])
    stream.partial_fit(Xd, yd)
    assert stream.n_iter_ == 2  # one epoch per call
    assert stream.predict(Xd).compute().shape == (240,)


def test_vocabularies_are_refused_for_streamed_input():
    X, y = learnable(60)
    X = np.nan_to_num(X)
    X[..., 1] = np.arange(60)[:, None] % 3  # integer codes
    model = small(LSTMAttentionClassifier, categorical_features=[1])
    with pytest.raises(ValueError, match="learn vocabularies from the whole"):
        model.fit(da.from_array(X, chunks=(20, 12, 2)), y)


@pytest.fixture(scope="module")
def long_events():
    """A long table: 45 customers of 5 to 12 days, labels up/down, and the
    same table as a dask DataFrame of 3 partitions by customer."""
    dd = pytest.importorskip("dask.dataframe", reason="needs dask[dataframe]")
    X, y = make_sequences(n=45)
    frame = pd.DataFrame(
        [
            (f"c{i:02d}", day, *values)
            for i, s in enumerate(X)
            for day, values in enumerate(s)
        ],
        columns=["customer", "day", "a", "b"],
    )
    labels = pd.Series(y, index=[f"c{i:02d}" for i in range(45)])
    return frame, labels, dd.from_pandas(frame, npartitions=3)


def test_dask_dataframe_long_format_end_to_end(long_events):
    frame, labels, ddf = long_events
    X = from_dask_long(ddf.set_index("customer"), id_col="customer", time_col="day")
    assert list(X.ids()) == sorted(labels.index)
    # y as a Series indexed by entity, in another order: aligned by id
    model = small(LSTMAttentionClassifier, max_epochs=10).fit(X, labels.iloc[::-1])
    in_memory = frame.set_index(["customer", "day"])
    reference = small(LSTMAttentionClassifier, max_epochs=10).fit(in_memory, labels)
    assert_allclose(model._input_loc, reference._input_loc, rtol=1e-13)
    assert_allclose(model._input_scale, reference._input_scale, rtol=1e-13)
    proba = model.predict_proba(X)
    assert proba.shape == (45, 2)
    # partitions batch the rows differently from the whole frame (see
    # test_dask_predictions_equal_numpy for the exact block-by-block check)
    tol = dict(rtol=1e-12, atol=1e-14)
    assert_allclose(proba.compute(), model.predict_proba(in_memory), **tol)
    assert_array_equal(model.predict(X).compute(), model.predict(in_memory))
    weights = model.attention_weights(X).compute()  # padded to the longest
    assert_allclose(weights, model.attention_weights(in_memory), **tol)
    assert model.score(in_memory, labels) > 0.75  # it learned: chance is 0.5


def test_dask_dataframe_entity_split_across_partitions(long_events):
    frame, labels, ddf = long_events
    X = from_dask_long(ddf, id_col="customer", time_col="day")  # rows cut anywhere
    split = X.frame.get_partition(1).compute()["customer"].iloc[0]
    message = (
        f"entity '{split}' has rows in partitions \\[0, 1\\].*"
        "frame.set_index\\('customer'\\)"
    )
    with pytest.raises(ValueError, match=message):
        small(LSTMAttentionClassifier).fit(X, labels)
    with pytest.raises(TypeError, match="wrap it with skattn.data.from_dask_long"):
        small(LSTMAttentionClassifier).fit(ddf, labels)


def test_graph_key_instead_of_a_block_is_refused():
    # what dask-ml's Incremental hands to partial_fit for a 3D array
    with pytest.raises(TypeError, match="dask graph key .* not data"):
        small(LSTMAttentionClassifier).partial_fit(("array-894c", 0, 0), [0, 1])


def test_dask_ml_incremental_2d_blocks_and_3d_limit():
    wrappers = pytest.importorskip(
        "dask_ml.wrappers",
        reason="dask-ml pulls in numba and llvmlite (about 200 MB): not in the "
        "test extra",
    )
    X, y = learnable(200)
    X2 = np.nan_to_num(X[..., 0])
    yd = da.from_array(y, chunks=50)
    inc = wrappers.Incremental(small(LSTMAttentionClassifier), random_state=0)
    inc.fit(da.from_array(X2, chunks=(50, 12)), yd, classes=[0, 1])
    assert inc.estimator_.n_iter_ == 4  # one partial_fit (one epoch) per block
    X3 = da.from_array(X, chunks=(50, 12, 2))
    with pytest.raises(TypeError, match="builds block keys for 2D arrays only"):
        wrappers.Incremental(small(LSTMAttentionClassifier)).fit(X3, yd, classes=[0, 1])


def test_client_computes_the_blocks_when_there_is_one():
    distributed = pytest.importorskip("distributed")
    X, y = learnable(120)
    Xd = da.from_array(X, chunks=(40, 12, 2))
    reference = small(LSTMAttentionClassifier, max_epochs=2).fit(Xd, y)
    with distributed.Client(
        processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None
    ) as client:
        assert _sources._scheduler() is client
        model = small(LSTMAttentionClassifier, max_epochs=2).fit(Xd, y)
        lazy = model.predict_proba(Xd).compute()
    assert _sources._scheduler() == "threads"
    # the same fit, and the same batches as numpy's block by block; the
    # whole array is batched otherwise (see test_dask_predictions_equal_numpy)
    assert_array_equal(lazy, by_blocks(reference.predict_proba, X, Xd.chunks[0]))
    assert_allclose(lazy, reference.predict_proba(X), rtol=1e-12, atol=1e-14)


def test_ragged_helper_padding_is_streamed_like_arrays():
    # padded lists from tests/_data.py: lengths 5 to 12, NaN after the end
    X, y = make_sequences(n=60)
    padded = pad(X)
    model = small(LSTMAttentionClassifier, max_epochs=1)
    model.fit(da.from_array(padded, chunks=(25, padded.shape[1], 2)), y)
    lazy = model.predict_proba(da.from_array(padded, chunks=(7, -1, -1))).compute()
    # each block of 7 padded rows is predicted as the 7 sequences of the list
    # are; the whole list is batched otherwise (test_dask_predictions_equal_numpy)
    assert_array_equal(lazy, by_blocks(model.predict_proba, X, [7] * 8 + [4]))
    assert_allclose(lazy, model.predict_proba(X), rtol=1e-12, atol=1e-14)


def test_auto_series_norm_decides_as_in_memory():
    """The spread of the sequences' scales is read in the statistics pass."""
    rng = np.random.default_rng(0)
    X, y = learnable(120)
    scales = 10 ** rng.uniform(-3, 2, (len(X), 1, 1))
    kwargs = dict(series_norm="auto", max_epochs=1, random_state=0, n_threads=1)
    for data, expected in ((X, None), (X * scales, "instance")):
        streamed = LSTMAttentionClassifier(**kwargs).fit(
            da.from_array(data, chunks=(50, 12, 2)), y
        )
        in_memory = LSTMAttentionClassifier(**kwargs).fit(data, y)
        assert streamed.series_norm_ == in_memory.series_norm_ == expected


def test_auto_stem_reads_the_median_length_as_in_memory():
    """The lengths are read in the statistics pass: the stride
    ``conv_stem="auto"`` picks is the in-memory one."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 600, 1))
    lengths = np.full(90, 140)
    lengths[::9] = 600  # a few long sequences: the median stays short
    for i, n in enumerate(lengths):
        X[i, n:] = np.nan
    y = np.arange(90) % 2
    kwargs = dict(hidden_size=4, max_epochs=1, random_state=0, n_threads=1)
    streamed = LSTMAttentionClassifier(**kwargs).fit(
        da.from_array(X, chunks=(40, 600, 1)), y
    )
    in_memory = LSTMAttentionClassifier(**kwargs).fit(X, y)
    assert streamed._stem_length == in_memory._stem_length == 140
    assert streamed.net_.module_.stem.stride == in_memory.net_.module_.stem.stride == 2


def test_streamed_regressor_learns_the_linear_part_jointly():
    # the ridge fit needs the training data in memory; block by block the
    # linear part is learned with the network, and linear_fit_ says so
    X, _ = learnable(80)
    y = np.nan_to_num(X[:, :, 0]).sum(1)
    reg = small(LSTMAttentionRegressor, linear_steps=4, max_epochs=1)
    reg.fit(da.from_array(X, chunks=(40, 12, 2)), y)
    assert reg.linear_fit == "ridge" and reg.linear_fit_ == "joint"
    assert reg.net_.module_.linear.linear.weight.requires_grad
    # nothing held out in memory to fit network_weight="auto" on: the
    # network counts whole
    np.testing.assert_array_equal(reg.network_weight_, [1.0])


def test_streamed_fit_resolves_auto_differences_as_in_memory():
    """``differences="auto"`` reads how smooth the sequences are block by
    block, as from the array in memory."""
    t = np.arange(60)
    rng = np.random.default_rng(0)
    X = np.sin(2 * np.pi * t / 60 + rng.uniform(0, 6, (90, 1)))[..., None]
    y = X[:, 0, 0]
    streamed = small(TransformerRegressor, max_epochs=1)
    streamed.fit(da.from_array(X, chunks=((30, 30, 30), 60, 1)), y)
    in_memory = small(TransformerRegressor, max_epochs=1).fit(X, y)
    assert streamed.differences_ == in_memory.differences_ == 2
    noise = rng.normal(size=X.shape)
    streamed.fit(da.from_array(noise, chunks=((30, 30, 30), 60, 1)), y)
    assert streamed.differences_ == 0
