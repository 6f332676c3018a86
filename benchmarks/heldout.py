"""The default classifiers on sets that played no part in choosing them.

Every default was chosen on the development suite (``CV_DEFAULTS.md``,
``LODO.md``); the four sets of ``heldout_sets.py`` were never read by
either study, so their test scores say how the defaults do on data they
were not tuned on. The protocol is ``accuracy.py``'s: archive train/test
split, default-constructed estimators (only ``random_state`` and
``n_threads=1`` set), seeds 0, 1 and 2, MiniRocket, ridge and gradient
boosting on the same splits. Rows are appended to ``heldout_rows.jsonl``
when measured and reused while the defaults are unchanged (several
processes can share the work by data set); ``--report`` rewrites
``HELDOUT.md`` from them.

    python benchmarks/heldout_sets.py          # the sets, once
    python benchmarks/heldout.py --datasets ArrowHead,OSULeaf   # one process
    python benchmarks/heldout.py --datasets ItalyPowerDemand,JapaneseVowels
    python benchmarks/heldout.py --report

These scores must not choose anything: a default changed because of them
would make them one more development set.
"""

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _common as C  # noqa: E402
import accuracy  # noqa: E402

ROWS = HERE / "heldout_rows.jsonl"
REPORT = HERE / "HELDOUT.md"


# the mark of rows measured with other defaults than today's
STALE = "(earlier defaults)"


def latest_rows(path=ROWS):
    """The last row measured of each data set, model and seed; a model
    whose rows were measured with other defaults than today's is renamed
    with :data:`STALE`, so the report never passes them off as today's."""
    if not Path(path).exists():
        return []
    latest = {}
    with open(path) as f:
        for row in map(json.loads, filter(str.strip, f)):
            if not row["quick"]:
                latest[row["dataset"], row["model"], row["seed"]] = row
    rows = []
    for row in latest.values():
        few = row.get("few_per_class", False)
        if row.get("config", "") != accuracy.config(row["model"], few):
            row = {**row, "model": f"{row['model']} {STALE}"}
        rows.append(row)
    return rows


def markdown(rows):
    summary = accuracy.summarise(rows)
    names = [
        n for n in C.HELDOUT_CLASSIFICATION if any(s["dataset"] == n for s in summary)
    ]
    lines = [
        "# The default classifiers on held-out sets",
        "",
        "Written by `python benchmarks/heldout.py` from `heldout_rows.jsonl`.",
        "",
        "Every default was chosen on the development suite (`CV_DEFAULTS.md`, "
        "`LODO.md`). These sets of the UCR/UEA archive (`heldout_sets.py`: "
        "ArrowHead and OSULeaf, outlines of projectile points and leaves; "
        "ItalyPowerDemand, a day's electricity demand; JapaneseVowels, 12 "
        "channels of 7 to 29 steps) were never read by either study, so "
        "these are scores on data the defaults were not tuned on. They must "
        "not choose anything.",
        "",
        "Archive train/test split; test accuracy as mean ± standard deviation "
        "over seeds (range in brackets); fit and predict times are means over "
        "seeds, one torch thread; estimators default-constructed (only "
        "`random_state` and `n_threads=1` set). `measured` gives the day and "
        "CPU of the run that measured each row; times compare only between "
        f"rows of the same run. A model marked {STALE} was measured with "
        "other defaults than today's and needs measuring again.",
        "",
    ]
    for name in names:
        lines += accuracy._dataset_table(summary, name)
    return "\n".join(lines + accuracy._classification_summary(summary, names))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--datasets",
        default=",".join(C.HELDOUT_CLASSIFICATION),
        help="comma-separated held-out sets (default: all four)",
    )
    p.add_argument(
        "--report", action="store_true", help="measure nothing: rewrite the report"
    )
    p.add_argument("--output", default=REPORT, help="report path (HELDOUT.md)")
    a = p.parse_args(argv)
    if not a.report:
        names = a.datasets.split(",")
        unknown = sorted(set(names) - set(C.HELDOUT_CLASSIFICATION))
        if unknown:
            raise SystemExit(f"not held-out sets: {', '.join(unknown)}")
        missing = [n for n in names if not (HERE / "data" / f"{n}.npz").exists()]
        if missing:
            raise SystemExit(
                f"{', '.join(missing)}: run python benchmarks/heldout_sets.py first"
            )
        _, notes = accuracy.run(datasets=names, cache=ROWS)
        for name, note in notes.items():
            print(f"{name}: {note}")
    Path(a.output).write_text(markdown(latest_rows()) + "\n", encoding="utf-8")
    print(f"wrote {a.output}")


if __name__ == "__main__":
    main()
