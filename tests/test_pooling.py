"""AttentionPoolingTransformer (``skattn/_pooling.py``): supervised and
self-supervised embeddings, feature names, the task it infers."""

import numpy as np
import pandas as pd
from numpy.testing import assert_allclose, assert_array_equal

from skattn import AttentionPoolingTransformer

from ._params import small


class TestAttentionPoolingTransformer:
    def test_supervised_classification(self, data3d):
        X, y = data3d
        pool = small(AttentionPoolingTransformer).fit(X, y)
        assert pool.task_ == "classification"
        Z = pool.transform(X)
        assert Z.shape == (48, 8) and Z.dtype == np.float64
        assert_array_equal(pool.classes_, ["neg", "pos"])
        assert_allclose(pool.attention_weights(X).sum(1), 1.0, rtol=1e-12)

    def test_supervised_regression_and_lstm_encoder(self, data3d):
        X, _ = data3d
        pool = small(AttentionPoolingTransformer, encoder="lstm", hidden_size=6)
        pool.fit(X, X[:, :, 0].sum(1))
        assert pool.task_ == "regression"
        assert pool.transform(X).shape == (48, 12)  # bidirectional: 2 * hidden_size

    def test_self_supervised(self):
        # smooth waves: a hidden step is predictable from its neighbours
        rng = np.random.default_rng(0)
        t = np.linspace(0, 4 * np.pi, 30)
        X = np.sin(t[None, :, None] + rng.uniform(0, 6, size=(64, 1, 2)))
        pool = small(
            AttentionPoolingTransformer,
            encoder="lstm",
            hidden_size=8,
            max_epochs=30,
            lr=1e-2,
        ).fit(X)
        assert pool.task_ == "reconstruction"
        losses = [row["train_loss"] for row in pool.history_]
        assert losses[-1] < 0.5 * losses[0]
        assert pool.transform(X).shape == (64, 16)

    def test_feature_names_and_pandas_output(self, data3d):
        X, y = data3d
        pool = small(AttentionPoolingTransformer).fit(X, y)
        names = pool.get_feature_names_out()
        assert_array_equal(names, [f"attentionpoolingtransformer{i}" for i in range(8)])
        frame = pool.set_output(transform="pandas").transform(X)
        assert isinstance(frame, pd.DataFrame)
        assert_array_equal(frame.columns, names)

    def test_task_can_be_forced(self, data3d):
        X, _ = data3d
        y = np.arange(48) % 3
        assert (
            small(AttentionPoolingTransformer, task="regression").fit(X, y).task_
            == "regression"
        )
        assert small(AttentionPoolingTransformer).fit(X, y).task_ == "classification"
