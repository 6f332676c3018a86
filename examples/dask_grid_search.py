"""Grid search over attention models on a dask.distributed cluster.

The search is plain scikit-learn: ``GridSearchCV`` over a
``TransformerClassifier`` on GunPoint (UCR archive; Dau et al. 2019), run
under ``joblib.parallel_config(backend="dask")`` so that each
(candidate, fold) fit becomes a task on the cluster's workers. The same
code runs on a LocalCluster on this machine (the default) or on a remote
cluster: start one with

    dask scheduler                              # on the scheduler host
    dask worker tcp://scheduler:8786 --nworkers 4 --nthreads 1   # per host

and pass its address: ``--scheduler tcp://scheduler:8786``. Every worker
needs the same versions of torch and skattn as this process (identical
results also need the same device and thread count).

Threads: dask starts each worker process with OMP_NUM_THREADS=1, so torch
trains with one thread per worker and ``n_threads`` can keep its default; with
``--nthreads 1`` and one worker process per core nothing oversubscribes.
GPUs: with several GPUs on a host, ``device="auto"`` spreads its worker
processes over them; or run one worker per GPU (dask-cuda's
``dask cuda worker`` pins each to one GPU).

``--cache DIR`` wraps the model in :class:`skattn.model_selection.CachedFit`:
every finished fit is stored in DIR, and rerunning an interrupted search
trains only what had not finished (DIR must be reachable by every worker).

Run: python examples/dask_grid_search.py [--scheduler ADDRESS] [--cache DIR]
(--fast, or SKATTN_EXAMPLES_FAST=1, for a quick run with 2 epochs: its
accuracies are not meaningful)
Needs: pip install "skattn[dask]"
"""

import argparse
import os
import time

import joblib
from distributed import Client, LocalCluster
from sklearn.model_selection import GridSearchCV

from skattn import TransformerClassifier
from skattn.datasets import load_gunpoint
from skattn.model_selection import CachedFit

FAST_BANNER = (
    "FAST MODE (SKATTN_EXAMPLES_FAST=1 or --fast): tiny training, "
    "results are not meaningful"
)

GRID = {
    "attention": ["additive", "multihead"],
    "num_heads": [1, 2],
    "lr": [3e-3, 1e-2],
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scheduler", help="address of a running scheduler, e.g. tcp://host:8786"
    )
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster size")
    parser.add_argument("--cache", help="folder that keeps finished fits")
    parser.add_argument(
        "--fast",
        action="store_true",
        default=os.environ.get("SKATTN_EXAMPLES_FAST") == "1",
        help="a quick run that checks the script works (also "
        "SKATTN_EXAMPLES_FAST=1): 2 epochs, results not meaningful",
    )
    parser.add_argument("--max-epochs", type=int, help="default 40, 2 with --fast")
    args = parser.parse_args()
    if args.max_epochs is None:
        args.max_epochs = 2 if args.fast else 40
    if args.fast:
        print(FAST_BANNER + "\n")

    if args.scheduler:
        cluster, client = None, Client(args.scheduler)
    else:
        cluster = LocalCluster(
            n_workers=args.workers, threads_per_worker=1, dashboard_address=None
        )
        client = Client(cluster)
    print(f"dask cluster: {client}")

    X_train, X_test, y_train, y_test = load_gunpoint(return_X_y=True)
    model = TransformerClassifier(
        d_model=16,
        dim_feedforward=32,
        num_layers=1,
        batch_size=16,
        max_epochs=args.max_epochs,
        random_state=0,
    )
    grid = GRID
    if args.cache:
        model = CachedFit(model, memory=args.cache)
        grid = {f"estimator__{name}": values for name, values in GRID.items()}
    search = GridSearchCV(model, grid, cv=3, n_jobs=-1)
    try:
        start = time.perf_counter()
        with joblib.parallel_config(backend="dask"):
            search.fit(X_train, y_train)
        seconds = time.perf_counter() - start
    finally:
        client.close()
        if cluster is not None:
            cluster.close()

    n_fits = len(search.cv_results_["params"]) * search.n_splits_
    print(f"{n_fits} fits and the refit in {seconds:.1f} s\n")
    print(f"{'rank':>4}  {'mean cv accuracy':>16}  parameters")
    results = search.cv_results_
    for i in sorted(
        range(len(results["params"])), key=results["rank_test_score"].__getitem__
    ):
        params = {k.split("__")[-1]: v for k, v in results["params"][i].items()}
        print(
            f"{results['rank_test_score'][i]:>4}  "
            f"{results['mean_test_score'][i]:>16.3f}  {params}"
        )
    print(f"\nbest: {search.best_params_}")
    print(
        f"test accuracy of the refitted best model: {search.score(X_test, y_test):.3f}"
    )
    if args.fast:
        print("\n" + FAST_BANNER)


if __name__ == "__main__":
    main()
