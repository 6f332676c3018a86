"""Quick start: attention models on GunPoint, beside a simple sklearn baseline.

Fits a TransformerClassifier and an LSTMAttentionClassifier on the GunPoint
data set bundled with skattn (UCR archive; Dau et al. 2019), prints test
accuracy and fit time next to a 1-nearest-neighbour baseline, and shows
which timesteps each model attends to.

Run: python examples/quickstart.py
(set SKATTN_EXAMPLES_FAST=1 for a quick run with a few epochs)
"""

import os
import time

import numpy as np
from sklearn.neighbors import KNeighborsClassifier

from skattn import LSTMAttentionClassifier, TransformerClassifier
from skattn.datasets import load_gunpoint

SHADES = " .:-=+*#%@"
# A quick check that the script runs; the default (100 epochs) otherwise.
EPOCHS = {"max_epochs": 2} if os.environ.get("SKATTN_EXAMPLES_FAST") == "1" else {}


def strip(values, width=60):
    """A text strip: one character per bin, darker = larger."""
    bins = np.array_split(np.asarray(values, dtype=float), width)
    means = np.array([b.mean() for b in bins])
    scaled = (means - means.min()) / (np.ptp(means) or 1.0)
    return "".join(SHADES[int(round(s * (len(SHADES) - 1)))] for s in scaled)


def main():
    data = load_gunpoint()
    X_train, X_test, y_train, y_test = (
        data.X_train,
        data.X_test,
        data.y_train,
        data.y_test,
    )
    print(
        f"GunPoint: {len(X_train)} training and {len(X_test)} test sequences, "
        f"{X_train.shape[1]} timesteps, classes {sorted(set(y_train.tolist()))}"
    )
    print(f"Source: {data.citation}\n")

    models = {
        "1-NN, Euclidean (sklearn baseline)": KNeighborsClassifier(n_neighbors=1),
        "TransformerClassifier": TransformerClassifier(random_state=0, **EPOCHS),
        "LSTMAttentionClassifier": LSTMAttentionClassifier(random_state=0, **EPOCHS),
    }
    print(f"{'model':<38}{'test accuracy':>14}{'fit time':>10}")
    fitted = {}
    for name, model in models.items():
        X_fit = X_train[..., 0] if "sklearn" in name else X_train
        X_eval = X_test[..., 0] if "sklearn" in name else X_test
        start = time.perf_counter()
        model.fit(X_fit, y_train)
        seconds = time.perf_counter() - start
        accuracy = model.score(X_eval, y_test)
        print(f"{name:<38}{accuracy:>14.3f}{seconds:>9.1f}s")
        fitted[name] = model

    print(
        "\nWhere the models look (mean attention over the test set, "
        "one character per 2-3 timesteps, darker = more weight):"
    )
    print(f"  {'mean series':<25}{strip(X_test[..., 0].mean(axis=0))}")
    for name in ("TransformerClassifier", "LSTMAttentionClassifier"):
        weights = fitted[name].attention_weights(X_test)
        print(f"  {name:<25}{strip(weights.mean(axis=0))}")
        top = np.argsort(weights.mean(axis=0))[::-1][:5]
        print(f"  {'':<25}most attended timesteps: {sorted(top.tolist())}")


if __name__ == "__main__":
    main()
