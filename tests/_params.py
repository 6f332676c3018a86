"""Small-model settings shared by the tests.

Each setting keeps the values its tests were written with: where two groups
of tests use different values for the same purpose, both are kept under
distinct names, so that moving a test never changes what it fits.
"""

from skattn import (
    AttentionPoolingTransformer,
    LSTMAttentionClassifier,
    LSTMAttentionRegressor,
    TransformerClassifier,
    TransformerRegressor,
)

CLASSIFIERS = [LSTMAttentionClassifier, TransformerClassifier]
REGRESSORS = [LSTMAttentionRegressor, TransformerRegressor]

# Estimator behaviour (tests/test_base.py and others, through ``small``):
# 8 units, 4 epochs; the LSTM classifier at the learning rate its tests were
# written with (0.003, its default then), which learns in 4 epochs.
SMALL_BY_CLASS = {
    LSTMAttentionClassifier: dict(hidden_size=8, max_epochs=4, lr=3e-3),
    LSTMAttentionRegressor: dict(hidden_size=8, max_epochs=4),
    TransformerClassifier: dict(
        d_model=8, num_heads=2, dim_feedforward=16, max_epochs=4
    ),
    TransformerRegressor: dict(
        d_model=8, num_heads=2, dim_feedforward=16, max_epochs=4
    ),
    AttentionPoolingTransformer: dict(
        d_model=8, num_heads=2, dim_feedforward=16, max_epochs=4
    ),
}


def small(cls, **params):
    """``cls`` with its ``SMALL_BY_CLASS`` settings, seeded, and ``params``."""
    return cls(**{**SMALL_BY_CLASS[cls], "random_state": 0, **params})


# Padding invariance and input formats: the smallest networks (4 units, a
# feed-forward width of 8); the number of epochs is set by each test.
TINY_BY_CLASS = {
    LSTMAttentionClassifier: dict(hidden_size=4),
    LSTMAttentionRegressor: dict(hidden_size=4),
    TransformerClassifier: dict(d_model=8, num_heads=2, dim_feedforward=8),
    TransformerRegressor: dict(d_model=8, num_heads=2, dim_feedforward=8),
    AttentionPoolingTransformer: dict(d_model=8, num_heads=2, dim_feedforward=8),
}

# The training loop, saving and devices: one small Transformer, seeded; the
# number of epochs is set by each test.
SMALL_TRANSFORMER = dict(d_model=8, num_heads=2, dim_feedforward=16, random_state=0)

# Threads, workers and searches: an LSTM fitted for one epoch.
ONE_EPOCH_LSTM = dict(hidden_size=4, max_epochs=1, random_state=0)

# scikit-learn's estimator checks (tests/test_common.py): fast settings per
# parameter name, applied where an estimator has it.
CHECKS_FAST = {
    "hidden_size": 8,
    "d_model": 8,
    "num_heads": 2,
    "num_layers": 1,
    "dim_feedforward": 16,
    "max_epochs": 10,
    "batch_size": 32,
    "lr": 1e-2,
    "dropout": 0.0,
}

# check_regressors_train asks for R² > 0.5 on a problem where only one of 10
# timesteps matters: the regressors train longer, and a recurrent encoder
# needs a higher learning rate than a Transformer to find it in 20 epochs.
CHECKS_FAST_OVERRIDES = {
    "TransformerRegressor": {"max_epochs": 20},
    "LSTMAttentionRegressor": {"max_epochs": 20, "lr": 3e-2},
}

# Fuzzing (tests/test_fuzz.py): one epoch of 4-sample batches, and a
# Transformer of 4 units and one layer.
TINY_TRAINING = dict(max_epochs=1, batch_size=4, random_state=0)
TINY_TRANSFORMER = dict(d_model=4, num_heads=2, dim_feedforward=8, num_layers=1)
