"""Run skattn's benchmarks and write ``benchmarks/RESULTS.md``.

    python benchmarks/run.py                      # everything (hours)
    python benchmarks/run.py --quick              # smoke run, a few minutes
    python benchmarks/run.py --only overhead      # one part
    python benchmarks/run.py --report             # rewrite RESULTS.md from
                                                  # RESULTS.json, measure nothing

Parts: ``accuracy`` (test scores against MiniRocket, ridge and, with
``--tsai-python``, tsai), ``overhead`` (estimator versus a hand-written
PyTorch loop) and ``scaling`` (time and memory against length and number of
sequences). Everything runs with one torch thread.
"""

import argparse
import datetime
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
import _common as C  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PARTS = ("accuracy", "overhead", "scaling")
# "tsai" (with --only) adds tsai's rows to an existing accuracy report.


def log(msg):
    print(msg, flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description="skattn benchmarks")
    p.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes and few epochs: checks that everything runs",
    )
    p.add_argument(
        "--only",
        choices=(*PARTS, "tsai"),
        action="append",
        help="run only this part (repeatable)",
    )
    p.add_argument(
        "--tsai-python",
        default=os.environ.get("SKATTN_BENCH_TSAI_PYTHON"),
        help="a Python interpreter with tsai installed, for the tsai "
        "baselines (default: $SKATTN_BENCH_TSAI_PYTHON)",
    )
    p.add_argument(
        "--tsai-seeds", type=int, default=1, help="seeds per tsai model (default 1)"
    )
    p.add_argument(
        "--output",
        default=None,
        help="report path (default: benchmarks/RESULTS.md, or "
        "benchmarks/RESULTS-quick.md with --quick)",
    )
    p.add_argument(
        "--datasets",
        help="comma-separated data sets for the accuracy part (default: the "
        "development suite, those found)",
    )
    p.add_argument(
        "--data-dir",
        help="folder of the suite's .npz files (default: $SKATTN_DATA_DIR or "
        "../shared/data next to the repository)",
    )
    p.add_argument(
        "--fresh",
        action="store_true",
        help="measure every accuracy row again instead of reusing those in "
        "benchmarks/accuracy_rows.jsonl (rows of other defaults are never "
        "reused)",
    )
    p.add_argument(
        "--report",
        action="store_true",
        help="measure nothing: rewrite the report from its JSON file (the "
        "date, machine and versions of the run that measured it are kept)",
    )
    a = p.parse_args(argv)
    if a.report:
        output = a.output or os.path.join(
            HERE, "RESULTS-quick.md" if a.quick else "RESULTS.md"
        )
        rewrite_report(output, quick=a.quick)
        log(f"wrote {output}")
        return
    parts = a.only or list(PARTS)
    C.set_one_thread()
    output = a.output or os.path.join(
        HERE, "RESULTS-quick.md" if a.quick else "RESULTS.md"
    )

    sections, raw = {}, {}
    today = datetime.date.today().isoformat()
    mach, vers = C.machine(), C.versions()
    previous = os.path.splitext(output)[0] + ".json"
    if a.only and os.path.exists(previous):
        # keep the parts that this run does not measure
        with open(previous) as f:
            old = json.load(f)
        # the date of each part kept from the previous report
        kept = {
            part: old.get("kept", {}).get(part, old.get("date"))
            for part in PARTS
            if part not in parts and part in old
        }
        if kept:
            raw["kept"] = kept
        if "accuracy" not in parts and "accuracy" in old:  # tsai rows included
            import accuracy

            raw["accuracy"] = old["accuracy"]
            sections["accuracy"] = accuracy.markdown(
                old["accuracy"]["rows"], old["accuracy"]["notes"]
            )
        if "overhead" not in parts and "overhead" in old:
            import overhead

            raw["overhead"] = old["overhead"]
            sections["overhead"] = overhead.markdown(
                old["overhead"]["results"], old["overhead"]["profiles"]
            )
        if "scaling" not in parts and "scaling" in old:
            import scaling

            raw["scaling"] = old["scaling"]
            sections["scaling"] = scaling.markdown(old["scaling"])

    # Without --tsai-python the tsai rows of the previous report stay, marked
    # with the date of the run that measured them (tsai's models do not
    # depend on skattn's).
    kept_tsai, kept_tsai_notes = [], {}
    if "accuracy" in parts and not a.tsai_python and os.path.exists(previous):
        with open(previous) as f:
            old = json.load(f)
        when = old.get("date") or _report_date(output) or "an earlier date"
        note = f"tsai rows measured in an earlier run ({when}) and kept in this report"
        for r in old.get("accuracy", {}).get("rows", []):
            if r["model"].startswith("tsai"):
                kept_tsai.append(dict(r, note=r.get("note") or note))
        kept_tsai_notes = {
            k: v
            for k, v in old.get("accuracy", {}).get("notes", {}).items()
            if k.startswith("tsai")
        }

    def write():
        head = _header(today, mach, vers, a.quick, raw.get("kept"))
        text = (
            "\n".join(head)
            + "\n"
            + "\n".join(sections[p] for p in PARTS if p in sections)
        )
        with open(output, "w") as f:
            f.write(text)
        with open(os.path.splitext(output)[0] + ".json", "w") as f:
            json.dump(
                {"date": today, "machine": mach, "versions": vers, **raw},
                f,
                indent=1,
                default=str,
            )

    # The report is rewritten after every part, so an interrupted run keeps
    # what it measured; tsai, the slowest, runs last.
    if "accuracy" in parts:
        import accuracy

        log("accuracy ...")
        cache = None if a.quick else os.path.join(HERE, "accuracy_rows.jsonl")
        if a.fresh and cache and os.path.exists(cache):
            os.remove(cache)
        rows, notes = accuracy.run(
            quick=a.quick,
            log=log,
            datasets=a.datasets.split(",") if a.datasets else None,
            directory=a.data_dir,
            cache=cache,
        )
        rows, notes = rows + kept_tsai, {**notes, **kept_tsai_notes}
        raw["accuracy"] = {"rows": rows, "notes": notes}
        sections["accuracy"] = accuracy.markdown(rows, notes)
        write()
    if "overhead" in parts:
        import overhead

        log("overhead ...")
        res, prof = overhead.run(quick=a.quick, log=log)
        raw["overhead"] = {"results": res, "profiles": prof}
        sections["overhead"] = overhead.markdown(res, prof)
        write()
    if "scaling" in parts:
        import scaling

        log("scaling ...")
        res = scaling.run(quick=a.quick, log=log)
        raw["scaling"] = res
        sections["scaling"] = scaling.markdown(res)
        write()
    if ("accuracy" in parts or "tsai" in parts) and a.tsai_python:
        import accuracy

        log("accuracy: tsai ...")
        base = raw.get("accuracy", {"rows": [], "notes": {}})
        base_rows = [r for r in base["rows"] if not r["model"].startswith("tsai")]

        def merge(more, more_notes):
            rows = base_rows + more
            notes = {**base["notes"], **more_notes}
            raw["accuracy"] = {"rows": rows, "notes": notes}
            sections["accuracy"] = accuracy.markdown(rows, notes)
            write()

        more, more_notes = accuracy.run_tsai(
            a.tsai_python,
            quick=a.quick,
            seeds=tuple(range(a.tsai_seeds)),
            log=log,
            on_result=merge,
        )
        merge(more, more_notes)
    write()
    log(f"wrote {output}")


def _sections(raw):
    """The markdown section of every part in ``raw`` (a RESULTS.json)."""
    sections = {}
    if "accuracy" in raw:
        import accuracy

        sections["accuracy"] = accuracy.markdown(
            raw["accuracy"]["rows"], raw["accuracy"]["notes"]
        )
    if "overhead" in raw:
        import overhead

        sections["overhead"] = overhead.markdown(
            raw["overhead"]["results"], raw["overhead"]["profiles"]
        )
    if "scaling" in raw:
        import scaling

        sections["scaling"] = scaling.markdown(raw["scaling"])
    return sections


def _header(date, machine, versions, quick=False, kept=None):
    lines = [
        "# skattn benchmark results" + (" (quick smoke run)" if quick else ""),
        "",
        f"Written by `python benchmarks/run.py{' --quick' if quick else ''}` "
        f"on {date}.",
        "",
    ]
    if kept:
        parts = ", ".join(f"{part} ({when})" for part, when in kept.items())
        lines += [
            f"Kept from earlier runs (`--only` measured the rest): {parts}; "
            "the machine and versions below are this run's (each accuracy "
            "row says which run measured it).",
            "",
        ]
    return lines + [
        "Machine: " + ", ".join(f"{k}: {v}" for k, v in machine.items()) + ".",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
        "",
    ]


def report_text(raw, quick=False):
    """The whole report of ``raw`` (a RESULTS.json), as markdown."""
    sections = _sections(raw)
    head = _header(raw["date"], raw["machine"], raw["versions"], quick, raw.get("kept"))
    return (
        "\n".join(head) + "\n" + "\n".join(sections[p] for p in PARTS if p in sections)
    )


def rewrite_report(output, quick=False):
    """Rewrite ``output`` from the JSON file beside it, measuring nothing."""
    with open(os.path.splitext(output)[0] + ".json") as f:
        raw = json.load(f)
    with open(output, "w") as f:
        f.write(report_text(raw, quick))


def _report_date(path):
    """The date in the "Written by ... on YYYY-MM-DD." line of a report."""
    try:
        with open(path) as f:
            found = re.search(r"^Written by .* on (\d{4}-\d\d-\d\d)\.$", f.read(), re.M)
    except OSError:
        return None
    return found.group(1) if found else None


if __name__ == "__main__":
    main()
