"""Classification sets held out of every choice of defaults.

The defaults were chosen on the development suite (``CV_DEFAULTS.md``,
``LODO.md``). These four sets of the UCR/UEA archive (Dau et al., "The UCR
time series archive", 2019; Bagnall et al., "The UEA multivariate time
series classification archive", 2018), as aeon ships them, played no part
in it, and ``heldout.py`` measures the defaults on them (``HELDOUT.md``).
They stay out of every study that chooses: ``lodo.py`` refuses them
(``cv_defaults.py`` reads the sets skattn ships only).

- ``ArrowHead``: outlines of projectile points as 1D series; 3 classes, 36
  training and 175 test series of 251 steps.
- ``OSULeaf``: outlines of leaves; 6 classes, 200 training and 242 test
  series of 427 steps.
- ``ItalyPowerDemand``: a day's electricity demand in Italy, 24 hours; 2
  classes (October to March, April to September), 67 training and 1,029
  test series.
- ``JapaneseVowels``: 12 LPC cepstrum coefficients of nine speakers saying
  a vowel; 9 classes, 270 training and 370 test series of 7 to 29 steps.

Run ``python benchmarks/heldout_sets.py`` (needs aeon, in the ``bench``
extra; aeon 1.7 no longer ships OSULeaf) to write
``benchmarks/data/<name>.npz`` in the layout of the development suite
(``X_train``, ``y_train``, ``X_test``, ``y_test``, ``lengths_train``,
``lengths_test``; X float32 ``(n, steps, channels)``, NaN after a
sequence's end).
"""

import argparse
import warnings

import _common as C
import numpy as np

# name -> the aeon loader's name
SETS = {
    "ArrowHead": "load_arrow_head",
    "OSULeaf": "load_osuleaf",
    "ItalyPowerDemand": "load_italy_power_demand",
    "JapaneseVowels": "load_japanese_vowels",
}


def to_suite_layout(X):
    """aeon's ``(n, channels, steps)`` array, or list of ``(channels,
    steps_i)`` arrays, as ``(float32 [n, steps, channels] NaN-padded,
    lengths)``."""
    series = [np.asarray(x, dtype=np.float32).T for x in X]  # [steps_i, c]
    lengths = np.array([len(s) for s in series], dtype=np.int64)
    out = np.full((len(series), lengths.max(), series[0].shape[1]), np.nan, np.float32)
    for i, s in enumerate(series):
        out[i, : len(s)] = s
    return out, lengths


def build(name):
    import aeon.datasets

    load = getattr(aeon.datasets, SETS[name])
    arrays = {}
    for split in ("train", "test"):
        with warnings.catch_warnings():  # OSULeaf's loader is deprecated
            warnings.simplefilter("ignore", FutureWarning)
            X, y = load(split=split)
        arrays[f"X_{split}"], arrays[f"lengths_{split}"] = to_suite_layout(X)
        arrays[f"y_{split}"] = np.asarray(y).astype(str)
    return arrays


def describe(arrays):
    X, lengths = arrays["X_train"], arrays["lengths_train"]
    return (
        f"train {X.shape} (lengths {lengths.min()} to {lengths.max()}), test "
        f"{arrays['X_test'].shape}, {len(np.unique(arrays['y_train']))} classes"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.parse_args()
    C.write_sets(SETS, build, describe)


if __name__ == "__main__":
    main()
