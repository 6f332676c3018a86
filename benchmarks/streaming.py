"""Training on a dask array larger than memory: peak memory and throughput.

One epoch of ``LSTMAttentionClassifier(hidden_size=8, max_epochs=1,
n_threads=1, batch_size=128)`` on

- ``streamed``: a dask array of ``n`` sequences of 64 steps and 64 float32
  channels (4 GiB by default), generated lazily by ``dask.array.random``
  with a fixed seed in blocks of 4,096 sequences (64 MiB) and never held in
  memory: ``fit`` reads it block by block;
- ``streamed, 1/16``: the first 1/16 of the same sequences, streamed;
- ``in memory``: those 1/16 as a numpy array (generated before ``fit``).

Each runs in a fresh child process, which reports the resident set just
before ``fit`` (torch, the interpreter, and for ``in memory`` the array),
the peak during ``fit`` (Linux ``VmHWM``, reset before the call, and a
psutil sample every 10 ms where the reset is not allowed), and the
sequences per second of the whole ``fit`` call (the streamed fits include
their pass for the input statistics, and generate the data in both passes).
The small fits run twice, before and after the long one, and the faster run
of each is reported. Labels are random: only speed and memory are measured.

Usage::

    python benchmarks/streaming.py             # 4 GiB, writes STREAMING.md
    python benchmarks/streaming.py --gib 0.25 --no-write
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import reset_peak, rss_mib  # noqa: E402

T, C, BLOCK_ROWS, BATCH = 64, 64, 4096, 128
SEED = 0


class _Sampler(threading.Thread):
    """The largest resident set seen, sampled every 10 ms."""

    def __init__(self):
        super().__init__(daemon=True)
        import psutil

        self.process = psutil.Process()
        self.peak = 0
        self.done = threading.Event()

    def run(self):
        while not self.done.wait(0.01):
            self.peak = max(self.peak, self.process.memory_info().rss)


def child(mode, n):
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    import dask
    import dask.array as da
    import numpy as np
    import torch

    from skattn import LSTMAttentionClassifier

    torch.set_num_threads(1)
    dask.config.set(scheduler="threads", num_workers=2)
    X = da.random.default_rng(SEED).standard_normal(
        (n, T, C), dtype=np.float32, chunks=(BLOCK_ROWS, T, C)
    )
    y = np.random.default_rng(SEED).integers(0, 2, n)
    generate_s = None
    if mode != "streamed":  # the first 1/16 of the sequences
        n = n // 16
        X, y = X[:n], y[:n]
        start = time.perf_counter()
        for k in range(X.numblocks[0]):  # one pass of generating the data
            X.blocks[k].compute()
        generate_s = time.perf_counter() - start
    if mode == "memory":
        X = X.compute()
    model = LSTMAttentionClassifier(
        hidden_size=8, max_epochs=1, n_threads=1, batch_size=BATCH, random_state=0
    )
    sampler = _Sampler()
    before = rss_mib("VmRSS")
    reset = reset_peak()
    sampler.start()
    start = time.perf_counter()
    model.fit(X, y)
    seconds = time.perf_counter() - start
    sampler.done.set()
    sampler.join()
    peak = max(sampler.peak / 2**20, rss_mib("VmHWM") if reset else 0.0)
    print(
        json.dumps(
            {
                "mode": mode,
                "sequences": n,
                "data GiB": n * T * C * 4 / 2**30,
                "rss before fit MiB": before,
                "peak during fit MiB": peak,
                "peak - before MiB": peak - before,
                "fit s": seconds,
                "sequences/s": n / seconds,
                "generate s": generate_s,
                "peak from": "VmHWM and 10 ms samples" if reset else "10 ms samples",
            }
        )
    )


def _rate(row):
    return row["sequences/s"]


def run_child(mode, n):
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--n", str(n)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        raise RuntimeError(f"the {mode} child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(rows, machine, load_before, load_after):
    streamed, small, memory = rows["streamed"], rows["small"], rows["memory"]
    ratio = streamed["sequences/s"] / memory["sequences/s"]
    ratio_small = small["sequences/s"] / memory["sequences/s"]
    extra = streamed["peak - before MiB"]
    # generating the data costs the streamed fits two passes (statistics,
    # then the epoch); the in-memory fit gets its array ready-made
    per_seq = memory["generate s"] / memory["sequences"]
    lines = [
        "# Training on a dask array larger than memory",
        "",
        "Written by `python benchmarks/streaming.py` (one run). One epoch of "
        "`LSTMAttentionClassifier(hidden_size=8, max_epochs=1, n_threads=1, "
        f"batch_size={BATCH})` on sequences of {T} steps and {C} float32 "
        "channels; each row is a fresh process.",
        "",
        f"- streamed: a lazily generated dask array (`dask.array.random`, seed "
        f"{SEED}) of {streamed['sequences']:,} sequences "
        f"({streamed['data GiB']:.2f} GiB) in blocks of {BLOCK_ROWS:,} sequences "
        f"({BLOCK_ROWS * T * C * 4 / 2**20:.0f} MiB), never held in memory;",
        f"- streamed, 1/16: the first {small['sequences']:,} of those sequences, "
        "the same way;",
        f"- in memory: the same {memory['sequences']:,} sequences as a numpy "
        f"array ({memory['data GiB']:.2f} GiB), generated before `fit`.",
        "",
        "The two small fits ran twice each, before and after the long one "
        "(sequences/s: in memory "
        + ", ".join(f"{r:.0f}" for r in memory["rates"])
        + "; streamed 1/16 "
        + ", ".join(f"{r:.0f}" for r in small["rates"])
        + "); the table shows the faster run of each.",
        "",
        "| | sequences | data (GiB) | RSS before fit (MiB) | peak during fit (MiB) "
        "| peak - before (MiB) | fit (s) | sequences/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in (
        ("streamed", streamed),
        ("streamed, 1/16", small),
        ("in memory", memory),
    ):
        lines.append(
            f"| {name} | {row['sequences']:,} | {row['data GiB']:.2f} "
            f"| {row['rss before fit MiB']:.0f} | {row['peak during fit MiB']:.0f} "
            f"| {row['peak - before MiB']:.0f} | {row['fit s']:.1f} "
            f"| {row['sequences/s']:.0f} |"
        )
    mem_ok = "met" if extra < 1024 else "missed"
    speed_ok = "met" if min(ratio, ratio_small) >= 0.8 else "missed"
    lines += [
        "",
        f"- Memory: the streamed fit peaked {extra:.0f} MiB above the resident set "
        f"before `fit` (torch, the interpreter and the model), for "
        f"{streamed['data GiB']:.1f} GiB of data; target below 1 GiB: {mem_ok}. "
        f"Peaks from {streamed['peak from']}.",
        f"- Throughput: the streamed fits trained {ratio:.2f} (all) and "
        f"{ratio_small:.2f} (1/16) times as many sequences per second as the "
        "in-memory fit; target at least 0.8: "
        f"{speed_ok}. Their times include the pass over the data for the input "
        "statistics and generating the data twice (statistics, epoch): "
        f"{per_seq * 1e6:.0f} µs per sequence and pass, measured on the 1/16 "
        f"({2 * per_seq * streamed['sequences']:.0f} s of the long fit). The "
        "in-memory fit gets its array ready-made.",
        "",
        "Machine: "
        + ", ".join(f"{k} {v}" for k, v in machine.items())
        + f". Load average (1/5/15 min) before: {load_before}, after: "
        f"{load_after}; other processes shared the cores, so the times are only "
        "as quiet as that.",
        "",
    ]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=4.0)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--output", default=str(HERE / "STREAMING.md"))
    parser.add_argument("--child", choices=["streamed", "small", "memory"])
    parser.add_argument("--n", type=int)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.n)
        return
    sys.path.insert(0, str(HERE))
    from _common import machine

    n = int(round(args.gib * 2**30 / (T * C * 4) / BLOCK_ROWS)) * BLOCK_ROWS
    load_before = "/".join(f"{v:.2f}" for v in os.getloadavg())
    # the small pair twice, around the long run: load drifts over minutes
    runs = [run_child(mode, n) for mode in ("memory", "small", "streamed")]
    runs += [run_child(mode, n) for mode in ("small", "memory")]
    rows = {"streamed": runs[2]}
    for mode in ("memory", "small"):
        pair = sorted((r for r in runs if r["mode"] == mode), key=_rate)
        rows[mode] = pair[len(pair) // 2]  # the faster of two
        rows[mode]["rates"] = [_rate(r) for r in runs if r["mode"] == mode]
    load_after = "/".join(f"{v:.2f}" for v in os.getloadavg())
    info = {k: v for k, v in machine().items() if not k.startswith("load average")}
    text = report(rows, info, load_before, load_after)
    print(text)
    if not args.no_write:
        Path(args.output).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
