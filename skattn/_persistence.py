"""Saving and loading fitted estimators and pipelines without pickle.

A model file is a ``torch.save`` archive (a zip) holding only tensors and
plain Python data (str, int, float, bool, None, lists and dicts). :func:`load`
reads it with ``torch.load(weights_only=True)``, which refuses anything else,
so a model file from a stranger cannot run code. There are two kinds, told
apart by the archive's ``"format"`` entry:

- ``"skattn-model"`` (version 1): one skattn estimator: hyperparameters,
  fitted attributes, the network's ``state_dict`` and a format version.
  A hyperparameter added to a class later is absent from its older files;
  loading takes it from the class's ``_legacy_params`` (the value that
  reproduces those files' networks) when there is one, else from the
  constructor default.
- ``"skattn-pipeline"`` (version 1): any other scikit-learn object, typically
  a ``Pipeline`` (or a search's ``best_estimator_``) whose steps mix skattn
  estimators, skattn preprocessing and scikit-learn transformers. The archive
  holds the object in skops' secure format (``skops.io``, as a uint8 tensor)
  with every skattn estimator step replaced by the placeholder string
  ``"skattn-estimator:<k>"``, and under ``"estimators"`` the ``k``-th
  estimator as a ``"skattn-model"`` entry. Loading audits the skops part
  (``skops.io.get_untrusted_types``) before building anything: scikit-learn
  types that skops trusts and skattn's own preprocessing classes load, any
  other type (a ``FunctionTransformer``'s function, a custom class) is
  refused by name unless the caller passes it in ``trusted``. The networks
  never pass through skops, whose generic object support would need torch
  and skorch types trusted; they keep skattn's own checked format.

skops is an optional dependency (``pip install "skattn[skops]"``), needed
only for the second kind. Files are written to a temporary file in the
destination's folder and moved over the destination only once complete, so a
failed save (a full disk, an interrupted process) leaves the previous file
intact. Pickle and joblib keep working as well, for users who trust the file;
:func:`load` recognises such files by their first bytes and refuses them.
"""

import contextlib
import copy
import os
import pickle
import secrets
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from . import preprocessing
from ._runtime import resolve_device
from ._scaling import check_input_scaling
from ._version import __version__

FORMAT = "skattn-model"
FORMAT_VERSION = 1
PIPELINE_FORMAT = "skattn-pipeline"
PIPELINE_FORMAT_VERSION = 1
# Stands in for the k-th skattn estimator in the skops part of a pipeline file.
_PLACEHOLDER = "skattn-estimator:"
# torch.save writes a zip archive; a pickle (joblib's default) starts with the
# PROTO opcode, a compressed joblib file with its compressor's magic bytes.
_ZIP_MAGIC = b"PK\x03\x04"
_PICKLE_MAGIC = (
    b"\x80",
    b"x\x01",
    b"x\x5e",
    b"x\x9c",
    b"x\xda",
    b"\x1f\x8b",
    b"\xfd7zXZ",
    b"BZh",
    b"\x04\x22\x4d\x18",
)

_O_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation

# The estimator classes a model file may name, registered by ``model_class``.
_MODEL_CLASSES = {}


def model_class(cls):
    """Class decorator: let :func:`load` rebuild estimators of ``cls``."""
    _MODEL_CLASSES[cls.__name__] = cls
    return cls


def _encode(value):
    """Plain-data form of a fitted attribute."""
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    return value


def _decode(value):
    if isinstance(value, dict) and "__ndarray__" in value:
        dtype = np.dtype(value["dtype"])
        if dtype.kind == "O":
            out = np.empty(len(value["__ndarray__"]), dtype=object)
            out[:] = value["__ndarray__"]
            return out
        return np.asarray(value["__ndarray__"], dtype=dtype)
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        return {k: _decode(v) for k, v in value.items()}
    return value


def _plain_params(estimator):
    params = estimator.get_params(deep=False)
    random_state = params.get("random_state")
    if random_state is not None and not isinstance(random_state, (int, np.integer)):
        # a RandomState instance is not plain data; its use is over once fitted
        params["random_state"] = None
    return _encode(params)


def _is_model(obj):
    """Whether ``obj`` is a skattn estimator (saved in skattn's own format)."""
    return isinstance(obj, BaseEstimator) and callable(
        getattr(obj, "_saved_attributes", None)
    )


def _model_state(estimator):
    """The ``"skattn-model"`` entry of a fitted skattn estimator."""
    check_is_fitted(estimator, "net_")
    fitted = {
        name: _encode(getattr(estimator, name))
        for name in estimator._saved_attributes()
        if hasattr(estimator, name)
    }
    state_dict = {
        k: v.detach().cpu() for k, v in estimator.net_.module_.state_dict().items()
    }
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "skattn_version": __version__,
        "class": type(estimator).__name__,
        "params": _plain_params(estimator),
        "fitted": fitted,
        "state_dict": state_dict,
    }


def _import_skops(action):
    try:
        import skops.io
    except ImportError as exc:
        raise ImportError(
            f"{action} needs skops (scikit-learn's secure persistence format); "
            'install it with pip install "skattn[skops]" (or pip install skops)'
        ) from exc
    return skops.io


def _trusted_skattn_types():
    """skattn's preprocessing classes: plain data, safe to rebuild from a file."""
    return [f"{preprocessing.__name__}.{name}" for name in preprocessing.__all__]


def _pipeline_state(obj):
    """The ``"skattn-pipeline"`` entry of a scikit-learn object."""
    sio = _import_skops("skattn.save of a Pipeline or other scikit-learn object")
    models = []
    skeleton = _take_models(obj, models)
    _reject_stray_models(skeleton, type(obj).__name__)
    entries = [_model_state(model) for model in models]  # fitted, or an error
    data = sio.dumps(skeleton)
    return {
        "format": PIPELINE_FORMAT,
        "format_version": PIPELINE_FORMAT_VERSION,
        "skattn_version": __version__,
        "skops": torch.frombuffer(bytearray(data), dtype=torch.uint8),
        "estimators": entries,
    }


def _take_models(obj, models):
    """``obj`` with the skattn estimators among its Pipeline steps (at any
    depth of nested Pipelines) replaced by placeholders, appended to
    ``models``; ``obj`` itself is not changed (changed Pipelines are copies)."""
    if not isinstance(obj, Pipeline):
        return obj
    steps = []
    for name, step in obj.steps:
        if _is_model(step):
            steps.append((name, f"{_PLACEHOLDER}{len(models)}"))
            models.append(step)
        else:
            steps.append((name, _take_models(step, models)))
    skeleton = copy.copy(obj)  # shallow: the other steps are not copied
    skeleton.steps = steps
    return skeleton


def _reject_stray_models(obj, where, seen=None):
    """Refuse skattn estimators that are not Pipeline steps (e.g. in a search):
    skops cannot store their networks, and skattn stores them only as steps."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if _is_model(obj):
        raise ValueError(
            f"skattn.save stores skattn estimators on their own or as Pipeline "
            f"steps, but {where} is a {type(obj).__name__}; save the fitted "
            "model itself (for a search: skattn.save(search.best_estimator_, path))"
        )
    if isinstance(obj, BaseEstimator):
        children = ((f"{where}.{k}", v) for k, v in vars(obj).items())
    elif isinstance(obj, (list, tuple)):
        children = ((f"{where}[{i}]", v) for i, v in enumerate(obj))
    elif isinstance(obj, dict):
        children = ((f"{where}[{k!r}]", v) for k, v in obj.items())
    else:
        return
    for child_where, child in children:
        _reject_stray_models(child, child_where, seen)


def save(obj, path):
    """Save a fitted skattn estimator or Pipeline to ``path`` without pickle.

    A skattn estimator is saved in skattn's own format (the same file as
    ``estimator.save(path)``). A ``Pipeline``, or any other scikit-learn
    object, is saved in skops' secure format, with the networks of its skattn
    estimator steps in skattn's format inside the same file; this needs
    ``pip install "skattn[skops]"``. The file is written next to ``path``
    first and moved over it only when complete, so a failed save leaves an
    earlier file at ``path`` as it was.

    Parameters
    ----------
    obj : fitted skattn estimator, Pipeline or scikit-learn estimator
        What to save; skattn estimators in it must be the object itself or
        steps of (nested) Pipelines, e.g. a search's ``best_estimator_``.
    path : str, path-like or binary file object
        Destination file (conventionally ``.skattn``).

    Raises
    ------
    ImportError
        If ``obj`` is not a skattn estimator and skops is not installed.
    ValueError
        If a skattn estimator sits elsewhere than as a Pipeline step (e.g. a
        whole ``GridSearchCV``: save its ``best_estimator_``).

    See Also
    --------
    skattn.load : Read the file back.

    Examples
    --------
    >>> import os
    >>> import tempfile
    >>> from sklearn.pipeline import make_pipeline
    >>> import skattn
    >>> from skattn import SequenceScaler, TransformerClassifier
    >>> from skattn.datasets import load_gunpoint
    >>> X, _, y, _ = load_gunpoint(return_X_y=True)
    >>> model = make_pipeline(
    ...     SequenceScaler(), TransformerClassifier(max_epochs=1, random_state=0)
    ... ).fit(X, y)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "model.skattn")
    ...     skattn.save(model, path)
    ...     loaded = skattn.load(path)
    >>> bool((loaded.predict_proba(X) == model.predict_proba(X)).all())
    True
    """
    state = _model_state(obj) if _is_model(obj) else _pipeline_state(obj)
    _write_atomic(path, lambda file: torch.save(state, file))


def _write_atomic(path, write):
    """Call ``write(file)`` on a new file that replaces ``path`` once complete.

    The new file lives in the destination's folder (``os.replace`` is atomic
    only within one file system) and is flushed to disk before it replaces
    the destination, so that a crash right after cannot leave an empty file.
    """
    if not isinstance(path, (str, bytes, os.PathLike)):  # an open file object
        write(path)
        return
    # write through a symbolic link, as open() would, instead of replacing it
    path = os.path.realpath(os.fsdecode(path))
    folder, name = os.path.split(path)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot save to {path}: no folder {folder}")
    while True:
        temp = os.path.join(folder, f".{name}.{secrets.token_hex(4)}.tmp")
        try:
            # mode 0o666 less the umask: the permissions open() would give
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_folder(folder)


def _fsync_folder(folder):
    """Make the rename itself durable (POSIX; Windows has no folder handles)."""
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot sync a folder; the file is
        pass
    finally:
        os.close(fd)


def _file_kind_error(path):
    """An error for a file that is not a zip archive, or None if it is one.

    Checked before torch reads the file: torch warns about pickles it is
    given, and a joblib file deserves a clearer answer than a parse error.
    """
    if hasattr(path, "read"):  # an open file object: peek, then rewind
        position = path.tell()
        head = path.read(len(_ZIP_MAGIC))
        path.seek(position)
    else:
        with open(path, "rb") as file:
            head = file.read(len(_ZIP_MAGIC))
    if head.startswith(_ZIP_MAGIC):
        return None
    if not head:
        return ValueError(f"{path} is not a skattn model file: it is empty")
    if head.startswith(_PICKLE_MAGIC):
        return ValueError(
            f"{path} is not a skattn model file: it looks like a pickle or joblib "
            "file, which skattn.load never reads because loading one can run "
            "code. If you trust its source, read it with joblib.load; save "
            "models with skattn.save(model, path) or estimator.save(path)"
        )
    return ValueError(
        f"{path} is not a skattn model file (or it is corrupted): it is not the "
        "zip archive that skattn.save writes"
    )


def _read_archive(path):
    """The content of a torch archive, as tensors and plain data only."""
    error = _file_kind_error(path)
    if error is not None:
        raise error
    try:
        with warnings.catch_warnings():
            # a damaged archive may declare another pickle protocol: the
            # ValueError below says what matters
            warnings.filterwarnings("ignore", "Detected pickle protocol")
            return torch.load(path, map_location="cpu", weights_only=True)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise  # about the path, not the content: the message says it all
    except pickle.UnpicklingError as exc:
        if "Unsupported global" in str(exc):  # weights_only refused an object
            raise ValueError(
                f"{path} is not a skattn model file: it holds objects other than "
                "tensors and plain data, which skattn never loads (nothing in the "
                "file was run)"
            ) from None
        raise ValueError(  # not a pickle torch can read: garbage or damage
            f"{path} is not a skattn model file (or it is corrupted): its content "
            "cannot be read as tensors and plain data"
        ) from None
    except Exception as exc:  # noqa: BLE001 - any byte string may reach here
        # torch's readers fail on damaged archives with RuntimeError, EOFError,
        # BadZipFile, UnicodeDecodeError, KeyError, IndexError...
        raise ValueError(
            f"{path} is not a readable skattn model file (truncated or corrupted?): "
            f"{type(exc).__name__}: {exc}"
        ) from None


def load(path, *, device=None, trusted=None):
    """Load an estimator or Pipeline saved by skattn; no code in the file runs.

    Parameters
    ----------
    path : str, path-like or binary file object
        File written by :func:`skattn.save` or an estimator's ``save``.
    device : str, optional
        Where to place the networks (``"cpu"``, ``"cuda"``, ``"auto"``). By
        default each estimator's own ``device``, or the CPU when that names
        CUDA and none is available: a model trained on a GPU loads on a
        CPU-only machine.
    trusted : list of str, optional
        Only for Pipelines and other scikit-learn objects: types to rebuild
        beyond those trusted by default (scikit-learn types that skops
        trusts, and skattn's preprocessing classes), named as in the error
        that refuses them, e.g. ``["mymodule.MyTransformer"]``. Trust only
        types from files whose source you trust: rebuilding an object may run
        its class's code.

    Returns
    -------
    estimator : object
        The fitted estimator or Pipeline, predicting exactly as before it was
        saved (on the same device and thread count).

    Raises
    ------
    ValueError
        If the file is truncated, corrupted, not a skattn model (e.g. a
        pickle or joblib file), from a newer format version, holds anything
        but tensors and plain data, or holds types that are not trusted; or
        if ``device`` names a device that is not available here.
    ImportError
        If the file holds a Pipeline and skops is not installed.

    Examples
    --------
    >>> import os
    >>> import tempfile
    >>> from skattn import LSTMAttentionClassifier, load
    >>> from skattn.datasets import load_gunpoint
    >>> X, _, y, _ = load_gunpoint(return_X_y=True)
    >>> model = LSTMAttentionClassifier(hidden_size=8, max_epochs=1, random_state=0)
    >>> model = model.fit(X, y)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "model.skattn")
    ...     model.save(path)
    ...     loaded = load(path)
    >>> bool((loaded.predict(X) == model.predict(X)).all())
    True
    """
    if trusted is not None and (
        isinstance(trusted, str)
        or not all(isinstance(name, str) for name in _iterable(trusted))
    ):
        raise TypeError(
            f"trusted must be a list of type names such as "
            f"['mymodule.MyTransformer'], got {trusted!r}"
        )
    if device is not None:
        # checked before the file: a device missing here is the caller's
        # setting to change, not a fault of the model file
        device = resolve_device(device)
    state = _read_archive(path)
    kind = state.get("format") if isinstance(state, dict) else None
    if kind == FORMAT:
        return _load_model(state, path, device)
    if kind == PIPELINE_FORMAT:
        return _load_pipeline(state, path, device, list(trusted or []))
    raise ValueError(f"{path} is not a skattn model file")


def _iterable(value):
    try:
        return list(value)
    except TypeError:
        return [None]  # not iterable: fails the type check


def _check_version(state, path, newest):
    version = state.get("format_version")
    if type(version) is not int or version < 1:
        raise ValueError(f"{path} has an invalid model format version {version!r}")
    if version > newest:
        raise ValueError(
            f"{path} has model format version {version!r}, but skattn "
            f"{__version__} reads versions up to {newest}; upgrade skattn"
        )


def _load_model(state, path, device):
    """The estimator of a ``"skattn-model"`` entry, checked piece by piece."""
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path} is not a skattn model file")
    _check_version(state, path, FORMAT_VERSION)
    name = state.get("class")
    if not isinstance(name, str) or name not in _MODEL_CLASSES:
        raise ValueError(f"{path} holds an unknown estimator class {name!r}")
    try:
        return _rebuild(_MODEL_CLASSES[name], state, device)
    except (
        AttributeError,
        IndexError,
        KeyError,
        OverflowError,
        RuntimeError,
        TypeError,
        ValueError,
    ) as exc:
        reason = f"missing entry {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ValueError(
            f"{path} holds an inconsistent skattn model: {reason}"
        ) from None


def _load_pipeline(state, path, device, trusted):
    """The object of a ``"skattn-pipeline"`` file: skops part, then networks."""
    sio = _import_skops(f"loading {path}, which holds a Pipeline,")
    _check_version(state, path, PIPELINE_FORMAT_VERSION)
    blob, entries = state.get("skops"), state.get("estimators")
    if not (
        isinstance(blob, torch.Tensor)
        and blob.dtype == torch.uint8
        and blob.dim() == 1
        and isinstance(entries, list)
    ):
        raise ValueError(f"{path} holds an inconsistent skattn pipeline file")
    data = blob.numpy().tobytes()
    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as exc:  # noqa: BLE001 - skops' readers on damaged bytes
        raise ValueError(
            f"{path} holds a damaged Pipeline: {type(exc).__name__}: {exc}"
        ) from None
    allowed = set(_trusted_skattn_types()) | set(trusted)
    refused = [name for name in untrusted if name not in allowed]
    if refused:
        raise ValueError(
            f"{path} holds types that skattn does not trust by default: "
            f"{refused}. Nothing in the file was run. If you trust the file's "
            f"source, load it with skattn.load(path, trusted={refused})"
        )
    try:
        skeleton = sio.loads(data, trusted=[n for n in untrusted if n in allowed])
    except Exception as exc:  # noqa: BLE001 - skops' readers on damaged bytes
        raise ValueError(
            f"{path} holds a damaged Pipeline: {type(exc).__name__}: {exc}"
        ) from None
    models = [
        _load_model(entry, f"{path} (skattn estimator {k})", device)
        for k, entry in enumerate(entries)
    ]
    used = set()
    try:
        result = _put_models(skeleton, models, used)
        if used != set(range(len(models))):
            raise ValueError(
                f"its Pipeline uses the estimators {sorted(used)} of {len(models)}"
            )
    except (AttributeError, TypeError, ValueError) as exc:
        raise ValueError(
            f"{path} holds an inconsistent skattn pipeline file: {exc}"
        ) from None
    return result


def _put_models(obj, models, used):
    """Undo ``_take_models``: the placeholders of ``obj`` become ``models``."""
    if not isinstance(obj, Pipeline):
        return obj
    steps = []
    for name, step in obj.steps:
        if isinstance(step, str) and step.startswith(_PLACEHOLDER):
            k = step[len(_PLACEHOLDER) :]
            if not k.isdigit() or int(k) >= len(models) or int(k) in used:
                raise ValueError(f"the Pipeline holds a bad estimator entry {step!r}")
            used.add(int(k))
            step = models[int(k)]
        steps.append((name, _put_models(step, models, used)))
    obj.steps = steps
    return obj


def _rebuild(cls, state, device):
    """The estimator described by a loaded ``state``, checked piece by piece."""
    for key, kind in (("params", dict), ("fitted", dict), ("state_dict", dict)):
        if not isinstance(state[key], kind):
            raise TypeError(f"{key!r} is {type(state[key]).__name__}, not {kind}")
    # A file saved before a parameter existed lacks its key; the class's
    # _legacy_params give the value that rebuilds such a file's network,
    # where the constructor default would build another one.
    params = {**getattr(cls, "_legacy_params", {}), **_decode(state["params"])}
    estimator = cls(**params)
    estimator._check_params()  # hyperparameters as fit would accept them
    for attr, value in state["fitted"].items():
        if attr not in cls._saved_attributes():
            raise ValueError(f"unexpected attribute {attr!r}")
        setattr(estimator, attr, _decode(value))
    _check_fitted(estimator)
    weights = state["state_dict"]
    for key, tensor in weights.items():
        if not isinstance(key, str) or not isinstance(tensor, torch.Tensor):
            raise TypeError(f"the weights hold {key!r}: {type(tensor).__name__}")
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"the weight {key!r} holds NaN or inf")
    # Compare shapes on the meta device first: corrupted sizes must not
    # allocate a huge network before load_state_dict finds the mismatch. Each
    # layer and each ensemble member holds weights, so valid num_layers and
    # members (n_estimators per fold) are at most their number (a corrupted
    # one must not make even the meta build loop for ages).
    counts = {
        "num_layers": getattr(estimator, "num_layers", 1),
        "n_estimators": getattr(estimator, "n_estimators", 1),
        "n_estimators * n_folds_": getattr(estimator, "n_estimators", 1)
        * getattr(estimator, "n_folds_", 1),
    }
    for name, count in counts.items():
        if count > len(weights):
            raise ValueError(
                f"{name}={count}, but the file holds only {len(weights)} weight tensors"
            )
    with torch.device("meta"):
        probe = estimator._build_network(
            estimator._n_network_channels(), estimator._n_outputs, estimator._max_length
        )
    expected = {k: tuple(v.shape) for k, v in probe.state_dict().items()}
    for key, shape in expected.items():
        # files saved before the linear part had network_weight added the
        # network's output whole
        if key.endswith("linear.network_weight") and key not in weights:
            weights[key] = torch.ones(shape)
    found = {k: tuple(v.shape) for k, v in weights.items()}
    if expected != found:
        diff = sorted(set(expected.items()) ^ set(found.items()))[:3]
        raise ValueError(
            f"the weights do not fit the hyperparameters (first differences, "
            f"(name, shape): {diff})"
        )
    if device is None:
        device = estimator.device
        if device != "auto" and "cuda" in device and not torch.cuda.is_available():
            device = "cpu"
    estimator._restore_network(weights, resolve_device(device))
    return estimator


def _is_count(value, low):
    return type(value) is int and value >= low


def _check_fitted(est):
    """Fitted attributes must have the types and sizes that ``fit`` gives."""
    n_channels = getattr(est, "n_channels_in_", None)
    if not _is_count(n_channels, 1):
        raise ValueError(f"n_channels_in_={n_channels!r} is not a positive int")
    for attr in ("_n_outputs", "_max_length"):
        if not _is_count(getattr(est, attr, None), 0 if attr == "_n_outputs" else 1):
            raise ValueError(f"{attr}={getattr(est, attr, None)!r} is invalid")
    if hasattr(est, "n_folds_") and not _is_count(est.n_folds_, 1):
        raise ValueError(f"n_folds_={est.n_folds_!r} is not a positive int")
    _check_categories(est, n_channels)
    if est.static_features is not None:
        _check_categories(
            est,
            len(est.static_features),
            ("static_is_categorical_", "static_categories_"),
        )
    if est.vocab_size is None:
        check_input_scaling(
            getattr(est, "_input_loc", None),
            getattr(est, "_input_scale", None),
            est._n_network_channels(),
        )
    names = getattr(est, "_channel_names", None)
    if names is not None and (not isinstance(names, list) or len(names) != n_channels):
        raise ValueError(f"_channel_names={names!r} do not match the channels")
    if hasattr(est, "n_features_in_"):
        if not _is_count(est.n_features_in_, 1) or n_channels != 1:
            raise ValueError(f"n_features_in_={est.n_features_in_!r} is invalid")
        names = getattr(est, "feature_names_in_", None)
        if names is not None and np.shape(names) != (est.n_features_in_,):
            raise ValueError("feature_names_in_ does not match n_features_in_")
    est._check_target_fitted()


def _check_categories(est, n_channels, names=("is_categorical_", "categories_")):
    """``is_categorical_`` is a mask over the channels and ``categories_``
    one vocabulary of distinct plain values per categorical channel (or the
    same for the static features)."""
    mask = getattr(est, names[0], None)
    if mask is None:
        if names[0] == "is_categorical_":
            return
        raise ValueError(f"{names[0]} is missing")
    if not (
        isinstance(mask, np.ndarray)
        and mask.dtype == bool
        and mask.shape == (n_channels,)
    ):
        raise ValueError(f"{names[0]}={mask!r} is not a mask over the channels")
    vocabularies = getattr(est, names[1], [])
    if not isinstance(vocabularies, list) or len(vocabularies) != mask.sum():
        raise ValueError(
            "categories_ does not hold one vocabulary per categorical field"
        )
    for vocab in vocabularies:
        if not isinstance(vocab, np.ndarray) or vocab.ndim != 1:
            raise ValueError("a vocabulary of categories_ is not a 1D array")
        if len(set(vocab.tolist())) != len(vocab) or len(vocab) > 2**24 - 2:
            raise ValueError("a vocabulary of categories_ holds repeated values")
