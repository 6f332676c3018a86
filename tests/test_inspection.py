"""skattn.inspection.attention_weights: estimators and whole Pipelines, and
the pipeline resolution it shares with plot_attention."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from skattn import (
    AttentionPoolingTransformer,
    LSTMAttentionClassifier,
    SequenceResampler,
    SequenceScaler,
    TransformerClassifier,
)
from skattn.inspection import attention_weights

from ._params import ONE_EPOCH_LSTM, SMALL_TRANSFORMER


@pytest.fixture(scope="module")
def pipeline(data):
    X, y = data
    clf = TransformerClassifier(
        max_epochs=2, attention="multihead", **SMALL_TRANSFORMER
    )
    return make_pipeline(SequenceScaler(per_sequence=True), clf).fit(X, y)


def test_pipeline_weights_are_those_of_its_last_step_on_transformed_input(
    pipeline, data
):
    X, _ = data
    expected = pipeline[-1].attention_weights(pipeline[0].transform(X))
    weights = attention_weights(pipeline, X)
    assert_array_equal(weights, expected)
    assert weights.shape == (80, 12)
    assert_allclose(weights.sum(axis=1), 1.0)
    # the scaling matters: the weights differ from those of the raw input
    assert not np.allclose(weights, pipeline[-1].attention_weights(X))
    per_head = attention_weights(pipeline, X, per_head=True)
    assert per_head.shape == (80, 2, 12)
    assert_array_equal(
        per_head,
        pipeline[-1].attention_weights(pipeline[0].transform(X), per_head=True),
    )


def test_estimator_weights_and_steps_that_change_lengths(data):
    X, y = data
    clf = LSTMAttentionClassifier(**ONE_EPOCH_LSTM).fit(X, y)
    assert_array_equal(attention_weights(clf, X), clf.attention_weights(X))
    resampled = make_pipeline(
        SequenceResampler(length=6), LSTMAttentionClassifier(**ONE_EPOCH_LSTM)
    ).fit(X, y)
    assert attention_weights(resampled, X).shape == (80, 6)
    single_step = make_pipeline(LSTMAttentionClassifier(**ONE_EPOCH_LSTM)).fit(X, y)
    assert_array_equal(
        attention_weights(single_step, X), single_step[-1].attention_weights(X)
    )


def test_pipeline_without_attention_gives_clear_errors(data):
    X, y = data
    embed = AttentionPoolingTransformer(max_epochs=1, **SMALL_TRANSFORMER)
    features = make_pipeline(SequenceScaler(), embed, LogisticRegression()).fit(X, y)
    with pytest.raises(
        TypeError,
        match=r"last step is LogisticRegression, which has no attention_weights.*"
        r"step 1 \(AttentionPoolingTransformer\) attends.*pipeline\[:2\]",
    ):
        attention_weights(features, X)
    # the hint works: the pipeline up to the attending step
    assert attention_weights(features[:2], X).shape == (80, 12)

    with pytest.raises(TypeError, match="got LogisticRegression, which has no"):
        attention_weights(features[-1], X[:, :, 0])

    mean = make_pipeline(
        SequenceScaler(), LSTMAttentionClassifier(pooling="mean", **ONE_EPOCH_LSTM)
    ).fit(X, y)
    with pytest.raises(ValueError, match="pooling='mean'.*fit it with pooling="):
        attention_weights(mean, X)


def test_plot_attention_resolves_pipelines_the_same_way(data):
    pytest.importorskip("matplotlib", reason="plot_attention needs matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from skattn.plotting import plot_attention

    X, y = data
    embed = AttentionPoolingTransformer(max_epochs=1, **SMALL_TRANSFORMER)
    features = make_pipeline(SequenceScaler(), embed, LogisticRegression()).fit(X, y)
    with pytest.raises(TypeError, match=r"^plot_attention needs.*pipeline\[:2\]"):
        plot_attention(features, X)
