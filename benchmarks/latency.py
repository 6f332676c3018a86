"""Prediction latency and throughput: skattn's ``predict`` against ONNX Runtime.

Per model family, a classifier is fitted briefly on GunPoint (150 steps, one
channel) and exported with ``skattn.export_onnx``. Then, in one run:

- latency: the median of many calls that predict one sequence (skattn:
  ``predict``; ONNX Runtime: ``session.run`` on the padded sequence and its
  mask, plus ``classes_[label_index]``);
- throughput: sequences per second when 1,000 sequences are predicted in one
  call (ONNX Runtime: in batches of ``batch_size``, as skattn does).

ONNX Runtime runs with one intra-op thread and with its default (one per
core); skattn with one torch thread (``n_threads=1``, as every benchmark
here). skattn predicts in float64 by default and
in float32 with ``inference_dtype="float32"``, the precision of the graph;
both are timed. The conversion and validation ``predict`` does are part of
its time, and padding and mask building part of ONNX Runtime's.

Usage::

    python benchmarks/latency.py            # writes benchmarks/LATENCY.md
    python benchmarks/latency.py --quick    # fewer calls; prints only
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
import _common as C  # noqa: E402

HERE = Path(__file__).resolve().parent
FAMILIES = ("LSTMAttentionClassifier", "TransformerClassifier")
N_THROUGHPUT = 1000


def median_seconds(call, repeats):
    import numpy as np

    call()  # warm-up: first-call allocations and lazy initialisation
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def fit(family, X, y, epochs):
    import skattn

    cls = getattr(skattn, family)
    return cls(max_epochs=epochs, random_state=0, n_threads=1).fit(X, y)


def onnx_predictor(path, threads, classes, batch_size):
    import numpy as np
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    session = ort.InferenceSession(
        str(path), options, providers=["CPUExecutionProvider"]
    )

    def predict(X):
        labels = []
        for start in range(0, len(X), batch_size):
            values = np.ascontiguousarray(X[start : start + batch_size], np.float32)
            mask = np.ones(values.shape[:2], dtype=bool)
            (label_index,) = session.run(
                ["label_index"], {"values": values, "mask": mask}
            )
            labels.append(classes[label_index])
        return np.concatenate(labels)

    return predict


def measure(family, X_train, y_train, X_test, *, epochs, repeats, folder):
    import numpy as np

    import skattn

    clf = fit(family, X_train, y_train, epochs)
    path = Path(folder) / f"{family}.onnx"
    model = skattn.export_onnx(clf, path)
    exporter = {p.key: p.value for p in model.metadata_props}["exporter"].strip('"')
    one = X_test[:1]
    many = np.concatenate([X_test] * (N_THROUGHPUT // len(X_test) + 1))
    many = many[:N_THROUGHPUT]

    rows = []

    def add(runtime, threads, predict):
        latency = median_seconds(lambda: predict(one), repeats)
        start = time.perf_counter()
        predict(many)
        seconds = time.perf_counter() - start
        rows.append(
            {
                "family": family,
                "runtime": runtime,
                "threads": threads,
                "latency_ms": 1000 * latency,
                "throughput": N_THROUGHPUT / seconds,
            }
        )

    for dtype in ("float64", "float32"):
        clf.set_params(inference_dtype=dtype)
        add(f"skattn predict, {dtype}", "1", clf.predict)
    expected = clf.predict(many)
    for threads in (1, None):
        predict = onnx_predictor(path, threads, clf.classes_, clf.batch_size)
        label = "1" if threads == 1 else "default"
        add(f"ONNX Runtime ({exporter})", label, predict)
        # a timing of wrong answers would be worthless
        assert (predict(many) == expected).all(), "ONNX labels differ from predict"
    return rows


def markdown(rows, info):
    base = {}
    for row in rows:
        if row["runtime"] == "skattn predict, float64":
            base[row["family"]] = row
    table = []
    for row in rows:
        ref = base[row["family"]]
        table.append(
            [
                row["family"],
                row["runtime"],
                row["threads"],
                f"{row['latency_ms']:.2f}",
                f"{ref['latency_ms'] / row['latency_ms']:.1f}x",
                f"{row['throughput']:,.0f}",
                f"{row['throughput'] / ref['throughput']:.1f}x",
            ]
        )
    header = [
        "model",
        "runtime",
        "threads",
        "latency, 1 sequence (ms)",
        "speed-up",
        f"throughput, {N_THROUGHPUT:,} sequences (seq/s)",
        "speed-up",
    ]
    machine = "; ".join(f"{k}: {v}" for k, v in info["machine"].items())
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    return "\n".join(
        [
            "# Prediction latency: skattn and ONNX Runtime",
            "",
            "Generated by `python benchmarks/latency.py`. GunPoint (150 steps, "
            f"1 channel), models fitted for {info['epochs']} epochs with default "
            "hyperparameters. Latency is the median over "
            f"{info['repeats']} calls on one sequence; throughput is one call on "
            f"{N_THROUGHPUT:,} sequences. Speed-ups are against skattn's "
            "`predict` in float64 with one thread (the configuration of the "
            "other benchmarks). The ONNX labels equal `predict`'s.",
            "",
            C.markdown_table(header, table),
            "",
            f"Machine: {machine}; load average at the end: {info['load_end']}.",
            "",
            f"Versions: {versions}.",
            "",
            "Other processes shared the machine's cores during the run; the "
            "load average says how busy it was.",
            "",
        ]
    )


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="few calls; print only")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--repeats", type=int, default=200)
    p.add_argument("--output", default=str(HERE / "LATENCY.md"))
    a = p.parse_args(argv)
    if a.quick:
        a.epochs, a.repeats = 1, 10
    info = {
        "machine": C.machine(),
        "epochs": a.epochs,
        "repeats": a.repeats,
    }
    info["machine"]["nproc"] = len(os.sched_getaffinity(0))
    info["versions"] = C.versions(("skattn", "torch", "onnxruntime", "onnx", "numpy"))
    X_train, X_test, y_train, _ = C.load("GunPoint")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for family in FAMILIES:
            print(f"{family} ...", flush=True)
            rows += measure(
                family,
                X_train,
                y_train,
                X_test,
                epochs=a.epochs,
                repeats=a.repeats,
                folder=folder,
            )
    info["load_end"] = "/".join(f"{x:.1f}" for x in os.getloadavg())
    text = markdown(rows, info)
    print(text)
    if not a.quick:
        Path(a.output).write_text(text)
        print(f"wrote {a.output}")


if __name__ == "__main__":
    main()
