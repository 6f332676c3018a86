"""A parameter search whose fits run in worker processes (joblib's loky
backend) scores every fold exactly as the same search run serially.

The search is scored with a continuous metric (log-loss) on fits that learn
something, so that a worker fitting or scoring differently (other seeds,
other thread counts, another copy of skattn) changes the scores; accuracy
on a small test fold moves in steps of one sample and would hide it. The
same comparison on a dask cluster is in tests/test_dask.py.
"""

import numpy as np
from numpy.testing import assert_allclose
from sklearn.model_selection import GridSearchCV

from skattn import LSTMAttentionClassifier

from ._data import make_sequences

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
