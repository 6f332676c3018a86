"""Activity recognition from a 6-channel motion sensor, with attention plots.

BasicMotions (UEA archive; Bagnall et al. 2018, arXiv:1811.00075, bundled
with skattn): 10-second recordings of a smart watch's accelerometer and
gyroscope (x, y, z each) while standing, walking, running or playing
badminton, 100 timesteps per recording.

The example shows:

- an ``LSTMAttentionClassifier`` trained on the 3D array ``(n_recordings,
  n_timesteps, n_channels)`` as it is, with its test accuracy and
  confusion matrix;
- saving the fitted model with ``est.save(path)`` and loading it back with
  ``skattn.load(path)`` (no pickle: a model file cannot run code), in a
  temporary directory that is deleted at the end;
- ``skattn.plotting.plot_attention``: one row per sensor channel, with the
  timesteps the model attended to as a heat strip, a colour bar of the
  weights, and the true and predicted activity in each title, saved to a PNG.

Run: python sensor_classification.py
Writes basic_motions_attention.png to the current directory, or to the
directory in $SKATTN_EXAMPLES_OUTPUT.
(set SKATTN_EXAMPLES_FAST=1, or pass --fast, for a quick run with fewer
epochs: its results are not meaningful)
"""

import os
import sys
import tempfile
from pathlib import Path

import matplotlib
import numpy as np
from sklearn.metrics import confusion_matrix

import skattn
from skattn import LSTMAttentionClassifier
from skattn.datasets import load_basic_motions
from skattn.plotting import plot_attention

matplotlib.use("Agg")  # write image files, never open a window

FAST = os.environ.get("SKATTN_EXAMPLES_FAST") == "1" or "--fast" in sys.argv[1:]
FAST_BANNER = (
    "FAST MODE (SKATTN_EXAMPLES_FAST=1 or --fast): tiny training, "
    "results are not meaningful"
)
OUTPUT = Path(os.environ.get("SKATTN_EXAMPLES_OUTPUT", "."))
# The archive's channel order: accelerometer x, y, z, then gyroscope x, y, z.
CHANNELS = ["acc x", "acc y", "acc z", "gyro x", "gyro y", "gyro z"]


def main():
    if FAST:
        print(FAST_BANNER + "\n")
    data = load_basic_motions()
    X_train, X_test, y_train, y_test = (
        data.X_train,
        data.X_test,
        data.y_train,
        data.y_test,
    )
    print(f"BasicMotions: {data.description}")
    print(f"Source: {data.citation}")
    print(f"X_train {X_train.shape}, classes {sorted(set(y_train.tolist()))}\n")

    # The estimator standardises each channel itself (the gyroscope and the
    # accelerometer have different units), so the raw array goes in as is.
    model = LSTMAttentionClassifier(max_epochs=2 if FAST else 100, random_state=0)
    model.fit(X_train, y_train)
    accuracy = model.score(X_test, y_test)
    print(f"LSTMAttentionClassifier test accuracy: {accuracy:.3f}")
    print("Confusion matrix (rows: true, columns: predicted):")
    labels = model.classes_
    matrix = confusion_matrix(y_test, model.predict(X_test), labels=labels)
    print(" " * 11 + "".join(f"{label[:9]:>10}" for label in labels))
    for label, row in zip(labels, matrix, strict=True):
        print(f"{label:>11}" + "".join(f"{n:>10}" for n in row))

    # Save and load: the file holds weights and plain data only. It goes to
    # a temporary directory here; in an application, any path will do.
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "basic_motions_lstm.pt"
        model.save(path)
        size = path.stat().st_size
        loaded = skattn.load(path)
    same = np.array_equal(loaded.predict_proba(X_test), model.predict_proba(X_test))
    print(
        f"\nSaved to a temporary {path.name} ({size / 1024:.0f} KiB); the loaded "
        f"model predicts {'the same' if same else 'DIFFERENT'} probabilities"
    )

    # A badminton and a running recording: which moments decided? Titles
    # show the true and the predicted activity.
    chosen = [int(np.flatnonzero(y_test == label)[0]) for label in labels[:2]]
    axes = plot_attention(
        loaded,
        X_test,
        index=chosen,
        channel_names=CHANNELS,
        y=y_test,
        show_prediction=True,
    )
    OUTPUT.mkdir(parents=True, exist_ok=True)
    figure = OUTPUT / "basic_motions_attention.png"
    axes[0].figure.savefig(figure, dpi=80)
    print(f"Attention plot of recordings {chosen} written to {figure}")

    weights = loaded.attention_weights(X_test)
    for label in labels:
        w = weights[y_test == label].mean(axis=0)
        peak = np.argsort(w)[::-1][:3]
        print(
            f"  {label:<10} mean attention peaks at timesteps {sorted(peak.tolist())}"
            f" (largest weight {w.max():.3f}, uniform {1 / len(w):.3f})"
        )

    if FAST:
        print("\n" + FAST_BANNER)


if __name__ == "__main__":
    main()
