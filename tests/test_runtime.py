"""Fits in parallel searches: torch threads and GPU choice per worker."""

import multiprocessing
import os
import time

import joblib
import numpy as np
import pytest
import torch
from joblib import Parallel, delayed

import skattn
from skattn import LSTMAttentionClassifier, _base
from skattn._net import SequenceNet

from ._data import make_sequences

SMALL = dict(hidden_size=4, max_epochs=1, random_state=0)


def threads_during_fit(n_threads):
    """Fit a small model; return torch's thread counts seen in its train steps
    and the ``skattn`` that was imported (in a worker: which copy it loads)."""
    seen = set()
    train_step = SequenceNet.train_step

    def spy(self, *args, **kwargs):
        seen.add(torch.get_num_threads())
        return train_step(self, *args, **kwargs)

    SequenceNet.train_step = spy
    try:
        X, y = make_sequences(n=8)
        LSTMAttentionClassifier(n_threads=n_threads, **SMALL).fit(X, y)
    finally:
        SequenceNet.train_step = train_step
    return seen, torch.get_num_threads(), skattn.__file__


@pytest.mark.parametrize("n_threads", [1, 3])
def test_n_threads_holds_during_fit_and_is_restored(n_threads):
    torch.set_num_threads(2)  # conftest restores the session's value
    seen, after, _ = threads_during_fit(n_threads)
    assert seen == {n_threads}
    assert after == 2


def test_n_threads_none_leaves_torch_alone():
    torch.set_num_threads(2)
    seen, after, _ = threads_during_fit(None)
    assert seen == {2} and after == 2


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


def fake_gpus(monkeypatch, n_gpus, worker_slot=None):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: n_gpus > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: n_gpus)
    if worker_slot is not None:
        parent = multiprocessing.current_process()  # any non-None process
        monkeypatch.setattr(multiprocessing, "parent_process", lambda: parent)
        monkeypatch.setattr(_base, "_worker_slot", lambda: worker_slot)


def test_auto_device_without_gpus_is_cpu(monkeypatch):
    fake_gpus(monkeypatch, 0, worker_slot=3)
    assert _base.resolve_device("auto") == "cpu"


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
    assert _base.resolve_device("auto") == expected


def device_in_worker(n_gpus):
    """In a worker process: its pid, slot, and what ``"auto"`` resolves to with
    ``n_gpus`` GPUs pretended."""
    time.sleep(0.2)  # let the other worker take tasks too
    is_available, device_count = torch.cuda.is_available, torch.cuda.device_count
    torch.cuda.is_available = lambda: True
    torch.cuda.device_count = lambda: n_gpus
    try:  # loky reuses its workers: leave them as they were
        return os.getpid(), _base._worker_slot(), _base.resolve_device("auto")
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


def test_parallel_search_equals_serial():
    # The same seeds and one torch thread in every process: identical scores.
    from sklearn.model_selection import GridSearchCV

    X, y = make_sequences(n=24)
    grid = {"attention": ["additive", "dot"], "lr": [1e-2, 3e-2]}
    model = LSTMAttentionClassifier(n_threads=1, **SMALL)
    serial = GridSearchCV(model, grid, cv=2).fit(X, y)
    parallel = GridSearchCV(model, grid, cv=2, n_jobs=2).fit(X, y)
    for key in ("split0_test_score", "split1_test_score", "mean_test_score"):
        np.testing.assert_array_equal(
            serial.cv_results_[key], parallel.cv_results_[key]
        )
    assert serial.best_params_ == parallel.best_params_
