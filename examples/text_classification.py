"""Sentiment of short reviews: token sequences and an LSTM with attention.

A small corpus of one-sentence reviews is generated in this script. Its
labels depend on word order, as real sentiment often does:

- negation: "the plot was not good" is negative;
- contrast: in "the acting was great but the ending was dull" the clause
  after "but" decides.

A bag of words sees the same words in "good but dull" and "dull but good",
so a TF-IDF + logistic regression baseline falls short on those; an LSTM
reading the tokens in order does not. The example shows:

- ``Pipeline(TokenEncoder(max_tokens=...), LSTMAttentionClassifier(
  vocab_size=max_tokens + 2, padding_idx=0))`` on raw strings;
- early stopping on a validation split, with ``verbose=1`` showing the
  progress (epoch, losses, time left) and where training stopped;
- the accuracy of both models on the same test texts, per kind of sentence;
- the words the model attended to most in a few test reviews (where the
  pooling looks, which is not a full explanation of the prediction).

Run: python text_classification.py
(set SKATTN_EXAMPLES_FAST=1, or pass --fast, for a quick, smaller run:
its results are not meaningful)
"""

import os
import sys

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from skattn import LSTMAttentionClassifier, TokenEncoder

FAST = os.environ.get("SKATTN_EXAMPLES_FAST") == "1" or "--fast" in sys.argv[1:]
FAST_BANNER = (
    "FAST MODE (SKATTN_EXAMPLES_FAST=1 or --fast): tiny training, "
    "results are not meaningful"
)
N_TRAIN, N_TEST = (300, 200) if FAST else (2000, 1000)
MAX_TOKENS = 200  # more than this corpus needs; the rest would map to "unknown"

SUBJECTS = [
    "the film", "this movie", "the plot", "the acting", "the soundtrack",
    "the ending", "the cast", "the script", "the dialogue", "the camera work",
]  # fmt: skip
POSITIVE = [
    "good", "great", "excellent", "wonderful", "brilliant", "enjoyable", "moving",
    "clever",
]  # fmt: skip
NEGATIVE = [
    "bad", "terrible", "awful", "boring", "dull", "weak", "clumsy", "predictable",
]  # fmt: skip
ADVERBS = ["", "", "really", "very", "quite", "truly", "rather"]
OPENERS = ["", "", "", "honestly", "overall", "in the end", "i think", "sadly"]


def make_reviews(n, seed):
    """Reviews and labels ("positive"/"negative"), with the kind of sentence
    ("plain", "negation" or "contrast") of each."""
    rng = np.random.default_rng(seed)

    def clause(positive, negate):
        """A clause whose sentiment is ``positive``, possibly via 'not'."""
        words = POSITIVE if positive != negate else NEGATIVE
        adverb = rng.choice(ADVERBS)
        verb = "was not" if negate else "was"
        return " ".join(
            w for w in (rng.choice(SUBJECTS), verb, adverb, rng.choice(words)) if w
        )

    texts, labels, kinds = [], [], []
    for _ in range(n):
        positive = bool(rng.random() < 0.5)
        kind = rng.choice(["plain", "negation", "contrast"], p=[0.4, 0.3, 0.3])
        if kind == "plain":
            text = clause(positive, negate=False)
        elif kind == "negation":
            text = clause(positive, negate=True)
        else:  # the first clause says the opposite; the one after "but" counts
            first = clause(not positive, negate=bool(rng.random() < 0.3))
            second = clause(positive, negate=bool(rng.random() < 0.3))
            text = f"{first} but {second}"
        opener = rng.choice(OPENERS)
        texts.append(f"{opener} {text}".strip())
        # like real ratings, 5% of the labels disagree with the text
        if rng.random() < 0.05:
            positive = not positive
        labels.append("positive" if positive else "negative")
        kinds.append(kind)
    return texts, np.array(labels), np.array(kinds)


def main():
    if FAST:
        print(FAST_BANNER + "\n")
    texts_train, y_train, _ = make_reviews(N_TRAIN, seed=0)
    texts_test, y_test, kinds_test = make_reviews(N_TEST, seed=1)
    print(f"{N_TRAIN} training and {N_TEST} test reviews, e.g.:")
    for text, label in zip(texts_train[:4], y_train[:4], strict=True):
        print(f"  {label:<9} {text}")

    # bag-of-words baselines: single words, and words plus word pairs
    # (pairs catch "not good", but not "not very good" nor which clause is last)
    words = make_pipeline(TfidfVectorizer(), LogisticRegression())
    pairs = make_pipeline(TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression())
    words.fit(texts_train, y_train)
    pairs.fit(texts_train, y_train)

    model = make_pipeline(
        TokenEncoder(max_tokens=MAX_TOKENS),
        LSTMAttentionClassifier(
            vocab_size=MAX_TOKENS + 2,  # + padding (0) and unknown (1) ids
            padding_idx=0,
            # with thousands of texts a 10% validation split is cheap: stop
            # when its loss stops improving and keep the best epoch
            early_stopping=True,
            max_epochs=3 if FAST else 100,
            verbose=1,
            random_state=0,
        ),
    )
    print("\nTraining the LSTM (early stopping on a 10% validation split):")
    model.fit(texts_train, y_train)
    history = model[-1].history_
    best = min(history, key=lambda row: row["valid_loss"])["epoch"]
    print(
        f"Stopped after {model[-1].n_iter_} epochs; kept the weights of epoch {best}, "
        "the lowest validation loss\n"
    )

    kinds = ("plain", "negation", "contrast")
    print(f"{'test accuracy':<40}{'all':>6}" + "".join(f"{k:>10}" for k in kinds))
    for name, m in [
        ("TF-IDF words + logistic regression", words),
        ("TF-IDF words, pairs + logistic regr.", pairs),
        ("TokenEncoder + LSTMAttentionClassifier", model),
    ]:
        correct = m.predict(texts_test) == y_test
        per_kind = "".join(f"{correct[kinds_test == k].mean():>10.3f}" for k in kinds)
        print(f"{name:<40}{correct.mean():>6.3f}{per_kind}")

    # The words each review's attention weighs most: [word weight] marks
    # every word with at least 10% of the attention. The LSTM reads in both
    # directions, so its state at a word also carries the words around it: a
    # weight on "was" in "was not quite boring" stands for that phrase.
    encoder, classifier = model[0], model[-1]
    examples = [texts_test[i] for i in np.flatnonzero(kinds_test == "contrast")[:3]]
    examples += [texts_test[i] for i in np.flatnonzero(kinds_test == "negation")[:2]]
    ids = encoder.transform(examples)
    weights = classifier.attention_weights(ids)
    predictions = model.predict(examples)
    print("\nWhere the LSTM looks ([word weight]: at least 10% of the attention):")
    for text, seq, w, label in zip(examples, ids, weights, predictions, strict=True):
        tokens = text.lower().split()  # TokenEncoder's default tokens here
        assert len(tokens) == len(seq)
        marked = [
            f"[{token} {weight:.2f}]" if weight >= 0.1 else token
            for token, weight in zip(tokens, w, strict=False)
        ]
        print(f"  {label:<9} {' '.join(marked)}")

    if FAST:
        print("\n" + FAST_BANNER)


if __name__ == "__main__":
    main()
