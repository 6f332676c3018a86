"""A grid search on a dask.distributed cluster equals the same search run
serially (needs the ``skattn[dask]`` extra; skipped without it)."""

import logging
import os
import signal
import time
from contextlib import contextmanager

import pytest

distributed = pytest.importorskip("distributed")

import dask  # noqa: E402
import joblib  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from numpy.testing import assert_allclose  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

import skattn  # noqa: E402
from skattn import LSTMAttentionClassifier  # noqa: E402

from ._data import make_sequences  # noqa: E402

pytestmark = pytest.mark.slow

TIME_LIMIT_S = 240


@contextmanager
def time_limit(seconds):
    """Fail instead of hanging if the cluster stops answering (POSIX)."""
    if not hasattr(signal, "SIGALRM"):  # pragma: no cover - Windows
        yield
        return

    def fail(signum, frame):
        signal.alarm(1)  # again in 1 s, should something swallow this one
        raise TimeoutError(f"the dask test took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, fail)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def client():
    """A LocalCluster of 2 worker processes with 1 thread each; closed, and
    its processes checked gone, when the module's tests are done."""
    with time_limit(TIME_LIMIT_S):
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.CRITICAL,
        )
        client = distributed.Client(cluster)
    pids = set()
    try:
        client.wait_for_workers(2, timeout=TIME_LIMIT_S)
        pids = set(client.run(os.getpid).values())  # the nannies run in this process
        yield client
    finally:
        client.close()
        cluster.close()
        deadline = time.monotonic() + 30
        while any(alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(alive(p) for p in pids), "dask processes outlived the test"


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped) counts as gone
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def test_workers_run_this_skattn_with_limited_threads(client):
    # the nanny sets OMP_NUM_THREADS (1 by default) before a worker starts;
    # torch reads it, so fits with n_threads=None use that many threads
    limit = dask.config.get("distributed.nanny.pre-spawn-environ")["OMP_NUM_THREADS"]
    files = client.run(lambda: skattn.__file__)
    threads = client.run(torch.get_num_threads)
    assert set(files.values()) == {skattn.__file__}
    assert set(threads.values()) == {int(limit)}


def test_grid_search_fold_scores_on_dask_equal_serial(client):
    # Log-loss of fits that learn, scored on the workers: unlike accuracy on
    # 16 samples (steps of 1/16), any change in a worker's fit shows. No
    # refit: it would run in this process for both searches.
    X, y = make_sequences(n=48)
    model = LSTMAttentionClassifier(
        hidden_size=4, max_epochs=6, batch_size=8, n_threads=1, random_state=0
    )
    search = dict(
        param_grid={"lr": [1e-2, 3e-2]}, cv=3, scoring="neg_log_loss", refit=False
    )
    serial = GridSearchCV(model, **search).fit(X, y)
    on_dask = GridSearchCV(model, n_jobs=-1, **search)
    with time_limit(TIME_LIMIT_S), distributed.get_task_stream(client) as tasks:
        with joblib.parallel_config(backend="dask"):
            on_dask.fit(X, y)
    assert len(tasks.data) >= 6  # the 2 candidates x 3 folds ran on the workers
    keys = [f"split{k}_test_score" for k in range(3)]
    expected = np.array([serial.cv_results_[key] for key in keys])
    # fits that learned (chance has a log-loss of log 2), all different
    assert np.all(expected > -np.log(2) + 0.03), expected
    assert len(np.unique(expected)) == expected.size, expected
    # Measured difference: 0.0 (bitwise equal; 2-core x86, torch 2.13, one
    # torch thread in each worker and here); rtol=1e-12 allows float64
    # rounding in the scorer only, so any change in a fit fails.
    actual = np.array([on_dask.cv_results_[key] for key in keys])
    assert_allclose(actual, expected, rtol=1e-12, atol=0)
