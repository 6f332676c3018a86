"""Candidates on few-shot versions of the development suite's sets.

PigCVP has two training series per class, and no other set of the suite
comes close (five or more), so a default that acts on classes of very few
series could be judged on PigCVP alone. This study makes more such data
from the other classification sets: from each set's training split it
draws ``--shots`` series of every class, trains on them, and scores the
model on the rest of that training split (test splits are never read).
Draw ``d`` (``--draws``, 0, 1, 2 by default) seeds both the draw and the
model. ShoulderExercise is left out: its training windows come from six
people's recordings, so the rest of the split would hold windows of the
recordings trained on.

Candidates are ``lodo.py``'s (``CANDIDATES``), on today's defaults;
``--candidates minirocket --families ref`` measures aeon's MiniRocket on
the same draws as the reference.
Each row records the defaults it was measured on (``measured_as``, named
as ``lodo.py`` names them), so rows of earlier defaults are shown as such
and measured again. Appends to ``few_shot_results.jsonl`` (rows already
there are skipped) and writes ``FEW_SHOT.md``: accuracy per set (the mean
over draws) and the mean over sets. Not run by ``run.py``.

    python benchmarks/few_shot.py --candidates defaults,crop_0.5 --families lstm,tf
    python benchmarks/few_shot.py --candidates minirocket --families ref
    python benchmarks/few_shot.py --report

``--heldout`` draws from the training splits of the four held-out sets of
``heldout_sets.py`` instead, into ``heldout_few_shot_results.jsonl`` and
``HELDOUT_FEW_SHOT.md``. Those rows judge defaults that were chosen
elsewhere (on the suite and its few-shot draws), as ``HELDOUT.md`` does;
they must not choose anything.

    python benchmarks/few_shot.py --heldout --families lstm,tf \
        --candidates defaults,crop_none,crop_0.5
"""

import argparse
import json

import _common as C
import lodo
import numpy as np

SETS = [n for n in C.SUITE_CLASSIFICATION if n not in ("ShoulderExercise", "PigCVP")]


class Study:
    """Where a few-shot study draws from and keeps its rows and report."""

    def __init__(self, sets, results, report, title, heldout=False):
        self.sets, self.results, self.report = sets, results, report
        self.title, self.heldout = title, heldout

    def load(self, name, directory):
        """The training split of ``name``: ``(X, y)``."""
        if not self.heldout:
            return lodo.load(name, directory)[:2]
        X, _, y, _ = C.load_suite(name, directory)
        return X, y


SUITE = Study(
    SETS,
    C.HERE / "few_shot_results.jsonl",
    C.HERE / "FEW_SHOT.md",
    "Candidates on few-shot versions of the development suite",
)
HELDOUT = Study(
    C.HELDOUT_CLASSIFICATION,
    C.HERE / "heldout_few_shot_results.jsonl",
    C.HERE / "HELDOUT_FEW_SHOT.md",
    "Today's defaults on few-shot versions of the held-out sets",
    heldout=True,
)


def draw(y, shots, seed):
    """Indices of ``shots`` series of each class (all of a class with fewer)
    and of the rest."""
    rng = np.random.default_rng(seed)
    picked = np.concatenate(
        [rng.permutation(np.flatnonzero(y == label))[:shots] for label in np.unique(y)]
    )
    picked = np.sort(picked)
    return picked, np.setdiff1d(np.arange(len(y)), picked)


def _rows(study):
    if not study.results.exists():
        return []
    with open(study.results) as f:
        return [json.loads(line) for line in f]


def _fit_score(cand, family, seed, X, y, train, rest):
    """Accuracy on ``rest`` of the model trained on ``train``, and its fit
    time; ``minirocket`` (family ``ref``) is aeon's, on series resampled to
    the longest."""
    if cand == "minirocket":
        from accuracy import minirocket, resample_to_longest

        est, X = minirocket(True, seed)[0], resample_to_longest(X)
    else:
        est = lodo.estimator(family, True, lodo.CANDIDATES[cand], seed, X[train])
    with C.Timer() as t:
        est.fit(X[train], y[train])
    return C.score(True, y[rest], est.predict(X[rest])), t.seconds, C.crop_choice(est)


def _label(cand, family):
    """The model a row of ``cand`` measures: ``lodo.py``'s name of today's
    defaults of ``family`` with the change (the reference: its own name)."""
    if family == "ref":
        return cand
    return lodo.measured_as("classification", family, cand)


def run(study, names, candidates, families, shots, draws, directory):
    C.set_one_thread()
    done = {
        (r["measured_as"], r["family"], r["dataset"], r["shots"], r["draw"])
        for r in _rows(study)
    }
    for name in names:
        X, y = study.load(name, directory)
        for d in draws:
            train, rest = draw(y, shots, d)
            for cand in candidates:
                for family in families:
                    if (_label(cand, family), family, name, shots, d) in done:
                        continue
                    if cand == "minirocket" and family != "ref":
                        continue
                    score, seconds, crop = _fit_score(
                        cand, family, d, X, y, train, rest
                    )
                    row = dict(
                        candidate=cand,
                        measured_as=_label(cand, family),
                        family=family,
                        dataset=name,
                        shots=shots,
                        draw=d,
                        n_train=len(train),
                        score=score,
                        fit_s=round(seconds, 2),
                        cpu=C.cpu_model(),
                        **crop,
                    )
                    with open(study.results, "a") as f:
                        f.write(json.dumps(row) + "\n")
                    print(
                        f"{cand:>12} {family:>4} {name:>22} {shots}-shot draw {d}: "
                        f"{score:.4f} ({seconds:.0f}s)",
                        flush=True,
                    )


def report(study):
    rows = _rows(study)
    cells = {}
    for r in rows:
        name = r["candidate"]
        if r["measured_as"] == _label("defaults", r["family"]):
            name = "defaults"  # a candidate that became today's defaults
        elif r["measured_as"] != _label(name, r["family"]):
            name = f"{r['measured_as']} (earlier defaults)"
        key = (r["shots"], r["family"], name)
        cells.setdefault(key, {}).setdefault(r["dataset"], []).append(r)
    command = "few_shot.py" + (" --heldout" if study.heldout else "") + " --report"
    lines = [
        f"# {study.title}",
        "",
        f"Written by `python benchmarks/{command}` from "
        f"`{study.results.name}` (see the script's docstring for the "
        "protocol): trained on `shots` series of each class of a set's "
        "training split, scored on the rest of that split; the mean "
        "accuracy over the draws (their number in brackets where it is not "
        "the most of the table), today's defaults of each estimator with "
        "the candidate's change; one torch thread.",
        "",
    ]
    for shots, family in sorted({k[:2] for k in cells if k[1] != "ref"}):
        cands = [k[2] for k in cells if k[:2] == (shots, family)]
        cands = sorted(cands, key=lambda c: (c != "defaults", c))
        n_draws = max(len(v) for c in cands for v in cells[shots, family, c].values())
        lines += [
            f"## {shots} series per class, {lodo.ESTIMATORS[family]}",
            "",
            "| candidate | " + " | ".join(study.sets) + " | mean | fit s (sum) |",
            "|---|" + "---|" * (len(study.sets) + 2),
        ]
        refs = [("minirocket", cells.get((shots, "ref", "minirocket"), {}))]
        for c, per in [(c, cells[shots, family, c]) for c in cands] + refs:
            shown, means, fit = [], [], 0.0
            for name in study.sets:
                got = per.get(name, [])
                if not got:
                    shown.append("-")
                    continue
                m = float(np.mean([r["score"] for r in got]))
                fit += sum(r["fit_s"] for r in got)
                shown.append(
                    f"{m:.3f}" + ("" if len(got) == n_draws else f" ({len(got)})")
                )
                if len(got) == n_draws:
                    means.append(m)
            mean = f"{np.mean(means):.3f}" if len(means) == len(study.sets) else "-"
            lines.append(f"| {c} | " + " | ".join(shown) + f" | {mean} | {fit:.0f} |")
        lines.append("")
    study.report.write_text("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets", help="comma-separated; default: " + ",".join(SETS)
    )
    parser.add_argument("--candidates", default="defaults")
    parser.add_argument("--families", default="lstm")
    parser.add_argument("--shots", type=int, default=2)
    parser.add_argument("--draws", default="0,1,2")
    parser.add_argument("--data-dir")
    parser.add_argument("--report", action="store_true")
    parser.add_argument(
        "--heldout",
        action="store_true",
        help="draw from the held-out sets: " + ",".join(HELDOUT.sets),
    )
    args = parser.parse_args()
    study = HELDOUT if args.heldout else SUITE
    if not args.report:
        run(
            study,
            args.datasets.split(",") if args.datasets else study.sets,
            args.candidates.split(","),
            args.families.split(","),
            args.shots,
            [int(d) for d in args.draws.split(",")],
            C.data_dir(args.data_dir),
        )
    report(study)


if __name__ == "__main__":
    main()
