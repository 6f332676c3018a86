"""Quick start: an attention classifier on two bundled data sets, beside baselines.

Fits a default ``LSTMAttentionClassifier`` (only ``random_state`` set) on
GunPoint (UCR archive; Dau et al. 2019: one channel, 150 steps) and
BasicMotions (UEA archive; Bagnall et al. 2018: six sensor channels, 100
steps), both bundled with skattn. For each it prints the test accuracy and
fit time next to two scikit-learn baselines, 1-nearest-neighbour on the
flattened series (the classic time-series baseline) and the majority class,
says whether the model beats them, and shows which timesteps the model
attends to, per class.

One seed, as a user would run it. ``benchmarks/RESULTS.md`` has three seeds,
the Transformer classifier (level on GunPoint, higher on BasicMotions, lower
on average over the seven data sets there, at about 1.3 times the fit time)
and MiniRocket, a non-neural method that is more accurate than both skattn
classifiers on GunPoint and fits in under a second.

Run: python examples/quickstart.py
(about a minute on a 2-core CPU that nothing else is using)
(set SKATTN_EXAMPLES_FAST=1, or pass --fast, for a quick run with a few
epochs: its accuracies are not meaningful)
"""

import os
import sys
import time

import numpy as np
from sklearn.dummy import DummyClassifier
from sklearn.neighbors import KNeighborsClassifier

from skattn import LSTMAttentionClassifier
from skattn.datasets import load_basic_motions, load_gunpoint

FAST = os.environ.get("SKATTN_EXAMPLES_FAST") == "1" or "--fast" in sys.argv[1:]
FAST_BANNER = (
    "FAST MODE (SKATTN_EXAMPLES_FAST=1 or --fast): tiny training, "
    "results are not meaningful"
)
# The default is 200 epochs; fast mode checks only that the script runs.
EPOCHS = {"max_epochs": 2} if FAST else {}
SHADES = " .:-=+*#%@"


def strip(values, width=50):
    """A text strip: one character per bin, darker = larger."""
    bins = np.array_split(np.asarray(values, dtype=float), width)
    means = np.array([b.mean() for b in bins])
    scaled = (means - means.min()) / (np.ptp(means) or 1.0)
    return "".join(SHADES[int(round(s * (len(SHADES) - 1)))] for s in scaled)


def flat(X):
    """Sequences [n, t, c] as rows [n, t * c] for the sklearn baselines."""
    return X.reshape(len(X), -1)


def compare(name, data):
    """Fit the baselines and the LSTMAttentionClassifier; print the table."""
    X_train, X_test, y_train, y_test = (
        data.X_train,
        data.X_test,
        data.y_train,
        data.y_test,
    )
    n, t, c = X_train.shape
    print(
        f"{name}: {n} training and {len(X_test)} test sequences, {t} steps, "
        f"{c} channel{'s' if c > 1 else ''}, classes {sorted(set(y_train.tolist()))}"
    )
    print(f"  Source: {data.citation}")
    models = {
        "majority class": (DummyClassifier(), True),
        "1-NN, Euclidean (flattened)": (KNeighborsClassifier(n_neighbors=1), True),
        "LSTMAttentionClassifier": (
            LSTMAttentionClassifier(random_state=0, **EPOCHS),
            False,
        ),
    }
    print(f"  {'model':<30}{'test accuracy':>14}{'fit time':>10}")
    scores = {}
    for label, (model, flatten) in models.items():
        start = time.perf_counter()
        model.fit(flat(X_train) if flatten else X_train, y_train)
        seconds = time.perf_counter() - start
        scores[label] = model.score(flat(X_test) if flatten else X_test, y_test)
        print(f"  {label:<30}{scores[label]:>14.3f}{seconds:>9.1f}s")
    ours = scores["LSTMAttentionClassifier"]
    knn = scores["1-NN, Euclidean (flattened)"]
    if ours > knn:
        verdict = f"beats 1-NN by {ours - knn:.3f}"
    elif ours == knn:
        verdict = "ties with 1-NN"
    else:
        verdict = f"LOSES to 1-NN by {knn - ours:.3f}"
    print(f"  -> LSTMAttentionClassifier {verdict} on {name}")
    return model, X_test, y_test


def show_attention(model, X_test, y_test):
    """Mean series and mean attention per class, as text strips."""
    weights = model.attention_weights(X_test)  # [n_test, n_steps]
    n_steps = X_test.shape[1]
    print(
        f"  Where it attends (mean per class over the test set; one character "
        f"per {n_steps / 50:.0f} steps, darker = larger):"
    )
    for label in model.classes_:
        chosen = y_test == label
        top = np.sort(np.argsort(weights[chosen].mean(axis=0))[::-1][:5])
        series = strip(X_test[chosen, :, 0].mean(axis=0))
        print(f"    class {label!s:<9} channel 0 {series}")
        print(f"    {'':<15} attention {strip(weights[chosen].mean(axis=0))}")
        print(f"    {'':<15} most attended timesteps: {top.tolist()}")


def main():
    if FAST:
        print(FAST_BANNER + "\n")
    for name, loader in (
        ("GunPoint", load_gunpoint),
        ("BasicMotions", load_basic_motions),
    ):
        model, X_test, y_test = compare(name, loader())
        show_attention(model, X_test, y_test)
        print()
    if FAST:
        print(FAST_BANNER)


if __name__ == "__main__":
    main()
