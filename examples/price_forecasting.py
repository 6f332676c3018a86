"""Next-day forecasts of a price with a weekly pattern, from sliding windows.

A daily price is generated in this script with a known structure: a random
walk (the part nobody can forecast), a fixed weekly pattern (e.g. a retail
or energy price that dips at weekends) and noise. A forecaster that knows
only the last price cannot anticipate the weekly moves; one that reads the
last four weeks can, by comparing the same weekdays in earlier weeks.

The example shows:

- turning one long series into sliding windows ``(n_windows, 28 days, 1)``
  made relative to each window's last price, with the next day's change as
  the target (prices wander; changes are what can be learned);
- a ``TransformerRegressor`` against the naive last-value forecast and the
  seasonal-naive forecast, on later days than those it was trained on;
- what the model recovered: its mean forecast change for each weekday
  next to the true weekly pattern, and its attention by lag;
- ``warm_start=True``: when more days arrive, continue training from the
  current weights for a few epochs instead of starting again.

Run: python price_forecasting.py
Writes price_forecast.png to the current directory, or to the directory in
$SKATTN_EXAMPLES_OUTPUT.
(set SKATTN_EXAMPLES_FAST=1, or pass --fast, for a quick, smaller run:
its results are not meaningful)
"""

import os
import sys
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from skattn import TransformerRegressor

matplotlib.use("Agg")  # write image files, never open a window

FAST = os.environ.get("SKATTN_EXAMPLES_FAST") == "1" or "--fast" in sys.argv[1:]
FAST_BANNER = (
    "FAST MODE (SKATTN_EXAMPLES_FAST=1 or --fast): tiny training, "
    "results are not meaningful"
)
OUTPUT = Path(os.environ.get("SKATTN_EXAMPLES_OUTPUT", "."))
N_DAYS = 250 if FAST else 1500
WINDOW = 28  # four weeks of history per forecast
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
# The weekly pattern of the log price, in percent (it sums to 0 over a week).
WEEKLY = np.array([-0.3, 0.4, 0.8, 0.6, 0.4, -0.7, -1.2])


def make_prices(n_days, seed=0):
    """Daily prices: 100 * exp(random walk + weekly pattern + noise).

    Day 0 is a Monday. The random walk moves 0.4% a day, the weekly pattern
    up to 2% within a week, the noise 0.2%.
    """
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.normal(0.0002, 0.004, n_days))
    weekly = WEEKLY[np.arange(n_days) % 7] / 100
    noise = rng.normal(0.0, 0.002, n_days)
    return 100 * np.exp(walk + weekly + noise)


def windows(log_price, days):
    """For each target day, the WINDOW days before it, in percent relative
    to the last of them; the target is the change to that day, in percent."""
    X = np.stack([log_price[d - WINDOW : d] for d in days])  # [n, WINDOW]
    last = X[:, -1:]
    X = 100 * (X - last)
    y = 100 * (log_price[days] - last[:, 0])
    return X[:, :, None], y  # (n_windows, WINDOW, 1 channel)


def mae(forecast, actual):
    return np.mean(np.abs(forecast - actual))


def main():
    if FAST:
        print(FAST_BANNER + "\n")
    prices = make_prices(N_DAYS)
    log_price = np.log(prices)
    days = np.arange(WINDOW, N_DAYS)  # the days we can forecast
    X, y = windows(log_price, days)

    # Split by time, never at random: train on the past, test on the future.
    # The middle 20% stands for days that arrive after the first training.
    first, second = int(0.6 * len(days)), int(0.8 * len(days))
    X_train, y_train = X[:first], y[:first]
    X_new, y_new = X[first:second], y[first:second]
    X_test, y_test, test_days = X[second:], y[second:], days[second:]
    print(
        f"{N_DAYS} days of prices ({prices.min():.1f} to {prices.max():.1f}); "
        f"{len(X_train)} training windows, {len(X_new)} arriving later, "
        f"{len(X_test)} test windows of {WINDOW} days"
    )

    model = TransformerRegressor(
        max_epochs=2 if FAST else 20,  # fewer than the default, to keep this quick
        random_state=0,
    )
    model.fit(X_train, y_train)

    # Forecasts of the next day's change (percent), and their errors.
    naive = np.zeros_like(y_test)  # tomorrow = today
    # seasonal naive: tomorrow = today + the same weekday move a week ago
    seasonal = X_test[:, -7, 0] - X_test[:, -8, 0]
    forecast = model.predict(X_test)
    print("\nMean absolute error of the next day's price, in percent:")
    print(f"  naive (last value)       {mae(naive, y_test):.3f}")
    print(f"  seasonal naive           {mae(seasonal, y_test):.3f}")
    print(f"  TransformerRegressor     {mae(forecast, y_test):.3f}")
    # the random walk's move and the noise cannot be forecast at all
    floor = np.hypot(0.4, 0.2) * np.sqrt(2 / np.pi)
    print(f"  (the unpredictable part alone gives about {floor:.3f})")

    # What did the model learn? Its mean forecast change per weekday next to
    # the true move of the weekly pattern into that day.
    true_move = WEEKLY - np.roll(WEEKLY, 1)
    weekday = test_days % 7
    print("\nForecast change into each weekday, percent (true weekly move):")
    for d, name in enumerate(WEEKDAYS):
        print(
            f"  {name}  model {forecast[weekday == d].mean():+.2f}   "
            f"true {true_move[d]:+.2f}"
        )

    # Attention by lag: lag k is the price k days before the forecast day.
    weights = model.attention_weights(X_test).mean(axis=0)  # [WINDOW]
    lags = WINDOW - np.arange(WINDOW)
    print("\nMean attention by lag (days before the forecast day):")
    for k in range(1, 16):
        w = weights[lags == k][0]
        print(f"  lag {k:>2}  {w:.3f}  {'#' * int(round(w * 200))}")
    print(f"  lags 16-{WINDOW}: {weights[lags >= 16].sum():.3f} in all")

    # More days arrived: continue from the current weights for a few epochs
    # on all the data so far, rather than training a new model.
    model.set_params(warm_start=True, max_epochs=1 if FAST else 5)
    model.fit(np.concatenate([X_train, X_new]), np.concatenate([y_train, y_new]))
    updated = model.predict(X_test)
    print(
        f"\nAfter a warm-start update on {len(X_new)} new windows: test error "
        f"{mae(updated, y_test):.3f} (was {mae(forecast, y_test):.3f})"
    )

    # The last eight weeks of the test period, and the attention by lag.
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), layout="constrained")
    shown = slice(-56, None)
    last_price = np.exp(log_price[test_days - 1])
    top.plot(test_days[shown], prices[test_days][shown], "k.-", label="price")
    top.plot(
        test_days[shown],
        last_price[shown] * np.exp(updated[shown] / 100),
        "C1.-",
        label="TransformerRegressor forecast",
    )
    top.set(xlabel="day", ylabel="price", title="Next-day forecasts, last 8 weeks")
    top.legend()
    bottom.bar(lags, weights)
    bottom.set(
        xlabel="lag (days before the forecast day)",
        ylabel="mean attention",
        title="Where the model looks (before the update)",
        xticks=[1, 7, 14, 21, 28],
    )
    path = OUTPUT / "price_forecast.png"
    OUTPUT.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    print(f"Figure written to {path}")

    if FAST:
        print("\n" + FAST_BANNER)


if __name__ == "__main__":
    main()
