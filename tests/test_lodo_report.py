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


def vote_table(rows):
    """The vote's cells of the "Estimators compared" table, by data set."""
    text = "\n".join(lodo._estimators(rows)).splitlines()
    header = next(line for line in text if line.startswith("| estimator |"))
    names = [c.strip() for c in header.strip("|").split("|")]
    line = next(line for line in text if line.startswith(f"| {lodo.C.VOTE} |"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    return dict(zip(names, cells, strict=True)), text


@pytest.fixture
def members():
    return [
        row(family, lodo.baseline("classification", family), name, 0.9)
        for family in lodo.FAMILIES
        for name in ("GunPoint", "PLAID")
    ]


def test_a_later_vote_row_replaces_the_earlier_one(members):
    earlier, later = lodo.VOTE_ROWS[0], lodo.VOTE_ROWS[-1]
    assert earlier != later
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
    assert "rows of PLAID were measured again" in other
