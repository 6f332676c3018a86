"""Regression data sets with real signal, built from series statsmodels ships.

The two regression sets of the development suite (Covid3Month,
CardanoSentiment) are close to noise: the training mean is within a few per
cent of the best model, so they cannot tell good regression defaults from
bad ones. These sets forecast real future values of real series from a
sliding window of their past, so a model that reads the window well beats
the mean by a wide margin:

- ``Sunspots``: yearly sunspot numbers 1700-2008 (NOAA National Geophysical
  Data Center); X = the last 24 years, y = next year's number (1 channel).
- ``ElNino``: monthly sea surface temperature of the Nino 1+2 region,
  1950-2010 (NOAA ERSST.V3B); X = the last 24 months, y = the temperature 3
  months after the window (1 channel).
- ``USMacro``: US quarterly macro data 1959-2009 (FRED, Federal Reserve
  Bank of St. Louis; unemployment from the Bureau of Labor Statistics); X =
  the last 12 quarters of 6 channels (growth of real GDP, consumption and
  investment, inflation, the 3-month T-bill rate, unemployment), y = next
  quarter's unemployment rate.

Targets are measured values of the series after the window, never numbers
computed from the inputs. Train and test are split in time: the test
windows start after the last training target, so no value is seen on both
sides. Run ``python benchmarks/regression_sets.py`` (needs statsmodels, in
the ``bench`` extra) to write ``benchmarks/data/<name>.npz`` in the layout of
the development suite (``X_train``, ``y_train``, ``X_test``, ``y_test``,
``lengths_train``, ``lengths_test``; X float32 ``(n, steps, channels)``).
"""

import argparse

import _common as C
import numpy as np

# share of the windows (in time order) used for training
TRAIN_SHARE = 0.7


def windows(series, length, horizon):
    """``(X, y)``: every window of ``length`` steps of ``series`` [T, C] and
    the value of channel ``target`` ``horizon`` steps after it."""
    values, target = series
    n = len(values) - length - horizon + 1
    X = np.stack([values[i : i + length] for i in range(n)])
    y = np.array([target[i + length + horizon - 1] for i in range(n)])
    return X, y


def split_in_time(X, y, length, horizon):
    """Train on the first windows, test on those that start after the last
    training target (no value on both sides)."""
    n_train = int(round(TRAIN_SHARE * len(X)))
    first_test = n_train + length + horizon - 1
    return X[:n_train], y[:n_train], X[first_test:], y[first_test:]


def sunspots():
    import statsmodels.api as sm

    data = sm.datasets.sunspots.load_pandas().data
    values = data["SUNACTIVITY"].to_numpy(np.float64)
    return (values[:, None], values), 24, 1


def elnino():
    import statsmodels.api as sm

    data = sm.datasets.elnino.load_pandas().data
    values = data.drop(columns="YEAR").to_numpy(np.float64).ravel()  # by month
    return (values[:, None], values), 24, 3


def usmacro():
    import statsmodels.api as sm

    data = sm.datasets.macrodata.load_pandas().data
    growth = np.log(data[["realgdp", "realcons", "realinv"]]).diff() * 400
    channels = np.column_stack(
        [growth.to_numpy(), data[["infl", "tbilrate", "unemp"]].to_numpy()]
    )[1:]  # the first quarter has no growth
    return (channels.astype(np.float64), channels[:, -1]), 12, 1


SETS = {"Sunspots": sunspots, "ElNino": elnino, "USMacro": usmacro}


def build(name):
    series, length, horizon = SETS[name]()
    X, y = windows(series, length, horizon)
    X_train, y_train, X_test, y_test = split_in_time(X, y, length, horizon)
    return {
        "X_train": X_train.astype(np.float32),
        "y_train": y_train.astype(np.float64),
        "X_test": X_test.astype(np.float32),
        "y_test": y_test.astype(np.float64),
        "lengths_train": np.full(len(X_train), length, dtype=np.int64),
        "lengths_test": np.full(len(X_test), length, dtype=np.int64),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.parse_args()
    C.write_sets(SETS, build, C.describe_regression)


if __name__ == "__main__":
    main()
