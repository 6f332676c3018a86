"""Every attention variant on one data set, and the worked example by hand.

Part 1 trains an ``LSTMAttentionClassifier`` with each attention score
(additive, dot, scaled dot, general, multi-head), each aggregation of the
weighted states (sum, mean, max) and each query (a learned vector, or the
encoder's last state) on GunPoint (UCR archive; Dau et al. 2019, bundled
with skattn), next to plain mean pooling without attention. It prints a
table of test accuracies and draws, for one test sequence, the attention of
every variant: one row per variant in one PNG.

Part 2 computes a small worked example through the attention modules of
``skattn.modules`` (``DotScore``, ``ScaledDotScore``, ``masked_softmax``,
``aggregate``): inputs x = [1, 2, 3, 4, 5] with scores e = [0.05, 0.08,
0.09, 0.08, 0.05], giving weights softmax(e), the weighted sequence a·x and
its sum, mean and max.

Run: python attention_variants.py
Writes attention_variants.png to the current directory, or to the directory
in $SKATTN_EXAMPLES_OUTPUT.
(set SKATTN_EXAMPLES_FAST=1, or pass --fast, for a quick run with fewer
variants and epochs: its results are not meaningful)
"""

import os
import sys
import time
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch

from skattn import LSTMAttentionClassifier
from skattn.datasets import load_gunpoint
from skattn.modules import DotScore, ScaledDotScore, aggregate, masked_softmax
from skattn.plotting import plot_attention

matplotlib.use("Agg")  # write image files, never open a window

FAST = os.environ.get("SKATTN_EXAMPLES_FAST") == "1" or "--fast" in sys.argv[1:]
FAST_BANNER = (
    "FAST MODE (SKATTN_EXAMPLES_FAST=1 or --fast): tiny training, "
    "results are not meaningful"
)
OUTPUT = Path(os.environ.get("SKATTN_EXAMPLES_OUTPUT", "."))

# (score, aggregation, query); the LSTM's default is the first
VARIANTS = [
    ("additive", "sum", "learned"),  # Bahdanau et al. 2014
    ("dot", "sum", "learned"),  # Luong et al. 2015
    ("scaled_dot", "sum", "learned"),  # Vaswani et al. 2017
    ("general", "sum", "learned"),  # Luong et al. 2015
    ("multihead", "sum", "learned"),  # Vaswani et al. 2017, 4 heads
    ("additive", "mean", "learned"),
    ("additive", "max", "learned"),
    ("additive", "sum", "last"),
    ("dot", "sum", "last"),  # Luong's global attention on the final state
]
if FAST:
    VARIANTS = VARIANTS[:2] + VARIANTS[-1:]


def compare_variants():
    X_train, X_test, y_train, y_test = load_gunpoint(return_X_y=True)
    # Every third timestep: 50 steps keep GunPoint's shapes, and an LSTM
    # trains faster (and here better) on the shorter sequences.
    X_train, X_test = X_train[:, ::3], X_test[:, ::3]
    print(
        f"GunPoint (Dau et al. 2019): {len(X_train)} training and {len(X_test)} "
        f"test sequences of {X_train.shape[1]} steps\n"
    )
    # half the default of 200 epochs: ten fits in about a minute
    epochs = 2 if FAST else 100

    print(f"{'score':<12}{'aggregation':<13}{'query':<9}{'accuracy':>9}{'fit':>7}")
    fitted = []
    for attention, aggregation, query in VARIANTS:
        model = LSTMAttentionClassifier(
            attention=attention,
            aggregation=aggregation,
            query=query,
            max_epochs=epochs,
            random_state=0,
        )
        start = time.perf_counter()
        model.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        accuracy = model.score(X_test, y_test)
        print(
            f"{attention:<12}{aggregation:<13}{query:<9}{accuracy:>9.3f}"
            f"{seconds:>6.1f}s"
        )
        fitted.append((f"{attention}, {aggregation}, query {query}", accuracy, model))
    baseline = LSTMAttentionClassifier(
        pooling="mean", max_epochs=epochs, random_state=0
    ).fit(X_train, y_train)
    print(f"{'(no attention: mean pooling)':<34}{baseline.score(X_test, y_test):>9.3f}")

    # The same test sequence under every variant, one row each.
    index = 0
    fig, axes = plt.subplots(
        len(fitted), 1, figsize=(8, 1.9 * len(fitted)), layout="constrained"
    )
    for ax, (name, accuracy, model) in zip(np.atleast_1d(axes), fitted, strict=True):
        plot_attention(model, X_test, index=index, ax=ax)
        ax.set_title(f"{name}: accuracy {accuracy:.3f}", loc="left", fontsize="medium")
    fig.suptitle(f"Attention on GunPoint test sequence {index} (class {y_test[index]})")
    path = OUTPUT / "attention_variants.png"
    OUTPUT.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    print(f"\nAttention of each variant written to {path}")


def worked_example():
    print("\nWorked example through skattn.modules:")
    x = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0], dtype=torch.float64)
    e = torch.tensor([0.05, 0.08, 0.09, 0.08, 0.05], dtype=torch.float64)
    # A query and 5-dimensional keys whose dot products are the scores e:
    # q = (1, 0, 0, 0, 0) and key t = (e_t, 0, 0, 0, 0). Size d = 5, so the
    # scaled score divides by sqrt(5).
    query = torch.zeros(1, 5, dtype=torch.float64)
    query[0, 0] = 1.0
    keys = torch.zeros(1, 5, 5, dtype=torch.float64)
    keys[0, :, 0] = e
    values = x.view(1, 5, 1)  # [batch, steps, features]
    mask = torch.ones(1, 5, dtype=torch.bool)  # every step is real

    def show(label, tensor):
        print(f"  {label:<26}[{', '.join(f'{v:.6f}' for v in tensor.flatten())}]")

    a = masked_softmax(DotScore()(query, keys), mask)
    show("a = softmax(e)", a)
    show("weighted sequence a·x", a * x)
    for aggregation in ("sum", "mean", "max"):
        show(f"{aggregation} aggregation", aggregate(a, values, mask, aggregation))
    scaled = masked_softmax(ScaledDotScore()(query, keys), mask)
    show("a = softmax(e / sqrt(5))", scaled)
    show("its sum aggregation", aggregate(scaled, values, mask, "sum"))
    print(
        "  The weights are symmetric around the middle step, so the sum stays 3.0 "
        "with or without the scale."
    )


def main():
    if FAST:
        print(FAST_BANNER + "\n")
    compare_variants()
    worked_example()

    if FAST:
        print("\n" + FAST_BANNER)


if __name__ == "__main__":
    main()
