"""Sequence embeddings for any scikit-learn model: boosting and clustering.

``AttentionPoolingTransformer`` turns each sequence into one fixed-size
vector (the attention-pooled state of a trained encoder), so models that
need a table, such as gradient boosting or k-means, can work on sequences.
The usual alternative is a table of hand-made summary statistics.

On BasicMotions (UEA archive; Bagnall et al. 2018, arXiv:1811.00075,
bundled with skattn; 6 sensor channels, 4 activities) the example compares:

- supervised: ``Pipeline(AttentionPoolingTransformer(),
  HistGradientBoostingClassifier())``, where ``fit(X, y)`` trains the
  encoder on the labels, against the same booster on per-channel mean, std,
  min, max and slope;
- unsupervised: ``AttentionPoolingTransformer().fit(X)`` with no labels
  (the encoder learns by reconstructing hidden timesteps), then ``KMeans``;
  the clusters are compared with the true activities by the adjusted Rand
  index (1 = the activities exactly, 0 = no better than chance), against
  k-means on the summary statistics.

Run: python embeddings_for_any_model.py
(set SKATTN_EXAMPLES_FAST=1, or pass --fast, for a quick run with fewer
epochs: its results are not meaningful)
"""

import os
import sys

import numpy as np
from sklearn.cluster import KMeans
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import adjusted_rand_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from skattn import AttentionPoolingTransformer
from skattn.datasets import load_basic_motions

FAST = os.environ.get("SKATTN_EXAMPLES_FAST") == "1" or "--fast" in sys.argv[1:]
FAST_BANNER = (
    "FAST MODE (SKATTN_EXAMPLES_FAST=1 or --fast): tiny training, "
    "results are not meaningful"
)
MAX_EPOCHS = 2 if FAST else 100


def summary_statistics(X):
    """Per channel: mean, std, min, max and least-squares slope over time.

    X is (n, n_timesteps, n_channels) with every sequence of full length.
    """
    t = np.arange(X.shape[1], dtype=float)
    t = (t - t.mean()) / ((t - t.mean()) ** 2).sum()
    slope = np.einsum("ntc,t->nc", X, t)
    return np.hstack([X.mean(1), X.std(1), X.min(1), X.max(1), slope])


def booster():
    # 40 training sequences: the default min_samples_leaf=20 would leave the
    # trees almost no split to make
    return HistGradientBoostingClassifier(min_samples_leaf=5, random_state=0)


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
    print(f"BasicMotions: {data.description} ({data.citation})\n")

    # Supervised: the encoder is trained on y inside the pipeline.
    statistics = make_pipeline(FunctionTransformer(summary_statistics), booster())
    embeddings = make_pipeline(
        AttentionPoolingTransformer(max_epochs=MAX_EPOCHS, random_state=0),
        booster(),
    )
    print("HistGradientBoostingClassifier, test accuracy:")
    for name, model in [
        ("on summary statistics (30 features)", statistics),
        ("on attention embeddings (64 features)", embeddings),
    ]:
        model.fit(X_train, y_train)
        print(f"  {name:<40}{model.score(X_test, y_test):.3f}")

    # Unsupervised: no labels at all, so all 80 recordings can be used.
    X_all = np.concatenate([X_train, X_test])
    y_all = np.concatenate([y_train, y_test])
    n_clusters = len(np.unique(y_all))
    encoder = AttentionPoolingTransformer(max_epochs=MAX_EPOCHS, random_state=0)
    encoder.fit(X_all)  # y=None: self-supervised masked reconstruction
    print(f"\nKMeans into {n_clusters} clusters, adjusted Rand index vs activities:")
    for name, features in [
        ("on summary statistics", summary_statistics(X_all)),
        ("on self-supervised embeddings", encoder.transform(X_all)),
    ]:
        clusters = make_pipeline(
            StandardScaler(), KMeans(n_clusters, n_init=10, random_state=0)
        ).fit_predict(features)
        print(f"  {name:<40}{adjusted_rand_score(y_all, clusters):.3f}")

    if FAST:
        print("\n" + FAST_BANNER)


if __name__ == "__main__":
    main()
