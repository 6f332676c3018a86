"""Cross-validate candidate default settings on the training splits only.

For every candidate setting (one setting for all data sets), every data set
and both families (Transformer, LSTM), 3-fold cross-validation on the
archive's training split: stratified folds for classification, plain folds
for regression, fold ``k`` also seeds the model (``random_state=k``), so the
candidates are compared on identical folds and seeds. The test splits are
never read. Results are appended to a JSON-lines file (runs resume where
they stopped) and summarised in markdown with ``--report``.

    python benchmarks/cv_defaults.py --candidates current,stem
    python benchmarks/cv_defaults.py --report
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import _common as C  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(__file__)
RESULTS = os.path.join(HERE, "cv_results.jsonl")

# The settings the study started from (skattn 0.1.0's defaults) that the
# candidates change; every other parameter keeps the estimator's default
# (lr: Transformer 1e-3, LSTM 3e-3; dropout 0.1; AdamW weight decay 1e-2;
# warm-up + cosine schedule; gradient clipping 1.0).
START = {"conv_stem": None, "batch_size": 32, "max_epochs": 100}

# Each candidate (changes to START) is applied to both families; a
# "family:param" key applies to one family only ("tf" Transformer, "lstm" LSTM).
CANDIDATES = {
    "current": {},
    "stem": {"conv_stem": "auto"},
    "stem_bs16": {"conv_stem": "auto", "batch_size": 16},
    "stem_bs16_e200": {"conv_stem": "auto", "batch_size": 16, "max_epochs": 200},
    "stem_e300": {"conv_stem": "auto", "max_epochs": 300},
    "stem_bs16_e300": {"conv_stem": "auto", "batch_size": 16, "max_epochs": 300},
    "bs16": {"batch_size": 16},
    "stem_bs16_lr2x": {
        "conv_stem": "auto",
        "batch_size": 16,
        "tf:lr": 2e-3,
        "lstm:lr": 6e-3,
    },
    "stem_bs16_lrhalf": {
        "conv_stem": "auto",
        "batch_size": 16,
        "tf:lr": 5e-4,
        "lstm:lr": 1.5e-3,
    },
    "stem_bs8": {"conv_stem": "auto", "batch_size": 8},
    "stem_bs16_nodrop": {"conv_stem": "auto", "batch_size": 16, "dropout": 0.0},
}


# The setting the estimators use as their defaults, and why.
CHOSEN = "stem_bs16_e200"
CHOSEN_WHY = """\
`stem_bs16_e200` (`conv_stem="auto"`, `batch_size=16`, `max_epochs=200`,
every other parameter unchanged) became the default of the four supervised
estimators. It has the highest CV accuracy averaged over both families and
the three classification sets, and the largest gain where a family failed
before (LSTM on GunPoint: 0.50 -> 0.86; Transformer on GunPoint: 0.78 ->
0.94). On the better-of-the-two-families criterion it is level with `stem`
(0.848 vs 0.855; `stem` is ahead on PickupGestureWiimoteZ, `stem_bs16_e200`
on GunPoint): with 16-17 sequences per validation fold, one sequence moves a
fold's accuracy by 0.06, so the two cannot be told apart. On
Covid3Month all candidates reach the same CV RMSE (0.040), near the spread of
the target itself. The stem is the change that matters most: it lifts every
family on every classification set. MiniRocket stays ahead on
PickupGestureWiimoteZ in CV (0.70 vs 0.60), so the better-of-two average
(0.848) is 4.6 points below MiniRocket's (0.894) on these folds.
"""


def estimator(family, classification, params, seed):
    import skattn

    cls = {
        ("tf", True): skattn.TransformerClassifier,
        ("tf", False): skattn.TransformerRegressor,
        ("lstm", True): skattn.LSTMAttentionClassifier,
        ("lstm", False): skattn.LSTMAttentionRegressor,
    }[family, classification]
    kwargs = {}
    for key, value in {**START, **params}.items():
        if ":" in key:
            fam, key = key.split(":")
            if fam != family:
                continue
        kwargs[key] = value
    return cls(random_state=seed, n_threads=1, **kwargs)


def folds(name, y):
    from sklearn.model_selection import KFold, StratifiedKFold

    if C.is_classification(name):
        return list(StratifiedKFold(3, shuffle=True, random_state=0).split(y, y))
    return list(KFold(3, shuffle=True, random_state=0).split(y))


def done_keys():
    keys = set()
    if os.path.exists(RESULTS):
        with open(RESULTS) as f:
            for line in f:
                r = json.loads(line)
                keys.add((r["candidate"], r["family"], r["dataset"], r["fold"]))
    return keys


def run(candidates, datasets, families):
    C.set_one_thread()
    done = done_keys()
    for name in datasets:
        X, _, y, _ = C.load(name)  # the training split only
        cls = C.is_classification(name)
        splits = folds(name, y)
        for k, (tr, va) in enumerate(splits):
            if ("ridge", "ridge", name, k) not in done:
                model = C.ridge(cls).fit(C.flat(X[tr]), y[tr])
                _write(
                    dict(
                        candidate="ridge",
                        family="ridge",
                        dataset=name,
                        fold=k,
                        score=C.score(cls, y[va], model.predict(C.flat(X[va]))),
                        fit_s=0.0,
                    )
                )
        if "minirocket" in families:  # reference only (needs aeon)
            from accuracy import minirocket, resample_to_longest

            A = resample_to_longest(X)
            for k, (tr, va) in enumerate(splits):
                if ("minirocket", "minirocket", name, k) in done:
                    continue
                model = minirocket(cls, k)[0].fit(A[tr], y[tr])
                _write(
                    dict(
                        candidate="minirocket",
                        family="minirocket",
                        dataset=name,
                        fold=k,
                        score=C.score(cls, y[va], model.predict(A[va])),
                        fit_s=0.0,
                    )
                )
        for cand in candidates:
            for family in families:
                if family == "minirocket":
                    continue
                for k, (tr, va) in enumerate(splits):
                    if (cand, family, name, k) in done:
                        continue
                    est = estimator(family, cls, CANDIDATES[cand], k)
                    with C.Timer() as t:
                        est.fit(X[tr], y[tr])
                    s = C.score(cls, y[va], est.predict(X[va]))
                    _write(
                        dict(
                            candidate=cand,
                            family=family,
                            dataset=name,
                            fold=k,
                            score=s,
                            fit_s=round(t.seconds, 2),
                        )
                    )
                    print(
                        f"{cand:>18} {family:>4} {name:>22} fold {k}: {s:.4f} "
                        f"({t.seconds:.0f}s)",
                        flush=True,
                    )


def _write(row):
    with open(RESULTS, "a") as f:
        f.write(json.dumps(row) + "\n")


def report():
    rows = [json.loads(line) for line in open(RESULTS)]
    seen = {r["candidate"] for r in rows}
    cands = [c for c in ["ridge", "minirocket", *CANDIDATES] if c in seen]
    out = [
        "# Cross-validated defaults (training splits only)",
        "",
        "3-fold CV on each archive training split (stratified for "
        "classification); fold k seeds the model. Classification: mean "
        "accuracy over folds; Covid3Month: mean RMSE over folds (lower is "
        "better). `best-of` = the better family per data set, averaged over "
        "the three classification sets. `ridge` (flattened series) and "
        "`minirocket` (aeon) are references on the same folds.",
        "",
    ]
    for cand in cands:
        params = CANDIDATES.get(cand)
        if params is not None:
            text = params if params else f"the starting point {START}"
            out.append(f"- `{cand}`: {text}")
    out.append("")
    header = ["candidate", "family", *C.DATASETS, "mean acc (3 clf)", "fit s (sum)"]
    table = []
    best = {}
    for cand in cands:
        fams = [cand] if cand in ("ridge", "minirocket") else ["tf", "lstm"]
        for fam in fams:
            cells, accs, fit = [], [], 0.0
            for name in C.DATASETS:
                vals = [
                    r["score"]
                    for r in rows
                    if r["candidate"] == cand
                    and r["family"] == fam
                    and r["dataset"] == name
                ]
                fit += sum(
                    r["fit_s"]
                    for r in rows
                    if r["candidate"] == cand
                    and r["family"] == fam
                    and r["dataset"] == name
                )
                if len(vals) == 3:
                    m = float(np.mean(vals))
                    cells.append(f"{m:.3f}")
                    if C.is_classification(name):
                        accs.append(m)
                        best.setdefault(cand, {}).setdefault(name, []).append(m)
                else:
                    cells.append(f"({len(vals)}/3)" if vals else "-")
            mean = f"{np.mean(accs):.3f}" if len(accs) == 3 else "-"
            table.append([cand, fam, *cells, mean, f"{fit:.0f}"])
    out.append(C.markdown_table(header, table))
    out += ["", "Better of the two families per data set, averaged:", ""]
    brows = []
    for cand, per in best.items():
        if cand in ("ridge", "minirocket") or len(per) < 3:
            continue
        if any(len(v) < 2 for v in per.values()):
            continue
        brows.append([cand, f"{np.mean([max(v) for v in per.values()]):.3f}"])
    out.append(C.markdown_table(["candidate", "best-of mean acc"], brows))
    out += ["", "## Chosen", "", CHOSEN_WHY]
    text = "\n".join(out) + "\n"
    with open(os.path.join(HERE, "CV_DEFAULTS.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--candidates", default="current,stem")
    p.add_argument("--datasets", default=",".join(C.DATASETS))
    p.add_argument("--families", default="tf,lstm")
    p.add_argument("--report", action="store_true")
    a = p.parse_args()
    if a.report:
        report()
    else:
        run(a.candidates.split(","), a.datasets.split(","), a.families.split(","))
        report()
