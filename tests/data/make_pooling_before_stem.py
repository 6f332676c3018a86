"""How the AttentionPoolingTransformer files in this folder were made.

They were saved once, with the AttentionPoolingTransformer of skattn 0.1,
which had no convolutional stem (no ``conv_stem`` parameter, so the files
hold none), and are committed so that ``tests/test_pooling.py`` checks that
later releases still load them and embed what they embedded then. Do not
run this to make a failing test pass: a failure means old model files no
longer load; fix the loader instead.

    python tests/data/make_pooling_before_stem.py
"""

import json
from pathlib import Path

import numpy as np
import torch

from skattn import AttentionPoolingTransformer

HERE = Path(__file__).resolve().parent


def main():
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    X = np.round(rng.normal(size=(16, 12, 2)), 3)
    y = np.array(["down", "up"])[(X[:, :, 0].mean(1) > 0).astype(int)]
    supervised = AttentionPoolingTransformer(
        d_model=4,
        num_heads=2,
        num_layers=1,
        dim_feedforward=8,
        max_epochs=3,
        random_state=0,
    ).fit(X, y)
    supervised.save(HERE / "pooling_supervised_before_stem.skattn")
    self_supervised = AttentionPoolingTransformer(
        encoder="lstm",
        hidden_size=2,
        num_heads=2,
        num_layers=1,
        max_epochs=3,
        random_state=0,
    ).fit(X)
    self_supervised.save(HERE / "pooling_self_supervised_before_stem.skattn")

    X_new = X[:4]
    expected = {
        "X": X_new.tolist(),
        "supervised": {
            "transform": supervised.transform(X_new).tolist(),
            "attention_weights": supervised.attention_weights(X_new).tolist(),
        },
        "self_supervised": {
            "transform": self_supervised.transform(X_new).tolist(),
        },
    }
    (HERE / "pooling_before_stem_expected.json").write_text(
        json.dumps(expected, indent=1) + "\n"
    )


if __name__ == "__main__":
    main()
