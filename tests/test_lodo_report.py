"""``benchmarks/lodo.py``'s comparison of the default classifiers and
their soft vote: rows of the vote measured again after a member's default
changed replace the older ones, fold by fold, and the report says so."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import lodo  # noqa: E402


def row(family, candidate, dataset, score):
    return dict(
        task="classification",
        family=family,
        candidate=candidate,
        dataset=dataset,
        fold=0,
        score=score,
        fit_s=1.0,
        cpu="test CPU",
    )


def cells(line):
    """The cells of one markdown table row."""
    return [c.strip() for c in line.strip("|").split("|")]


def vote_table(rows):
    """The vote's cells of the "Estimators compared" table, by data set."""
    text = "\n".join(lodo._estimators(rows)).splitlines()
    header = next(line for line in text if line.startswith("| estimator |"))
    names = cells(header)
    line = next(line for line in text if line.startswith(f"| {lodo.C.VOTE} |"))
    return dict(zip(names, cells(line), strict=True)), text


@pytest.fixture
def members():
    return [
        row(family, lodo.baseline("classification", family), name, 0.9)
        for family in lodo.FAMILIES
        for name in ("GunPoint", "PLAID")
    ]


def test_a_later_vote_row_replaces_the_earlier_one(members):
    earlier, later = lodo.VOTE_ROWS[0], "lstm_renorm"  # it reaches PLAID only
    assert later in lodo.VOTE_ROWS and later not in lodo.EVERY_FOLD
    rows = members + [
        row("vote", later, "PLAID", 0.85),  # order in the file does not matter
        row("vote", earlier, "GunPoint", 0.95),
        row("vote", earlier, "PLAID", 0.70),
    ]
    cells, text = vote_table(rows)
    assert cells["GunPoint"] == "0.950"
    assert cells["PLAID"] == "0.850"
    assert cells["mean"] == "0.900"
    prose = "\n".join(text)
    assert "rows of PLAID were measured again" in prose
    assert f"`{later}`" in prose


def test_folds_before_a_change_of_every_fold_are_left_out(members):
    """After a member's change that reaches every fold, the vote's folds
    measured only before it give an earlier pair: they are left out, and
    the report says so."""
    (change,) = lodo.EVERY_FOLD
    rows = members + [
        row("vote", change, "PLAID", 0.85),
        row("vote", lodo.VOTE_ROWS[0], "GunPoint", 0.95),
        row("vote", lodo.VOTE_ROWS[0], "PLAID", 0.70),
    ]
    cells, text = vote_table(rows)
    assert "GunPoint" not in cells
    assert cells["PLAID"] == cells["mean"] == "0.850"
    prose = "\n".join(text)
    assert "(1 fits)" in prose
    assert f"The 1 folds measured only before `{change}`" in prose


def test_every_set_measured_again_leaves_no_other_sets(members):
    later = lodo.VOTE_ROWS[-1]
    rows = members + [row("vote", later, name, 0.9) for name in ("GunPoint", "PLAID")]
    _, text = vote_table(rows)
    prose = "\n".join(text)
    assert f"The vote's rows were measured again (as `{later}`)" in prose
    assert "their rows stand" not in prose


def test_without_later_rows_the_report_says_nothing_about_them(members):
    rows = members + [
        row("vote", lodo.VOTE_ROWS[0], name, 0.95) for name in ("GunPoint", "PLAID")
    ]
    cells, text = vote_table(rows)
    assert cells["PLAID"] == "0.950"
    assert "measured again" not in "\n".join(text)


def test_vote_rows_of_other_candidates_are_not_the_vote(members):
    rows = members + [
        row("vote", lodo.VOTE_ROWS[0], name, 0.95) for name in ("GunPoint", "PLAID")
    ]
    rows.append(row("vote", "label_smooth", "PLAID", 0.10))
    cells, _ = vote_table(rows)
    assert cells["PLAID"] == "0.950"


def test_rows_measured_again_on_another_cpu_are_not_claimed(members):
    rows = members + [
        row("vote", lodo.VOTE_ROWS[0], name, 0.95) for name in ("GunPoint", "PLAID")
    ]
    elsewhere = row("vote", lodo.VOTE_ROWS[-1], "PLAID", 0.85)
    rows.append({**elsewhere, "cpu": "another CPU"})
    text = "\n".join(lodo._estimators(rows))
    mine = text.split("on test CPU")[1].split("## ")[0]
    other = text.split("on another CPU")[1].split("## ")[0]
    assert "measured again" not in mine
    # that CPU's vote has PLAID alone, all of it measured again
    assert "The vote's rows were measured again" in other


def _hand_made(scores, task, family):
    """The set names, the report's table of mean scores and the folds'
    scores by (candidate, set), from ``scores[candidate][set]``: a list of
    the folds' scores."""
    folds_of = {
        (c, n): dict(enumerate(folds))
        for c, by in scores.items()
        for n, folds in by.items()
    }
    table = {
        (task, c, family, n): (sum(folds) / len(folds),)
        for c, by in scores.items()
        for n, folds in by.items()
    }
    return list(scores["base"]), table, folds_of


def cheaper(scores, fit, task="classification"):
    """``lodo._cheaper_rule`` on hand-made folds: ``scores[candidate][set]``
    lists the three folds' scores; returns the verdict row by candidate."""
    names, table, folds_of = _hand_made(scores, task, "tf")
    lines = lodo._cheaper_rule(
        table, task, "tf", names, list(scores), "base", folds_of, fit
    )
    rows = [line for line in "\n".join(lines).splitlines() if line.startswith("| ")]
    header = cells(rows[0])
    verdicts = {}
    for line in rows[1:]:
        verdicts[cells(line)[0]] = dict(zip(header, cells(line), strict=True))
    return verdicts, "\n".join(lines)


BASE = {"A": [0.9, 0.8, 0.7], "B": [1.0, 1.0, 0.9]}


def test_cheaper_and_equal_holds():
    verdicts, prose = cheaper({"base": BASE, "fast": BASE}, {"base": 10, "fast": 8})
    assert verdicts["fast"]["holds"] == "yes"
    assert verdicts["fast"]["fit-time sum"] == "0.80x"
    assert "Cheaper and no worse: `fast`." in prose


def test_a_steady_loss_on_one_set_fails_it():
    # worse by 0.01 on every fold of B: no fold-to-fold noise to excuse it
    worse = {"A": BASE["A"], "B": [0.99, 0.99, 0.89]}
    verdicts, prose = cheaper({"base": BASE, "fast": worse}, {"base": 10, "fast": 8})
    assert verdicts["fast"]["holds"] == "no"
    assert verdicts["fast"]["sets worse by more than the margin"] == "B"
    assert "No candidate holds" in prose


def test_a_loss_within_the_noise_holds_but_not_a_large_mean_loss():
    # B: one fold worse by 0.03, the others equal: a loss of one fold alone
    # is one standard error of the differences (0.01), a tie; the mean over
    # the suite loses 0.005, CHEAPER_MEAN
    noisy = {"A": BASE["A"], "B": [0.97, 1.0, 0.9]}
    verdicts, _ = cheaper({"base": BASE, "fast": noisy}, {"base": 10, "fast": 8})
    assert verdicts["fast"]["holds"] == "yes"
    # the same pattern three times as large: within the margin on B, but
    # the mean over the suite loses 0.015
    noisier = {"A": BASE["A"], "B": [0.91, 1.0, 0.9]}
    verdicts, _ = cheaper({"base": BASE, "fast": noisier}, {"base": 10, "fast": 8})
    assert verdicts["fast"]["sets worse by more than the margin"] == "none"
    assert verdicts["fast"]["holds"] == "no"


def test_not_cheap_enough_fails_it():
    verdicts, _ = cheaper({"base": BASE, "slow": BASE}, {"base": 10, "slow": 9.5})
    assert verdicts["slow"]["holds"] == "no"


def test_regression_lower_is_better():
    base = {"A": [0.5, 0.6, 0.7]}
    lower = {"A": [0.45, 0.55, 0.65]}
    higher = {"A": [0.55, 0.65, 0.75]}
    verdicts, _ = cheaper(
        {"base": base, "lower": lower, "higher": higher},
        {"base": 10, "lower": 8, "higher": 8},
        task="regression",
    )
    assert verdicts["lower"]["holds"] == "yes"
    assert verdicts["higher"]["holds"] == "no"


def margin_rule(scores):
    """``lodo._margin_rule`` on hand-made folds (as ``cheaper``), as text."""
    names, table, folds_of = _hand_made(scores, "classification", "lstm")
    lines = lodo._margin_rule(
        table, "classification", "lstm", names, list(scores), "base", folds_of, "fold"
    )
    return "\n".join(lines)


def test_a_declined_candidate_is_confirmed_with_the_reason(monkeypatch):
    better = {"A": [0.95, 0.85, 0.75], "B": [1.0, 1.0, 0.95]}
    text = margin_rule({"base": BASE, "two": better})
    assert "Confirmed: `two`" in text and "did not become" not in text
    monkeypatch.setitem(
        lodo.DECLINED, ("classification", "lstm", "two"), "twice the fit time"
    )
    text = margin_rule({"base": BASE, "two": better})
    assert "Confirmed: `two`" in text
    assert "`two` did not become the defaults: twice the fit time." in text
    # a reason for a candidate that is not confirmed says nothing
    worse = {"A": [0.5, 0.5, 0.5], "B": [0.5, 0.5, 0.5]}
    assert "did not become" not in margin_rule({"base": BASE, "two": worse})


def test_a_set_that_joined_later_counts_in_the_latest_round(monkeypatch):
    """A set measured from a later baseline on has its own column, outside
    the mean, and the latest round's leave-one-out rule reads it: here it
    is the only set where the candidate differs from its baseline."""
    monkeypatch.setitem(lodo.BASELINES, ("regression", "tf"), ["base"])
    table = {}
    for name, score in (("A", 0.5), ("B", 0.6), ("C", 0.4)):
        table["regression", "base", "tf", name] = (score, 1, 1.0)
        better = score / 2 if name == "C" else score
        table["regression", "base+x", "tf", name] = (better, 1, 1.0)
        if name != "C":  # the first baseline predates C
            table["regression", "defaults", "tf", name] = (0.7, 1, 1.0)
    rows = [
        dict(task="regression", family="tf", candidate=c, dataset="A")
        for c in ("base", "base+x")
    ]
    prose = "\n".join(
        lodo._section(
            table,
            rows,
            "regression",
            "tf",
            ["A", "B", "C"],
            1,
            lodo.REFERENCE_CPU,
            table,
        )
    )
    text = prose.splitlines()
    assert "Joined the suite after the first rows: C" in prose
    header = cells(next(line for line in text if line.startswith("| candidate |")))
    assert header[:6] == ["candidate", "A", "B", "mean", "C", "fit s (sum)"]
    line = next(line for line in text if line.startswith("| base+x |"))
    assert cells(line)[3:5] == ["0.550", "0.200"]  # the mean leaves C out
    assert any(line.startswith("| C |") for line in text)  # held out in a split
    assert "No worse: `base+x` is at least as good" in prose


def test_a_retired_candidate_is_marked_and_never_picked_in_a_replication(
    monkeypatch,
):
    """A candidate measured with code that no longer exists stays in the
    replication's table, marked, but its leave-one-out rule passes it over
    even where it scores best."""
    base = lodo.baseline("classification", "lstm")
    monkeypatch.setitem(lodo.RETIRED, f"{base}+old", "other code")
    monkeypatch.setattr(lodo, "_baseline_scores", lambda *args: {})  # no refs
    scores = {base: 0.8, f"{base}+new": 0.85, f"{base}+old": 0.99}
    rows = [
        dict(
            row("lstm", candidate, name, score),
            fold=fold,
            replicate=1,
        )
        for candidate, score in scores.items()
        for name in ("GunPoint", "PLAID")
        for fold in range(3)
    ]
    text = "\n".join(lodo._replications(rows, 3, None)).splitlines()
    assert any(line.startswith(f"| {base}+old ‡ |") for line in text)
    picks = [
        cells(line)[1]
        for line in text
        if line.startswith(("| GunPoint |", "| PLAID |"))
    ]
    assert picks == [f"{base}+new", f"{base}+new"]


@pytest.mark.parametrize("replicate, judged", [(2, False), (3, True), (4, True)])
def test_the_cheaper_rule_judges_seed_sets_from_its_first_on(
    monkeypatch, replicate, judged
):
    """The cheaper rule decides on seed sets measured after it was fixed:
    replication ``CHEAPER_REPLICATE`` and later ones (for candidates built
    after that one was seen), never on earlier ones."""
    base = lodo.baseline("classification", "lstm")
    monkeypatch.setattr(lodo, "_baseline_scores", lambda *args: {})  # no refs
    rows = [
        dict(
            row("lstm", candidate, name, 0.9),
            fit_s=fit,
            fold=fold,
            replicate=replicate,
        )
        for candidate, fit in ((base, 10.0), (f"{base}+fast", 5.0))
        for name in ("GunPoint", "PLAID")
        for fold in range(3)
    ]
    text = "\n".join(lodo._replications(rows, 3, None))
    assert ('The "cheaper" rule' in text) == judged
    assert (f"Cheaper and no worse: `{base}+fast`." in text) == judged
