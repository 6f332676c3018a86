"""The benchmark reports say what their results files hold.

``benchmarks/RESULTS.md``, ``benchmarks/CV_DEFAULTS.md`` and
``benchmarks/POOLING.md`` are written by
their scripts from stored results (``--report`` measures nothing); these
tests rewrite them into a temporary folder, check that the committed files
are current, and check the claims in their sentences against their own
tables: what was tuned on what, which rows are not like-for-like, and the
numbers in the generated prose.
"""

import functools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"


def run_script(*args):
    """Run a benchmark script with this interpreter and the skattn under test."""
    result = subprocess.run(
        [sys.executable, *map(str, args)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="module")
def results_report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("results")
    shutil.copy(BENCHMARKS / "RESULTS.json", folder / "RESULTS.json")
    run_script(BENCHMARKS / "run.py", "--report", "--output", folder / "RESULTS.md")
    return (folder / "RESULTS.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def cv_report(tmp_path_factory):
    path = tmp_path_factory.mktemp("cv") / "CV_DEFAULTS.md"
    run_script(BENCHMARKS / "cv_defaults.py", "--report", "--output", path)
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def pooling_report(tmp_path_factory):
    path = tmp_path_factory.mktemp("pooling") / "POOLING.md"
    run_script(BENCHMARKS / "pooling.py", "--report", "--output", path)
    return path.read_text(encoding="utf-8")


def table_rows(text, first_header):
    """The rows (lists of cells) of the markdown table whose header row
    starts with ``first_header``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(first_header))
    header = [c.strip() for c in lines[start].strip("|").split("|")]
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows.append(dict(zip(header, cells, strict=True)))
    return rows


def test_results_report_is_current(results_report):
    assert (BENCHMARKS / "RESULTS.md").read_text(encoding="utf-8") == results_report


def test_cv_defaults_report_is_current(cv_report):
    assert (BENCHMARKS / "CV_DEFAULTS.md").read_text(encoding="utf-8") == cv_report


def test_pooling_report_is_current(pooling_report):
    assert (BENCHMARKS / "POOLING.md").read_text(encoding="utf-8") == pooling_report


def test_results_say_where_the_defaults_were_chosen(results_report):
    raw = json.loads((BENCHMARKS / "RESULTS.json").read_text(encoding="utf-8"))
    measured = {row["dataset"] for row in raw["accuracy"]["rows"]}
    assert "chosen by cross-validation on the training splits" in results_report
    assert "`CV_DEFAULTS.md`" in results_report and "`LODO.md`" in results_report
    assert "Test splits were never read" in results_report
    assert "not scores on data that played no part" in results_report
    for name in measured:
        assert f"#### {name}" in results_report


def test_tsai_rows_are_marked_not_like_for_like(results_report):
    tsai_rows = [
        line for line in results_report.splitlines() if line.startswith("| tsai")
    ]
    assert tsai_rows
    assert all("†" in line.split("|")[1] for line in tsai_rows)
    (caveat,) = [line for line in results_report.splitlines() if line.startswith("† ")]
    assert "not like-for-like" in caveat
    assert "1 seed per model (skattn 3)" in caveat
    assert "fit_one_cycle(100, 0.001)" in caveat
    assert "200 epochs" in caveat  # skattn's default, tuned
    assert "on GunPoint and BasicMotions only" in caveat


def test_every_accuracy_row_says_which_run_measured_it(results_report):
    """Rows reused from earlier runs keep their day and CPU: a report that
    mixes machines shows it next to the times it cannot compare."""
    raw = json.loads((BENCHMARKS / "RESULTS.json").read_text(encoding="utf-8"))
    where = {}
    for row in raw["accuracy"]["rows"]:
        assert re.fullmatch(r"\d{4}-\d\d-\d\d, .+", row["measured"]), row
        where.setdefault((row["dataset"], row["model"]), set()).add(row["measured"])
    assert "`measured` gives the day and CPU" in results_report
    for (dataset, model), runs in where.items():
        section = results_report.split(f"#### {dataset}\n", 1)[1]
        rows = table_rows(section, "| model | runs")
        (shown,) = [r for r in rows if r["model"].rstrip(" †*") == model]
        assert shown["measured"] == "; ".join(sorted(runs))
    summary = table_rows(results_report, "| model | GunPoint | BasicMotions")
    by_model = {r["model"]: r["measured"] for r in summary}
    sets = set(summary[0]) & {dataset for dataset, _ in where}  # its columns
    for model in ("TransformerClassifier", "MiniRocket (aeon)"):
        runs = set().union(*(where[d, model] for d in sets))
        assert by_model[model] == "; ".join(sorted(runs))


def test_best_of_row_says_it_was_chosen_on_the_test_split(results_report):
    rows = table_rows(results_report, "| model | GunPoint | BasicMotions")
    (best,) = [row for row in rows if row["model"].startswith("better of the two")]
    assert best["model"].endswith("‡")
    (note,) = [line for line in results_report.splitlines() if line.startswith("‡ ")]
    assert "chosen on the test split" in note


def test_cv_prose_numbers_are_the_tables(cv_report):
    round1 = table_rows(cv_report, "| candidate | family | GunPoint | BasicMotions |")
    candidates = [row for row in round1 if row["family"] in ("tf", "lstm")]
    covid = [float(row["Covid3Month"]) for row in candidates]
    found = re.search(r"CV RMSE runs from (\d\.\d+) to (\d\.\d+)", cv_report)
    assert found, "no Covid3Month sentence"
    assert (float(found[1]), float(found[2])) == (min(covid), max(covid))

    # the fit-time ratio of stem_stride1 and its seconds are the table's
    start = cv_report.index("## Round 2")
    round2 = table_rows(cv_report[start:], "| candidate | family |")
    fit = {
        (row["candidate"], row["family"]): float(row["fit s (sum)"]) for row in round2
    }
    found = re.search(
        r"take (\d+\.\d) times as long \((\d+) s vs (\d+) s",
        cv_report.replace("\n", " "),
    )
    assert found, "no fit-time sentence"
    assert float(found[2]) == fit["stem_stride1", "tf"]
    assert float(found[3]) == fit["defaults", "tf"]
    assert float(found[1]) == round(
        fit["stem_stride1", "tf"] / fit["defaults", "tf"], 1
    )

    # the better-of-two averages quoted are the table's
    best = table_rows(cv_report, "| candidate | best-of mean acc |")
    best_of = {row["candidate"]: row["best-of mean acc"] for row in best}
    found = re.search(
        r"`stem_bs16_e200` averages (\d\.\d+) and `(\w+)` (\d\.\d+), the highest",
        cv_report.replace("\n", " "),
    )
    assert found
    assert found[1] == best_of["stem_bs16_e200"]
    assert found[3] == best_of[found[2]] == max(best_of.values())


def test_cv_report_says_best_of_is_picked_on_the_validation_folds(cv_report):
    assert "so `best-of` is optimistic" in cv_report
    assert "No held-out data sets" in cv_report


def test_pooling_report_names_the_rows_of_an_earlier_machine(pooling_report):
    rows = [
        json.loads(line)
        for line in (BENCHMARKS / "pooling_results.jsonl").read_text().splitlines()
        if line.strip()
    ]
    machine = json.loads((BENCHMARKS / "pooling_machine.json").read_text())
    cpu = machine["machine"]["cpu"]
    earlier = {r["model"] for r in rows if r.get("cpu") != cpu} - {"embedding"}
    lines = [x for x in pooling_report.splitlines() if "earlier run on" in x]
    named = {
        name
        for line in lines
        for name in line.split(": ", 1)[1].split(" (")[0].split(", ")
    }
    assert named == earlier
    assert not any(cpu in line for line in lines)


@pytest.fixture(scope="module")
def heldout_report(tmp_path_factory):
    path = tmp_path_factory.mktemp("heldout") / "HELDOUT.md"
    run_script(BENCHMARKS / "heldout.py", "--report", "--output", path)
    return path.read_text(encoding="utf-8")


def test_heldout_report_is_current(heldout_report):
    assert (BENCHMARKS / "HELDOUT.md").read_text(encoding="utf-8") == heldout_report


def test_heldout_sets_choose_nothing():
    """The held-out sets are no development set, and the study that
    chooses defaults refuses them."""
    sys.path.insert(0, str(BENCHMARKS))
    import _common as C
    import lodo

    assert set(C.HELDOUT_CLASSIFICATION).isdisjoint(C.SUITE)
    for name in C.HELDOUT_CLASSIFICATION:
        assert (BENCHMARKS / "data" / f"{name}.npz").exists()
        with pytest.raises(SystemExit, match="held out of every choice"):
            lodo.load(name, None)


def test_windows_of_one_person_stay_in_one_fold():
    """ShoulderExercise holds several windows of each person's recordings:
    the study's folds keep a person on one side, so validation never
    scores a person it trained on; every window is validated once and
    every class is in every validation fold."""
    sys.path.insert(0, str(BENCHMARKS))
    import lodo

    X, y, groups = lodo.load("ShoulderExercise", None)
    assert len(X) == len(y) == len(groups) > 500
    splits = lodo.folds(True, y, 3, "ShoulderExercise", groups)
    seen = []
    for train, valid in splits:
        assert set(groups[train]).isdisjoint(groups[valid])
        assert set(y[valid]) == set(y)
        seen += list(valid)
    assert sorted(seen) == list(range(len(y)))
    # independent series keep plain stratified folds
    _, _, none = lodo.load("GunPoint", None)
    assert none is None


def test_classes_of_two_series_are_spread_over_the_folds():
    """PigCVP has two training series per class, fewer than the study's
    three folds: each class's series go to different folds, so every
    validation series has one of its class in training, and every series
    is validated once."""
    sys.path.insert(0, str(BENCHMARKS))
    import lodo

    X, y, groups = lodo.load("PigCVP", None)
    assert groups is None and X.shape == (104, 2000, 1)
    assert set(np.unique(y, return_counts=True)[1]) == {2}
    splits = lodo.folds(True, y, 3, "PigCVP", groups)
    assert len(splits) == 3
    seen = []
    for train, valid in splits:
        assert len(set(y[valid])) == len(valid)  # never both of a class
        assert set(y[valid]) <= set(y[train])
        assert 30 <= len(valid) <= 40
        seen += list(valid)
    assert sorted(seen) == list(range(len(y)))


def _classification_row(family, candidate, dataset, fold, score, **extra):
    """A row of ``lodo.py``'s results for a classification fold."""
    return dict(
        task="classification",
        family=family,
        candidate=candidate,
        dataset=dataset,
        fold=fold,
        score=score,
        **extra,
    )


def test_a_rule_that_does_not_act_on_a_fold_scores_as_the_defaults_before_it(
    monkeypatch,
):
    """random_crop="auto" acts on training folds of few series per class
    (PigCVP: two) and trains the defaults' network elsewhere (GunPoint:
    about 16 per class in a fold): there, the rows of the defaults before
    it stand in for it, unless it was measured."""
    sys.path.insert(0, str(BENCHMARKS))
    import lodo

    steps = ["base", "base+crop_auto"]
    monkeypatch.setattr(lodo, "BASELINES", {("classification", "lstm"): steps})
    row = functools.partial(_classification_row, "lstm")
    rows = [
        row("base", name, k, 0.5) for name in ("GunPoint", "PigCVP") for k in (0, 1, 2)
    ]
    rows += [row("base", "GunPoint", 0, 0.4, replicate=1)]
    rows += [row("base+crop_auto", "GunPoint", 2, 0.7)]  # measured: it wins
    rows += [row("base+crop_auto", "PigCVP", 0, 0.6)]
    rows += [row("other", "GunPoint", 1, 0.9)]  # not the defaults before it
    made = lodo.stand_ins(rows, None, 3)
    assert sorted(
        (r["dataset"], r["fold"], r.get("replicate", 0), r["score"]) for r in made
    ) == [("GunPoint", 0, 0, 0.5), ("GunPoint", 0, 1, 0.4), ("GunPoint", 1, 0, 0.5)]
    assert all(r["candidate"] == "base+crop_auto" for r in made)
    assert all(r["stands_in_for"] == "base" for r in made)


def test_rules_in_a_row_stand_in_through_each_other(monkeypatch):
    """Where two rules follow each other in the defaults, the rows of the
    step before both stand in for the last on the folds where neither
    acts; a fold where the rules act keeps only what was measured."""
    sys.path.insert(0, str(BENCHMARKS))
    import lodo

    steps = ["base", "base+crop_auto", "base+crop_auto+tf_pos_auto"]
    monkeypatch.setattr(lodo, "BASELINES", {("classification", "tf"): steps})
    row = functools.partial(_classification_row, "tf")
    rows = [row("base", name, 0, 0.5) for name in ("GunPoint", "PigCVP")]
    rows += [row("base+crop_auto", "PigCVP", 0, 0.6)]
    made = lodo.stand_ins(rows, None, 3)
    assert sorted((r["candidate"], r["dataset"], r["score"]) for r in made) == [
        ("base+crop_auto", "GunPoint", 0.5),
        ("base+crop_auto+tf_pos_auto", "GunPoint", 0.5),
    ]


def test_heldout_rows_of_earlier_defaults_are_marked(tmp_path):
    """A row measured with other defaults than today's is shown under its
    model's name marked as such, never as today's model; the last row of a
    data set, model and seed replaces the earlier ones."""
    sys.path.insert(0, str(BENCHMARKS))
    import accuracy
    import heldout

    def row(model, seed, score, config):
        return dict(
            dataset="ArrowHead",
            model=model,
            seed=seed,
            score=score,
            fit_s=1.0,
            predict_s=0.1,
            config=config,
            quick=False,
            measured="2026-12-05, test CPU",
        )

    today = accuracy.config("LSTMAttentionClassifier")
    path = tmp_path / "rows.jsonl"
    rows = [
        row("LSTMAttentionClassifier", 0, 0.5, "older"),
        row("LSTMAttentionClassifier", 0, 0.8, today),
        row("TransformerClassifier", 0, 0.7, "older"),
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    shown = {(r["model"], r["score"]) for r in heldout.latest_rows(path)}
    assert shown == {
        ("LSTMAttentionClassifier", 0.8),
        (f"TransformerClassifier {heldout.STALE}", 0.7),
    }


def test_rows_keep_their_fingerprint_where_an_auto_trains_the_same_model(
    monkeypatch,
):
    """Where ``random_crop="auto"`` compares nothing, it trains the network
    of ``random_crop=None`` with sinusoidal codes: rows measured before
    either "auto" stay today's there, not where it compares."""
    sys.path.insert(0, str(BENCHMARKS))
    import accuracy

    import skattn

    name = "TransformerClassifier"
    today = {few: accuracy.config(name, few) for few in (False, True)}

    class Before(skattn.TransformerClassifier):
        def get_params(self, deep=True):
            before = dict(random_crop=None, positional_encoding="sinusoidal")
            return {**super().get_params(deep), **before}

    monkeypatch.setattr(skattn, name, Before)
    assert accuracy.config(name, False) == today[False]
    assert accuracy.config(name, True) != today[True]


@pytest.mark.parametrize(
    "param, before, other",
    [("network_weight", 1.0, "auto"), ("linear_alpha", "1se", "min")],
)
def test_rows_keep_their_fingerprint_where_a_new_parameter_changes_nothing(
    monkeypatch, param, before, other
):
    """A parameter added with the value that trains the model of before
    (``network_weight=1.0``, ``linear_alpha="1se"``) keeps the rows measured
    before it; another value measures them again."""
    sys.path.insert(0, str(BENCHMARKS))
    import accuracy

    import skattn

    name = "TransformerRegressor"
    today = accuracy.config(name)
    assert skattn.TransformerRegressor().get_params()[param] == before

    class Before(skattn.TransformerRegressor):
        def get_params(self, deep=True):
            params = super().get_params(deep)
            del params[param]
            return params

    class Other(skattn.TransformerRegressor):
        def get_params(self, deep=True):
            return {**super().get_params(deep), param: other}

    monkeypatch.setattr(skattn, name, Before)
    assert accuracy.config(name) == today
    monkeypatch.setattr(skattn, name, Other)
    assert accuracy.config(name) != today


def test_few_shot_draws_keep_the_rest_for_scoring():
    """A few-shot draw takes that many series of every class (all of a
    smaller class) and scores on every other series of the training
    split; another draw seed draws other series."""
    sys.path.insert(0, str(BENCHMARKS))
    import few_shot

    y = np.array(["a"] * 5 + ["b"] * 3 + ["c"] * 1)
    picked, rest = few_shot.draw(y, 2, seed=0)
    assert sorted(np.unique(y[picked], return_counts=True)[1]) == [1, 2, 2]
    assert sorted(np.concatenate([picked, rest])) == list(range(len(y)))
    assert "PigCVP" not in few_shot.SETS and "ShoulderExercise" not in few_shot.SETS
    draws = {tuple(few_shot.draw(y, 2, seed=d)[0]) for d in range(5)}
    assert len(draws) > 1


def test_few_shot_of_held_out_sets_reads_their_training_splits_only():
    """``--heldout`` draws from the held-out sets' training splits and keeps
    its rows apart; the suite's study still refuses those sets."""
    sys.path.insert(0, str(BENCHMARKS))
    import _common as C
    import few_shot

    assert few_shot.HELDOUT.sets == C.HELDOUT_CLASSIFICATION
    assert not set(few_shot.HELDOUT.sets) & set(few_shot.SUITE.sets)
    assert few_shot.HELDOUT.results != few_shot.SUITE.results
    assert few_shot.HELDOUT.report != few_shot.SUITE.report
    X, y = few_shot.HELDOUT.load("ItalyPowerDemand", None)
    X_train, _, y_train, _ = C.load_suite("ItalyPowerDemand")
    np.testing.assert_array_equal(X, X_train)
    np.testing.assert_array_equal(y, y_train)
    with pytest.raises(SystemExit, match="held out"):
        few_shot.SUITE.load("ItalyPowerDemand", None)


def test_few_shot_rows_of_earlier_defaults_are_marked(tmp_path):
    """A few-shot row records the defaults it measured: one of other
    defaults is shown as such, never as today's candidate, and does not
    count as measured for a new run."""
    sys.path.insert(0, str(BENCHMARKS))
    import few_shot

    today = few_shot._label("crop_0.5", "lstm")
    assert today.endswith("+crop_0.5") and today != few_shot._label("crop_0.5", "tf")
    base = dict(family="lstm", dataset="GunPoint", shots=2, draw=0, fit_s=1.0)
    rows = [
        dict(base, candidate="crop_0.5", measured_as=today, score=0.9),
        dict(base, candidate="crop_0.5", measured_as="older+crop_0.5", score=0.5),
    ]
    results = tmp_path / "rows.jsonl"
    results.write_text("".join(json.dumps(r) + "\n" for r in rows))
    study = few_shot.Study(few_shot.SETS, results, tmp_path / "FEW_SHOT.md", "t")
    few_shot.report(study)
    table = (tmp_path / "FEW_SHOT.md").read_text()
    assert re.search(r"^\| crop_0\.5 \| 0\.900 \|", table, re.M)
    assert re.search(
        r"^\| older\+crop_0\.5 \(earlier defaults\) \| 0\.500 \|", table, re.M
    )


@pytest.fixture(scope="module")
def probes_report(tmp_path_factory):
    path = tmp_path_factory.mktemp("probes") / "PROBES.md"
    run_script(BENCHMARKS / "probes.py", "--report", "--output", path)
    return path.read_text(encoding="utf-8")


def test_probes_report_is_current(probes_report):
    assert (BENCHMARKS / "PROBES.md").read_text(encoding="utf-8") == probes_report


def test_time_mask_probe_hides_one_block_per_sequence_and_restores_the_step(
    monkeypatch,
):
    """The time-masking probe sets one block of each sequence's real steps
    to that sequence's mean (padding untouched) and leaves the training
    step as it was once its fit is over."""
    import torch

    sys.path.insert(0, str(BENCHMARKS))
    import probes

    from skattn import _net

    seen = []
    monkeypatch.setattr(
        _net.SequenceNet,
        "train_step_single",
        lambda net, batch, **kw: seen.append(batch[0]),
    )
    recorder = _net.SequenceNet.train_step_single
    values = torch.arange(2 * 30 * 2, dtype=torch.float32).reshape(2, 30, 2)
    mask = torch.ones(2, 30, dtype=torch.bool)
    mask[1, 20:] = False  # the second sequence has 20 real steps
    net = type("Net", (), {"augmented_channels": None})()
    with probes._time_masked(seed=0):
        _net.SequenceNet.train_step_single(
            net, ({"values": values, "mask": mask}, None)
        )
    assert _net.SequenceNet.train_step_single is recorder
    changed = (seen[0]["values"] != values).any(-1)  # [b, t]
    for i, (length, mean) in enumerate(
        [(30, values[0].mean(0)), (20, values[1, :20].mean(0))]
    ):
        steps = torch.nonzero(changed[i]).flatten()
        width = round(length * probes.TIME_MASK)
        assert len(steps) == width and steps.max() - steps.min() == width - 1
        assert steps.max() < length
        assert torch.allclose(seen[0]["values"][i, steps], mean.expand(width, 2))


def test_random_shift_probe_starts_each_sequence_later_by_less_than_the_stride():
    """Training batches and prediction inputs of the shift probe keep each
    sequence's steps in order from a later start, never dropping the last
    real step and never shifting by the stride or more."""
    import torch

    sys.path.insert(0, str(BENCHMARKS))
    import probes

    values = torch.arange(3 * 12, dtype=torch.float32).reshape(3, 12, 1)
    lengths = torch.tensor([12, 5, 1])
    mask = torch.arange(12)[None] < lengths[:, None]
    generator = torch.Generator().manual_seed(0)
    shifts = set()
    for _ in range(20):
        out = probes._shift_batch({"values": values, "mask": mask}, 4, generator)
        kept = out["mask"].sum(1)
        shift = lengths - kept
        assert kept.min() >= 1 and shift.max() <= 3 and shift[2] == 0
        for i in range(3):
            real = out["values"][i, : kept[i], 0]
            assert torch.equal(real, values[i, shift[i] : lengths[i], 0])
            assert not out["values"][i, kept[i] :].any()
        shifts |= set(shift.tolist())
    assert shifts == {0, 1, 2, 3}

    X = np.full((2, 6), np.nan)
    X[0], X[1, :3] = np.arange(6.0), [7.0, 8.0, 9.0]
    shifted = probes._shifted_array(X, 4)
    np.testing.assert_array_equal(shifted[0], [4, 5, np.nan, np.nan, np.nan, np.nan])
    np.testing.assert_array_equal(
        shifted[1], [9, np.nan, np.nan, np.nan, np.nan, np.nan]
    )


def test_parallel_encoders_probe_keeps_the_classifiers_lstm():
    """The probe's network holds the same LSTM encoder as the default
    classifier's, beside the Transformer encoder."""
    sys.path.insert(0, str(BENCHMARKS))
    import probes

    from skattn import LSTMAttentionClassifier

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 20, 2)), np.arange(12) % 2
    probe = probes.PROBES["parallel_encoders"].make(0, X)
    probe.set_params(max_epochs=1).fit(X, y)
    default = LSTMAttentionClassifier(max_epochs=1, n_threads=1).fit(X, y)
    encoder = probe.net_.module_.encoder
    assert repr(encoder.lstm) == repr(default.net_.module_.encoder)
    assert encoder.output_size == default.net_.module_.encoder.output_size + 64
