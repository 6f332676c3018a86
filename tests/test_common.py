"""scikit-learn's estimator checks over every public estimator of skattn.

Estimators are found by walking the package, so none can be missed; each is
configured for speed (small networks, few epochs: ``CHECKS_FAST`` in
tests/_params.py), as scikit-learn's own tests configure MLPClassifier.
"""

import inspect

from sklearn.base import BaseEstimator
from sklearn.utils.estimator_checks import parametrize_with_checks

import skattn

from ._params import CHECKS_FAST, CHECKS_FAST_OVERRIDES

# A network trained by minibatch gradient descent cannot meet these checks at
# scikit-learn's tolerances; nothing else is expected to fail.
EXPECTED_FAILURES = {
    "check_sample_weight_equivalence_on_dense_data": (
        "a weight of 2 is not the same as a duplicated row under minibatch SGD: "
        "duplicates change the batches and the number of steps"
    ),
}


# TokenEncoder takes texts, not numbers: its tags (input_tags.string=True,
# two_d_array=False) make scikit-learn run only check_estimator_cloneable on
# it (with a SkipTestWarning); tests/test_preprocessing.py tests the rest.


def public_estimators():
    """Every estimator class exported by skattn (walks ``skattn.__all__``)."""
    found = []
    for name in skattn.__all__:
        obj = getattr(skattn, name)
        if inspect.isclass(obj) and issubclass(obj, BaseEstimator):
            found.append(obj)
    return found


def fast_instance(cls):
    params = inspect.signature(cls).parameters
    fast = {**CHECKS_FAST, **CHECKS_FAST_OVERRIDES.get(cls.__name__, {})}
    return cls(**{k: v for k, v in fast.items() if k in params})


def test_all_public_estimators_are_found():
    names = {cls.__name__ for cls in public_estimators()}
    assert {
        "LSTMAttentionClassifier",
        "LSTMAttentionRegressor",
        "TransformerClassifier",
        "TransformerRegressor",
        "AttentionPoolingTransformer",
        "SequenceScaler",
        "SequenceImputer",
        "SequenceResampler",
        "SequenceTruncator",
        "TokenEncoder",
    } <= names


@parametrize_with_checks(
    [fast_instance(cls) for cls in public_estimators()],
    expected_failed_checks=lambda est: EXPECTED_FAILURES,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
