"""A regression set of spectra: fat content of meat from its absorbance.

The forecasting sets (``regression_sets.py``) are where ridge regression on
the window is hard to beat. Spectra are the other kind of regression
problem in the development suite: the target is a non-linear function of a
smooth curve's shape, so the convolution features of MiniRocket beat ridge
by a wide margin there, and a default regressor must as well.

- ``Tecator``: near-infrared absorbance spectra of finely chopped meat, 100
  wavelengths from 850 to 1050 nm, measured on a Tecator Infratec Food and
  Feed Analyzer; y = fat content in per cent, measured by chemical
  analysis. 172 training and 43 test spectra, as the Monash time series
  extrinsic regression archive splits them (C. W. Tan, C. Bergmeir, F.
  Petitjean, G. I. Webb, "Time series extrinsic regression", Data Mining
  and Knowledge Discovery 35, 2021). Data: C. Borggaard and H. H.
  Thodberg, "Optimal minimal neural interpretation of spectra", Analytical
  Chemistry 64, 1992 (StatLib; credit Tecator and H. H. Thodberg where the
  results are published).

sktime ships the archive's files (``sktime/datasets/data/Tecator``, from
sktime 1.2.0); aeon does not. Run ``python benchmarks/spectra_sets.py
--source PATH``, PATH an sktime wheel (``pip download sktime==1.2.0
--no-deps``) or the ``Tecator`` folder of an installed sktime, to write
``benchmarks/data/Tecator.npz`` in the layout of the development suite
(``X_train``, ``y_train``, ``X_test``, ``y_test``, ``lengths_train``,
``lengths_test``; X float32 ``(n, steps, channels)``). Reading the files
needs aeon (``bench`` extra). The file is kept in the repository.
"""

import tempfile

import _common as C
import numpy as np

SETS = {"Tecator": "sktime/datasets/data/Tecator"}


def read_split(source, name, split):
    """``(X [n, steps, channels], y)`` of one split from the archive's
    ``.ts`` file in ``source`` (a wheel or a folder)."""
    from aeon.datasets import load_from_ts_file

    filename = f"{name}_{split.upper()}.ts"
    with tempfile.TemporaryDirectory() as tmp:
        path = C.source_file(source, f"{SETS[name]}/{filename}", tmp)
        X, y = load_from_ts_file(str(path))
    return np.asarray(X, dtype=np.float32).transpose(0, 2, 1), y.astype(np.float64)


def main():
    source = C.source_argument(__doc__.split("\n")[0], "sktime")

    def build(name):
        arrays = {}
        for split in ("train", "test"):
            X, y = read_split(source, name, split)
            arrays[f"X_{split}"], arrays[f"y_{split}"] = X, y
            arrays[f"lengths_{split}"] = np.full(len(X), X.shape[1], dtype=np.int64)
        return arrays

    C.write_sets(SETS, build, C.describe_regression)


if __name__ == "__main__":
    main()
