"""Export fitted estimators, and pipelines ending in one, to ONNX.

The exported graph does everything ``predict`` (``transform``) does after
input validation: the pipeline's :class:`~skattn.SequenceScaler` steps, the
estimator's input standardisation, the network, and the softmax
(classifiers) or target un-scaling (regressors). Serving then needs only
numpy and ONNX Runtime.
"""

import contextlib
import copy
import io
import json
import logging
import warnings

import numpy as np
import torch
from sklearn.base import is_classifier
from sklearn.utils.validation import check_is_fitted

from ._lstm import LSTMAttentionClassifier, LSTMAttentionRegressor
from ._pooling import AttentionPoolingTransformer
from ._transformer import TransformerClassifier, TransformerRegressor
from ._version import __version__
from .modules import MaskedReconstruction
from .preprocessing import SequenceScaler

__all__ = ["export_onnx"]

_ESTIMATORS = (
    LSTMAttentionClassifier,
    TransformerClassifier,
    LSTMAttentionRegressor,
    TransformerRegressor,
    AttentionPoolingTransformer,
)
# Exporters to try, in order. The tests drop "dynamo" for most models: it
# takes seconds per model and rarely keeps the time axis of an LSTM dynamic.
_EXPORTERS = ("dynamo", "torchscript")


def _import_onnx():
    try:
        import onnx
        import onnxscript  # noqa: F401  (torch's ONNX exporters need it)
    except ImportError as exc:
        raise ImportError(
            f"export_onnx needs the onnx and onnxscript packages ({exc}); install "
            'them with pip install "skattn[onnx]"'
        ) from exc
    return onnx


class _GlobalScaling(torch.nn.Module):
    """``(x - mean) / scale`` with fixed per-channel statistics, in float64."""

    def __init__(self, loc, scale, n_channels):
        super().__init__()
        loc = np.zeros(n_channels) if loc is None else loc
        scale = np.ones(n_channels) if scale is None else scale
        self.register_buffer("loc", torch.as_tensor(loc, dtype=torch.float64))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float64))

    def forward(self, x, mask):
        return (x - self.loc) / self.scale


class _PerSequenceScaling(torch.nn.Module):
    """``SequenceScaler(per_sequence=True)``: each sequence by the mean and
    standard deviation of its own real steps, per channel, in float64."""

    def __init__(self, with_mean, with_std):
        super().__init__()
        self.with_mean = with_mean
        self.with_std = with_std

    def forward(self, x, mask):
        real = mask.unsqueeze(-1)  # [b, t, 1]
        # x is zero on padding (see _Graph), so plain sums are masked sums
        n = real.to(x.dtype).sum(1, keepdim=True)  # [b, 1, 1]
        mean = x.sum(1, keepdim=True) / n  # [b, 1, c]
        centred = torch.where(real, x - mean, 0.0)
        std = torch.sqrt((centred * centred).sum(1, keepdim=True) / n)
        high = x.masked_fill(~real, float("-inf")).amax(1, keepdim=True)
        low = x.masked_fill(~real, float("inf")).amin(1, keepdim=True)
        # as SequenceScaler: constant channels are centred, not divided
        scale = torch.where((high == low) | ~(std > 0), 1.0, std)
        if self.with_mean:
            x = x - mean
        if self.with_std:
            x = x / scale
        return x


class _Graph(torch.nn.Module):
    """``(values, mask)`` -> the outputs of the exported graph."""

    def __init__(self, network, *, task, steps, tokens, y, attention_weights):
        super().__init__()
        self.network = network
        self.task = task
        self.steps = torch.nn.ModuleList(steps)
        self.tokens = tokens
        self.attention_weights = attention_weights
        if y is not None:
            y_loc, y_scale, self.y_1d = y
            self.register_buffer("y_loc", torch.as_tensor(y_loc, dtype=torch.float64))
            self.register_buffer(
                "y_scale", torch.as_tensor(y_scale, dtype=torch.float64)
            )

    def _inputs(self, values, mask):
        if self.tokens:
            # ids on padding become 0, as skattn feeds them
            return torch.where(mask, values, 0).unsqueeze(-1)
        # In float64 like skattn, which standardises float64 input before
        # casting to float32: the same float32 input then gives bit-identical
        # network input. Padding is zeroed first so that NaN there is harmless.
        real = mask.unsqueeze(-1)
        x = torch.where(real, values.to(torch.float64), 0.0)
        for step in self.steps:
            x = step(x, mask)
        return torch.where(real, x, 0.0).to(torch.float32)

    def forward(self, values, mask):
        x = self._inputs(values, mask)
        weights = None
        if self.task == "embedding":
            network = self.network
            if isinstance(network, MaskedReconstruction):
                network = network.network
            if self.attention_weights:
                _, out, weights = network.encode(x, mask)
            else:
                out = network.embed(x, mask)
        elif self.attention_weights:
            out, weights = self.network.attention(x, mask)
        else:
            out = self.network(x, mask)

        if self.task == "classification":
            outputs = (torch.softmax(out, dim=1), torch.argmax(out, dim=1))
        elif self.task == "regression":
            # float64 as skattn's predict: targets whose mean is far larger
            # than their spread keep their precision
            y = out.to(torch.float64) * self.y_scale + self.y_loc
            outputs = (y[:, 0] if self.y_1d else y,)
        else:
            outputs = (out,)
        if weights is not None:
            outputs = (*outputs, weights.mean(1))  # average over heads
        return outputs


def _for_export(network):
    """A float32 CPU copy of ``network`` in evaluation mode."""
    network = copy.deepcopy(network).to("cpu").float().eval()
    network.requires_grad_(False)
    return network


def _split_pipeline(model):
    """``(preprocessing steps, skattn estimator)`` of an estimator or pipeline."""
    if not hasattr(model, "steps"):
        return [], model
    steps = list(model.steps)
    if not steps:
        raise ValueError("the pipeline has no steps; nothing to export")
    *before, (last_name, estimator) = steps
    if not isinstance(estimator, _ESTIMATORS):
        raise ValueError(
            f"the pipeline's last step {last_name!r} is a "
            f"{type(estimator).__name__}, which cannot be exported to ONNX; the "
            f"last step must be one of {[c.__name__ for c in _ESTIMATORS]}"
        )
    for name, step in before:
        if step is None or step == "passthrough":
            continue
        if not isinstance(step, SequenceScaler):
            raise ValueError(
                f"pipeline step {name!r} ({type(step).__name__}) cannot be exported "
                "to ONNX: only SequenceScaler steps may come before the skattn "
                "estimator. Apply that step to the input before the exported "
                "graph, or drop it from the pipeline"
            )
    return [step for _, step in before if step not in (None, "passthrough")], estimator


def _scaling_modules(scalers, estimator):
    n_channels = estimator.n_channels_in_
    modules = []
    for scaler in scalers:
        check_is_fitted(scaler)
        if scaler.per_sequence:
            modules.append(_PerSequenceScaling(scaler.with_mean, scaler.with_std))
        else:
            modules.append(_GlobalScaling(scaler.mean_, scaler.scale_, n_channels))
    if estimator._input_loc is not None:
        modules.append(
            _GlobalScaling(estimator._input_loc, estimator._input_scale, n_channels)
        )
    return modules


def _task(estimator):
    if isinstance(estimator, AttentionPoolingTransformer):
        return "embedding"
    return "classification" if is_classifier(estimator) else "regression"


def _example(estimator, tokens, max_length):
    """Inputs to trace with: three sequences of different lengths.

    The mask must hold padding. The TorchScript exporter records the branch
    the example takes where the network branches on the mask (the
    Transformer skips the attention mask when no step is padded), and only
    the masked branch is right for every input.
    """
    t = 12 if max_length is None else max(2, min(12, max_length))
    lengths = torch.tensor([t, max(1, t // 2), max(1, t // 3)])
    mask = torch.arange(t) < lengths[:, None]
    generator = torch.Generator().manual_seed(0)
    if tokens:
        values = torch.randint(
            0, estimator.vocab_size, (3, t), generator=generator, dtype=torch.int64
        )
    else:
        values = torch.randn(3, t, estimator.n_channels_in_, generator=generator)
    return values, mask


@contextlib.contextmanager
def _quiet():
    """Silence the exporters' progress lines, warnings and failure dumps;
    a failure still raises, and is reported if no exporter succeeds."""
    logger = logging.getLogger("torch")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _dynamic_axes(output_names):
    axes = {"values": {0: "batch", 1: "time"}, "mask": {0: "batch", 1: "time"}}
    for name in output_names:
        axes[name] = (
            {0: "batch", 1: "time"} if name == "attention_weights" else {0: "batch"}
        )
    return axes


def _fixed_axes(model, axes):
    """``name[axis]`` of every axis that should be dynamic but has a fixed
    size in ``model``."""
    fixed = []
    for value in [*model.graph.input, *model.graph.output]:
        dims = value.type.tensor_type.shape.dim
        for axis in axes.get(value.name, {}):
            if axis >= len(dims) or dims[axis].HasField("dim_value"):
                fixed.append(f"{value.name}[{axis}]")
    return fixed


class _Skipped(Exception):
    pass


def _export(graph, example, input_names, output_names, opset, max_length):
    """The ONNX model of ``graph`` and the exporter that made it:
    torch.export (``"dynamo"``) where it gives dynamic batch and time axes,
    else TorchScript tracing."""
    onnx = _import_onnx()
    axes = _dynamic_axes(output_names)
    dynamo_error = "not tried"
    try:
        if "dynamo" not in _EXPORTERS:
            raise _Skipped
        with _quiet():
            batch = torch.export.Dim("batch")
            time = torch.export.Dim("time", max=max_length)
            program = torch.onnx.export(
                graph,
                example,
                dynamo=True,
                input_names=input_names,
                output_names=output_names,
                opset_version=opset,
                dynamic_shapes={
                    "values": {0: batch, 1: time},
                    "mask": {0: batch, 1: time},
                },
                verbose=False,
            )
        model = program.model_proto
        # When torch.export cannot keep an axis dynamic (the decomposed LSTM
        # unrolls over time), the exporter retries with that axis fixed to
        # the example's size: such a graph fails on every other length.
        fixed = _fixed_axes(model, axes)
        if not fixed:
            return model, "dynamo"
        dynamo_error = f"it fixed the size of {', '.join(fixed)}"
    except _Skipped:
        pass
    except Exception as exc:  # every failure of torch.export looks different
        dynamo_error = f"{type(exc).__name__}: {str(exc)[:500]}"
    buffer = io.BytesIO()
    try:
        with _quiet():
            torch.onnx.export(
                graph,
                example,
                buffer,
                dynamo=False,
                input_names=input_names,
                output_names=output_names,
                dynamic_axes=axes,
                **({} if opset is None else {"opset_version": opset}),
            )
    except Exception as exc:
        raise RuntimeError(
            f"neither ONNX exporter could export this model: torch.export "
            f"failed ({dynamo_error}); the TorchScript exporter with "
            f"{type(exc).__name__}: {str(exc)[:500]}"
        ) from exc
    model = onnx.load_from_string(buffer.getvalue())
    fixed = _fixed_axes(model, axes)
    if fixed:
        raise RuntimeError(
            f"the ONNX exporters could not keep {', '.join(fixed)} dynamic "
            f"(torch.export: {dynamo_error})"
        )
    return model, "torchscript"


def export_onnx(estimator, path, *, attention_weights=False, opset=None):
    """Write a fitted estimator, or a pipeline ending in one, as an ONNX model.

    The graph computes what ``predict_proba`` and ``predict``
    (classifiers), ``predict`` (regressors) or ``transform``
    (:class:`AttentionPoolingTransformer`) compute from the padded input:
    the :class:`SequenceScaler` steps of a pipeline, the estimator's input
    standardisation, the network, and the softmax or the target un-scaling.
    Batch size and sequence length are dynamic, and padding never changes
    the output of a sequence. ONNX Runtime's results equal the estimator's
    with ``inference_dtype="float32"`` up to float32 rounding.

    **Inputs** (all sequences of a batch right-padded to the longest):

    - ``values``: float32 ``[batch, time, channels]`` with the fitted number
      of channels (1 for univariate data); for token models
      (``vocab_size`` set) int64 token ids ``[batch, time]``. Values on
      padding are ignored (they may be NaN).
    - ``mask``: bool ``[batch, time]``, True for a real timestep and False
      for padding; every sequence needs at least one real step. Token models
      do not derive the mask from ``padding_idx``: mark those steps False.

    **Outputs**:

    - classifiers: ``probabilities`` float32 ``[batch, n_classes]`` in the
      order of ``classes_``, and ``label_index`` int64 ``[batch]``, the
      argmax of the logits: ``classes_[label_index]`` is ``predict``.
    - regressors: ``predictions`` float64, ``[batch]`` when the model was
      fitted on 1D ``y``, else ``[batch, n_outputs]``.
    - :class:`AttentionPoolingTransformer`: ``embedding`` float32
      ``[batch, n_features_out]``.
    - with ``attention_weights=True`` also ``attention_weights`` float32
      ``[batch, time]``, as ``attention_weights(X)``: averaged over heads,
      0 on padding.

    **Metadata** (``metadata_props``, every value a JSON text):
    ``skattn_version``, ``estimator`` (class name), ``task``
    (``"classification"``, ``"regression"`` or ``"embedding"``), ``input``
    (``"values"`` or ``"tokens"``), ``n_channels``, ``outputs`` (list of
    output names), ``classes`` (classifiers: the labels of ``classes_``),
    ``max_length`` and ``exporter`` (``"dynamo"`` or ``"torchscript"``).

    Parameters
    ----------
    estimator : fitted skattn estimator or sklearn Pipeline
        One of :class:`LSTMAttentionClassifier`,
        :class:`LSTMAttentionRegressor`, :class:`TransformerClassifier`,
        :class:`TransformerRegressor`, :class:`AttentionPoolingTransformer`,
        or a :class:`~sklearn.pipeline.Pipeline` of :class:`SequenceScaler`
        steps (global or per-sequence) followed by one of them.
    path : str or path-like
        Where to write the ``.onnx`` file.
    attention_weights : bool, default=False
        Add the ``attention_weights`` output; the model must pool with
        attention.
    opset : int or None, default=None
        ONNX opset version; None uses the exporter's default.

    Returns
    -------
    onnx.ModelProto
        The model written to ``path``.

    Raises
    ------
    ImportError
        If onnx or onnxscript is missing (``pip install "skattn[onnx]"``).
    ValueError
        If a pipeline step other than :class:`SequenceScaler` precedes the
        estimator, if the last step is not a skattn estimator, or if
        ``attention_weights=True`` for a model without attention pooling.
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.

    Notes
    -----
    A Transformer with ``positional_encoding="learned"`` knows only as many
    positions as its longest training sequence. ``predict`` raises a
    ValueError for longer input; an ONNX graph cannot raise, so the limit
    is stored as metadata ``max_length`` (null when there is none) and the
    caller must check ``time <= max_length`` (ONNX Runtime fails with a
    shape error otherwise). ``examples/serve_onnx.py`` shows a serving
    function that does.

    The network is exported in float32. Input standardisation runs in
    float64, as in skattn, and so does the un-scaling of regression
    targets, so a target whose mean is far larger than its spread keeps its
    precision.

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime as ort  # doctest: +SKIP
    >>> from skattn import LSTMAttentionClassifier, export_onnx
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(20, 16, 1)), np.arange(20) % 2
    >>> clf = LSTMAttentionClassifier(max_epochs=2, random_state=0).fit(X, y)
    >>> _ = export_onnx(clf, "model.onnx")  # doctest: +SKIP
    >>> session = ort.InferenceSession("model.onnx")  # doctest: +SKIP
    >>> values = np.zeros((2, 16, 1), np.float32)
    >>> values[0], values[1, :9] = X[0], X[1, :9]
    >>> mask = np.arange(16) < np.array([[16], [9]])
    >>> proba, label_index = session.run(
    ...     None, {"values": values, "mask": mask}
    ... )  # doctest: +SKIP
    >>> clf.classes_[label_index]  # doctest: +SKIP
    array([...])
    """
    onnx = _import_onnx()
    scalers, est = _split_pipeline(estimator)
    if not isinstance(est, _ESTIMATORS):
        raise ValueError(
            f"cannot export a {type(est).__name__} to ONNX; export_onnx takes one "
            f"of {[c.__name__ for c in _ESTIMATORS]} or a Pipeline ending in one"
        )
    check_is_fitted(est, "net_")
    unsupported = [
        ("categorical fields (categorical_features)", est._categorical_mask().any()),
        (f"time features (time_features={est.time_features!r})", est.time_features),
        (
            f"entity attributes (static_features={est.static_features!r})",
            est.static_features is not None,
        ),
    ]
    for feature, used in unsupported:
        if not used:
            continue
        raise ValueError(
            f"export_onnx does not support {feature}: the graph reads numeric "
            "values only. Export a model fitted without them, or predict with "
            f"the {type(est).__name__} itself"
        )
    tokens = est.vocab_size is not None
    if tokens and scalers:
        raise ValueError(
            f"the pipeline scales the input of {type(est).__name__}, which reads "
            f"token ids (vocab_size={est.vocab_size}); drop the SequenceScaler"
        )
    if attention_weights and est.get_params().get("pooling") != "attention":
        raise ValueError(
            f"{type(est).__name__} pools with "
            f"pooling={est.get_params().get('pooling')!r}, which has no "
            "attention weights; export with attention_weights=False"
        )
    task = _task(est)
    max_length = est._max_input_length()
    network = _for_export(est.net_.module_)
    y = None
    if task == "regression":
        y = (est._y_loc, est._y_scale, est._y_ndim == 1)
    graph = _Graph(
        network,
        task=task,
        steps=[] if tokens else _scaling_modules(scalers, est),
        tokens=tokens,
        y=y,
        attention_weights=attention_weights,
    ).eval()
    output_names = {
        "classification": ["probabilities", "label_index"],
        "regression": ["predictions"],
        "embedding": ["embedding"],
    }[task]
    if attention_weights:
        output_names.append("attention_weights")
    example = _example(est, tokens, max_length)
    model, exporter = _export(
        graph, example, ["values", "mask"], output_names, opset, max_length
    )

    metadata = {
        "skattn_version": __version__,
        "estimator": type(est).__name__,
        "task": task,
        "input": "tokens" if tokens else "values",
        "n_channels": int(est.n_channels_in_),
        "outputs": output_names,
        "max_length": max_length,
        "exporter": exporter,
    }
    if task == "classification":
        metadata["classes"] = est.classes_.tolist()
    del model.metadata_props[:]
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return model
