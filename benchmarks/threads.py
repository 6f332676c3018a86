"""Torch threads on a quiet and on a loaded machine: ``n_threads="auto"``
against one thread and against all of torch's threads (``n_threads=None``,
the default before ``"auto"``).

    python benchmarks/threads.py            # full run (38 minutes on a busy 2-core VM)
    python benchmarks/threads.py --quick    # smoke run, about 6 minutes there

Three parts, each with interleaved repeats (quiet and loaded alternate
within a repeat) and medians:

- ``default fits``: the default ``TransformerClassifier`` and
  ``LSTMAttentionClassifier`` on GunPoint (``max_epochs`` reduced) with each
  thread setting, quiet and while a busy-loop process keeps one core busy;
- ``step size``: seconds per training step of Transformers from the default
  size to about 1.5e11 FLOPs a step, with one thread and with all, quiet and
  loaded, next to the count ``"auto"`` gives them (the threshold's basis);
- ``wait policy``: the old default in a child process with
  ``OMP_WAIT_POLICY=PASSIVE`` set before torch starts, and set only after
  ``import torch`` (where OpenMP has already read it).

Every number depends on what else the machine runs: the report records the
load average and the CPU time other processes used during each part.
Writes ``benchmarks/THREADS.md`` (``--quick``: ``THREADS-quick.md``).
"""

import argparse
import datetime
import os
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# _common pins every math library to one thread for the other benchmarks;
# this one compares thread counts, so it keeps the environment it was given.
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
_given = {var: os.environ.get(var) for var in _THREAD_VARS}
import _common as C  # noqa: E402

for _var, _value in _given.items():
    if _value is None:
        os.environ.pop(_var, None)
    else:
        os.environ[_var] = _value

import numpy as np  # noqa: E402
import torch  # noqa: E402

from skattn import LSTMAttentionClassifier, TransformerClassifier  # noqa: E402
from skattn._runtime import auto_threads, step_flops  # noqa: E402
from skattn.datasets import load_gunpoint  # noqa: E402

SETTINGS = (("auto", '`"auto"` (new default)'), (1, "`1`"), (None, "`None` (old)"))
MODELS = (TransformerClassifier, LSTMAttentionClassifier)

# Transformers from the default size up, on 150 steps of one channel: the
# step size part. (name, parameters)
STEP_SIZES = (
    ("default (d_model 64, batch 16, stem stride 2)", {}),
    (
        "d_model 128, batch 64, stem stride 2",
        dict(d_model=128, dim_feedforward=256, batch_size=64),
    ),
    (
        "d_model 128, batch 64, no stem",
        dict(d_model=128, dim_feedforward=256, batch_size=64, conv_stem=None),
    ),
    (
        "d_model 256, 4 layers, batch 64, no stem",
        dict(
            d_model=256,
            dim_feedforward=512,
            num_layers=4,
            batch_size=64,
            conv_stem=None,
        ),
    ),
)

# A core kept busy; the loop ends by itself when the benchmark is gone.
BUSY_LOOP = """
import os
parent = os.getppid()
while os.getppid() == parent:
    for _ in range(1_000_000):
        pass
"""


def log(msg):
    print(msg, flush=True)


def load_average():
    return os.getloadavg()[0]


class OtherCPU:
    """CPU seconds that processes other than this benchmark (and its busy
    loop) used on the machine between ``start`` and ``stop``; NaN where
    ``/proc`` is missing."""

    def __init__(self):
        self.seconds = self.wall = 0.0
        self.own_pids = set()

    @staticmethod
    def _system_busy():
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")

    def _own(self):
        import resource

        # finished child processes (the wait-policy runs), then live ones
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        total = children.ru_utime + children.ru_stime
        for pid in {os.getpid(), *self.own_pids}:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:  # exited
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    @contextmanager
    def measure(self):
        try:
            busy0, own0, t0 = self._system_busy(), self._own(), time.perf_counter()
        except OSError:
            yield
            self.seconds = float("nan")
            return
        yield
        self.seconds += (self._system_busy() - busy0) - (self._own() - own0)
        self.wall += time.perf_counter() - t0

    def cores(self):
        """Cores other processes kept busy on average."""
        return self.seconds / self.wall if self.wall else float("nan")


@contextmanager
def machine_state(loaded, other_cpu):
    """Quiet, or with one busy-loop process; measures the other processes."""
    busy = None
    if loaded:
        busy = subprocess.Popen([sys.executable, "-c", BUSY_LOOP])
        other_cpu.own_pids.add(busy.pid)
        time.sleep(0.5)  # let it reach the loop
    try:
        with other_cpu.measure():
            yield
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
            other_cpu.own_pids.discard(busy.pid)


def timed_fit(model, X, y):
    start = time.perf_counter()
    model.fit(X, y)
    return time.perf_counter() - start


def threads_in_fit(model, X, y):
    """The torch thread count a fit's training steps run with."""
    from skattn._net import SequenceNet

    seen, train_step = set(), SequenceNet.train_step

    def spy(self, *args, **kwargs):
        seen.add(torch.get_num_threads())
        return train_step(self, *args, **kwargs)

    SequenceNet.train_step = spy
    try:
        model.fit(X, y)
    finally:
        SequenceNet.train_step = train_step
    return "/".join(map(str, sorted(seen)))


def default_fits(X, y, epochs, repeats):
    """Median fit seconds per (model, setting, loaded), and the threads."""
    times = {}
    other = {False: OtherCPU(), True: OtherCPU()}
    loads = {False: [], True: []}
    threads = {}
    for cls in MODELS:
        for setting, _ in SETTINGS:
            small = cls(max_epochs=1, n_threads=setting, random_state=0)
            threads[cls, setting] = threads_in_fit(small, X, y)  # and a warm-up
    for repeat in range(repeats):
        for loaded in (False, True) if repeat % 2 == 0 else (True, False):
            with machine_state(loaded, other[loaded]):
                for cls in MODELS:
                    for setting, _ in SETTINGS:
                        model = cls(
                            max_epochs=epochs, n_threads=setting, random_state=0
                        )
                        seconds = timed_fit(model, X, y)
                        times.setdefault((cls, setting, loaded), []).append(seconds)
                        loads[loaded].append(load_average())
                        log(
                            f"  {cls.__name__} n_threads={setting!r} "
                            f"{'loaded' if loaded else 'quiet'}: {seconds:.1f} s"
                        )
    medians = {key: statistics.median(v) for key, v in times.items()}
    return medians, times, threads, other, loads


def step_seconds(params, n_threads, steps):
    """Seconds per training step of a Transformer with ``params`` on random
    sequences of 150 steps (a warm-up epoch first)."""
    batch = params.get("batch_size", 16)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2 * batch, 150, 1))
    y = np.arange(2 * batch) % 2
    model = TransformerClassifier(
        max_epochs=1, n_threads=n_threads, random_state=0, **params
    ).fit(X, y)  # warm-up
    epochs = max(1, steps // 2)
    return timed_fit(model.set_params(max_epochs=epochs), X, y) / (2 * epochs)


def step_sizes(sizes, steps, repeats):
    all_threads = torch.get_num_threads()
    rows, other = [], {False: OtherCPU(), True: OtherCPU()}
    for name, params in sizes:
        batch = params.get("batch_size", 16)
        # the estimate a fit on 150 steps of one channel uses
        rng = np.random.default_rng(0)
        X, y = rng.normal(size=(batch, 150, 1)), np.arange(batch) % 2
        model = TransformerClassifier(**{**params, "max_epochs": 1}).fit(X, y)
        flops = step_flops(model.net_.module_, batch, 150)
        times = {}
        for repeat in range(repeats):
            for loaded in (False, True) if repeat % 2 == 0 else (True, False):
                with machine_state(loaded, other[loaded]):
                    for n in (1, all_threads):
                        seconds = step_seconds(params, n, steps)
                        times.setdefault((n, loaded), []).append(seconds)
        med = {key: statistics.median(v) for key, v in times.items()}
        log(f"  {name}: {flops:.2g} FLOPs, {med}")
        rows.append((name, flops, auto_threads(flops, all_threads), med))
    return rows, other, all_threads


CHILD = """
import os, sys, time
if sys.argv[1] == "before":
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
import torch
if sys.argv[1] == "after":
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
from skattn import TransformerClassifier
from skattn.datasets import load_gunpoint
X, _, y, _ = load_gunpoint(return_X_y=True)
TransformerClassifier(max_epochs=1, n_threads=None, random_state=0).fit(X, y)
start = time.perf_counter()
TransformerClassifier(max_epochs=int(sys.argv[2]), n_threads=None,
                      random_state=0).fit(X, y)
print(time.perf_counter() - start)
"""


def wait_policy(epochs, repeats):
    """Old-default Transformer fits in child processes (all of torch's
    threads), the wait policy set before or after torch starts."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("OMP_WAIT_POLICY", None)
    times, other = {}, {False: OtherCPU(), True: OtherCPU()}
    for repeat in range(repeats):
        for loaded in (False, True) if repeat % 2 == 0 else (True, False):
            with machine_state(loaded, other[loaded]):
                for when in ("unset", "before", "after"):
                    out = subprocess.run(
                        [sys.executable, "-c", CHILD, when, str(epochs)],
                        env=env,
                        capture_output=True,
                        text=True,
                        check=True,
                    )
                    seconds = float(out.stdout.strip().splitlines()[-1])
                    times.setdefault((when, loaded), []).append(seconds)
                    log(f"  OMP_WAIT_POLICY {when}, loaded={loaded}: {seconds:.1f} s")
    return {key: statistics.median(v) for key, v in times.items()}, other


def fmt(x, digits=1):
    return "n/a" if x != x else f"{x:.{digits}f}"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--quick", action="store_true", help="few epochs and repeats: checks it runs"
    )
    p.add_argument("--output", default=None, help="report path")
    a = p.parse_args(argv)
    epochs, repeats = (3, 1) if a.quick else (15, 3)
    sizes = STEP_SIZES[:2] if a.quick else STEP_SIZES
    steps = 2 if a.quick else 4
    output = a.output or os.path.join(
        HERE, "THREADS-quick.md" if a.quick else "THREADS.md"
    )
    mach, vers = C.machine(), C.versions(("skattn", "torch", "skorch", "numpy"))
    if hasattr(os, "sched_getaffinity"):  # the cores this process may use
        mach["nproc"] = len(os.sched_getaffinity(0))
    started = time.perf_counter()
    X, _, y, _ = load_gunpoint(return_X_y=True)

    log("default fits")
    medians, raw, threads, other, loads = default_fits(X, y, epochs, repeats)
    log("step size")
    size_rows, size_other, all_threads = step_sizes(sizes, steps, repeats)
    log("wait policy")
    policy, policy_other = wait_policy(epochs, repeats)
    minutes = (time.perf_counter() - started) / 60

    lines = [
        "# Torch threads on a quiet and on a loaded machine",
        "",
        f"Written by `python benchmarks/threads.py{' --quick' if a.quick else ''}` "
        f"on {datetime.date.today().isoformat()} in {minutes:.0f} minutes. "
        '"Loaded": one extra process runs a busy loop (one core) during the '
        "fit. Repeats are interleaved (quiet and loaded alternate within each "
        f"repeat); every time is the median of {repeats}.",
        "",
        "**These numbers need a quiet machine.** The load average and the "
        "CPU that other processes used (measured from `/proc/stat`, this "
        "benchmark's own processes subtracted) are given for each part: "
        "where other processes used a good part of a core during the "
        '"quiet" runs, the machine was not quiet, and the quiet times of '
        "several threads, and the ratios, are the loaded ones.",
        "",
        "Machine: "
        + ", ".join(f"{k} {v}" for k, v in mach.items())
        + ". Versions: "
        + ", ".join(f"{k} {v}" for k, v in vers.items())
        + f". Torch threads at start (the old default, `n_threads=None`): "
        f"{all_threads}.",
        "",
        f"## Default fits: GunPoint (50 × 150 × 1), `max_epochs={epochs}`",
        "",
        f"Fit seconds. Load average (1 min) during the quiet runs "
        f"{fmt(min(loads[False]))}–{fmt(max(loads[False]))}, during the "
        f"loaded runs {fmt(min(loads[True]))}–{fmt(max(loads[True]))} (the "
        "busy loop and this benchmark count too); cores used by other "
        f"processes: {fmt(other[False].cores(), 2)} quiet, "
        f"{fmt(other[True].cores(), 2)} loaded.",
        "",
    ]
    rows = []
    for cls in MODELS:
        old_quiet = medians[cls, None, False]
        for setting, label in SETTINGS:
            quiet, loaded = medians[cls, setting, False], medians[cls, setting, True]
            rows.append(
                (
                    cls.__name__,
                    label,
                    threads[cls, setting],
                    fmt(quiet),
                    fmt(loaded),
                    f"{loaded / quiet:.2f}×",
                    f"{quiet / old_quiet:.2f}×",
                    " / ".join(f"{s:.1f}" for s in raw[cls, setting, False]),
                    " / ".join(f"{s:.1f}" for s in raw[cls, setting, True]),
                )
            )
    lines.append(
        C.markdown_table(
            (
                "estimator",
                "`n_threads`",
                "threads",
                "quiet (s)",
                "loaded (s)",
                "loaded / quiet",
                "quiet / old default's quiet",
                "quiet runs (s)",
                "loaded runs (s)",
            ),
            rows,
        )
    )
    lines += [
        "",
        "Targets: the default under load within 2× of its quiet time; its "
        "quiet time at most 1.1× the old default's.",
        "",
        "## Step size: where more threads pay",
        "",
        "Seconds per training step (fit time over the steps, after a warm-up "
        "epoch) of Transformers on 150 steps of one channel, with one thread "
        f"and with all {all_threads}; FLOPs from `skattn._runtime.step_flops`. "
        "Cores used by other processes: "
        f"{fmt(size_other[False].cores(), 2)} quiet, "
        f"{fmt(size_other[True].cores(), 2)} loaded.",
        "",
    ]
    rows = []
    for name, flops, auto, med in size_rows:
        one_q, one_l = med[1, False], med[1, True]
        all_q, all_l = med[all_threads, False], med[all_threads, True]
        rows.append(
            (
                name,
                f"{flops:.2g}",
                auto,
                fmt(one_q, 3),
                fmt(all_q, 3),
                f"{one_q / all_q:.2f}×",
                fmt(one_l, 3),
                fmt(all_l, 3),
                f"{one_l / all_l:.2f}×",
            )
        )
    lines.append(
        C.markdown_table(
            (
                "network",
                "FLOPs / step",
                '`"auto"` threads',
                "quiet, 1 thread (s)",
                f"quiet, {all_threads} (s)",
                "speed-up quiet",
                "loaded, 1 thread (s)",
                f"loaded, {all_threads} (s)",
                "speed-up loaded",
            ),
            rows,
        )
    )
    lines += [
        "",
        "## Wait policy",
        "",
        f"The old default (`n_threads=None`, {all_threads} threads) "
        f"Transformer fit, `max_epochs={epochs}`, each in a child process. "
        "libgomp, torch's OpenMP runtime, reads `OMP_WAIT_POLICY` once, when "
        "`import torch` loads it; set later, it changes nothing, so skattn "
        "cannot choose the wait policy for a process that has imported torch. "
        "Cores used by other processes: "
        f"{fmt(policy_other[False].cores(), 2)} quiet, "
        f"{fmt(policy_other[True].cores(), 2)} loaded.",
        "",
    ]
    rows = []
    for when, label in (
        ("unset", "not set"),
        ("before", "`PASSIVE`, set before `import torch`"),
        ("after", "`PASSIVE`, set after `import torch`"),
    ):
        quiet, loaded = policy[when, False], policy[when, True]
        rows.append((label, fmt(quiet), fmt(loaded), f"{loaded / quiet:.2f}×"))
    lines.append(
        C.markdown_table(
            ("`OMP_WAIT_POLICY`", "quiet (s)", "loaded (s)", "loaded / quiet"), rows
        )
    )
    report = "\n".join(lines) + "\n"
    with open(output, "w") as f:
        f.write(report)
    log(report)
    log(f"wrote {output}")


if __name__ == "__main__":
    main()
