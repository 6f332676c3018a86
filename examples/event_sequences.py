"""Churn from raw event tables: categories, irregular timestamps, attributes.

Each customer is a sequence of events as a warehouse exports them: one row
per event with a timestamp (irregular: days to months apart), an event type
(a string: purchase, view, support, refund, complaint), an amount, and the
customer's plan (the same on all its rows). The data are generated here with
a known rule: a customer churns when a complaint is followed by more than 30
days without any event. Complaints and long silences are both common on
their own; only their order tells who churns.

The example compares

- ``HistGradientBoostingClassifier`` on per-customer aggregates (counts per
  event type, amount and gap statistics): what is usually done today;
- an ``LSTMAttentionClassifier`` on the numeric column (the amount) alone;
- the same model on the whole table: the event type embedded
  (``categorical_features="from_dtype"``, the default, finds the string
  column), the gap between events as a channel (``time_features="gap"``)
  and the plan as an entity attribute (``static_features=["plan"]``);

and shows where the event model attends, by event type.

Run: python event_sequences.py
(set SKATTN_EXAMPLES_FAST=1, or pass --fast, for a quick, smaller run:
its results are not meaningful)
"""

import os
import sys

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

from skattn import LSTMAttentionClassifier

FAST = os.environ.get("SKATTN_EXAMPLES_FAST") == "1" or "--fast" in sys.argv[1:]
FAST_BANNER = (
    "FAST MODE (SKATTN_EXAMPLES_FAST=1 or --fast): tiny training, "
    "results are not meaningful"
)
N_CUSTOMERS = 150 if FAST else 1000
MAX_EPOCHS = 2 if FAST else 30
DAY = 86400.0
TYPES = ["purchase", "view", "support", "refund"]


def make_events(n_customers, seed=0):
    """One row per event, indexed by (customer, time); and the churn labels."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-01-01", tz="UTC")
    rows, labels = [], []
    for c in range(n_customers):
        n = int(rng.integers(6, 16))
        kinds = rng.choice(TYPES, size=n).astype(object)
        kinds[rng.choice(n, size=int(rng.integers(1, 4)), replace=False)] = "complaint"
        gaps = rng.exponential(7.0, size=n) * DAY
        gaps[0] = 0.0
        silent = rng.choice(
            np.arange(1, n), size=int(rng.integers(1, 4)), replace=False
        )
        gaps[silent] = rng.uniform(35, 120, size=len(silent)) * DAY
        gaps[1:] = np.maximum(np.round(gaps[1:] / 60), 1) * 60  # whole minutes
        churn = any(
            kinds[i] == "complaint" and gaps[i + 1] > 30 * DAY for i in range(n - 1)
        )
        plan = rng.choice(["free", "basic", "premium"])
        times = start + pd.to_timedelta(np.cumsum(gaps), unit="s")
        amounts = rng.lognormal(3.0, 1.0, size=n)
        for t, kind, amount in zip(times, kinds, amounts, strict=True):
            rows.append((f"C{c:05d}", t, kind, amount, plan))
        labels.append(int(churn))
    frame = pd.DataFrame(rows, columns=["customer", "time", "event", "amount", "plan"])
    return frame.set_index(["customer", "time"]), np.array(labels)


def aggregates(events):
    """Per-customer features: counts per event type, amount and gap statistics."""
    rows = events.reset_index()
    gap = rows.groupby("customer")["time"].diff().dt.total_seconds().fillna(0.0) / DAY
    rows = rows.assign(gap_days=gap, long_gap=gap > 30)
    counts = pd.crosstab(rows["customer"], rows["event"]).reindex(
        columns=[*TYPES, "complaint"], fill_value=0
    )
    stats = rows.groupby("customer").agg(
        n_events=("amount", "size"),
        mean_amount=("amount", "mean"),
        mean_gap=("gap_days", "mean"),
        max_gap=("gap_days", "max"),
        n_long_gaps=("long_gap", "sum"),
        premium=("plan", lambda p: float(p.iloc[0] == "premium")),
    )
    return counts.join(stats)


def main():
    if FAST:
        print(FAST_BANNER)
    events, y = make_events(N_CUSTOMERS)
    ids = events.index.get_level_values(0).unique()
    n_train = int(0.7 * len(ids))
    train, test = events.loc[ids[:n_train]], events.loc[ids[n_train:]]
    y_train, y_test = y[:n_train], y[n_train:]
    print(
        f"{len(events)} events of {len(ids)} customers ({n_train} for training); "
        f"{y.mean():.0%} churn"
    )
    print(events.head(4).to_string(), "\n")

    hgb = HistGradientBoostingClassifier(random_state=0)
    hgb.fit(aggregates(train), y_train)
    results = {"HGB on per-customer aggregates": hgb.score(aggregates(test), y_test)}

    params = dict(
        hidden_size=16,
        conv_stem=None,
        lr=1e-2,
        max_epochs=MAX_EPOCHS,
        batch_size=32,
        n_threads=1,
        random_state=0,
    )
    amounts = LSTMAttentionClassifier(**params).fit(train[["amount"]], y_train)
    results["LSTM on the amounts only"] = amounts.score(test[["amount"]], y_test)

    model = LSTMAttentionClassifier(
        **params, time_features="gap", static_features=["plan"]
    )
    model.fit(train, y_train)
    results["LSTM on events: type, amount, gap, plan"] = model.score(test, y_test)

    print(
        f"Test accuracy (majority class: {max(y_test.mean(), 1 - y_test.mean()):.3f})"
    )
    for name, accuracy in results.items():
        print(f"  {name:<42} {accuracy:.3f}")
    print(f"\nVocabulary of 'event': {model.categories_[0].tolist()}")
    print(f"Vocabulary of 'plan':  {model.static_categories_[0].tolist()}")

    # attention by event type: the mean weight of each type, per class
    weights = model.attention_weights(test)  # [customers, longest sequence]
    rows = test.reset_index()
    position = rows.groupby("customer").cumcount().to_numpy()
    customer = pd.factorize(rows["customer"], sort=True)[0]
    rows["weight"] = weights[customer, position]
    rows["churn"] = np.where(y_test[customer] == 1, "churners", "others")
    table = rows.pivot_table(
        index="event", columns="churn", values="weight", aggfunc="mean"
    )
    print("\nWhere the event model attends: mean attention weight per event type")
    print(table.round(3).to_string())
    if FAST:
        print(FAST_BANNER)


if __name__ == "__main__":
    main()
