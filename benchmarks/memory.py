"""Peak memory of prediction as the number of sequences grows.

Each (input format, size) runs in a fresh child process, which fits a tiny
model on 256 sequences, builds ``X`` (``n`` sequences of ``length`` steps, one
channel), and then calls ``predict_proba(X)``. The child reports:

- ``input``: how much the resident set grew while ``X`` was built (the
  input's own size, Python objects included);
- ``predict peak``: the peak resident set during ``predict_proba`` minus the
  resident set just before it, i.e. what prediction itself needed (Linux:
  the peak is reset through ``/proc/self/clear_refs`` before the call);
- ``peak - input``: the child's overall peak minus the input's size (torch,
  the model and the interpreter make up a constant part of it).

Prediction converts and standardises ``X`` in chunks of about
``skattn._predict.CHUNK_VALUES`` values and writes each chunk's result into
the output, so ``predict peak`` should stop growing once ``X`` is larger
than one chunk; only the output (``n x n_classes`` float64) keeps growing
with ``n``.

Usage::

    python benchmarks/memory.py              # 1e4, 1e5, 1e6 and 3e6 sequences
    python benchmarks/memory.py --sizes 1000 10000 --formats array

writes ``benchmarks/MEMORY.md`` (unless ``--no-write``) and prints the table.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import reset_peak, rss_mib  # noqa: E402

FORMATS = ("array", "list", "long")


def _make_input(fmt, n, length, rng):
    import numpy as np
    import pandas as pd

    values = rng.normal(size=(n, length, 1))
    if fmt == "array":
        return values
    if fmt == "list":
        return list(values)  # n arrays (length, 1): views of one block
    index = pd.MultiIndex.from_arrays(
        [np.repeat(np.arange(n), length), np.tile(np.arange(length), n)],
        names=["id", "time"],
    )
    return pd.DataFrame({"value": values.ravel()}, index=index)


def child(fmt, n, length):
    import gc

    import numpy as np
    import torch

    from skattn import LSTMAttentionClassifier

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    train = _make_input(fmt, 256, length, rng)
    model = LSTMAttentionClassifier(
        hidden_size=4, max_epochs=1, batch_size=256, random_state=0
    ).fit(train, np.arange(256) % 2)
    model.predict_proba(train)  # warm up: frozen inference copy, allocators
    gc.collect()
    before_input = rss_mib()
    X = _make_input(fmt, n, length, rng)
    gc.collect()
    input_mb = rss_mib() - before_input
    before = rss_mib()
    exact = reset_peak()
    start = time.perf_counter()
    proba = model.predict_proba(X)
    seconds = time.perf_counter() - start
    assert proba.shape == (n, 2) and np.isfinite(proba).all()
    print(
        json.dumps(
            {
                "format": fmt,
                "n": n,
                "input_mb": input_mb,
                "output_mb": proba.nbytes / 2**20,
                "predict_peak_mb": rss_mib("VmHWM") - before if exact else None,
                "peak_minus_input_mb": rss_mib("VmHWM") - input_mb,
                "seconds": seconds,
            }
        )
    )


def run(fmt, n, length):
    out = subprocess.run(
        [sys.executable, __file__, "--child", fmt, str(n), str(length)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _cell(value):
    return "n/a" if value is None else f"{value:,.0f}"


def table(rows, length):
    lines = [
        f"Sequences of {length} steps, 1 channel, float64; "
        "`LSTMAttentionClassifier(hidden_size=4, batch_size=256).predict_proba`. "
        "Memory in MiB.",
        "",
        "| format | sequences | input | output | predict peak | peak - input "
        "| seconds |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['format']} | {r['n']:,} | {_cell(r['input_mb'])} | "
            f"{r['output_mb']:,.1f} | {_cell(r['predict_peak_mb'])} | "
            f"{_cell(r['peak_minus_input_mb'])} | {r['seconds']:.1f} |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[10**4, 10**5, 10**6, 3 * 10**6]
    )
    parser.add_argument("--length", type=int, default=10)
    parser.add_argument("--formats", nargs="+", default=list(FORMATS), choices=FORMATS)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("FORMAT", "N", "LENGTH"))
    args = parser.parse_args()
    if args.child:
        fmt, n, length = args.child
        return child(fmt, int(n), int(length))
    rows = []
    for fmt in args.formats:
        for n in args.sizes:
            rows.append(run(fmt, n, args.length))
            print(rows[-1], flush=True)
    text = table(rows, args.length)
    print(text)
    if not args.no_write:
        import torch

        import skattn
        from skattn._predict import CHUNK_VALUES as _CHUNK_VALUES

        header = (
            "# Prediction memory\n\n"
            "Generated by `python benchmarks/memory.py` "
            f"(skattn {skattn.__version__}, torch {torch.__version__}, "
            f"Python {platform.python_version()}, {platform.machine()}, one "
            "thread). `predict peak` is the resident-set peak during "
            "`predict_proba` above the resident set just before it; it should "
            "stay flat as the number of sequences grows, apart from the output "
            "itself, because inputs are converted and predicted in chunks of "
            f"about 2**{_CHUNK_VALUES.bit_length() - 1} values and each "
            "chunk's result is written into the output.\n\n"
        )
        (HERE / "MEMORY.md").write_text(header + text + "\n")


if __name__ == "__main__":
    main()
