"""A large classification set of wearable-sensor windows: which shoulder
exercise a person is doing, from 4 s of a smartwatch's motion sensors.

Six of the seven classification sets of the development suite have 28 to
100 training series; PLAID, with 537, was the only large one, so a default
that depends on the amount of training data could only be chosen on it and
judged nowhere. This set is the second large one, of another kind
(multivariate motion, where PLAID is univariate current):

- ``ShoulderExercise``: 6 channels (accelerometer and gyroscope, 3 axes
  each) of a smartwatch worn on the wrist while ten people did sets of
  shoulder physiotherapy exercises, 7 classes (pendulum, abduction,
  forward elevation, internal and external rotation, trapezius extension,
  upright row), each with the left and the right arm. Data: D. M. Burns,
  N. Leung, M. Hardisty, C. M. Whyne, P. Henry, S. McLachlin, "Shoulder
  physiotherapy exercise recognition: machine learning the inertial
  signals from a smartwatch", Physiological Measurement 39(7), 2018
  (arXiv:1802.01489), as the seglearn package ships it (BSD licence;
  ``seglearn/data/watch_dataset.npy``, 140 recordings at 50 Hz).

Each recording is averaged over pairs of samples (25 Hz) and cut into
windows of 100 steps (4 s) that do not overlap; a window's label is the
exercise of its recording, as measured. Train and test are split by
person: subjects 1 to 6 train (656 windows), 7 to 10 test (493), so no
person is on both sides; ``groups_train`` holds each training window's
subject, and ``lodo.py`` keeps a subject's windows in one fold.

Run ``python benchmarks/sensor_sets.py --source PATH``, PATH a seglearn
wheel (``pip download seglearn==1.2.5 --no-deps``) or an installed
seglearn's ``data`` folder, to write ``benchmarks/data/ShoulderExercise.npz``
in the layout of the development suite (``X_train``, ``y_train``,
``X_test``, ``y_test``, ``lengths_train``, ``lengths_test``; X float32
``(n, steps, channels)``) plus ``groups_train``. The source file is a
pickled dict, so read it only from a seglearn you trust. The result is kept
in the repository.
"""

import tempfile

import _common as C
import numpy as np

SETS = {"ShoulderExercise": "seglearn/data/watch_dataset.npy"}
# samples averaged into one step (50 Hz -> 25 Hz), steps per window
POOL, WINDOW = 2, 100
# subjects 1..TRAIN_SUBJECTS train, the others test
TRAIN_SUBJECTS = 6


def read(source, name):
    """seglearn's dict: ``X`` (list of [samples, 6]), ``y`` (index into
    ``y_labels``), ``subject``."""
    with tempfile.TemporaryDirectory() as tmp:
        path = C.source_file(source, SETS[name], tmp)
        return np.load(path, allow_pickle=True).item()


def windows(recording):
    """The recording [samples, channels] averaged over POOL samples and cut
    into windows of WINDOW steps that do not overlap (the rest dropped)."""
    x = np.asarray(recording, dtype=np.float64)
    steps = len(x) // POOL
    x = x[: steps * POOL].reshape(steps, POOL, x.shape[1]).mean(axis=1)
    return [x[a : a + WINDOW] for a in range(0, steps - WINDOW + 1, WINDOW)]


def build(data):
    X, y, subject = [], [], []
    for recording, label, person in zip(
        data["X"], data["y"], data["subject"], strict=True
    ):
        cut = windows(recording)
        X += cut
        y += [data["y_labels"][label]] * len(cut)
        subject += [int(person)] * len(cut)
    X, y, subject = np.stack(X).astype(np.float32), np.array(y), np.array(subject)
    train = subject <= TRAIN_SUBJECTS
    arrays = {"groups_train": subject[train]}
    for split, rows in (("train", train), ("test", ~train)):
        arrays[f"X_{split}"], arrays[f"y_{split}"] = X[rows], y[rows]
        arrays[f"lengths_{split}"] = np.full(rows.sum(), WINDOW, dtype=np.int64)
    return arrays


def describe(arrays):
    groups = np.unique(arrays["groups_train"])
    return (
        f"train {arrays['X_train'].shape} ({len(groups)} subjects), test "
        f"{arrays['X_test'].shape}, {len(np.unique(arrays['y_train']))} classes"
    )


def main():
    source = C.source_argument(__doc__.split("\n")[0], "seglearn")
    C.write_sets(SETS, lambda name: build(read(source, name)), describe)


if __name__ == "__main__":
    main()
