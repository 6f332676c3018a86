"""Saving and loading fitted estimators without pickle.

A model file is a ``torch.save`` archive holding only tensors and plain
Python data (str, int, float, bool, None, lists and dicts): the
hyperparameters, the fitted attributes, the network's ``state_dict`` and a
format version. :func:`load` reads it with ``torch.load(weights_only=True)``,
which refuses anything else, so a model file from a stranger cannot run
code. Pickle and joblib keep working as well, for users who trust the file.
"""

import pickle

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from ._runtime import resolve_device
from ._scaling import check_input_scaling
from ._version import __version__

FORMAT = "skattn-model"
FORMAT_VERSION = 1

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


def save(estimator, path):
    """Save a fitted skattn estimator to ``path`` without pickle.

    Parameters
    ----------
    estimator : fitted skattn estimator
    path : str or path-like
        Destination file (conventionally ``.skattn``).
    """
    check_is_fitted(estimator, "net_")
    fitted = {
        name: _encode(getattr(estimator, name))
        for name in estimator._saved_attributes()
        if hasattr(estimator, name)
    }
    state_dict = {
        k: v.detach().cpu() for k, v in estimator.net_.module_.state_dict().items()
    }
    torch.save(
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "skattn_version": __version__,
            "class": type(estimator).__name__,
            "params": _plain_params(estimator),
            "fitted": fitted,
            "state_dict": state_dict,
        },
        path,
    )


def load(path, *, device=None):
    """Load an estimator saved with ``save``; no code in the file can run.

    Parameters
    ----------
    path : str or path-like
        File written by the estimator's ``save`` method.
    device : str, optional
        Where to place the network (``"cpu"``, ``"cuda"``, ``"auto"``). By
        default the estimator's own ``device``, or the CPU when that names
        CUDA and none is available: a model trained on a GPU loads on a
        CPU-only machine.

    Returns
    -------
    estimator : object
        The fitted estimator, predicting exactly as before it was saved (on
        the same device and thread count).

    Raises
    ------
    ValueError
        If the file is truncated, corrupted, not a skattn model, from a newer
        format version, or holds anything but tensors and plain data; or if
        ``device`` names a device that is not available here.

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
    if device is not None:
        # checked before the file: a device missing here is the caller's
        # setting to change, not a fault of the model file
        device = resolve_device(device)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
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
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path} is not a skattn model file")
    version = state.get("format_version")
    if type(version) is not int or version < 1:
        raise ValueError(f"{path} has an invalid model format version {version!r}")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{path} has model format version {version!r}, but skattn "
            f"{__version__} reads versions up to {FORMAT_VERSION}; upgrade skattn"
        )
    name = state.get("class")
    if not isinstance(name, str) or name not in _MODEL_CLASSES:
        raise ValueError(f"{path} holds an unknown estimator class {name!r}")
    try:
        estimator = _rebuild(_MODEL_CLASSES[name], state, device)
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
    return estimator


def _rebuild(cls, state, device):
    """The estimator described by a loaded ``state``, checked piece by piece."""
    for key, kind in (("params", dict), ("fitted", dict), ("state_dict", dict)):
        if not isinstance(state[key], kind):
            raise TypeError(f"{key!r} is {type(state[key]).__name__}, not {kind}")
    estimator = cls(**_decode(state["params"]))
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
    # layer holds weights, so a valid num_layers is at most their number (a
    # corrupted one must not make even the meta build loop for ages).
    if getattr(estimator, "num_layers", 1) > len(weights):
        raise ValueError(
            f"num_layers={estimator.num_layers}, but the file holds only "
            f"{len(weights)} weight tensors"
        )
    with torch.device("meta"):
        probe = estimator._build_network(
            estimator.n_channels_in_, estimator._n_outputs, estimator._max_length
        )
    expected = {k: tuple(v.shape) for k, v in probe.state_dict().items()}
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
    if est.vocab_size is None:
        check_input_scaling(
            getattr(est, "_input_loc", None),
            getattr(est, "_input_scale", None),
            n_channels,
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
