"""Test-set accuracy (RMSE for regression) of skattn's estimators and baselines.

Every supervised skattn estimator is default-constructed (only
``random_state`` and ``n_threads=1`` are set) and trained on each bundled
data set's archive training split, 3 seeds. Beside them, in the same run:

- MiniRocket from aeon (``MiniRocketClassifier`` / ``MiniRocketRegressor``,
  ``n_jobs=1``), when aeon is importable. aeon's MiniRocket needs
  equal-length series: unequal-length sets are resampled to the longest
  length by linear interpolation of each series' real steps (test series
  to the training length). Numba's compilation is done by a warm-up fit
  before timing.
- A ridge model on the flattened series (standardised, NaN padding set to
  0, test series padded to the training length): ``RidgeClassifierCV`` /
  ``RidgeCV`` with 13 alphas from 1e-3 to 1e3.
- For regression, the training mean as a floor (``DummyRegressor``).
- tsai's ``LSTMAttention`` and ``TST`` when a Python with tsai is given
  (``run_tsai``); they run in that interpreter (see ``_tsai_child.py``),
  with one seed by default (tsai's fits are the slowest part).
"""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import _common as C  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

# The data sets whose training splits chose the estimators' defaults
# (cv_defaults.py); test scores on them are reported apart from any other.
TUNING_SETS = ("GunPoint", "BasicMotions", "PickupGestureWiimoteZ", "Covid3Month")

# How _tsai_child.py trains tsai's models, for the run and for the report.
TSAI_EPOCHS = 100
TSAI_LR = 1e-3  # fastai's default maximum learning rate for fit_one_cycle
TSAI_BATCH_SIZE = 32


def skattn_models(classification):
    import skattn

    if classification:
        return {
            "TransformerClassifier": skattn.TransformerClassifier,
            "LSTMAttentionClassifier": skattn.LSTMAttentionClassifier,
        }
    return {
        "TransformerRegressor": skattn.TransformerRegressor,
        "LSTMAttentionRegressor": skattn.LSTMAttentionRegressor,
    }


def resample_to_longest(X, t=None):
    """NaN-padded ``[n, t0, c]`` -> each series linearly resampled to ``t``
    steps (default ``t0``), channels first ``[n, c, t]`` float64 (aeon's
    layout)."""
    n, t0, c = X.shape
    t = t0 if t is None else t
    out = np.empty((n, c, t))
    grid = np.linspace(0.0, 1.0, t)
    for i in range(n):
        real = ~np.isnan(X[i, :, 0])
        length = int(real.sum())
        src = np.linspace(0.0, 1.0, length) if length > 1 else np.zeros(1)
        for j in range(c):
            out[i, j] = np.interp(grid, src, X[i, :length, j].astype(np.float64))
    return out


def minirocket(classification, seed):
    try:
        if classification:
            from aeon.classification.convolution_based import MiniRocketClassifier as M
        else:
            from aeon.regression.convolution_based import MiniRocketRegressor as M
    except ImportError as exc:  # aeon missing or numba refuses this numpy
        return None, f"{type(exc).__name__}: {exc}"
    return M(random_state=seed, n_jobs=1), None


def _record(rows, dataset, model, seed, score, fit_s, predict_s, note=""):
    rows.append(
        dict(
            dataset=dataset,
            model=model,
            seed=seed,
            score=score,
            fit_s=fit_s,
            predict_s=predict_s,
            note=note,
        )
    )


def run(quick=False, seeds=(0, 1, 2), log=print):
    C.set_one_thread()
    rows, notes = [], {}
    datasets = C.DATASETS
    if quick:
        seeds = seeds[:1]
    for name in datasets:
        X_tr, X_te, y_tr, y_te = C.load(name)
        if quick:  # a smoke run: few samples and epochs
            X_tr, y_tr, X_te, y_te = X_tr[:24], y_tr[:24], X_te[:24], y_te[:24]
        cls = C.is_classification(name)
        extra = {"max_epochs": 2} if quick else {}
        for model_name, Model in skattn_models(cls).items():
            for seed in seeds:
                est = Model(random_state=seed, n_threads=1, **extra)
                with C.Timer() as t_fit:
                    est.fit(X_tr, y_tr)
                with C.Timer() as t_pred:
                    pred = est.predict(X_te)
                s = C.score(cls, y_te, pred)
                _record(rows, name, model_name, seed, s, t_fit.seconds, t_pred.seconds)
                log(
                    f"  {name:>22} {model_name:>24} seed {seed}: {s:.4f} "
                    f"(fit {t_fit.seconds:.1f}s)"
                )

        # MiniRocket (aeon)
        mr, err = minirocket(cls, 0)
        if err:
            notes["MiniRocket"] = err
        else:
            T = X_tr.shape[1]  # the training length (a test split may be shorter)
            A_tr, A_te = resample_to_longest(X_tr), resample_to_longest(X_te, T)
            # warm-up: numba compiles on first use; keep that out of the timing
            minirocket(cls, 0)[0].fit(A_tr, y_tr).predict(A_te)
            for seed in seeds:
                est = minirocket(cls, seed)[0]
                with C.Timer() as t_fit:
                    est.fit(A_tr, y_tr)
                with C.Timer() as t_pred:
                    pred = est.predict(A_te)
                s = C.score(cls, y_te, pred)
                _record(
                    rows,
                    name,
                    "MiniRocket (aeon)",
                    seed,
                    s,
                    t_fit.seconds,
                    t_pred.seconds,
                )
                log(f"  {name:>22} {'MiniRocket':>24} seed {seed}: {s:.4f}")

        # ridge on the flattened series (deterministic: one run)
        est = C.ridge(cls)
        with C.Timer() as t_fit:
            est.fit(C.flat(X_tr), y_tr)
        with C.Timer() as t_pred:
            pred = est.predict(C.flat(X_te, X_tr.shape[1]))
        _record(
            rows,
            name,
            "Ridge (flattened)",
            0,
            C.score(cls, y_te, pred),
            t_fit.seconds,
            t_pred.seconds,
        )

        if not cls:  # the floor: predict the training mean
            from sklearn.dummy import DummyRegressor

            est = DummyRegressor().fit(C.flat(X_tr), y_tr)
            _record(
                rows,
                name,
                "training mean (floor)",
                0,
                C.score(cls, y_te, est.predict(C.flat(X_te, X_tr.shape[1]))),
                0.0,
                0.0,
            )

    return rows, notes


def run_tsai(tsai_python, quick=False, seeds=(0,), log=print, on_result=None):
    """tsai's LSTMAttention and TST on every data set, in ``tsai_python``;
    ``on_result(rows, notes)`` is called after every fit."""
    rows, notes = [], {}
    for name in C.DATASETS:
        for arch in ("LSTMAttention", "TST"):
            if f"tsai {arch}" in notes:
                continue
            for seed in seeds:
                res = _tsai(tsai_python, name, arch, seed, quick)
                if "error" in res:
                    notes[f"tsai {arch} ({name})"] = res["error"]
                    break
                _record(
                    rows,
                    name,
                    f"tsai {arch}",
                    seed,
                    res["score"],
                    res["fit_s"],
                    res["predict_s"],
                )
                log(
                    f"  {name:>22} {'tsai ' + arch:>24} seed {seed}: "
                    f"{res['score']:.4f} (fit {res['fit_s']:.1f}s)"
                )
                if on_result is not None:
                    on_result(rows, notes)
    return rows, notes


def _tsai(python, name, arch, seed, quick, timeout=600):
    cmd = [python, os.path.join(HERE, "_tsai_child.py"), name, arch, str(seed)]
    if quick:
        cmd.append("--quick")
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(
            [os.path.dirname(HERE), os.environ.get("PYTHONPATH", "")]
        ),
    )
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env=env, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {"error": f"no result within {timeout} s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"error": f"exit {proc.returncode}: {tail[0][:300]}"}
    return json.loads(lines[-1])


def summarise(rows):
    """Per (dataset, model): mean, std, fit and predict seconds (means)."""
    out = {}
    for r in rows:
        out.setdefault((r["dataset"], r["model"]), []).append(r)
    summary = []
    for (dataset, model), rs in out.items():
        scores = np.array([r["score"] for r in rs])
        summary.append(
            dict(
                dataset=dataset,
                model=model,
                n=len(rs),
                mean=float(scores.mean()),
                std=float(scores.std(ddof=1)) if len(rs) > 1 else 0.0,
                min=float(scores.min()),
                max=float(scores.max()),
                fit_s=float(np.mean([r["fit_s"] for r in rs])),
                predict_s=float(np.mean([r["predict_s"] for r in rs])),
                note=rs[0].get("note", ""),
            )
        )
    return summary


def _tsai_caveat(summary):
    """Why the tsai rows are not like-for-like with skattn's, from the rows."""
    tsai = [s for s in summary if s["model"].startswith("tsai")]
    if not tsai:
        return None
    import skattn

    defaults = skattn.TransformerClassifier()
    seeds = sorted({s["n"] for s in tsai})
    ours = sorted({s["n"] for s in summary if s["model"] in _SKATTN_MODELS})
    sets = sorted({s["dataset"] for s in tsai}, key=C.DATASETS.index)
    return (
        "† not like-for-like: tsai ran "
        f"{' or '.join(map(str, seeds))} seed{'s' if seeds != [1] else ''} per "
        f"model (skattn {' or '.join(map(str, ours))}), on {' and '.join(sets)} "
        f"only, with `fit_one_cycle({TSAI_EPOCHS}, {TSAI_LR:g})` ({TSAI_EPOCHS} "
        f"epochs at fastai's default learning rate, batch size "
        f"{TSAI_BATCH_SIZE}) and no setting tuned, whereas skattn's defaults "
        f"({defaults.max_epochs} epochs, batch size {defaults.batch_size}, "
        f"learning rate, convolutional stem) were chosen by cross-validation on "
        "the training splits of these data sets (`CV_DEFAULTS.md`); tsai's "
        "inputs are standardised and resampled to one length outside the model."
    )


_SKATTN_MODELS = (
    "TransformerClassifier",
    "LSTMAttentionClassifier",
    "TransformerRegressor",
    "LSTMAttentionRegressor",
)


def markdown(rows, notes):
    summary = summarise(rows)
    measured = [
        name for name in C.DATASETS if any(s["dataset"] == name for s in summary)
    ]
    tuned = [name for name in measured if name in TUNING_SETS]
    held_out = [name for name in measured if name not in TUNING_SETS]
    lines = [
        "## Accuracy",
        "",
        "Archive train/test split; test accuracy (Covid3Month: test RMSE, "
        "lower is better) as mean ± standard deviation over seeds (range "
        "in brackets); fit and predict times are means over seeds, one "
        "thread. skattn estimators are default-constructed (only "
        "`random_state` and `n_threads=1` set).",
        "",
        "The defaults were chosen by cross-validation on the training splits of "
        f"{', '.join(TUNING_SETS)} (`CV_DEFAULTS.md`); the test splits were not "
        "read then, but scores on these data sets are not from data that played "
        "no part in choosing the defaults. "
        + (
            f"Held-out data sets: {', '.join(held_out)}."
            if held_out
            else "No held-out data sets (ones not used to choose the defaults) "
            "have been measured yet."
        ),
        "",
    ]
    caveat = _tsai_caveat(summary)
    for group, names in (
        ("Data sets the defaults were chosen on", tuned),
        ("Held-out data sets", held_out),
    ):
        if not names:
            continue
        lines += [f"### {group}", ""]
        for name in names:
            lines += _dataset_table(summary, name)
    marked = sorted({s["note"] for s in summary if s["note"]})
    if marked:
        lines += ["\\* " + note for note in marked]
        lines.append("")
    if caveat:
        lines += [caveat, ""]
    lines += _classification_summary(summary)
    if notes:
        lines += ["Baselines that did not run:", ""]
        lines += [f"- {k}: {v}" for k, v in notes.items()]
        lines.append("")
    return "\n".join(lines)


def _dataset_table(summary, name):
    metric = "accuracy" if C.is_classification(name) else "RMSE"
    table = []
    for s in summary:
        if s["dataset"] != name:
            continue
        spread = (
            f"{s['mean']:.3f} ± {s['std']:.3f} [{s['min']:.3f}, {s['max']:.3f}]"
            if s["n"] > 1
            else f"{s['mean']:.3f}"
        )
        label = s["model"]
        if label.startswith("tsai"):
            label += " †"
        if s["note"]:
            label += " *"
        table.append(
            [label, s["n"], spread, f"{s['fit_s']:.2f}", f"{s['predict_s']:.3f}"]
        )
    if not table:
        return []
    return [
        f"#### {name}",
        "",
        C.markdown_table(["model", "runs", metric, "fit s", "predict s"], table),
        "",
    ]


def _classification_summary(summary):
    """Mean accuracy over the classification sets, per model, and the better
    of the two skattn classifiers (picked per data set on the test split)."""
    by = {(s["dataset"], s["model"]): s["mean"] for s in summary}
    models = sorted({m for (_, m) in by})
    head = []
    for m in models:
        vals = [by.get((d, m)) for d in C.CLASSIFICATION]
        if all(v is not None for v in vals):
            head.append([m, *(f"{v:.3f}" for v in vals), f"{np.mean(vals):.3f}"])
    best = []
    for d in C.CLASSIFICATION:
        vals = [
            by.get((d, m)) for m in ("TransformerClassifier", "LSTMAttentionClassifier")
        ]
        vals = [v for v in vals if v is not None]
        best.append(max(vals) if vals else float("nan"))
    head.append(
        [
            "better of the two skattn classifiers ‡",
            *(f"{v:.3f}" for v in best),
            f"{np.mean(best):.3f}",
        ]
    )
    return [
        "### Classification summary (mean accuracy on the data sets the "
        "defaults were chosen on)",
        "",
        C.markdown_table(["model", *C.CLASSIFICATION, "mean"], head),
        "",
        "‡ chosen on the test split: the better classifier of each data set is "
        "picked by its test accuracy, so this row is optimistic; it is no model "
        "a user could pick in advance.",
        "",
    ]


if __name__ == "__main__":
    import argparse

    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--tsai-python", default=None)
    a = p.parse_args()
    rows, notes = run(quick=a.quick)
    if a.tsai_python:
        more, more_notes = run_tsai(a.tsai_python, quick=a.quick)
        rows, notes = rows + more, {**notes, **more_notes}
    print(markdown(rows, notes))
