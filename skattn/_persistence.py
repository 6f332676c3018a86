"""Saving and loading fitted estimators without pickle.

A model file is a ``torch.save`` archive holding only tensors and plain
Python data (str, int, float, bool, None, lists and dicts): the
hyperparameters, the fitted attributes, the network's ``state_dict`` and a
format version. :func:`load` reads it with ``torch.load(weights_only=True)``,
which refuses anything else, so a model file from a stranger cannot run
code. Pickle and joblib keep working as well, for users who trust the file.
"""

import pickle
import zipfile

import numpy as np
import torch

from ._version import __version__

FORMAT = "skattn-model"
FORMAT_VERSION = 1

# Fitted attributes besides the network; absent ones are skipped.
_ATTRIBUTES = (
    "classes_",
    "n_channels_in_",
    "n_features_in_",
    "feature_names_in_",
    "n_iter_",
    "history_",
    "task_",
    "_channel_names",
    "_input_loc",
    "_input_scale",
    "_y_loc",
    "_y_scale",
    "_y_ndim",
    "_n_outputs",
    "_max_length",
    "_n_features_out",
)


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
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator, "net_")
    fitted = {
        name: _encode(getattr(estimator, name))
        for name in _ATTRIBUTES
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


def _estimator_classes():
    import skattn

    return {
        name: getattr(skattn, name)
        for name in skattn.__all__
        if hasattr(getattr(skattn, name), "_build_network")
    }


def load(path, *, device=None):
    """Load an estimator saved with ``save``; no code in the file can run.

    Parameters
    ----------
    path : str or path-like
    device : str, optional
        Where to place the network (``"cpu"``, ``"cuda"``, ``"auto"``). By
        default the estimator's own ``device``, or the CPU when that names
        CUDA and none is available: a model trained on a GPU loads on a
        CPU-only machine.

    Returns
    -------
    The fitted estimator, predicting exactly as before it was saved (on the
    same device and thread count).

    Raises
    ------
    ValueError
        If the file is truncated, corrupted, not a skattn model, from a newer
        format version, or holds anything but tensors and plain data.
    """
    from ._base import resolve_device

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as exc:
        raise ValueError(
            f"{path} is not a readable skattn model file (truncated or corrupted?): "
            f"{exc}"
        ) from None
    except pickle.UnpicklingError:  # weights_only refused the content
        raise ValueError(
            f"{path} is not a skattn model file: it holds objects other than "
            "tensors and plain data, which skattn never loads (nothing in the file "
            "was run)"
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path} is not a skattn model file")
    version = state.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"{path} has model format version {version!r}, but skattn "
            f"{__version__} reads versions up to {FORMAT_VERSION}; upgrade skattn"
        )
    classes = _estimator_classes()
    name = state.get("class")
    if name not in classes:
        raise ValueError(f"{path} holds an unknown estimator class {name!r}")
    try:
        estimator = classes[name](**_decode(state["params"]))
        for attr, value in state["fitted"].items():
            if attr not in _ATTRIBUTES:
                raise ValueError(f"unexpected attribute {attr!r}")
            setattr(estimator, attr, _decode(value))
        if device is None:
            device = estimator.device
            if device != "auto" and "cuda" in device and not torch.cuda.is_available():
                device = "cpu"
        estimator._restore_network(state["state_dict"], resolve_device(device))
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ValueError(f"{path} holds an inconsistent skattn model: {exc}") from None
    return estimator
