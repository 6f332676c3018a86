"""Churn from customer event histories: a long DataFrame to a tuned Transformer.

Each customer is a sequence of purchase events of varying length with three
numeric columns (amount, number of items, days since the previous event),
stored the way event data usually arrives: one row per customer and event.
The data are generated in this script with a known rule: customers who are
about to churn buy less and less often over their *last* few events, while
some loyal customers had a slow spell earlier on and recovered. Averages
over the whole history cannot tell the two apart; the order of events can.

The example shows:

- ``skattn.data.from_long``: a long DataFrame to padded sequences, with the
  customer ids that order them, converted once so that scikit-learn's
  cross-validation splits customers (it splits a DataFrame by rows, i.e.
  by event, so it cannot take the long frame itself);
- a ``Pipeline(SequenceScaler(), TransformerClassifier())`` tuned with
  ``GridSearchCV`` over the attention score, the number of heads and the
  model width, with ``class_weight="balanced"`` for the rare churners;
- a test-set classification report next to a baseline on per-customer
  averages;
- where the model looks: mean attention by position counted from each
  customer's latest event.

Run: python customer_sequences.py
(set SKATTN_EXAMPLES_FAST=1, or pass --fast, for a quick, smaller run:
its results are not meaningful)
"""

import os
import sys

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import classification_report
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skattn import SequenceScaler, TransformerClassifier
from skattn.data import from_long

FAST = os.environ.get("SKATTN_EXAMPLES_FAST") == "1" or "--fast" in sys.argv[1:]
FAST_BANNER = (
    "FAST MODE (SKATTN_EXAMPLES_FAST=1 or --fast): tiny training, "
    "results are not meaningful"
)
N_CUSTOMERS = 150 if FAST else 400
MAX_EPOCHS = 2 if FAST else 20
VALUE_COLS = ["amount", "items", "days_since_prev"]


def make_events(n_customers, seed=0):
    """One row per purchase: customer_id, date, amount, items, days_since_prev.

    About a quarter of the customers churn. Their last 3 to 6 purchases come
    further and further apart and get smaller. A third of the loyal customers
    had the same kind of slow spell in the middle of their history.
    """
    rng = np.random.default_rng(seed)
    rows, labels = [], {}
    start = pd.Timestamp("2024-01-01")
    for c in range(n_customers):
        customer = f"C{c:05d}"
        n_events = int(rng.integers(10, 31))
        typical_gap = rng.lognormal(np.log(9.0), 0.4)  # days between purchases
        typical_amount = rng.lognormal(np.log(40.0), 0.5)
        gap_factor = np.ones(n_events)
        amount_factor = np.ones(n_events)
        churn = rng.random() < 0.25
        slow_spell = not churn and rng.random() < 1 / 3
        if churn or slow_spell:
            k = int(rng.integers(3, 7))  # length of the slow-down
            end = n_events if churn else int(rng.integers(k + 1, n_events - 2))
            ramp = np.arange(1, k + 1)
            gap_factor[end - k : end] = 1.35**ramp
            amount_factor[end - k : end] = 0.8**ramp
        gaps = rng.gamma(2.0, typical_gap / 2.0, n_events) * gap_factor
        amounts = rng.lognormal(np.log(typical_amount), 0.35, n_events) * amount_factor
        items = 1 + rng.poisson(amounts / 25.0)
        dates = start + pd.to_timedelta(np.cumsum(gaps).round(), unit="D")
        for t in range(n_events):
            rows.append((customer, dates[t], amounts[t], items[t], gaps[t]))
        labels[customer] = "churn" if churn else "stays"
    events = pd.DataFrame(
        rows, columns=["customer_id", "date", "amount", "items", "days_since_prev"]
    )
    # several purchases can fall on one day; keep one row per (customer, day)
    events = events.drop_duplicates(["customer_id", "date"])
    return events, pd.Series(labels, name="label")


def main():
    if FAST:
        print(FAST_BANNER + "\n")
    events, labels = make_events(N_CUSTOMERS)
    per_customer = events.groupby("customer_id").size()
    print(
        f"{len(events)} events of {len(per_customer)} customers, "
        f"{per_customer.min()} to {per_customer.max()} events each; "
        f"{(labels == 'churn').mean():.0%} churn. The first rows:"
    )
    first_rows = events.head(3).round({"amount": 2, "days_since_prev": 1})
    print(first_rows.to_string(index=False), "\n")
    # amounts and gaps are heavy-tailed: model them on a log scale
    events["amount"] = np.log1p(events["amount"])
    events["days_since_prev"] = np.log1p(events["days_since_prev"])

    # One padded sequence per customer, channels = the three value columns.
    X, ids = from_long(
        events, id_col="customer_id", time_col="date", value_cols=VALUE_COLS
    )
    y = labels.loc[ids].to_numpy()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    print(f"X: {X.shape} (customers, longest history, channels), NaN-padded\n")

    # The usual feature-engineering baseline: per-customer averages.
    def averages(X):
        return np.column_stack([np.nanmean(X, axis=1), np.nanstd(X, axis=1)])

    baseline = make_pipeline(
        StandardScaler(), LogisticRegression(class_weight="balanced")
    )
    baseline.fit(averages(X_train), y_train)
    print(
        "Baseline, logistic regression on per-customer means and stds: "
        f"accuracy {baseline.score(averages(X_test), y_test):.3f}"
    )

    model = make_pipeline(
        SequenceScaler(),
        TransformerClassifier(
            # the query is the state at the latest event: "given where this
            # customer is now, which past events matter?"
            query="last",
            class_weight="balanced",  # churners are rare: weigh them up
            max_epochs=MAX_EPOCHS,  # fewer than the default, to keep this quick
            random_state=0,
        ),
    )
    # The estimators also take the long frame itself, indexed by (customer,
    # date), in fit and predict. scikit-learn's model selection does not:
    # it counts and splits a DataFrame by rows, that is by event, while y
    # has one label per customer. Cross-validate the sequences from
    # from_long instead (converted once, above).
    long_frame = events.set_index(["customer_id", "date"])[VALUE_COLS]
    print(f"The long frame has {len(long_frame)} rows for {len(y)} customers:")
    try:
        cross_val_score(model, long_frame, y, cv=3)
    except ValueError as error:
        print(f"  cross_val_score(model, long_frame, y) fails: {error}")
    scores = cross_val_score(model, X_train, y_train, cv=3, scoring="balanced_accuracy")
    print(
        f"  cross_val_score on the sequences from from_long: balanced accuracy "
        f"{scores.mean():.3f} +- {scores.std():.3f} over 3 folds"
    )

    grid = {
        "transformerclassifier__attention": ["multihead", "additive"],
        "transformerclassifier__num_heads": [1, 4],
        "transformerclassifier__d_model": [32] if FAST else [32, 64],
    }
    search = GridSearchCV(model, grid, cv=2, scoring="balanced_accuracy")
    search.fit(X_train, y_train)
    print("\nGrid search (balanced accuracy, mean over the CV folds):")
    results = pd.DataFrame(search.cv_results_)
    for _, row in results.sort_values("rank_test_score").iterrows():
        params = ", ".join(f"{k.split('__')[1]}={v}" for k, v in row["params"].items())
        print(f"  {row['mean_test_score']:.3f}  {params}")

    best = search.best_estimator_
    accuracy = best.score(X_test, y_test)
    print(f"\nBest model on the test set: accuracy {accuracy:.3f}")
    print(classification_report(y_test, best.predict(X_test), digits=3))

    # Where does the model look? Weights by position from the latest event,
    # for the customers who churn and for those who stay.
    scaler, classifier = best[0], best[-1]
    weights = classifier.attention_weights(scaler.transform(X_test))
    lengths = (~np.isnan(X_test[:, :, 0])).sum(axis=1)
    back = min(8, lengths.min())  # the latest events, up to 8
    from_end = np.array(
        [w[n - back : n][::-1] for w, n in zip(weights, lengths, strict=True)]
    )  # [customer, steps back from the latest event]
    churn = y_test == "churn"
    print(
        "Mean attention by position from the latest event "
        f"(spread evenly, each event would get {np.mean(1.0 / lengths):.3f}):"
    )
    print(f"  {'event':>9}  {'churners':>8}  {'stayers':>8}")
    for k in range(back):
        label = "latest" if k == 0 else f"{k} before"
        print(
            f"  {label:>9}  {from_end[churn, k].mean():8.3f}  "
            f"{from_end[~churn, k].mean():8.3f}"
        )
    recent = from_end[:, :3].sum(axis=1)
    print(
        f"Share of attention on the latest 3 events: {recent[churn].mean():.0%} for "
        f"churners, {recent[~churn].mean():.0%} for stayers"
    )

    if FAST:
        print("\n" + FAST_BANNER)


if __name__ == "__main__":
    main()
