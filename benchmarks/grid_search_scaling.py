"""Time one grid search run serially, on joblib's loky processes and on dask.

The grid is the one of ``examples/dask_grid_search.py`` (8 candidates of a
small ``TransformerClassifier`` on GunPoint, 3 folds: 24 fits, no refit).
Each way of running it is timed ``--repeats`` times after starting its
worker processes (start-up: reported on its own) and a 1-epoch warm-up
search in them (a process's first fit is slow); the table gives the median
and the range of the wall time, the CPU time spent, the load average of the
machine around the runs, and whether the mean cross-validated accuracy of
every candidate equals that of the serial one-thread search.

Run: python benchmarks/grid_search_scaling.py [--repeats 3] [--max-epochs 20]
Writes the markdown table to stdout and to benchmarks/GRID_SEARCH.md.
"""

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import joblib
import numpy as np
import sklearn
import skorch
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

import skattn
from skattn import TransformerClassifier
from skattn.datasets import load_gunpoint

GRID = {
    "attention": ["additive", "multihead"],
    "num_heads": [1, 2],
    "lr": [3e-3, 1e-2],
}


def cpu_name():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load():
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def worker_threads():
    """What a fit with n_threads=None uses in a worker: torch's setting."""
    import skattn  # noqa: F401 - import torch and skattn in the worker

    return torch.get_num_threads()


def search(model, n_jobs, X, y):
    return GridSearchCV(model, GRID, cv=3, n_jobs=n_jobs, refit=False).fit(X, y)


def cpu_seconds():
    """CPU time (user + system) of this process and its live children (the
    loky and dask workers), or NaN without psutil (a dask dependency)."""
    try:
        import psutil
    except ImportError:
        return float("nan")
    me = psutil.Process()
    total = 0.0
    for process in [me, *me.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.Error:  # exited meanwhile
            continue
        total += times.user + times.system
    return total


def time_runs(run, repeats):
    seconds, cpu, results, loads = [], [], None, [load()]
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), cpu_seconds()
        results = run()
        seconds.append(time.perf_counter() - start)
        cpu.append(cpu_seconds() - start_cpu)
        loads.append(load())
    return seconds, cpu, results, loads


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-epochs", type=int, default=20)
    parser.add_argument(
        "--output", default=Path(__file__).with_name("GRID_SEARCH.md"), type=Path
    )
    args = parser.parse_args()

    X, _, y, _ = load_gunpoint(return_X_y=True)
    model = TransformerClassifier(
        d_model=16,
        dim_feedforward=32,
        num_layers=1,
        batch_size=16,
        max_epochs=args.max_epochs,
        random_state=0,
    )
    default_threads = torch.get_num_threads()
    rows, reference = [], None

    def record(name, workers, threads, startup, timed):
        nonlocal reference
        seconds, cpu, results, loads = timed
        scores = results.cv_results_["mean_test_score"]
        if reference is None:
            reference = scores
        rows.append(
            (
                name,
                workers,
                threads,
                startup,
                statistics.median(seconds),
                min(seconds),
                max(seconds),
                statistics.median(cpu),
                bool(np.array_equal(scores, reference)),
                " → ".join(loads),
            )
        )
        print(f"done: {name} {[round(s, 1) for s in seconds]} s", file=sys.stderr)

    warm_up = clone(model).set_params(max_epochs=1)  # a process's first fit is slow
    search(warm_up, 1, X, y)

    one_thread = clone(model).set_params(n_threads=1)
    timed = time_runs(lambda: search(one_thread, 1, X, y), args.repeats)
    record("serial, `n_jobs=1`, `n_threads=1`", 1, 1, None, timed)
    timed = time_runs(lambda: search(model, 1, X, y), args.repeats)
    record("serial, `n_jobs=1`", 1, default_threads, None, timed)

    start = time.perf_counter()
    threads = set(
        joblib.Parallel(n_jobs=2)(joblib.delayed(worker_threads)() for _ in range(4))
    )
    startup = time.perf_counter() - start
    search(warm_up, 2, X, y)
    timed = time_runs(lambda: search(model, 2, X, y), args.repeats)
    record("loky, `n_jobs=2`", 2, "/".join(map(str, sorted(threads))), startup, timed)

    try:
        from distributed import Client, LocalCluster
    except ImportError:
        print("dask.distributed is not installed: no dask row", file=sys.stderr)
    else:
        start = time.perf_counter()
        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=None
        )
        client = Client(cluster)
        threads = set(client.run(worker_threads).values())
        startup = time.perf_counter() - start
        try:
            with joblib.parallel_config(backend="dask"):
                search(warm_up, -1, X, y)
                timed = time_runs(lambda: search(model, -1, X, y), args.repeats)
        finally:
            client.close()
            cluster.close()
        record(
            "dask LocalCluster, 2 workers × 1 thread",
            2,
            "/".join(map(str, sorted(threads))),
            startup,
            timed,
        )

    versions = (
        f"Python {platform.python_version()}, torch {torch.__version__}, "
        f"scikit-learn {sklearn.__version__}, skorch {skorch.__version__}, "
        f"joblib {joblib.__version__}, skattn {skattn.__version__}"
    )
    try:
        import dask

        versions += f", dask {dask.__version__}"
    except ImportError:
        pass
    serial = rows[0][4]
    lines = [
        "# Grid search scaling",
        "",
        f"GridSearchCV over {GRID} of `TransformerClassifier(d_model=16, "
        f"dim_feedforward=32, num_layers=1, batch_size=16, "
        f"max_epochs={args.max_epochs})` on GunPoint (50 × 150 × 1), `cv=3`: "
        f"24 fits, no refit. Median of {args.repeats} runs after a warm-up "
        "search (1 epoch) in the same processes; start-up (starting the "
        "workers and importing torch in them) is reported apart. CPU time: "
        "user + system seconds of this process and its worker processes "
        "during a run (median). The load average counts this benchmark's own "
        "busy processes too: 1 for a serial search, 2 for the others.",
        "",
        f"Machine: {cpu_name()}, {os.cpu_count()} logical CPUs, "
        f"{platform.system()} {platform.release()}. {versions}.",
        "",
        "| how | workers | torch threads per fit | start-up (s) | search (s) "
        "| range (s) | speed-up vs 1 thread | CPU time (s) "
        "| mean CV accuracy equal to serial 1-thread "
        "| load average (1/5/15 min) before → after each run |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, workers, threads, startup, med, low, high, cpu, equal, loads in rows:
        lines.append(
            f"| {name} | {workers} | {threads} | "
            f"{'—' if startup is None else f'{startup:.1f}'} | {med:.1f} | "
            f"{low:.1f}–{high:.1f} | {serial / med:.2f}× | {cpu:.1f} | "
            f"{'yes' if equal else 'no'} | {loads} |"
        )
    table = "\n".join(lines) + "\n"
    print(table)
    args.output.write_text(table)


if __name__ == "__main__":
    main()
