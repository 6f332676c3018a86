"""ONNX export: ONNX Runtime gives skattn's float32 outputs.

Every model predicts with ``inference_dtype="float32"``, the precision of
the exported network, and is compared on float32 input, so both sides see
the same numbers. The models train and predict on the CPU, where ONNX
Runtime runs here: on CUDA, cuDNN's TF32 arithmetic in the LSTM and the
convolutions (torch's default) moves float32 outputs by about 1e-5; a model
trained on CUDA is checked against its CPU copy
(``test_a_model_trained_on_cuda_exports_its_cpu_network``).

Tolerance: rtol=1e-5 and an absolute floor of 1e-6 (on targets: 1e-6 times
their scale). The floor is for outputs near zero
(small probabilities, attention weights, embedding components): their
float32 rounding error follows the unit-scale terms they were computed
from (about 1e-7 each), not their own size.
"""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skattn
from skattn import (
    AttentionPoolingTransformer,
    LSTMAttentionClassifier,
    LSTMAttentionRegressor,
    SequenceImputer,
    SequenceScaler,
    TransformerClassifier,
    TransformerRegressor,
    _onnx,
    export_onnx,
)

ort = pytest.importorskip(
    "onnxruntime", reason="ONNX export tests need pip install 'skattn[onnx]'"
)
pytest.importorskip("onnx", reason="ONNX export tests need pip install 'skattn[onnx]'")

RTOL, ATOL = 1e-5, 1e-6
COMMON = dict(
    max_epochs=2,
    random_state=0,
    n_threads=1,
    inference_dtype="float32",
    device="cpu",
)
LSTM = dict(hidden_size=8, **COMMON)
TRANSFORMER = dict(d_model=8, num_heads=2, dim_feedforward=16, **COMMON)

rng = np.random.default_rng(0)
X = rng.normal(size=(24, 20, 2)).astype(np.float32)
Y = np.array(["a", "b", "c"])[np.arange(24) % 3]
# lengths 25 and 23: longer than any training or export example
RAGGED = [rng.normal(size=(n, 2)).astype(np.float32) for n in (25, 7, 13, 1, 23)]
FIXED = rng.normal(size=(5, 16, 2)).astype(np.float32) * 3 + 1
SINGLE = [RAGGED[2]]

# name -> (estimator, y); each exported with attention weights where it has any
MODELS = {
    "lstm-additive-no-stem": (LSTMAttentionClassifier(conv_stem=None, **LSTM), Y),
    "lstm-dot": (LSTMAttentionClassifier(attention="dot", **LSTM), Y),
    "lstm-scaled_dot": (LSTMAttentionClassifier(attention="scaled_dot", **LSTM), Y),
    "lstm-general": (LSTMAttentionClassifier(attention="general", **LSTM), Y),
    "lstm-multihead": (
        LSTMAttentionClassifier(attention="multihead", num_heads=2, **LSTM),
        Y,
    ),
    "lstm-gru-query-last": (
        LSTMAttentionClassifier(cell="gru", query="last", **LSTM),
        Y,
    ),
    "lstm-stem-4": (LSTMAttentionClassifier(conv_stem=4, **LSTM), Y),
    "lstm-stem-batch-norm": (
        LSTMAttentionClassifier(conv_stem=2, stem_norm="batch", **LSTM),
        Y,
    ),
    "lstm-mean": (LSTMAttentionClassifier(pooling="mean", **LSTM), Y),
    "lstm-series-instance": (
        LSTMAttentionClassifier(series_norm="instance", **LSTM),
        Y,
    ),
    "transformer-multihead": (TransformerClassifier(**TRANSFORMER), Y),
    "transformer-additive-no-stem": (
        TransformerClassifier(attention="additive", conv_stem=None, **TRANSFORMER),
        Y,
    ),
    "transformer-dot": (TransformerClassifier(attention="dot", **TRANSFORMER), Y),
    "transformer-scaled_dot": (
        TransformerClassifier(attention="scaled_dot", **TRANSFORMER),
        Y,
    ),
    "transformer-general": (
        TransformerClassifier(attention="general", **TRANSFORMER),
        Y,
    ),
    "transformer-query-last": (
        TransformerClassifier(query="last", **TRANSFORMER),
        Y,
    ),
    "transformer-mean": (TransformerClassifier(pooling="mean", **TRANSFORMER), Y),
    "transformer-cls": (TransformerClassifier(pooling="cls", **TRANSFORMER), Y),
    "transformer-stem-4": (TransformerClassifier(conv_stem=4, **TRANSFORMER), Y),
    "transformer-ensemble": (TransformerClassifier(n_estimators=2, **TRANSFORMER), Y),
    "lstm-ensemble-regressor": (
        LSTMAttentionRegressor(n_estimators=2, **LSTM),
        rng.normal(size=24),
    ),
    "transformer-stem-dilated": (
        TransformerClassifier(conv_stem=2, stem_dilation=2, **TRANSFORMER),
        Y,
    ),
    "lstm-stem-multi-scale": (LSTMAttentionClassifier(stem_scales=3, **LSTM), Y),
    "lstm-max-pooling": (LSTMAttentionClassifier(max_pooling=True, **LSTM), Y),
    "lstm-stem-pooling": (LSTMAttentionClassifier(stem_pooling=True, **LSTM), Y),
    "transformer-linear-steps": (
        TransformerRegressor(linear_steps=6, **TRANSFORMER),
        rng.normal(size=24),
    ),
    # the network's output scaled before the linear part is added
    "transformer-network-weight": (
        TransformerRegressor(linear_steps=6, network_weight=0.25, **TRANSFORMER),
        rng.normal(size=24),
    ),
    "transformer-tape": (
        TransformerClassifier(positional_encoding="tape", **TRANSFORMER),
        Y,
    ),
    # trained on windows: "auto" gives it no absolute positional codes
    "transformer-windows": (
        TransformerClassifier(random_crop=0.5, **TRANSFORMER),
        Y,
    ),
    "transformer-relative-positions": (
        TransformerClassifier(relative_positions=True, pooling="cls", **TRANSFORMER),
        Y,
    ),
    "transformer-series-stats": (
        TransformerClassifier(series_norm="stats", **TRANSFORMER),
        Y,
    ),
    "transformer-stem-no-norm": (
        TransformerClassifier(stem_norm=None, **TRANSFORMER),
        Y,
    ),
    "lstm-differences-2-regressor": (
        LSTMAttentionRegressor(differences=2, **LSTM),
        rng.normal(size=24),
    ),
    "transformer-differences-1": (
        TransformerClassifier(differences=1, **TRANSFORMER),
        Y,
    ),
    "lstm-regressor": (
        LSTMAttentionRegressor(**LSTM),
        rng.normal(size=24) * 50 + 1e4,  # an offset far larger than the spread
    ),
    "transformer-regressor-2d": (
        TransformerRegressor(**TRANSFORMER),
        rng.normal(size=(24, 3)),
    ),
    "pooling-self-supervised": (AttentionPoolingTransformer(**TRANSFORMER), None),
    "pooling-stem-2": (AttentionPoolingTransformer(conv_stem=2, **TRANSFORMER), Y),
    "pooling-self-supervised-stem-2": (
        AttentionPoolingTransformer(conv_stem=2, **TRANSFORMER),
        None,
    ),
    "pooling-lstm-supervised": (
        AttentionPoolingTransformer(encoder="lstm", **LSTM),
        Y,
    ),
    "pipeline-scaler": (
        make_pipeline(SequenceScaler(), LSTMAttentionClassifier(**LSTM)),
        Y,
    ),
    "pipeline-per-sequence-scaler": (
        make_pipeline(
            SequenceScaler(per_sequence=True), TransformerClassifier(**TRANSFORMER)
        ),
        Y,
    ),
}


def pad(sequences):
    """Right-pad to the longest sequence (NaN on padding: the graph must
    ignore it) and the mask of real steps."""
    lengths = np.array([len(s) for s in sequences])
    values = np.full(
        (len(sequences), lengths.max(), *np.shape(sequences[0])[1:]), np.nan
    )
    for i, s in enumerate(sequences):
        values[i, : len(s)] = s
    mask = np.arange(lengths.max()) < lengths[:, None]
    return values, mask


def final(model):
    return model[-1] if hasattr(model, "steps") else model


def has_attention(model):
    return final(model).get_params()["pooling"] == "attention"


def session_of(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def run(session, sequences, tokens=False):
    values, mask = pad(sequences)
    values = np.nan_to_num(values).astype(np.int64) if tokens else values
    values = values.astype(np.int64 if tokens else np.float32)
    names = [o.name for o in session.get_outputs()]
    outputs = session.run(None, {"values": values, "mask": mask})
    return dict(zip(names, outputs, strict=True))


def expected(model, sequences, weights=True):
    """skattn's outputs, under the names of the graph's outputs."""
    est = final(model)
    out = {}
    if isinstance(est, AttentionPoolingTransformer):
        out["embedding"] = model.transform(sequences)
    elif hasattr(est, "classes_"):
        out["probabilities"] = model.predict_proba(sequences)
        out["labels"] = model.predict(sequences)
    else:
        out["predictions"] = model.predict(sequences)
    if weights and has_attention(model):
        inner = sequences
        if hasattr(model, "steps"):
            inner = model[:-1].transform(sequences)
        out["attention_weights"] = est.attention_weights(inner)
    return out


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """name -> (fitted model, ONNX session, metadata); TorchScript only.

    torch.export takes seconds per model and, for the LSTM, rarely keeps the
    time axis dynamic; TestDefaultExporters covers the full path.
    """
    folder = tmp_path_factory.mktemp("onnx")
    result = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_onnx, "_EXPORTERS", ("torchscript",))
        for name, (model, y) in MODELS.items():
            model.fit(X, y)
            path = folder / f"{name}.onnx"
            proto = export_onnx(model, path, attention_weights=has_attention(model))
            meta = {p.key: json.loads(p.value) for p in proto.metadata_props}
            result[name] = model, session_of(path), meta
    return result


def assert_parity(model, outputs, reference):
    for name, want in reference.items():
        if name == "labels":
            classes = np.array(final(model).classes_)
            np.testing.assert_array_equal(classes[outputs["label_index"]], want)
            continue
        got = outputs[name]
        atol = ATOL
        if name == "predictions":
            atol = ATOL * float(np.max(final(model)._y_scale))
        if name == "attention_weights":  # skattn pads to the widest input too
            assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=atol, err_msg=name)


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize(
    "batch",
    ["ragged", "fixed", "single"],
)
def test_parity(exported, name, batch):
    model, session, meta = exported[name]
    sequences = {"ragged": RAGGED, "fixed": list(FIXED), "single": SINGLE}[batch]
    outputs = run(session, sequences)
    reference = expected(model, sequences if batch != "fixed" else FIXED)
    assert set(outputs) == set(meta["outputs"])
    assert_parity(model, outputs, reference)


def test_metadata(exported):
    model, _, meta = exported["lstm-dot"]
    assert meta["classes"] == ["a", "b", "c"]
    assert meta["estimator"] == "LSTMAttentionClassifier"
    assert meta["task"] == "classification"
    assert meta["n_channels"] == 2
    assert meta["max_length"] is None
    assert meta["exporter"] == "torchscript"
    assert meta["skattn_version"] == skattn.__version__
    assert exported["lstm-regressor"][2]["task"] == "regression"
    assert "classes" not in exported["lstm-regressor"][2]


def test_regression_output_shapes(exported):
    one = run(exported["lstm-regressor"][1], RAGGED)["predictions"]
    two = run(exported["transformer-regressor-2d"][1], RAGGED)["predictions"]
    assert one.shape == (len(RAGGED),) and one.dtype == np.float64
    assert two.shape == (len(RAGGED), 3)


def test_without_attention_weights(tmp_path):
    """The default graph has only the task's outputs, and the same values."""
    model = LSTMAttentionClassifier(attention="general", **LSTM).fit(X, Y)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_onnx, "_EXPORTERS", ("torchscript",))
        export_onnx(model, tmp_path / "m.onnx")
    outputs = run(session_of(tmp_path / "m.onnx"), RAGGED)
    assert set(outputs) == {"probabilities", "label_index"}
    assert_parity(model, outputs, expected(model, RAGGED, weights=False))


class TestDefaultExporters:
    """The path users get: torch.export first, TorchScript where it fails."""

    @pytest.mark.parametrize(
        "model",
        [
            LSTMAttentionClassifier(conv_stem=None, **LSTM),
            TransformerClassifier(**TRANSFORMER),
        ],
        ids=["lstm", "transformer"],
    )
    def test_parity(self, model, tmp_path):
        model.fit(X, Y)
        proto = export_onnx(model, tmp_path / "m.onnx")
        meta = {p.key: json.loads(p.value) for p in proto.metadata_props}
        assert meta["exporter"] in ("dynamo", "torchscript")
        session = session_of(tmp_path / "m.onnx")
        for sequences in (RAGGED, SINGLE):
            reference = expected(model, sequences, weights=False)
            assert_parity(model, run(session, sequences), reference)


def test_token_model(tmp_path):
    ids = [rng.integers(1, 10, size=n) for n in rng.integers(5, 16, size=24)]
    model = LSTMAttentionClassifier(vocab_size=10, **LSTM).fit(ids, Y)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_onnx, "_EXPORTERS", ("torchscript",))
        proto = export_onnx(model, tmp_path / "t.onnx", attention_weights=True)
    meta = {p.key: json.loads(p.value) for p in proto.metadata_props}
    assert meta["input"] == "tokens"
    sequences = [rng.integers(0, 10, size=n) for n in (20, 3, 9)]
    outputs = run(session_of(tmp_path / "t.onnx"), sequences, tokens=True)
    assert_parity(model, outputs, expected(model, sequences))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_model_trained_on_cuda_exports_its_cpu_network(tmp_path):
    long = rng.normal(size=(24, 120, 2)).astype(np.float32)  # the stem strides
    model = LSTMAttentionClassifier(**{**LSTM, "device": "cuda"}).fit(long, Y)
    assert model.net_.device == "cuda"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_onnx, "_EXPORTERS", ("torchscript",))
        export_onnx(model, tmp_path / "m.onnx", attention_weights=True)
    model.save(tmp_path / "m.skattn")
    on_cpu = skattn.load(tmp_path / "m.skattn", device="cpu")
    sequences = [rng.normal(size=(n, 2)).astype(np.float32) for n in (130, 40, 7)]
    outputs = run(session_of(tmp_path / "m.onnx"), sequences)
    assert_parity(on_cpu, outputs, expected(on_cpu, sequences))


def load_example():
    path = Path(__file__).resolve().parents[1] / "examples" / "serve_onnx.py"
    spec = importlib.util.spec_from_file_location("serve_onnx", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_learned_positions_limit(tmp_path):
    """Up to max_length the graph matches; beyond it the serving function
    raises skattn's error."""
    model = TransformerClassifier(
        positional_encoding="learned", conv_stem=4, **TRANSFORMER
    ).fit(X, Y)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_onnx, "_EXPORTERS", ("torchscript",))
        export_onnx(model, tmp_path / "p.onnx")
    serve = load_example()
    session, meta = serve.load_session(str(tmp_path / "p.onnx"))
    assert meta["max_length"] == 20
    fits = [x[:n] for x, n in zip(X, (20, 5, 17), strict=False)]
    labels, probabilities = serve.predict_onnx(session, meta, fits)
    assert labels == model.predict(fits).tolist()
    np.testing.assert_allclose(
        probabilities, model.predict_proba(fits), rtol=RTOL, atol=ATOL
    )
    too_long = [RAGGED[0]]  # 25 steps
    with pytest.raises(ValueError) as skattn_error:
        model.predict(too_long)
    with pytest.raises(ValueError) as onnx_error:
        serve.predict_onnx(session, meta, too_long)
    assert str(onnx_error.value) == str(skattn_error.value)


@pytest.mark.parametrize(
    "step", [StandardScaler(), SequenceImputer()], ids=["StandardScaler", "Imputer"]
)
def test_other_pipeline_steps_are_refused(step, tmp_path):
    pipe = make_pipeline(step, LSTMAttentionClassifier(**LSTM))
    with pytest.raises(ValueError, match=rf"step '{pipe.steps[0][0]}'.*cannot be"):
        export_onnx(pipe, tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


def test_refuses_non_skattn_estimator(tmp_path):
    with pytest.raises(ValueError, match="cannot export a StandardScaler"):
        export_onnx(StandardScaler(), tmp_path / "x.onnx")


def test_attention_weights_need_attention_pooling(exported, tmp_path):
    model = exported["lstm-mean"][0]
    with pytest.raises(ValueError, match="pooling='mean'.*attention_weights=False"):
        export_onnx(model, tmp_path / "x.onnx", attention_weights=True)


def test_fitted_estimator_unchanged(exported, tmp_path):
    model = exported["transformer-multihead"][0]
    before = {k: v.clone() for k, v in model.net_.module_.state_dict().items()}
    training = model.net_.module_.training
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_onnx, "_EXPORTERS", ("torchscript",))
        export_onnx(model, tmp_path / "again.onnx")
    after = model.net_.module_.state_dict()
    assert model.net_.module_.training == training
    for key, value in before.items():
        assert after[key].dtype == value.dtype
        assert (after[key] == value).all()


def test_missing_onnx_says_how_to_install(monkeypatch, tmp_path):
    import builtins

    real_import = builtins.__import__

    def no_onnx(name, *args, **kwargs):
        if name == "onnx" or name.startswith("onnx."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    with pytest.raises(ImportError, match=r"pip install \"skattn\[onnx\]\""):
        export_onnx(LSTMAttentionClassifier(), tmp_path / "x.onnx")


def test_event_inputs_are_refused_by_name(tmp_path):
    codes = np.concatenate([np.round(np.abs(X[..., :1])), X[..., 1:]], axis=2)
    clf = LSTMAttentionClassifier(categorical_features=[0], **LSTM).fit(codes, Y)
    with pytest.raises(ValueError, match="does not support categorical fields"):
        export_onnx(clf, tmp_path / "m.onnx")
    index = pd.MultiIndex.from_product([range(6), range(4)], names=["id", "t"])
    frame = pd.DataFrame({"v": rng.normal(size=24)}, index=index)
    timed = LSTMAttentionClassifier(time_features="gap", **LSTM)
    timed.fit(frame, np.arange(6) % 2)
    with pytest.raises(ValueError, match="does not support time features"):
        export_onnx(timed, tmp_path / "m.onnx")
    frame["plan"] = np.repeat([0.0, 1.0], 12)
    attributes = LSTMAttentionClassifier(static_features=["plan"], **LSTM)
    attributes.fit(frame, np.arange(6) % 2)
    with pytest.raises(ValueError, match="does not support entity attributes"):
        export_onnx(attributes, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
