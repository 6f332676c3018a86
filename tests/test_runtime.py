"""Where and how torch runs (``skattn/_runtime.py``): torch threads during
fits and predictions, the caller's random state, devices, and the GPU slots
of workers in parallel searches."""

import multiprocessing
import os
import pickle
import time

import joblib
import numpy as np
import pytest
import torch
from joblib import Parallel, delayed
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.model_selection import GridSearchCV

import skattn
from skattn import LSTMAttentionClassifier, TransformerClassifier, _runtime
from skattn._net import SequenceNet

from ._data import make_sequences
from ._params import ONE_EPOCH_LSTM, SMALL_TRANSFORMER, small

# Threads -----------------------------------------------------------------------


def threads_during_fit(n_threads, flops_per_thread=None):
    """Fit a small model; return torch's thread counts seen in its train steps
    and the ``skattn`` that was imported (in a worker: which copy it loads).

    ``flops_per_thread`` replaces ``_runtime.FLOPS_PER_THREAD`` during the
    fit (here or in a worker process), so that the small model stands in for
    a large one under ``n_threads="auto"``."""
    seen = set()
    train_step = SequenceNet.train_step
    threshold = _runtime.FLOPS_PER_THREAD

    def spy(self, *args, **kwargs):
        seen.add(torch.get_num_threads())
        return train_step(self, *args, **kwargs)

    SequenceNet.train_step = spy
    if flops_per_thread is not None:
        _runtime.FLOPS_PER_THREAD = flops_per_thread
    try:
        X, y = make_sequences(n=8)
        LSTMAttentionClassifier(n_threads=n_threads, **ONE_EPOCH_LSTM).fit(X, y)
    finally:
        SequenceNet.train_step = train_step
        _runtime.FLOPS_PER_THREAD = threshold
    return seen, torch.get_num_threads(), skattn.__file__


def small_lstm_step_flops():
    """The work ``n_threads="auto"`` sees in a ``threads_during_fit`` step."""
    X, y = make_sequences(n=8)
    model = LSTMAttentionClassifier(n_threads=1, **ONE_EPOCH_LSTM).fit(X, y)
    length = max(len(x) for x in X)
    return _runtime.step_flops(model.net_.module_, model.batch_size, length)


@pytest.mark.parametrize("n_threads", [1, 3])
def test_n_threads_holds_during_fit_and_is_restored(n_threads):
    torch.set_num_threads(2)  # conftest restores the session's value
    seen, after, _ = threads_during_fit(n_threads)
    assert seen == {n_threads}
    assert after == 2


def test_estimators_default_to_auto_threads():
    for cls in (LSTMAttentionClassifier, TransformerClassifier):
        assert cls().get_params()["n_threads"] == "auto"


def test_auto_gives_a_small_network_one_thread():
    torch.set_num_threads(2)
    seen, after, _ = threads_during_fit("auto")
    assert seen == {1}
    assert after == 2  # the caller's setting is back


@pytest.mark.parametrize("available, expected", [(4, 3), (2, 2)])
def test_auto_gives_a_large_network_a_thread_per_share_of_work(available, expected):
    # With the threshold at a third of the step's work, the step is "large":
    # three threads, or as many as torch had.
    flops = small_lstm_step_flops()
    torch.set_num_threads(available)
    seen, after, _ = threads_during_fit("auto", flops_per_thread=flops / 3)
    assert seen == {expected}
    assert after == available


def test_auto_threads_rule():
    threshold = _runtime.FLOPS_PER_THREAD
    assert _runtime.auto_threads(0, 8) == 1
    assert _runtime.auto_threads(threshold - 1, 8) == 1
    assert _runtime.auto_threads(2 * threshold, 8) == 2
    assert _runtime.auto_threads(2.5 * threshold, 8) == 2
    assert _runtime.auto_threads(100 * threshold, 8) == 8
    assert _runtime.auto_threads(100 * threshold, 1) == 1


def test_step_flops_of_default_networks_on_gunpoint_and_a_large_one():
    from skattn.datasets import load_gunpoint

    X, _, y, _ = load_gunpoint(return_X_y=True)
    for cls in (LSTMAttentionClassifier, TransformerClassifier):
        model = cls(max_epochs=1, n_threads=1, random_state=0).fit(X[:16], y[:16])
        flops = _runtime.step_flops(model.net_.module_, model.batch_size, X.shape[1])
        assert _runtime.auto_threads(flops, 64) == 1, (cls.__name__, flops)
    # a wide Transformer on long sequences, without a stem, batches of 64:
    # built, not trained
    from skattn.modules import transformer_network

    network = transformer_network(
        1, 2, d_model=256, num_heads=4, num_layers=4, dim_feedforward=512
    )
    flops = _runtime.step_flops(network, 64, 2048)
    assert _runtime.auto_threads(flops, 64) > 4


def test_step_flops_grows_with_the_work():
    from skattn.modules import recurrent_network, transformer_network

    def network(**params):
        return transformer_network(
            2, 3, **{"d_model": 16, "num_heads": 2, "dim_feedforward": 32, **params}
        )

    base = _runtime.step_flops(network(), 8, 100)
    assert _runtime.step_flops(network(), 16, 100) == 2 * base  # per sequence
    # self-attention is quadratic in the length, the rest linear
    assert 2 * base < _runtime.step_flops(network(), 8, 200) < 4 * base
    assert _runtime.step_flops(network(num_layers=4), 8, 100) > 1.5 * base
    assert _runtime.step_flops(network(d_model=32), 8, 100) > 2 * base
    # a stem of stride 4 leaves a quarter of the steps to the encoder
    strided = _runtime.step_flops(network(conv_stem=4), 8, 400)
    assert strided < _runtime.step_flops(network(conv_stem=1), 8, 400) / 2
    lstm = recurrent_network(2, 3, hidden_size=16)
    assert _runtime.step_flops(lstm, 8, 200) == 2 * _runtime.step_flops(lstm, 8, 100)


def test_auto_never_exceeds_the_setting_before_overlapping_calls():
    # A call that overlaps another sees that call's setting in torch; its
    # limit is the caller's setting from before the first of them.
    torch.set_num_threads(3)
    with _runtime.num_threads(1):
        with _runtime.num_threads("auto", flops=1e30):
            assert torch.get_num_threads() == 3
        with _runtime.num_threads("auto", flops=0):
            assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 3


def test_auto_needs_the_work_of_a_step():
    with pytest.raises(ValueError, match="auto"):
        with _runtime.num_threads("auto"):
            pass


def test_n_threads_doc_states_the_auto_threshold():
    threshold = f"{_runtime.FLOPS_PER_THREAD:.0e}".replace("e+", "e")
    assert f"one thread per {threshold}" in " ".join(
        TransformerClassifier.__doc__.split()
    )


def test_n_threads_none_leaves_torch_alone():
    torch.set_num_threads(2)
    seen, after, _ = threads_during_fit(None)
    assert seen == {2} and after == 2


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


def test_loky_workers_fit_with_cores_over_n_jobs_threads():
    # joblib starts loky workers with OMP_NUM_THREADS=cpu_count() // n_jobs
    # (unless the parent sets it); torch reads it when it starts, so the
    # default n_threads=None does not oversubscribe.
    expected = int(os.environ.get("OMP_NUM_THREADS", max(joblib.cpu_count() // 2, 1)))
    results = Parallel(n_jobs=2, backend="loky")(
        delayed(threads_during_fit)(None) for _ in range(2)
    )
    for seen, after, path in results:
        assert seen == {expected} and after == expected
        assert path == skattn.__file__  # workers run this checkout


def test_auto_in_loky_workers_keeps_their_thread_limit():
    # The threshold made tiny: "auto" would take every thread it may, and
    # gets the worker's OMP_NUM_THREADS limit, never the host's cores.
    expected = int(os.environ.get("OMP_NUM_THREADS", max(joblib.cpu_count() // 2, 1)))
    results = Parallel(n_jobs=2, backend="loky")(
        delayed(threads_during_fit)("auto", flops_per_thread=1) for _ in range(2)
    )
    for seen, after, _ in results:
        assert seen == {expected} and after == expected


# Random state ------------------------------------------------------------------


def test_fit_leaves_global_torch_rng_alone(data3d):
    X, y = data3d
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    small(TransformerClassifier).fit(X, y)
    assert_array_equal(torch.rand(3), expected)


# Devices -----------------------------------------------------------------------


def test_device_auto_and_missing_cuda(data):
    X, y = data
    clf = TransformerClassifier(max_epochs=1, **SMALL_TRANSFORMER).fit(X, y)
    assert clf.net_.device == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(
            ValueError, match="device='cuda', but CUDA is not available"
        ):
            TransformerClassifier(device="cuda", **SMALL_TRANSFORMER).fit(X, y)
    with pytest.raises(ValueError, match="device='tpu'"):
        TransformerClassifier(device="tpu", **SMALL_TRANSFORMER).fit(X, y)


def test_the_lstm_network_makes_its_tensors_on_the_inputs_device():
    """On the meta device (shapes, no values), a tensor made on the CPU is an
    error, as on CUDA: the network's forward and attention paths, striding
    stem included, run there. (The Transformer reads a value of its mask,
    which the meta device cannot give; the GPU tests cover it.)"""
    X = np.random.default_rng(0).normal(size=(8, 200, 2))
    clf = LSTMAttentionClassifier(max_epochs=1, device="cpu").fit(X, np.arange(8) % 2)
    network = clf.net_.module_.to("meta")
    assert network.stem.stride == 2
    values = torch.zeros(3, 200, 2, device="meta")
    mask = torch.ones(3, 200, dtype=torch.bool, device="meta")
    assert network(values, mask).device.type == "meta"
    weights = network.attention(values, mask)[1]
    assert weights.device.type == "meta" and weights.shape == (3, 1, 200)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_training_loads_on_cpu(data, tmp_path):
    X, y = data
    clf = TransformerClassifier(max_epochs=3, device="cuda", **SMALL_TRANSFORMER).fit(
        X, y
    )
    assert clf.net_.device == "cuda"
    gpu_proba = clf.predict_proba(X)
    clf.save(tmp_path / "m.skattn")
    cpu = skattn.load(tmp_path / "m.skattn", device="cpu")
    np.testing.assert_allclose(cpu.predict_proba(X), gpu_proba, rtol=1e-6, atol=1e-9)
    pickled = pickle.loads(pickle.dumps(clf))
    assert pickled.predict_proba(X).shape == (80, 2)
    amp = TransformerClassifier(
        max_epochs=2, device="cuda", mixed_precision=True, **SMALL_TRANSFORMER
    )
    assert np.isfinite(amp.fit(X, y).predict_proba(X)).all()


def fake_gpus(monkeypatch, n_gpus, worker_slot=None):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: n_gpus > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: n_gpus)
    if worker_slot is not None:
        parent = multiprocessing.current_process()  # any non-None process
        monkeypatch.setattr(multiprocessing, "parent_process", lambda: parent)
        monkeypatch.setattr(_runtime, "worker_slot", lambda: worker_slot)


def test_auto_device_without_gpus_is_cpu(monkeypatch):
    fake_gpus(monkeypatch, 0, worker_slot=3)
    assert _runtime.resolve_device("auto") == "cpu"


@pytest.mark.parametrize(
    "n_gpus, worker_slot, expected",
    [
        (1, None, "cuda"),  # main process, one GPU
        (1, 5, "cuda"),  # worker, one GPU
        (4, None, "cuda"),  # main process: the current device, as before
        (4, 0, "cuda:0"),
        (4, 6, "cuda:2"),  # worker slot 6 of a host with 4 GPUs
        (2, 3, "cuda:1"),
    ],
)
def test_auto_device_spreads_workers_over_gpus(
    monkeypatch, n_gpus, worker_slot, expected
):
    fake_gpus(monkeypatch, n_gpus, worker_slot)
    assert _runtime.resolve_device("auto") == expected


def device_in_worker(n_gpus):
    """In a worker process: its pid, slot, and what ``"auto"`` resolves to with
    ``n_gpus`` GPUs pretended."""
    time.sleep(0.2)  # let the other worker take tasks too
    is_available, device_count = torch.cuda.is_available, torch.cuda.device_count
    torch.cuda.is_available = lambda: True
    torch.cuda.device_count = lambda: n_gpus
    try:  # loky reuses its workers: leave them as they were
        return os.getpid(), _runtime.worker_slot(), _runtime.resolve_device("auto")
    finally:
        torch.cuda.is_available, torch.cuda.device_count = is_available, device_count


def test_live_loky_workers_hold_distinct_slots():
    results = Parallel(n_jobs=2, backend="loky")(
        delayed(device_in_worker)(2) for _ in range(6)
    )
    slot_of = {}
    for pid, slot, device in results:
        assert slot_of.setdefault(pid, slot) == slot  # a worker keeps its slot
        assert device == f"cuda:{slot % 2}"
    assert len(slot_of) == 2, "both workers should have taken tasks"
    assert len(set(slot_of.values())) == 2


# Parallel searches -------------------------------------------------------------


# A search whose fits run in worker processes scores every fold exactly as
# the same search run serially. Scored with log-loss on fits that learn
# something, so that a worker fitting or scoring differently (other seeds,
# other thread counts, another copy of skattn) changes the scores; accuracy on
# a small fold moves in steps of one sample and would hide it. The same
# comparison on a dask cluster is in tests/test_dask.py.
# Two candidates x 3 folds, scored on the workers (no refit, which would run
# in the main process in both searches).
SEARCH = dict(
    param_grid={"lr": [1e-2, 3e-2]}, cv=3, scoring="neg_log_loss", refit=False
)
FOLD_SCORES = [f"split{k}_test_score" for k in range(3)]


def fold_scores(search):
    """The per-fold test scores, ``[n_folds, n_candidates]``."""
    return np.array([search.cv_results_[key] for key in FOLD_SCORES])


def searched_model():
    # every fit pins one torch thread, in the main process and in workers
    return LSTMAttentionClassifier(
        hidden_size=4, max_epochs=6, batch_size=8, n_threads=1, random_state=0
    )


def check_fits_learned(scores):
    """Scores of fits that learned, and that differ from one another."""
    # chance (0.5 for both classes) has a log-loss of log(2) = 0.693
    assert np.all(scores > -np.log(2) + 0.03), scores
    assert len(np.unique(scores)) == scores.size, scores


def test_parallel_search_scores_equal_serial():
    X, y = make_sequences(n=48)
    serial = GridSearchCV(searched_model(), **SEARCH).fit(X, y)
    parallel = GridSearchCV(searched_model(), n_jobs=2, **SEARCH).fit(X, y)
    expected = fold_scores(serial)
    check_fits_learned(expected)
    # Measured difference: 0.0 (bitwise equal; 2-core x86, torch 2.13). The
    # networks run the same float32 operations on one thread in every
    # process; rtol=1e-12 allows only float64 rounding in the scorer, while
    # any change in the fits (a float32 difference of 1e-7 or more) fails.
    assert_allclose(fold_scores(parallel), expected, rtol=1e-12, atol=0)
    assert_allclose(
        parallel.cv_results_["mean_test_score"],
        serial.cv_results_["mean_test_score"],
        rtol=1e-12,
        atol=0,
    )


def test_grid_search_over_attention_and_heads_in_parallel(data3d):
    # Parameters that change the network's shape (heads of multi-head
    # pooling) survive the trip to the workers: every candidate is fitted
    # as asked there, so its log-loss equals the serial search's.
    X, y = data3d
    search = dict(
        param_grid={"attention": ["additive", "multihead"], "num_heads": [1, 2]},
        cv=2,
        scoring="neg_log_loss",
    )
    model = small(LSTMAttentionClassifier, max_epochs=2, n_threads=1)
    parallel = GridSearchCV(model, n_jobs=2, **search).fit(X, y)
    serial = GridSearchCV(model, **search).fit(X, y)
    scores = parallel.cv_results_["mean_test_score"]
    assert_allclose(scores, serial.cv_results_["mean_test_score"], rtol=1e-12)
    # additive pooling has no heads: its two candidates fit the same network
    additive = [p["attention"] == "additive" for p in parallel.cv_results_["params"]]
    assert_allclose(*scores[additive], rtol=1e-12)
    assert len(np.unique(scores[np.logical_not(additive)])) == 2
    best = parallel.best_estimator_
    assert best.get_params()["num_heads"] == parallel.best_params_["num_heads"]
