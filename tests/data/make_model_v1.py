"""How the model files of format version 1 in this folder were made.

They were saved once, with skattn 0.1 (model format version 1), and are
committed so that ``tests/test_persistence.py`` checks that later releases
still load them and predict what they predicted then. Do not run this to
make a failing test pass: a failure means old model files no longer load;
fix the loader (or convert old files) instead.

    python tests/data/make_model_v1.py
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from skattn import LSTMAttentionRegressor, TransformerClassifier

HERE = Path(__file__).resolve().parent


def main():
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    X = [np.round(rng.normal(size=(rng.integers(2, 7), 2)), 3) for _ in range(16)]
    y = np.array(["down", "up"])[[int(s[:, 0].mean() > 0) for s in X]]
    clf = TransformerClassifier(
        d_model=4,
        num_heads=2,
        num_layers=1,
        dim_feedforward=8,
        positional_encoding="learned",
        max_epochs=3,
        random_state=0,
    ).fit(X, y)
    clf.save(HERE / "transformer_classifier_v1.skattn")

    wide = pd.DataFrame(
        np.round(rng.normal(size=(16, 5)), 3), columns=[f"t{i}" for i in range(5)]
    )
    targets = np.stack([wide.sum(axis=1), wide["t0"] * 1e6], axis=1)
    reg = LSTMAttentionRegressor(
        hidden_size=3, cell="gru", max_epochs=3, random_state=0
    ).fit(wide, targets)
    reg.save(HERE / "lstm_regressor_v1.skattn")

    X_new, wide_new = X[:4], wide.iloc[:3]
    expected = {
        "classifier": {
            "X": [s.tolist() for s in X_new],
            "predict": clf.predict(X_new).tolist(),
            "predict_proba": clf.predict_proba(X_new).tolist(),
            "attention_weights": clf.attention_weights(X_new).tolist(),
        },
        "regressor": {
            "X": wide_new.to_dict(orient="list"),
            "predict": reg.predict(wide_new).tolist(),
        },
    }
    (HERE / "model_v1_expected.json").write_text(json.dumps(expected, indent=1) + "\n")


if __name__ == "__main__":
    main()
