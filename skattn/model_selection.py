"""Resumable hyperparameter searches.

A long ``GridSearchCV`` that is interrupted (a lost job, a killed worker, a
closed laptop) starts from nothing when rerun: scikit-learn's searches keep
no record of finished fits. :class:`CachedFit` wraps an estimator so that
each fit is stored on disk (a :class:`joblib.Memory` cache keyed by the
estimator's parameters, the training data and the fit parameters); a rerun
of the same search loads every fit that finished instead of training it
again, and only predicts on the test folds.
"""

import os
from copy import deepcopy

from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, check_memory

__all__ = ["CachedFit"]


def _fit(estimator, X, y, fit_params):
    """The cached unit of work: an unfitted estimator in, a fitted one out."""
    return estimator.fit(X, y, **fit_params)


def _estimator_has(name):
    return lambda self: hasattr(self.estimator, name)


class CachedFit(MetaEstimatorMixin, BaseEstimator):
    """An estimator whose fits are cached on disk, to resume long searches.

    ``fit`` looks up a fit of ``estimator`` with the same parameters on the
    same data (and fit parameters such as ``sample_weight``) in ``memory``;
    if there is one it loads it, else it fits a clone and stores it. Put it
    in a search and prefix the searched parameters with ``estimator__``; an
    interrupted search, rerun with the same data, grid and ``cv`` splits,
    then trains only the candidates that had not finished. Searching a grid
    that extends an earlier one trains only the new candidates.

    Parameters
    ----------
    estimator : estimator
        The estimator to fit (cloned). Give it a fixed ``random_state``:
        with ``random_state=None`` a cached fit stands in for a new random
        one.
    memory : str, path-like, joblib.Memory or None, default=None
        The cache: a folder, or a :class:`joblib.Memory`; None caches
        nothing. Fits run in parallel (``n_jobs``, dask) may share one
        folder (joblib writes each entry atomically); on a cluster it must
        be a folder that every worker can reach. Entries are pickles: read
        only caches you wrote.

    Attributes
    ----------
    estimator_ : estimator
        The fitted (or loaded) clone of ``estimator``.
    classes_ : ndarray
        The classes of a fitted classifier.

    Notes
    -----
    The cache key includes the training rows, so the cross-validation splits
    must be the same on the rerun (an integer ``cv``, ``KFold`` without
    shuffling, or a splitter with a fixed ``random_state``). A rerun
    reports the time to load a fit as its ``fit_time``. To clear the cache,
    delete the folder or call ``memory.clear()``.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skattn import LSTMAttentionClassifier
    >>> from skattn.datasets import load_gunpoint
    >>> from skattn.model_selection import CachedFit
    >>> X, _, y, _ = load_gunpoint(return_X_y=True)
    >>> grid = {"estimator__attention": ["additive", "dot"]}
    >>> with tempfile.TemporaryDirectory() as cache:
    ...     model = CachedFit(
    ...         LSTMAttentionClassifier(hidden_size=8, max_epochs=1, random_state=0),
    ...         memory=cache,
    ...     )
    ...     first = GridSearchCV(model, grid, cv=2).fit(X, y)  # trains 2 x 2 + refit
    ...     again = GridSearchCV(model, grid, cv=2).fit(X, y)  # loads all 5 fits
    >>> again.best_params_ == first.best_params_
    True
    """

    def __init__(self, estimator, *, memory=None):
        self.estimator = estimator
        self.memory = memory

    def fit(self, X, y=None, **fit_params):
        """Load the cached fit of ``estimator`` on this data, or fit it.

        Parameters
        ----------
        X : object
            Training input, in any form ``estimator`` accepts (part of the
            cache key).
        y : array-like or None, default=None
            Targets, if ``estimator`` takes them (part of the cache key).
        **fit_params : dict
            Passed to ``estimator.fit`` (and part of the cache key).

        Returns
        -------
        self : object
            This instance, with the fitted or loaded clone in ``estimator_``.
        """
        memory = self.memory
        if isinstance(memory, os.PathLike):
            memory = os.fspath(memory)
        fit = check_memory(memory).cache(_fit)
        self.estimator_ = fit(clone(self.estimator), X, y, fit_params)
        return self

    @property
    def classes_(self):
        """The classes of the fitted classifier: ``estimator_.classes_``."""
        check_is_fitted(self)
        return self.estimator_.classes_

    @property
    def n_features_in_(self):
        """The number of features (channels) seen by ``estimator_`` in fit."""
        check_is_fitted(self)
        return self.estimator_.n_features_in_

    @available_if(_estimator_has("predict"))
    def predict(self, X):
        """Predict with the fitted estimator: ``estimator_.predict(X)``.

        Parameters
        ----------
        X : object
            Input, in any form ``estimator`` accepts.

        Returns
        -------
        y_pred : ndarray
            The predictions of ``estimator_``.
        """
        check_is_fitted(self)
        return self.estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Predict class probabilities: ``estimator_.predict_proba(X)``.

        Parameters
        ----------
        X : object
            Input, in any form ``estimator`` accepts.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            The class probabilities of ``estimator_``, columns in the order
            of ``classes_``.
        """
        check_is_fitted(self)
        return self.estimator_.predict_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """Decision scores: ``estimator_.decision_function(X)``.

        Parameters
        ----------
        X : object
            Input, in any form ``estimator`` accepts.

        Returns
        -------
        scores : ndarray
            The decision scores of ``estimator_``.
        """
        check_is_fitted(self)
        return self.estimator_.decision_function(X)

    @available_if(_estimator_has("transform"))
    def transform(self, X):
        """Transform with the fitted estimator: ``estimator_.transform(X)``.

        Parameters
        ----------
        X : object
            Input, in any form ``estimator`` accepts.

        Returns
        -------
        X_new : ndarray
            The output of ``estimator_.transform``.
        """
        check_is_fitted(self)
        return self.estimator_.transform(X)

    @available_if(_estimator_has("score"))
    def score(self, X, y=None, sample_weight=None):
        """Score the fitted estimator: ``estimator_.score(X, y)``.

        This is what a search ranks candidates by when it has no ``scoring``.

        Parameters
        ----------
        X : object
            Input, in any form ``estimator`` accepts.
        y : array-like or None, default=None
            True targets.
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Weights of the sequences, passed on only when given.

        Returns
        -------
        score : float
            The score of ``estimator_`` (accuracy for a classifier, R^2 for
            a regressor).
        """
        check_is_fitted(self)
        if sample_weight is None:
            return self.estimator_.score(X, y)
        return self.estimator_.score(X, y, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        # classifier or regressor, input kinds: whatever the wrapped one is
        return deepcopy(get_tags(self.estimator))
