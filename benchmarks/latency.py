"""Prediction latency and throughput: skattn's ``predict`` against ONNX Runtime.

Per model family, a classifier is fitted briefly on GunPoint (150 steps, one
channel) and exported with ``skattn.export_onnx``. Then, in one run:

- latency: the median of many calls that predict one sequence (skattn:
  ``predict``; ONNX Runtime: ``session.run`` on the padded sequence and its
  mask, plus ``classes_[label_index]``);
- throughput: sequences per second when 1,000 sequences are predicted in one
  call (ONNX Runtime: in batches of ``batch_size``, as skattn does), the
  median of three calls;
- where skattn's single-sequence time goes: validation and conversion,
  standardisation, the network, and the rest.

The runtimes of a family are timed in turns, a block of calls each round
after round, so that all of them meet the same load from other processes; only
ONNX Runtime with its default threads is timed on its own, after them,
since its threads spin-wait after each call and would slow the next one.

ONNX Runtime runs with one intra-op thread (sequential execution, all
graph optimisations: the session ``examples/serve_onnx.py`` recommends for
one sequence per request) and with its default threads (one per core);
skattn with one torch thread (``n_threads=1``, as every benchmark here).
skattn predicts in float64 by default (its default path, which predictions
that do not depend on batch composition need) and in float32 with
``inference_dtype="float32"``, the precision of the graph; both are timed.
The conversion and validation ``predict`` does are part of its time, and
padding and mask building part of ONNX Runtime's.

Usage::

    python benchmarks/latency.py            # writes benchmarks/LATENCY.md
    python benchmarks/latency.py --quick    # fewer calls; prints only
"""

import argparse
import contextlib
import copy
import functools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
import _common as C  # noqa: E402

HERE = Path(__file__).resolve().parent
FAMILIES = ("LSTMAttentionClassifier", "TransformerClassifier")
N_THROUGHPUT = 1000
N_BULK_REPEATS = 3  # calls on the 1,000 sequences, per runtime (median)
BLOCK = 10  # calls of one runtime in a row (see interleaved_medians)
DTYPE_LABEL = {"float64": "float64 (default)", "float32": "float32"}
# the last commit before ONNX export and the single-sequence work
BASELINE = "82a97846a26101f0306eca8bf84bec5374cba39a"
BASELINE_LABEL = "skattn predict at {commit}, float64"


def interleaved_medians(calls, repeats, block=BLOCK):
    """Median seconds of each of ``calls`` (name -> function), timed in turns.

    On a machine that other processes share, the load changes from second to
    second; timing the calls in turns, ``block`` calls of one and then of the
    next, gives each the same load, so the ratios between them hold even
    when the absolute times do not. Blocks rather than single calls keep
    each runtime's data in the CPU caches, as in a serving loop: the first
    call of a block pays for the switch and the median leaves it out. A call
    that returns a float reports its own duration in seconds (to leave its
    set-up out).
    """
    import numpy as np

    for call in calls.values():
        call()  # warm-up: first-call allocations and lazy initialisation
    times = {name: [] for name in calls}
    for _ in range(max(repeats // block, 1)):
        for name, call in calls.items():
            for _ in range(block):
                start = time.perf_counter()
                seconds = call()
                if not isinstance(seconds, float):
                    seconds = time.perf_counter() - start
                times[name].append(seconds)
    return {name: float(np.median(t)) for name, t in times.items()}


def fit(family, X, y, epochs):
    import skattn

    cls = getattr(skattn, family)
    return cls(max_epochs=epochs, random_state=0, n_threads=1).fit(X, y)


def onnx_predictor(path, threads, classes, batch_size):
    import numpy as np
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
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


@contextlib.contextmanager
def baseline_source(commit):
    """The ``skattn`` package of ``commit``, extracted to a temporary folder."""
    root = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"],
        cwd=HERE,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with tempfile.TemporaryDirectory() as folder:
        archive = subprocess.run(
            ["git", "archive", "--format=tar", commit, "skattn"],
            cwd=root,
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
        yield folder


class BaselinePredictor:
    """``predict`` of another skattn version, in a child process.

    The child (``_latency_child.py``) fits the same family on the same data
    with that version's defaults and times each call itself; calls return
    those seconds, which ``interleaved_medians`` takes as the call's time.
    """

    def __init__(self, source, family, epochs, X_train, y_train, one, many, folder):
        import numpy as np

        data = Path(folder) / f"{family}-baseline.npz"
        np.savez(data, X_train=X_train, y_train=y_train, one=one, many=many)
        env = dict(os.environ, PYTHONPATH=source, OMP_NUM_THREADS="1")
        self.child = subprocess.Popen(
            [sys.executable, str(HERE / "_latency_child.py"), family, str(epochs)]
            + [str(data)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        ready = self.child.stdout.readline().split()
        if not ready or ready[0] != "ready" or not ready[1].startswith(source):
            raise RuntimeError(f"the baseline child did not start: {ready}")

    def ask(self, command):
        self.child.stdin.write(command + "\n")
        self.child.stdin.flush()
        return self.child.stdout.readline()

    def one(self):
        return float(self.ask("one"))

    def many(self):
        return float(self.ask("many"))

    def close(self):
        self.child.stdin.write("\n")
        self.child.stdin.close()
        self.child.wait()


FLOOR_LABEL = "floor: the matrix products alone, NumPy float32"
RECURRENT_FLOOR_LABEL = "floor: the recurrent layers alone, ONNX Runtime"


def floor_predictor(clf, one, many):
    """``(label, predict)``: the network's matrix products alone, replayed
    with NumPy on the batches ``predict`` would run, a floor under any
    runtime's time; for recurrent networks, whose steps NumPy can only
    replay one call per step (paying Python's call cost at each), their
    recurrent layers alone as ONNX nodes in ONNX Runtime, a floor under
    any exported graph's time (``_floor.py``)."""
    import _floor
    import torch

    network = copy.deepcopy(clf.net_.module_).to("cpu").float().eval()
    recurrent = any(
        isinstance(m, (torch.nn.LSTM, torch.nn.GRU)) for m in network.modules()
    )

    def replay(X):
        values = torch.as_tensor(
            X[..., None] if X.ndim == 2 else X, dtype=torch.float32
        )
        mask = torch.ones(values.shape[:2], dtype=torch.bool)
        if recurrent:
            return _floor.recurrent_replay(
                _floor.recurrent_layers(network, values, mask)
            )
        return _floor.replay(_floor.products(network, values, mask))

    single = replay(one)
    size = clf.batch_size
    batches = [replay(many[i : i + size]) for i in range(0, len(many), size)]

    def predict(X):
        for run in [single] if X is one else batches:
            run()

    return (RECURRENT_FLOOR_LABEL if recurrent else FLOOR_LABEL), predict


def breakdown(clf, one, repeats):
    """Milliseconds of each phase of ``clf.predict(one)``, in its precision.

    The phases are timed apart through the estimator's internals, in the
    order ``predict`` runs them, and in turns with ``predict`` itself; "the
    rest" is what the total has beyond them (threads, output checks, the
    label lookup, and the cache misses of code that runs between network
    calls).
    """
    import numpy as np
    import torch

    from skattn._predict import run_batches
    from skattn._runtime import torch_context

    dtype = getattr(torch, clf.inference_dtype)
    device = torch.device(clf.net_.device)
    network = clf._inference.get(clf.net_.module_, dtype, device)
    seqs = clf._validate_input(one, reset=False)
    values, lengths = clf._tensors(seqs, getattr(np, clf.inference_dtype))

    def forward():
        # validation runs first, untimed, as in predict: the network meets
        # the CPU caches as predict leaves them
        seqs = clf._validate_input(one, reset=False)
        values, lengths = clf._tensors(seqs, getattr(np, clf.inference_dtype))
        threads = torch_context(clf.n_threads, flops=clf._step_flops)
        with threads, torch.inference_mode():
            start = time.perf_counter()
            run_batches(network, values, lengths, "forward", device, clf.batch_size)
            return time.perf_counter() - start

    parts = interleaved_medians(
        {
            "validation and conversion": lambda: clf._validate_input(one, reset=False),
            "standardisation": lambda: clf._tensors(seqs, values.numpy().dtype),
            "network": forward,
            "total": lambda: clf.predict(one),
        },
        repeats,
    )
    total = parts.pop("total")
    parts["the rest"] = max(total - sum(parts.values()), 0.0)
    parts["total"] = total
    return {k: 1000 * v for k, v in parts.items()}


def measure(family, X_train, y_train, X_test, *, epochs, repeats, folder, baseline):
    import numpy as np

    import skattn

    clf = fit(family, X_train, y_train, epochs)
    path = Path(folder) / f"{family}.onnx"
    model = skattn.export_onnx(clf, path)
    exporter = {p.key: p.value for p in model.metadata_props}["exporter"].strip('"')
    one = X_test[:1]
    many = np.concatenate([X_test] * (N_THROUGHPUT // len(X_test) + 1))
    many = many[:N_THROUGHPUT]

    # every runtime of the family, timed in turns (see interleaved_medians)
    predictors, parts, children = {}, [], []
    if baseline is not None:
        commit, source = baseline
        child = BaselinePredictor(
            source, family, epochs, X_train, y_train, one, many, folder
        )
        children.append(child)
        predictors[BASELINE_LABEL.format(commit=commit[:7]), "1"] = lambda X: (
            child.one() if X is one else child.many()
        )
    for dtype in ("float64", "float32"):
        est = copy.deepcopy(clf).set_params(inference_dtype=dtype)
        predictors[f"skattn predict, {DTYPE_LABEL[dtype]}", "1"] = est.predict
        parts.append({"family": family, "dtype": dtype, **breakdown(est, one, repeats)})
    floor_label, floor = floor_predictor(clf, one, many)
    predictors[floor_label, "1"] = floor
    expected = clf.predict(many)
    for threads in (1, None):
        predict = onnx_predictor(path, threads, clf.classes_, clf.batch_size)
        # a timing of wrong answers would be worthless
        assert (predict(many) == expected).all(), "ONNX labels differ from predict"
        label = "1" if threads == 1 else "default"
        predictors[f"ONNX Runtime ({exporter})", label] = predict
    # ONNX Runtime's own thread pool spin-waits after each call and would slow
    # whichever call came next: with its default threads it is timed alone
    groups = [[k for k in predictors if k[1] == "1"]]
    groups += [[k] for k in predictors if k[1] != "1"]
    latency, bulk = {}, {}
    for group in groups:
        latency |= interleaved_medians(
            {key: functools.partial(predictors[key], one) for key in group}, repeats
        )
        bulk |= interleaved_medians(
            {key: functools.partial(predictors[key], many) for key in group},
            N_BULK_REPEATS,
            block=1,
        )
    for child in children:
        child.close()
    rows = [
        {
            "family": family,
            "runtime": runtime,
            "threads": threads,
            "latency_ms": 1000 * latency[runtime, threads],
            "throughput": N_THROUGHPUT / bulk[runtime, threads],
        }
        for runtime, threads in predictors
    ]
    return rows, parts


def breakdown_table(parts):
    phases = [k for k in parts[0] if k not in ("family", "dtype")]
    header = ["model", "precision", *(f"{k} (ms)" for k in phases), "network share"]
    table = [
        [
            p["family"],
            p["dtype"],
            *(f"{p[k]:.3f}" for k in phases),
            f"{p['network'] / p['total']:.0%}",
        ]
        for p in parts
    ]
    return C.markdown_table(header, table)


def speedup_text(info):
    own = (
        "skattn's `predict` in float64 with one thread (the configuration of "
        "the other benchmarks)"
    )
    if info["baseline"] is None:
        return f"Speed-ups are against {own}. The ONNX labels equal `predict`'s."
    return (
        f"Speed-ups are against {own} as it was at commit "
        f"{info['baseline'][:7]}, the last before ONNX export and the work on "
        "single-sequence prediction: that commit's `skattn` runs in a child "
        "process (`_latency_child.py`), fits the same family on the same data "
        "with its own defaults, and times its calls itself, in turns with the "
        "runtimes of this process. The ONNX labels equal `predict`'s."
    )


def markdown(rows, parts, info):
    base = {}
    for row in rows:
        if row["runtime"] == f"skattn predict, {DTYPE_LABEL['float64']}":
            base.setdefault(row["family"], row)
        if row["runtime"].startswith("skattn predict at "):
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
            f"{info['repeats']} calls on one sequence; throughput the median of "
            f"{N_BULK_REPEATS} calls on {N_THROUGHPUT:,} sequences. The runtimes "
            f"of a model are timed in turns ({BLOCK} calls each, round after round), "
            "so that they meet the same load from other processes and their "
            "ratios hold on a busy machine (ONNX Runtime with its default "
            "threads alone, after them: its threads spin-wait after each call "
            "and would slow the next one). " + speedup_text(info),
            "",
            f"The `{FLOOR_LABEL}` row replays the network's matrix products "
            "(linear layers, convolutions as im2col products, the "
            "self-attention products) as NumPy float32 calls on one BLAS "
            "thread, with none of the element-wise work (activations, "
            "normalisation, softmax, masking): no runtime runs the network "
            "faster on this core, so its speed-up is the most any runtime "
            "could give (`_floor.py`). NumPy can replay a recurrent "
            "network's steps only one call per step, paying Python's call "
            "cost at each, which would be no floor; for the LSTM, the "
            f"`{RECURRENT_FLOOR_LABEL}` row runs the network's recurrent "
            "layers alone (the same calls, sizes and steps, as ONNX `LSTM` "
            "nodes) in ONNX Runtime with one thread: the part of the exported "
            "graph that no change to the rest of it can remove.",
            "",
            C.markdown_table(header, table),
            "",
            "## Where skattn's single-sequence `predict` spends its time",
            "",
            "Each phase timed apart (median of as many calls, in turns with "
            "`predict`), in the order "
            "`predict` runs them: checking and converting the input to padded "
            "float64 values and a mask, standardising it into a tensor of the "
            "inference precision, the network (one batch: no sorting or "
            "re-padding) right after validation as in `predict`, and the rest "
            "as the total's remainder: threads, output checks and the label "
            "lookup, and the CPU cache misses of validation and of this glue "
            "code when they run between network calls (each alone, called "
            "again and again, finds its code and data in the caches).",
            "",
            breakdown_table(parts),
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
    p.add_argument(
        "--baseline",
        default=BASELINE,
        help="commit whose predict the speed-ups are against ('none': this one)",
    )
    a = p.parse_args(argv)
    a.baseline = None if a.baseline == "none" else a.baseline
    if a.quick:
        a.epochs, a.repeats = 1, 10
    info = {
        "machine": C.machine(),
        "epochs": a.epochs,
        "repeats": a.repeats,
        "baseline": a.baseline,
    }
    info["machine"]["nproc"] = len(os.sched_getaffinity(0))
    info["versions"] = C.versions(("skattn", "torch", "onnxruntime", "onnx", "numpy"))
    X_train, X_test, y_train, _ = C.load("GunPoint")
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")  # NumPy's products (the floor)
    rows, parts = [], []
    with contextlib.ExitStack() as stack:
        folder = stack.enter_context(tempfile.TemporaryDirectory())
        baseline = None
        if a.baseline is not None:
            baseline = a.baseline, stack.enter_context(baseline_source(a.baseline))
        for family in FAMILIES:
            print(f"{family} ...", flush=True)
            family_rows, family_parts = measure(
                family,
                X_train,
                y_train,
                X_test,
                epochs=a.epochs,
                repeats=a.repeats,
                folder=folder,
                baseline=baseline,
            )
            rows += family_rows
            parts += family_parts
    info["load_end"] = "/".join(f"{x:.1f}" for x in os.getloadavg())
    text = markdown(rows, parts, info)
    print(text)
    if not a.quick:
        Path(a.output).write_text(text)
        print(f"wrote {a.output}")


if __name__ == "__main__":
    main()
