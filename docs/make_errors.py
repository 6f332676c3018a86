"""Write docs/errors.md: common mistakes and the exact error each one gives.

Every message in the table comes from running the code next to it, and
``tests/test_docs.py`` checks that the committed table is what this script
writes today, so the table cannot drift from the messages. After changing a
message, run::

    python docs/make_errors.py
"""

import os
import tempfile
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent

SETUP = """\
import numpy as np
import pandas as pd
import skattn
from skattn import LSTMAttentionClassifier as LSTMClassifier
from skattn import LSTMAttentionRegressor as LSTMRegressor
from skattn import TransformerClassifier

rng = np.random.default_rng(0)
X = rng.normal(size=(20, 30, 3))  # 20 sequences, 30 timesteps, 3 channels
y = np.arange(20) % 2
model = LSTMClassifier(hidden_size=4, max_epochs=1).fit(X, y)
"""

# (mistake, code that makes it, what to do); the last line of the code raises
MISTAKES = [
    (
        "Axis order of aeon/sktime: `(n, channels, time)`",
        "model.predict(X.transpose(0, 2, 1))",
        "Convert with `skattn.data.from_channels_first(X)`.",
    ),
    (
        "Axis order of aeon/sktime at `fit` (a warning)",
        "LSTMClassifier(max_epochs=1).fit(X.transpose(0, 2, 1), y)",
        "Convert with `skattn.data.from_channels_first(X)`; if there are more "
        "channels than timesteps indeed, filter "
        "`skattn.exceptions.DataLayoutWarning`.",
    ),
    (
        "Other channels than in `fit`",
        "model.predict(X[:, :, :2])",
        "Pass the channels the model was fitted with, in the same order.",
    ),
    (
        "String features in an array",
        'model.predict(np.full((2, 30, 3), "red"))',
        "Pass categories as integer codes marked with `categorical_features`, "
        "or texts as token ids (`skattn.TokenEncoder`).",
    ),
    (
        "String column in a long DataFrame",
        "frame = pd.DataFrame(\n"
        '    {"amount": [5.0, 7.0, 1.0], "shop": ["a", "b", "a"]},\n'
        "    index=pd.MultiIndex.from_tuples(\n"
        '        [(1, 0), (1, 1), (2, 0)], names=["customer", "day"]\n'
        "    ),\n"
        ")\n"
        'LSTMClassifier(categorical_features=None).fit(frame, ["no", "yes"])',
        "Mark the column categorical (the default `categorical_features="
        "'from_dtype'` does), or drop it.",
    ),
    (
        "A fractional code in a categorical channel of an array",
        "codes = X.copy()\ncodes[0, 0, 0] = 0.5\n"
        "LSTMClassifier(categorical_features=[0]).fit(codes, y)",
        "Categorical channels of arrays hold integer codes (NaN for missing).",
    ),
    (
        "An entity split across the partitions of a dask DataFrame",
        "import dask.dataframe as dd\n"
        "events = pd.DataFrame(\n"
        '    {"customer": [1, 2, 1, 2], "day": [0, 0, 1, 1],\n'
        '     "amount": [5.0, 1.0, 7.0, 2.0]}\n'
        ")\n"
        "frame = dd.from_pandas(events, npartitions=2, sort=False)\n"
        'X = skattn.data.from_dask_long(frame, id_col="customer", time_col="day")\n'
        'LSTMClassifier().fit(X, ["no", "yes"])',
        'Repartition by entity: `frame.set_index("customer")`.',
    ),
    (
        "`time_features` with array input",
        'LSTMClassifier(time_features="gap").fit(X, y)',
        "Pass a long DataFrame whose time level holds timestamps or numbers.",
    ),
    (
        "NaN inside a sequence",
        "X_missing = X.copy()\nX_missing[0, 5, 1] = np.nan\nmodel.predict(X_missing)",
        "Impute first (`skattn.SequenceImputer`); only trailing all-NaN steps "
        "are padding.",
    ),
    (
        "inf in the data",
        "model.predict(np.where(X > 3, np.inf, X))",
        "Replace or clip infinite values.",
    ),
    (
        "A sequence without any real timestep",
        "model.predict([X[0], X[1][:0]])",
        "Drop empty sequences before predicting.",
    ),
    (
        "An all-NaN row in a padded array",
        "X_empty = X.copy()\nX_empty[3] = np.nan\nmodel.predict(X_empty)",
        "Drop the sequence: a row of NaN is all padding.",
    ),
    (
        "2D-fitted model given another width",
        "flat = LSTMClassifier(max_epochs=1).fit(X[:, :, 0], y)\n"
        "flat.predict(X[:, :25, 0])",
        "2D input is sklearn's tabular contract (fixed width); fit on a 3D "
        "array or a list to accept any length.",
    ),
    (
        "2D-fitted model given sequences",
        "flat = LSTMClassifier(max_epochs=1).fit(X[:, :, 0], y)\n"
        "flat.predict([X[0, :, :1]])",
        "Fit on a 3D array or a list of arrays to accept any length.",
    ),
    (
        "Token ids out of range",
        "tokens = [np.array([1, 2, 3]), np.array([4, 1])]\n"
        "clf = LSTMClassifier(vocab_size=5, max_epochs=1).fit(tokens, [0, 1])\n"
        "clf.predict([np.array([2, 9])])",
        "Raise `vocab_size`, or map unknown tokens to one id (`TokenEncoder` uses 1).",
    ),
    (
        "`y` of the wrong length",
        "LSTMClassifier().fit(X, y[:-1])",
        "Give one target per sequence (for a long DataFrame: per entity).",
    ),
    (
        "`y` with one row per row of a long DataFrame",
        "frame = pd.DataFrame(\n"
        '    {"amount": [5.0, 7.0, 1.0]},\n'
        "    index=pd.MultiIndex.from_tuples(\n"
        '        [(1, 0), (1, 1), (2, 0)], names=["customer", "day"]\n'
        "    ),\n"
        ")\n"
        'LSTMClassifier().fit(frame, ["no", "no", "yes"])',
        "Give one target per entity. To cross-validate or search, convert the "
        "frame with `skattn.data.from_long` first: scikit-learn splits a "
        "DataFrame by rows.",
    ),
    (
        "`y` with NaN",
        "LSTMRegressor().fit(X, np.where(y == 1, np.nan, 0.5))",
        "Drop or impute the samples without a target.",
    ),
    (
        "A single class",
        "LSTMClassifier().fit(X, np.zeros(20))",
        "A classifier needs at least two classes.",
    ),
    (
        "New labels after fitting",
        "clf = LSTMClassifier(max_epochs=1).partial_fit(X, y)\n"
        "clf.partial_fit(X, y + 1)",
        "Pass every label as `classes=` in the first `partial_fit` call.",
    ),
    (
        "Learned positions on longer sequences",
        "tr = TransformerClassifier(\n"
        '    positional_encoding="learned", d_model=8, max_epochs=1\n'
        ").fit(X, y)\n"
        "tr.predict(rng.normal(size=(2, 40, 3)))",
        "Use `positional_encoding='sinusoidal'`, or truncate (`SequenceTruncator`).",
    ),
    (
        "Data far outside the training range",
        "tr = TransformerClassifier(d_model=8, max_epochs=1).fit(X, y)\n"
        "tr.predict(X * 1e300)",
        "Scale new data like the training data.",
    ),
    (
        "Duplicate (entity, time) rows",
        "frame = pd.DataFrame(\n"
        '    {"amount": [5.0, 7.0]},\n'
        "    index=pd.MultiIndex.from_tuples(\n"
        '        [(1, 0), (1, 0)], names=["customer", "day"]\n'
        "    ),\n"
        ")\n"
        "model.predict(frame)",
        "Aggregate the rows of each (entity, time) first.",
    ),
    (
        "One string instead of sequences",
        'model.predict("1, 2, 3")',
        "Parse the text into numbers, or use `TokenEncoder` for words.",
    ),
    (
        "A file that is not a skattn model",
        'open("model.skattn", "wb").write(b"not a model")\nskattn.load("model.skattn")',
        "Load files written by `skattn.save` or `estimator.save`; `skattn.load` "
        "never runs code from a file.",
    ),
    (
        "A pickle or joblib file",
        'import joblib\njoblib.dump(model, "model.joblib")\n'
        'skattn.load("model.joblib")',
        "Save with `skattn.save(model, path)`; read a pickle you trust with "
        "`joblib.load`.",
    ),
]


def _run(code, namespace):
    """The error the last line of ``code`` raises, or else the skattn warning
    it gives, as a user sees it."""
    from skattn import exceptions

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore")
        for category in (
            exceptions.DataLayoutWarning,
            exceptions.TrainingInterruptedWarning,
        ):
            warnings.simplefilter("always", category)
        try:
            exec(code, namespace)
        except Exception as exc:  # noqa: BLE001 - we record whatever it is
            return f"{type(exc).__name__}: {exc}"
    if caught:
        return f"{caught[0].category.__name__}: {caught[0].message}"
    raise AssertionError(f"no error from:\n{code}")


def messages():
    """Run every mistake (in a scratch directory) and collect its message."""
    import torch

    torch.set_num_threads(1)
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as scratch, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        os.chdir(scratch)
        try:
            namespace = {}
            exec(SETUP, namespace)
            return [_run(code, dict(namespace)) for _, code, _ in MISTAKES]
        finally:
            os.chdir(cwd)


def _cell(text):
    return text.replace("|", "\\|").replace("\n", "<br>")


def render():
    lines = [
        "# Common mistakes and their errors",
        "",
        "<!-- Generated by docs/make_errors.py; tests/test_docs.py checks it. -->",
        "",
        "Each row was produced by running its code after this setup; the message",
        "is exactly what skattn (or scikit-learn's validation) raises, or the",
        "warning it gives where the row says so.",
        "",
        "```python",
        SETUP.rstrip(),
        "```",
        "",
        "| mistake | code | error | what to do |",
        "|---|---|---|---|",
    ]
    for (mistake, code, fix), message in zip(MISTAKES, messages(), strict=True):
        code_cell = "<br>".join(f"`{line}`" for line in code.splitlines())
        lines.append(f"| {mistake} | {_cell(code_cell)} | {_cell(message)} | {fix} |")
    return "\n".join(lines) + "\n"


def main():
    (HERE / "errors.md").write_text(render())


if __name__ == "__main__":
    main()
