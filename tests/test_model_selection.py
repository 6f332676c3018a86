"""Resumable searches with skattn.model_selection.CachedFit."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.model_selection import GridSearchCV

from skattn import LSTMAttentionClassifier, TransformerRegressor
from skattn.model_selection import CachedFit

from ._data import make_sequences
from ._params import ONE_EPOCH_LSTM


@pytest.fixture
def count_fits(monkeypatch):
    """Count the fits that really train an LSTMAttentionClassifier."""
    calls = []
    fit = LSTMAttentionClassifier.fit

    def counted(self, *args, **kwargs):
        calls.append(self.get_params()["attention"])
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(LSTMAttentionClassifier, "fit", counted)
    return calls


def test_rerun_of_a_search_trains_only_unfinished_candidates(tmp_path, count_fits):
    X, y = make_sequences(n=24)
    model = CachedFit(LSTMAttentionClassifier(**ONE_EPOCH_LSTM), memory=tmp_path)
    # an "interrupted" search: only the first candidate finished
    first = GridSearchCV(model, {"estimator__attention": ["additive"]}, cv=2)
    first.fit(X, y)
    assert len(count_fits) == 2 + 1  # 2 folds and the refit
    count_fits.clear()

    grid = {"estimator__attention": ["additive", "dot"]}
    resumed = GridSearchCV(model, grid, cv=2).fit(X, y)
    trained = count_fits.copy()
    # only the new candidate's folds (and a refit, unless "additive" won)
    assert trained[:2] == ["dot", "dot"]
    assert set(trained[2:]) <= {"dot"}

    plain = GridSearchCV(
        LSTMAttentionClassifier(**ONE_EPOCH_LSTM),
        {"attention": ["additive", "dot"]},
        cv=2,
    ).fit(X, y)
    for key in ("split0_test_score", "split1_test_score", "mean_test_score"):
        assert_array_equal(resumed.cv_results_[key], plain.cv_results_[key])
    assert resumed.best_params_ == {
        f"estimator__{k}": v for k, v in plain.best_params_.items()
    }

    count_fits.clear()
    GridSearchCV(model, grid, cv=2).fit(X, y)
    assert count_fits == []  # everything is cached now


def test_fit_parameters_and_data_are_part_of_the_key(tmp_path, count_fits):
    X, y = make_sequences(n=16)
    model = CachedFit(LSTMAttentionClassifier(**ONE_EPOCH_LSTM), memory=tmp_path)
    model.fit(X, y)
    model.fit(X, y, sample_weight=np.arange(1, 17.0))
    model.fit(X[:12], y[:12])
    clone(model).fit(X, y)
    model.set_params(estimator__lr=0.5).fit(X, y)
    assert len(count_fits) == 4


def test_delegates_like_the_wrapped_estimator(tmp_path):
    X, y = make_sequences(n=16)
    clf = LSTMAttentionClassifier(**ONE_EPOCH_LSTM)
    cached = CachedFit(clf, memory=tmp_path).fit(X, y)
    assert is_classifier(cached) and not is_regressor(cached)
    assert_array_equal(cached.classes_, np.array(["down", "up"]))
    direct = clone(clf).fit(X, y)
    assert_array_equal(cached.predict_proba(X), direct.predict_proba(X))
    assert cached.score(X, y) == direct.score(X, y)
    assert not hasattr(cached, "transform")
    assert is_regressor(CachedFit(TransformerRegressor()))


def test_without_memory_it_just_fits(count_fits):
    X, y = make_sequences(n=16)
    model = CachedFit(LSTMAttentionClassifier(**ONE_EPOCH_LSTM))
    model.fit(X, y)
    model.fit(X, y)
    assert len(count_fits) == 2
    direct = LSTMAttentionClassifier(**ONE_EPOCH_LSTM).fit(X, y)
    assert_array_equal(model.predict_proba(X), direct.predict_proba(X))
