"""Every script in examples/ runs end to end in its fast mode.

Each script runs in a fresh process, from an empty working directory, in
its fast mode (a smaller version of the same work: ``SKATTN_EXAMPLES_FAST=1``,
or ``--fast`` for a few scripts, so that both ways are checked) and the Agg
backend; the test checks its exit code, that it says its results come from
a fast run, a few lines of its output, and the files it writes; and that
the READMEs name exactly those files. The scripts run two at a time, so the
module takes about half the sum of their run times.
"""

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import skattn

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SCRIPTS = sorted(path.name for path in EXAMPLES.glob("*.py"))
# printed first and last by every script in fast mode
FAST_BANNER = (
    "FAST MODE (SKATTN_EXAMPLES_FAST=1 or --fast): tiny training, "
    "results are not meaningful"
)
# scripts asked for their fast mode with --fast instead of the variable
FAST_BY_ARGUMENT = {"quickstart.py", "dask_grid_search.py"}

# script -> (text its output must contain, files it must write)
EXPECTED = {
    "quickstart.py": (
        [
            "GunPoint: 50 training",
            "BasicMotions: 40 training",
            "1-NN, Euclidean (flattened)",
            "-> LSTMAttentionClassifier",
            "most attended timesteps",
        ],
        [],
    ),
    "customer_sequences.py": (
        ["Grid search", "Best model on the test set: accuracy", "churners"],
        [],
    ),
    "event_sequences.py": (
        [
            "HGB on per-customer aggregates",
            "LSTM on the amounts only",
            "LSTM on events: type, amount, gap, plan",
            "mean attention weight per event type",
        ],
        [],
    ),
    "text_classification.py": (
        ["TF-IDF words + logistic regression", "Stopped after", "Where the LSTM"],
        [],
    ),
    "sensor_classification.py": (
        ["LSTMAttentionClassifier test accuracy", "predicts the same probabilities"],
        ["basic_motions_attention.png"],  # the model file goes to a temporary dir
    ),
    "price_forecasting.py": (
        ["naive (last value)", "TransformerRegressor", "warm-start update"],
        ["price_forecast.png"],
    ),
    "embeddings_for_any_model.py": (
        ["on attention embeddings", "on self-supervised embeddings"],
        [],
    ),
    "dask_grid_search.py": (
        ["dask cluster:", "fits and the refit in", "test accuracy of the refitted"],
        [],
    ),
    "serve_onnx.py": (
        ["Exported to gunpoint_lstm.onnx", "Labels equal skattn's predict: True"],
        [],
    ),
    "attention_variants.py": (
        [
            "(no attention: mean pooling)",
            "a = softmax(e)            [0.196012, 0.201982, 0.204012, 0.201982,",
            "max aggregation           [0.980062]",
            "a = softmax(e / sqrt(5))  [0.198214, 0.200891, 0.201791, 0.200891,",
        ],
        ["attention_variants.png"],
    ),
}
TIMEOUT = 180  # seconds per script; each takes a few seconds in fast mode


def run_example(script, cwd):
    by_argument = script in FAST_BY_ARGUMENT
    env = {
        **os.environ,
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",
        # the skattn these tests import, not another installed copy
        "PYTHONPATH": os.pathsep.join(
            [str(Path(skattn.__file__).resolve().parent.parent)]
            + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        ),
    }
    env.pop("SKATTN_EXAMPLES_OUTPUT", None)  # figures go to the working directory
    env.pop("SKATTN_EXAMPLES_FAST", None)
    if not by_argument:
        env["SKATTN_EXAMPLES_FAST"] = "1"
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *(["--fast"] if by_argument else [])],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


@pytest.fixture(scope="module")
def runs(request, tmp_path_factory):
    """Start the selected scripts, two at a time; script -> (future, cwd)."""
    selected = sorted(
        {
            item.callspec.params["script"]
            for item in request.session.items
            if getattr(item, "originalname", None) == "test_example_runs"
            and hasattr(item, "callspec")
        }
    )
    pool = ThreadPoolExecutor(max_workers=2)
    started = {}
    for script in selected:
        cwd = tmp_path_factory.mktemp(script.removesuffix(".py"))
        started[script] = (pool.submit(run_example, script, cwd), cwd)
    yield started
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs(script, runs):
    expected_text, expected_files = EXPECTED[script]  # a new script needs an entry
    future, cwd = runs[script]
    result = future.result()
    assert result.returncode == 0, (
        f"{script} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    lines = result.stdout.strip().splitlines()
    # a fast run's near-chance results must not pass for real ones
    assert lines[0] == FAST_BANNER, f"{script} does not start with the banner"
    assert lines[-1] == FAST_BANNER, f"{script} does not end with the banner"
    for text in expected_text:
        assert text in result.stdout, f"{script} did not print {text!r}"
    for name in expected_files:
        path = cwd / name
        assert path.is_file() and path.stat().st_size > 1000, f"{script}: no {name}"
    assert sorted(p.name for p in cwd.iterdir()) == sorted(expected_files)


def test_every_example_is_checked():
    assert SCRIPTS
    assert set(SCRIPTS) == set(EXPECTED)


def files_named(text):
    """The figure, model and ONNX file names written in ``text`` as code."""
    return set(re.findall(r"`([\w.-]+\.(?:png|pt|onnx))`", text))


@pytest.mark.parametrize(
    "readme, entry",
    [
        ("README.md", r"^- `{script}`:.*$"),  # the Examples list
        ("examples/README.md", r"^\| `{script}` \|.*$"),  # its table
    ],
)
def test_readmes_name_the_files_each_example_writes(readme, entry):
    text = (ROOT / readme).read_text(encoding="utf-8")
    for script, (_, expected_files) in EXPECTED.items():
        found = re.search(entry.format(script=re.escape(script)), text, re.M)
        assert found, f"{readme} has no entry for {script}"
        assert files_named(found.group(0)) == set(expected_files), (
            f"{readme}: the entry of {script} names {files_named(found.group(0))}, "
            f"but it writes {expected_files}"
        )
