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
- Gradient boosting on the same flattened series
  (``HistGradientBoostingClassifier`` / ``HistGradientBoostingRegressor``
  with scikit-learn's defaults): the nonlinear model of the values at
  each step that a tabular workflow would try first.
- For regression, the training mean as a floor (``DummyRegressor``).
- tsai's ``LSTMAttention`` and ``TST`` when a Python with tsai is given
  (``run_tsai``); they run in that interpreter (see ``_tsai_child.py``),
  with one seed by default (tsai's fits are the slowest part).
"""

import datetime
import functools
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


# The two default classifiers in scikit-learn's VotingClassifier (soft
# voting: their predicted probabilities averaged), each with the row's seed.
VOTE = C.VOTE


def soft_vote(random_state=None, **params):
    """``VotingClassifier`` of the two default skattn classifiers."""
    from sklearn.ensemble import VotingClassifier

    members = [
        (name, Model(random_state=random_state, **params))
        for name, Model in skattn_models(True).items()
    ]
    return VotingClassifier(members, voting="soft")


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


def _this_run():
    """The day and CPU of this run, kept with each row it measures, so that a
    report of rows from several runs says which were timed together."""
    return f"{datetime.date.today().isoformat()}, {C.cpu_model()}"


def _minirocket_model(classification, seed):
    return minirocket(classification, seed)[0]


def _fit_score(make, classification, X_tr, y_tr, X_te, y_te):
    """Score, fit seconds and predict seconds of the model ``make()``."""
    est = make()
    with C.Timer() as t_fit:
        est.fit(X_tr, y_tr)
    with C.Timer() as t_pred:
        pred = est.predict(X_te)
    return C.score(classification, y_te, pred), t_fit.seconds, t_pred.seconds


# Parameters added after rows were cached, whose default builds the model
# as it was before they existed: left out of the fingerprint, so that those
# rows stay valid.
NEUTRAL = {
    "linear_steps": None,
    "linear_alpha": "1se",
    "random_warp": 0.0,
    "max_steps": None,
    "stem_dilation": 1,
    "label_smoothing": 0.0,
    "n_estimators": 1,
    "validation_split": "random",
    "random_crop": None,
    "stem_scales": 1,
    "relative_positions": False,
    "weight_averaging": None,
    "jitter": 0.0,
    "max_pooling": False,
    "stem_pooling": False,
    "differences": 0,
    "group_by_length": True,
    "batch_renorm": False,
    "validation_folds": None,
    "n_jobs": None,
    "network_weight": 1.0,
}


def config(model_name, few=False):
    """A short fingerprint of a skattn model's default parameters, so that
    cached rows of other defaults are not reused ("" for the baselines).
    ``few``: ``random_crop="auto"`` acts on the data set's training target
    (``_common.crop_auto_acts``), and how many times the epochs its windows
    network trains counts too; elsewhere "auto" counts as None, the
    model it trains, and so does ``positional_encoding="auto"`` as the
    sinusoidal codes it gives a network on whole sequences."""
    import hashlib

    import skattn

    if model_name == VOTE:
        members = "".join(config(name, few) for name in skattn_models(True))
        return hashlib.sha1(members.encode()).hexdigest()[:10]
    Model = getattr(skattn, model_name, None)
    if Model is None:
        return ""
    defaults = Model().get_params()
    if not few and defaults.get("random_crop") == "auto":
        defaults["random_crop"] = None
    if defaults.get("random_crop") == "auto":
        # how long "auto"'s windows network trains (rows measured before
        # it trained longer than max_epochs are of another model)
        from skattn._base import AUTO_CROP_EPOCHS

        if AUTO_CROP_EPOCHS != 1:
            defaults["auto_crop_epochs"] = AUTO_CROP_EPOCHS
    if defaults.get("random_crop") is None and (
        defaults.get("positional_encoding") == "auto"
    ):
        defaults["positional_encoding"] = "sinusoidal"
    params = sorted(
        (k, repr(v)) for k, v in defaults.items() if k not in NEUTRAL or v != NEUTRAL[k]
    )
    return hashlib.sha1(repr(params).encode()).hexdigest()[:10]


def _cached(path):
    """Rows already measured, by (dataset, model, seed, config, quick)."""
    if path is None or not os.path.exists(path):
        return {}
    with open(path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return {
        (r["dataset"], r["model"], r["seed"], r["config"], r["quick"]): r for r in rows
    }


def run(
    quick=False, seeds=(0, 1, 2), log=print, datasets=None, directory=None, cache=None
):
    """Rows of test scores and times, and notes on what did not run.

    ``datasets`` default to the whole suite (``_common.SUITE``); a set whose
    file is not found gets a note. With ``cache`` (a JSON-lines file), each
    row is appended when measured and rows already there for the same
    defaults are reused, so a long run can resume and several processes can
    share the work by data set.
    """
    C.set_one_thread()
    rows, notes = [], {}
    datasets = list(C.SUITE if datasets is None else datasets)
    if quick:
        seeds = seeds[:1]
    done = _cached(cache)
    where = _this_run()

    def measure(name, model_name, seed, make, *data):
        key = (name, model_name, seed, config(model_name, few), quick)
        if key not in done:
            score, fit_s, predict_s = _fit_score(make, cls, *data)
            _record(rows, name, model_name, seed, score, fit_s, predict_s)
            rows[-1].update(config=key[3], quick=quick, measured=where)
            if few:
                rows[-1]["few_per_class"] = True
            if cache is not None:
                with open(cache, "a") as f:
                    f.write(json.dumps(rows[-1]) + "\n")
        else:
            rows.append(done[key])
        log(f"  {name:>22} {model_name:>24} seed {seed}: {rows[-1]['score']:.4f}")

    for name in datasets:
        try:
            X_tr, X_te, y_tr, y_te = C.load_suite(name, directory)
        except FileNotFoundError as exc:
            notes[name] = f"not measured: {exc}"
            continue
        if quick:  # a smoke run: few samples and epochs
            X_tr, y_tr, X_te, y_te = X_tr[:24], y_tr[:24], X_te[:24], y_te[:24]
        cls = C.is_classification(name)
        few = cls and C.crop_auto_acts(y_tr)
        data = (X_tr, y_tr, X_te, y_te)
        extra = {"max_epochs": 2} if quick else {}
        models = dict(skattn_models(cls), **({VOTE: soft_vote} if cls else {}))
        for model_name, Model in models.items():
            for seed in seeds:
                make = functools.partial(Model, random_state=seed, n_threads=1, **extra)
                measure(name, model_name, seed, make, *data)

        # MiniRocket (aeon), on series resampled to the training length
        mr, err = minirocket(cls, 0)
        if err:
            notes["MiniRocket"] = err
        else:
            T = X_tr.shape[1]  # the training length (a test split may be shorter)
            A = (resample_to_longest(X_tr), y_tr, resample_to_longest(X_te, T), y_te)
            model = "MiniRocket (aeon)"
            keys = [(name, model, seed, config(model, few), quick) for seed in seeds]
            if any(key not in done for key in keys):
                mr.fit(*A[:2]).predict(A[2])  # numba compiles on first use: untimed
            for seed in seeds:
                make = functools.partial(_minirocket_model, cls, seed)
                measure(name, model, seed, make, *A)

        # ridge on the flattened series (deterministic: one run), and for
        # regression the floor: predict the training mean
        flat = (C.flat(X_tr), y_tr, C.flat(X_te, X_tr.shape[1]), y_te)
        measure(name, "Ridge (flattened)", 0, functools.partial(C.ridge, cls), *flat)
        measure(name, BOOSTING, 0, functools.partial(C.gradient_boosting, cls), *flat)
        if not cls:
            from sklearn.dummy import DummyRegressor

            measure(name, "training mean (floor)", 0, DummyRegressor, *flat)

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
                rows[-1]["measured"] = _this_run()
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
                measured_by=sorted({r.get("measured") or "-" for r in rs}),
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
    sets = sorted({s["dataset"] for s in tsai}, key=C.SUITE.index)
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
    measured = [name for name in C.SUITE if any(s["dataset"] == name for s in summary)]
    lines = [
        "## Accuracy",
        "",
        "Archive train/test split; test accuracy (regression: test RMSE, "
        "lower is better) as mean ± standard deviation over seeds (range "
        "in brackets); fit and predict times are means over seeds, one "
        "thread. skattn estimators are default-constructed (only "
        "`random_state` and `n_threads=1` set).",
        "",
        "These are the development suite's sets: the defaults were chosen by "
        f"cross-validation on the training splits of {', '.join(TUNING_SETS)} "
        "(`CV_DEFAULTS.md`) and then checked and revised by leave-one-data-set-"
        "out cross-validation on the training splits of all of them "
        "(`LODO.md`). Test splits were never read to choose anything, but "
        "these are not scores on data that played no part in the choice.",
        "",
        "Rows are kept between runs (`accuracy_rows.jsonl`) and measured again "
        "only when an estimator's defaults change, so one report can hold rows "
        "of several runs: `measured` gives the day and CPU of the run that "
        "measured each. Times compare only between rows of the same run.",
        "",
        f"`{VOTE}`: the two default classifiers in scikit-learn's "
        '`VotingClassifier(voting="soft")` (their probabilities averaged), '
        "each with the row's seed; its fit time is the two fits together.",
        "",
    ]
    caveat = _tsai_caveat(summary)
    for group, names in (
        ("Classification", [n for n in measured if C.is_classification(n)]),
        ("Regression", [n for n in measured if not C.is_classification(n)]),
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
    lines += _classification_summary(summary, measured)
    lines += _regression_summary(summary, measured)
    if notes:
        lines += ["Baselines and data sets that did not run:", ""]
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
            [
                label,
                s["n"],
                spread,
                f"{s['fit_s']:.2f}",
                f"{s['predict_s']:.3f}",
                "; ".join(s["measured_by"]),
            ]
        )
    if not table:
        return []
    header = ["model", "runs", metric, "fit s", "predict s", "measured"]
    return [f"#### {name}", "", C.markdown_table(header, table), ""]


MINIROCKET = "MiniRocket (aeon)"
BOOSTING = "Gradient boosting (flattened)"
CLASSIFIERS = ("TransformerClassifier", "LSTMAttentionClassifier")
REGRESSORS = ("TransformerRegressor", "LSTMAttentionRegressor")


def _measured_over(by, names, model):
    """The runs that measured ``model``'s rows on the sets ``names``."""
    runs = {run for n in names for run in by[n, model]["measured_by"]}
    return "; ".join(sorted(runs))


def _classification_summary(summary, measured):
    """Per set: each classifier's accuracy and its gap to MiniRocket, the
    better of the two skattn classifiers (picked on the test split), and
    the sum of fit times over the sets."""
    by = {(s["dataset"], s["model"]): s for s in summary}
    names = [n for n in measured if C.is_classification(n) and (n, MINIROCKET) in by]
    if not names:
        return []
    table = []
    for model in (*CLASSIFIERS, VOTE, MINIROCKET, "Ridge (flattened)", BOOSTING):
        if not all((n, model) in by for n in names):
            continue
        accs = [by[n, model]["mean"] for n in names]
        gaps = [by[n, MINIROCKET]["mean"] - a for n, a in zip(names, accs, strict=True)]
        fit = sum(by[n, model]["fit_s"] for n in names)
        table.append(
            [
                model,
                *(f"{a:.3f}" for a in accs),
                f"{np.mean(accs):.3f}",
                f"{np.mean(gaps):+.3f}" if model != MINIROCKET else "",
                f"{max(gaps):+.3f}" if model != MINIROCKET else "",
                f"{fit:.0f}",
                _measured_over(by, names, model),
            ]
        )
    if all((n, m) in by for n in names for m in CLASSIFIERS):
        best = [max(by[n, m]["mean"] for m in CLASSIFIERS) for n in names]
        gaps = [by[n, MINIROCKET]["mean"] - a for n, a in zip(names, best, strict=True)]
        table.append(
            [
                "better of the two skattn classifiers ‡",
                *(f"{a:.3f}" for a in best),
                f"{np.mean(best):.3f}",
                f"{np.mean(gaps):+.3f}",
                f"{max(gaps):+.3f}",
                "",
                "",
            ]
        )
    header = [
        "model",
        *names,
        "mean",
        "mean gap",
        "largest gap",
        "fit s (sum)",
        "measured",
    ]
    return [
        "### Classification summary",
        "",
        "Mean test accuracy over seeds; gap = MiniRocket's accuracy minus the "
        "model's (positive: MiniRocket is ahead), its mean over the sets and "
        "its largest; fit s = the sum over the sets of the mean fit time.",
        "",
        C.markdown_table(header, table),
        "",
        "‡ chosen on the test split: the better classifier of each data set is "
        "picked by its test accuracy, so this row is optimistic; it is no model "
        "a user could pick in advance.",
        "",
    ]


def _regression_summary(summary, measured):
    """Per set: each regressor's test RMSE relative to ridge's (below 1:
    better than ridge)."""
    by = {(s["dataset"], s["model"]): s for s in summary}
    names = [
        n
        for n in measured
        if not C.is_classification(n) and (n, "Ridge (flattened)") in by
    ]
    if not names:
        return []
    table = []
    for model in (*REGRESSORS, MINIROCKET, BOOSTING, "training mean (floor)"):
        if not all((n, model) in by for n in names):
            continue
        ridge = [by[n, "Ridge (flattened)"]["mean"] for n in names]
        ratios = [by[n, model]["mean"] / r for n, r in zip(names, ridge, strict=True)]
        fit = sum(by[n, model]["fit_s"] for n in names)
        table.append(
            [model, *(f"{r:.2f}" for r in ratios), f"{np.mean(ratios):.2f}"]
            + [f"{fit:.0f}", _measured_over(by, names, model)]
        )
    return [
        "### Regression summary",
        "",
        "Test RMSE relative to ridge regression on the flattened series (below "
        "1: better than ridge; 0.70 would be 30% better). Covid3Month and "
        "CardanoSentiment are close to noise (the training mean is within a few "
        "per cent of every model).",
        "",
        C.markdown_table(["model", *names, "mean", "fit s (sum)", "measured"], table),
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
