"""Saving and loading (``skattn/_persistence.py``): round trips, new
processes, pickle and joblib, model files of earlier releases, damaged or
tampered files, Pipelines (skops), and saves that fail half-way."""

import copy
import io
import json
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

import skattn
from skattn import (
    AttentionPoolingTransformer,
    LSTMAttentionClassifier,
    LSTMAttentionRegressor,
    SequenceScaler,
    TokenEncoder,
    TransformerClassifier,
    TransformerRegressor,
)

from ._params import ONE_EPOCH_LSTM, SMALL_TRANSFORMER

# positional_encoding="learned": saved with its max length
LEARNED = dict(SMALL_TRANSFORMER, positional_encoding="learned")
ALL = [
    (LSTMAttentionClassifier, dict(hidden_size=4, random_state=0), "labels"),
    (LSTMAttentionRegressor, dict(hidden_size=4, random_state=0), "targets"),
    (TransformerClassifier, LEARNED, "labels"),
    (TransformerRegressor, SMALL_TRANSFORMER, "targets"),
    (AttentionPoolingTransformer, LEARNED, None),
]


@pytest.mark.parametrize(
    "cls, params, target", ALL, ids=lambda v: getattr(v, "__name__", "")
)
def test_save_and_load_round_trip(cls, params, target, data, tmp_path):
    X, y = data
    y = {"labels": y, "targets": X[:, :, 0].sum(1), None: None}[target]
    est = cls(max_epochs=2, **params).fit(X, y)
    path = tmp_path / "model.skattn"
    est.save(path)
    loaded = skattn.load(path)
    assert type(loaded) is type(est)
    assert loaded.get_params() == est.get_params()
    for method in ("predict", "predict_proba", "transform", "attention_weights"):
        if hasattr(est, method):
            assert_array_equal(getattr(loaded, method)(X), getattr(est, method)(X))


def test_saved_model_loads_in_a_new_process(data, tmp_path):
    X, y = data
    est = TransformerClassifier(max_epochs=2, **LEARNED).fit(X, y)
    path = tmp_path / "model.skattn"
    est.save(path)
    np.save(tmp_path / "X.npy", X)
    out, inputs = str(tmp_path / "out.npy"), str(tmp_path / "X.npy")
    script = (
        "import numpy as np, torch, skattn; torch.set_num_threads(1); "
        f"m = skattn.load({str(path)!r}); "
        f"np.save({out!r}, m.attention_weights(np.load({inputs!r})))"
    )
    subprocess.run([sys.executable, "-c", script], check=True)
    assert_array_equal(np.load(tmp_path / "out.npy"), est.attention_weights(X))


def test_pickle_and_joblib_still_work(data, tmp_path):
    X, y = data
    clf = TransformerClassifier(max_epochs=1, **SMALL_TRANSFORMER).fit(X, y)
    joblib.dump(clf, tmp_path / "m.joblib")
    assert_array_equal(
        joblib.load(tmp_path / "m.joblib").predict_proba(X), clf.predict_proba(X)
    )
    assert_array_equal(
        pickle.loads(pickle.dumps(clf)).predict_proba(X), clf.predict_proba(X)
    )


def test_clone_and_pickle_in_a_new_process(fitted_classifiers, data3d, tmp_path):
    clf, (X, _) = fitted_classifiers[LSTMAttentionClassifier], data3d
    copy = clone(clf)
    assert copy.get_params() == clf.get_params() and not hasattr(copy, "net_")
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(clf))
    np.save(tmp_path / "X.npy", X)
    script = (
        "import pickle, numpy as np, torch; torch.set_num_threads(1); "
        f"m = pickle.loads(open({str(path)!r}, 'rb').read()); "
        f"np.save({str(tmp_path / 'p.npy')!r}, "
        f"m.predict_proba(np.load({str(tmp_path / 'X.npy')!r})))"
    )
    subprocess.run([sys.executable, "-c", script], check=True)
    assert_array_equal(np.load(tmp_path / "p.npy"), clf.predict_proba(X))


# Model files of earlier releases ---------------------------------------------

FIXTURES = Path(__file__).parent / "data"


def test_model_files_of_format_version_1_still_load_and_predict():
    """Files saved by skattn 0.1 (format 1): see tests/data/make_model_v1.py.

    If this fails, files that users saved with an earlier release no longer
    load, or predict differently: keep reading them (never regenerate the
    files to make this pass).
    """
    expected = json.loads((FIXTURES / "model_v1_expected.json").read_text())
    clf = skattn.load(FIXTURES / "transformer_classifier_v1.skattn")
    assert type(clf) is TransformerClassifier
    assert (
        torch.load(FIXTURES / "transformer_classifier_v1.skattn", weights_only=True)[
            "format_version"
        ]
        == 1
    )
    case = expected["classifier"]
    X = [np.array(s) for s in case["X"]]
    assert clf.predict(X).tolist() == case["predict"]
    assert_allclose(clf.predict_proba(X), case["predict_proba"], rtol=1e-6, atol=1e-9)
    assert_allclose(
        clf.attention_weights(X), case["attention_weights"], rtol=1e-6, atol=1e-9
    )
    reg = skattn.load(FIXTURES / "lstm_regressor_v1.skattn")
    case = expected["regressor"]
    wide = pd.DataFrame(case["X"])
    assert list(reg.feature_names_in_) == list(wide.columns)
    assert_allclose(reg.predict(wide), case["predict"], rtol=1e-6, atol=1e-9)


# Bad model files -------------------------------------------------------------


class _Exploit:
    def __reduce__(self):
        return (print, ("code ran",))


def test_bad_model_files_give_clear_errors_and_run_no_code(data, tmp_path, capsys):
    X, y = data
    path = tmp_path / "m.skattn"
    TransformerClassifier(max_epochs=1, **SMALL_TRANSFORMER).fit(X, y).save(path)
    blob = path.read_bytes()

    (tmp_path / "truncated").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ValueError, match="not a readable skattn model file"):
        skattn.load(tmp_path / "truncated")

    (tmp_path / "garbage").write_bytes(b"not a model at all" * 10)
    with pytest.raises(ValueError, match="is not a skattn model file"):
        skattn.load(tmp_path / "garbage")

    torch.save({"weights": torch.zeros(3)}, tmp_path / "foreign")
    with pytest.raises(ValueError, match="is not a skattn model file"):
        skattn.load(tmp_path / "foreign")

    torch.save({"format": "skattn-model", "payload": _Exploit()}, tmp_path / "exploit")
    with pytest.raises(
        ValueError, match="holds objects other than tensors and plain data"
    ):
        skattn.load(tmp_path / "exploit")
    assert "code ran" not in capsys.readouterr().out

    state = torch.load(path, weights_only=True)
    state["format_version"] = 99
    torch.save(state, tmp_path / "future")
    with pytest.raises(ValueError, match="format version 99.*upgrade skattn"):
        skattn.load(tmp_path / "future")

    state["format_version"] = 1
    state["state_dict"] = {k: v[..., :1] for k, v in state["state_dict"].items()}
    torch.save(state, tmp_path / "inconsistent")
    with pytest.raises(ValueError, match="inconsistent skattn model"):
        skattn.load(tmp_path / "inconsistent")


# Regressions found by fuzzing (tests/test_fuzz.py) -------------------------


@pytest.fixture(scope="module")
def saved(data, tmp_path_factory):
    X, y = data
    path = tmp_path_factory.mktemp("saved") / "m.skattn"
    TransformerClassifier(max_epochs=1, **LEARNED).fit(X, y).save(path)
    return path, torch.load(path, weights_only=True)


@pytest.mark.parametrize(
    "blob",
    [
        b"PK\x03\x04" + b"\x00" * 40,  # a zip header and nothing else
        bytes(range(256)) * 4,
        b"\x80\x02}q\x00X\x01\x00\x00\x00a\x86",  # a broken pickle
    ],
)
def test_random_bytes_are_not_a_model(blob, tmp_path):
    path = tmp_path / "random.skattn"
    path.write_bytes(blob)
    with pytest.raises(ValueError, match="not a (readable )?skattn model file"):
        skattn.load(path)


def test_damaged_pickles_give_a_value_error(saved, tmp_path):
    # Byte flips inside data.pkl made torch raise UnicodeDecodeError, KeyError,
    # IndexError or TypeError; each is now the same ValueError.
    path, _ = saved
    blob = bytearray(path.read_bytes())
    start = blob.index(b"data.pkl") + len(b"data.pkl")
    errors = set()
    for offset in range(40, 600, 7):
        damaged = bytearray(blob)
        damaged[start + offset] ^= 0xFF
        (tmp_path / "damaged").write_bytes(bytes(damaged))
        try:
            skattn.load(tmp_path / "damaged")
        except ValueError as exc:
            errors.add(type(exc))
    assert errors == {ValueError}


@pytest.mark.parametrize(
    "change, message",
    [
        (("fitted", "classes_", "dtype"), "classes_ does not match"),
        (("fitted", "_input_scale", "__ndarray__"), "input standardisation"),
        (("fitted", "n_channels_in_"), "n_channels_in_"),
        (("params", "num_layers"), "num_layers"),  # True: a torch error in predict
        (("params", "batch_size"), "batch_size"),
        (("params", "n_threads"), "n_threads"),  # 10**6 threads: a segfault
        (("params", "attention"), "attention"),
        (("state_dict",), "'state_dict' is"),
    ],
)
def test_tampered_model_files_are_rejected_at_load(saved, tmp_path, change, message):
    _, state = saved
    state = copy.deepcopy(state)
    values = {
        "dtype": [],
        "__ndarray__": [0.0, -1.0],
        "n_channels_in_": 0,
        "num_layers": True,
        "batch_size": True,
        "n_threads": 10**6,
        "attention": "nope",
        "state_dict": None,
    }
    parent = state
    for key in change[:-1]:
        parent = parent[key]
    parent[change[-1]] = values[change[-1]]
    torch.save(state, tmp_path / "tampered")
    with pytest.raises(ValueError, match=f"inconsistent skattn model.*{message}"):
        skattn.load(tmp_path / "tampered")


def test_huge_sizes_in_a_model_file_allocate_nothing(saved, tmp_path):
    # num_layers=2**40 made load loop and allocate for minutes (GBs of RAM)
    _, state = saved
    for key, value in [
        ("num_layers", 2**40),
        ("n_estimators", 10**6),  # a million networks built on "meta"
        ("d_model", 2**30),
        ("dim_feedforward", 2**40),
        ("stem_scales", 2**40),
    ]:
        tampered = copy.deepcopy(state)
        tampered["params"][key] = value
        torch.save(tampered, tmp_path / "huge")
        with pytest.raises(ValueError, match="inconsistent skattn model"):
            skattn.load(tmp_path / "huge")


def test_nan_weights_are_rejected(saved, tmp_path):
    _, state = saved
    state = copy.deepcopy(state)
    name = next(iter(state["state_dict"]))
    state["state_dict"][name] = torch.full_like(state["state_dict"][name], np.nan)
    torch.save(state, tmp_path / "nan")
    with pytest.raises(ValueError, match=f"weight '{name}' holds NaN"):
        skattn.load(tmp_path / "nan")


# Files that are not zip archives -------------------------------------------


@pytest.mark.parametrize("compress", [0, 3], ids=["plain", "compressed"])
def test_joblib_file_gives_skattn_error_without_torch_warning(
    compress, data, tmp_path, capfd
):
    # torch printed "Detected pickle protocol 4 in the checkpoint..." before
    # skattn's error: the file's first bytes now decide before torch reads it
    X, y = data
    clf = TransformerClassifier(max_epochs=1, **SMALL_TRANSFORMER).fit(X, y)
    path = tmp_path / "model.joblib"
    joblib.dump(clf, path, compress=compress)
    capfd.readouterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match="looks like a pickle or joblib file"):
            skattn.load(path)
    assert [str(w.message) for w in caught] == []
    assert capfd.readouterr() == ("", "")


def test_empty_file_is_not_a_model(tmp_path):
    (tmp_path / "empty.skattn").write_bytes(b"")
    with pytest.raises(ValueError, match="not a skattn model file: it is empty"):
        skattn.load(tmp_path / "empty.skattn")


# Saves that fail half-way --------------------------------------------------


def _fail_half_way(monkeypatch):
    """Make torch.save write half of its archive, then fail like a full disk."""
    real_save = torch.save

    def save_half(obj, f, *args, **kwargs):
        buffer = io.BytesIO()
        real_save(obj, buffer, *args, **kwargs)
        part = buffer.getvalue()[: len(buffer.getvalue()) // 2]
        if isinstance(f, (str, Path)):
            Path(f).write_bytes(part)
        else:
            f.write(part)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", save_half)


@pytest.mark.parametrize("kind", ["estimator", "pipeline"])
def test_failed_save_keeps_the_old_file_and_leaves_no_temp_file(
    kind, data, tmp_path, monkeypatch
):
    X, y = data
    clf = TransformerClassifier(max_epochs=1, **SMALL_TRANSFORMER)
    model = clf if kind == "estimator" else make_pipeline(SequenceScaler(), clf)
    model.fit(X, y)
    path = tmp_path / "model.skattn"
    save = model.save if kind == "estimator" else lambda p: skattn.save(model, p)
    save(path)
    before = path.read_bytes()
    _fail_half_way(monkeypatch)
    with pytest.raises(OSError, match="No space left"):
        save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.skattn"]
    monkeypatch.undo()
    assert_array_equal(skattn.load(path).predict_proba(X), model.predict_proba(X))


def test_save_replaces_the_file_and_writes_to_file_objects(data, tmp_path):
    X, y = data
    first = TransformerClassifier(max_epochs=1, **SMALL_TRANSFORMER).fit(X, y)
    second = LSTMAttentionClassifier(**ONE_EPOCH_LSTM).fit(X, y)
    path = tmp_path / "model.skattn"
    first.save(path)
    second.save(str(path))
    assert type(skattn.load(path)) is LSTMAttentionClassifier
    assert [p.name for p in tmp_path.iterdir()] == ["model.skattn"]
    buffer = io.BytesIO()
    skattn.save(first, buffer)
    buffer.seek(0)
    assert_array_equal(skattn.load(buffer).predict_proba(X), first.predict_proba(X))
    with pytest.raises(FileNotFoundError, match="no folder"):
        first.save(tmp_path / "missing" / "model.skattn")


# Pipelines (skops) ---------------------------------------------------------


def _pipelines():
    small = dict(max_epochs=2, **SMALL_TRANSFORMER)
    return {
        "scaler+transformer": lambda: make_pipeline(
            SequenceScaler(per_sequence=True), TransformerClassifier(**small)
        ),
        "pooling+sklearn": lambda: make_pipeline(
            SequenceScaler(),
            AttentionPoolingTransformer(**small),
            StandardScaler(),
            LogisticRegression(),
        ),
        "nested": lambda: Pipeline(
            [
                ("prep", make_pipeline(SequenceScaler())),
                ("model", make_pipeline(LSTMAttentionClassifier(**ONE_EPOCH_LSTM))),
            ]
        ),
    }


@pytest.mark.parametrize("name", list(_pipelines()))
def test_pipeline_round_trip_predicts_identically(name, data, tmp_path):
    pytest.importorskip("skops", reason="saving a Pipeline needs skops")
    X, y = data
    model = _pipelines()[name]().fit(X, y)
    steps = list(model.steps)
    path = tmp_path / "pipeline.skattn"
    skattn.save(model, path)
    assert model.steps == steps  # the saved pipeline is not changed
    loaded = skattn.load(path)
    assert type(loaded) is Pipeline
    assert [type(s).__name__ for _, s in loaded.steps] == [
        type(s).__name__ for _, s in steps
    ]
    assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert_array_equal(loaded.predict(X), model.predict(X))


def test_token_pipeline_and_search_best_estimator_round_trip(tmp_path):
    pytest.importorskip("skops", reason="saving a Pipeline needs skops")
    texts = ["good film", "bad plot", "very good", "so bad", "good good", "bad"] * 4
    y = np.array([1, 0, 1, 0, 1, 0] * 4)
    pipe = make_pipeline(
        TokenEncoder(max_tokens=10),
        LSTMAttentionClassifier(vocab_size=12, padding_idx=0, **ONE_EPOCH_LSTM),
    )
    search = GridSearchCV(pipe, {"tokenencoder__lowercase": [True, False]}, cv=2)
    search.fit(texts, y)
    path = tmp_path / "best.skattn"
    where = r"GridSearchCV\.estimator\.steps\[1\]\[1\] is a LSTMAttentionClassifier"
    with pytest.raises(ValueError, match=rf"{where}.*search\.best_estimator_"):
        skattn.save(search, path)
    assert not path.exists()
    skattn.save(search.best_estimator_, path)
    loaded = skattn.load(path)
    assert loaded[0].vocabulary_ == search.best_estimator_[0].vocabulary_
    assert_array_equal(
        loaded.predict_proba(texts), search.best_estimator_.predict_proba(texts)
    )


CODE_RAN = []


def _double(X):
    CODE_RAN.append("function")
    return 2 * X


class _Recorder(TransformerMixin, BaseEstimator):
    """A custom step that records when it is rebuilt."""

    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def transform(self, X):
        return X

    def __setstate__(self, state):
        CODE_RAN.append("setstate")
        super().__setstate__(state)


@pytest.mark.parametrize("step", ["function", "custom class"])
def test_untrusted_types_are_refused_without_running_code(step, data, tmp_path):
    pytest.importorskip("skops", reason="saving a Pipeline needs skops")
    X, y = data
    X2 = X[:, :, 0]
    first, name = {
        "function": (FunctionTransformer(_double), f"{__name__}._double"),
        "custom class": (_Recorder(), f"{__name__}._Recorder"),
    }[step]
    model = make_pipeline(first, LogisticRegression()).fit(X2, y)
    path = tmp_path / "custom.skattn"
    skattn.save(model, path)
    CODE_RAN.clear()
    with pytest.raises(ValueError, match="does not trust") as info:
        skattn.load(path)
    message = str(info.value)
    assert f"['{name}']" in message and f"trusted=['{name}']" in message
    assert CODE_RAN == []
    loaded = skattn.load(path, trusted=[name])  # the way the message says
    assert_array_equal(loaded.predict_proba(X2), model.predict_proba(X2))
    if step == "custom class":
        assert CODE_RAN == ["setstate"]  # rebuilding runs the class's code
    with pytest.raises(TypeError, match="list of type names"):
        skattn.load(path, trusted=name)


def saved_pipeline(data, folder):
    """A fitted scaler + Transformer Pipeline and the file it was saved to."""
    X, y = data
    model = make_pipeline(
        SequenceScaler(), TransformerClassifier(max_epochs=1, **SMALL_TRANSFORMER)
    ).fit(X, y)
    path = folder / "pipeline.skattn"
    skattn.save(model, path)
    return model, path


def test_skops_is_an_optional_extra(data, tmp_path, monkeypatch):
    pytest.importorskip("skops", reason="writes a Pipeline file first")
    model, path = saved_pipeline(data, tmp_path)
    model[-1].save(tmp_path / "model.skattn")
    monkeypatch.setitem(sys.modules, "skops.io", None)  # import fails
    with pytest.raises(ImportError, match=r'pip install "skattn\[skops\]"'):
        skattn.save(model, tmp_path / "other.skattn")
    with pytest.raises(ImportError, match=r'pip install "skattn\[skops\]"'):
        skattn.load(path)
    # single estimators never need skops
    assert type(skattn.load(tmp_path / "model.skattn")) is TransformerClassifier


def test_tampered_pipeline_files_are_rejected(data, tmp_path):
    pytest.importorskip("skops", reason="saving a Pipeline needs skops")
    model, path = saved_pipeline(data, tmp_path)
    state = torch.load(path, weights_only=True)
    assert state["format"] == "skattn-pipeline"
    assert state["estimators"][0]["format"] == "skattn-model"

    def tampered(**changes):
        torch.save({**copy.deepcopy(state), **changes}, tmp_path / "tampered")
        return tmp_path / "tampered"

    extra = state["estimators"] * 2
    with pytest.raises(ValueError, match=r"uses the estimators \[0\] of 2"):
        skattn.load(tampered(estimators=extra))
    with pytest.raises(ValueError, match="bad estimator entry"):
        skattn.load(tampered(estimators=[]))
    with pytest.raises(ValueError, match="inconsistent skattn pipeline file"):
        skattn.load(tampered(skops=torch.zeros(3)))
    with pytest.raises(ValueError, match="damaged Pipeline"):
        skattn.load(tampered(skops=state["skops"][: len(state["skops"]) // 2]))
    with pytest.raises(ValueError, match="format version 2.*upgrade skattn"):
        skattn.load(tampered(format_version=2))
    entry = copy.deepcopy(state["estimators"][0])
    entry["params"]["attention"] = "nope"
    with pytest.raises(ValueError, match=r"estimator 0\) holds an inconsistent"):
        skattn.load(tampered(estimators=[entry]))


# Devices ---------------------------------------------------------------------
# Model files across devices: a model saved on a GPU loads on a CPU-only
# machine.
#
# The file is crafted on the CPU: a model fitted with ``device="cpu"`` is saved,
# and the ``device`` hyperparameter recorded in the archive is rewritten to
# ``"cuda"``, which is all that distinguishes a GPU-trained file (weights are
# always saved from the CPU). So the fallback is tested on every machine, not
# only on those with a GPU.

CPU_ONLY = pytest.mark.skipif(
    torch.cuda.is_available(),
    reason="tests the CPU-only fallback; on a GPU machine 'cuda' is available",
)


def as_if_saved_on(path, device):
    """Rewrite the ``device`` recorded in the model file at ``path``."""
    state = torch.load(path, weights_only=True)
    assert state["params"]["device"] == "cpu"  # the format this test relies on
    state["params"]["device"] = device
    torch.save(state, path)


@pytest.fixture(scope="module")
def gpu_files(tmp_path_factory, data):
    """A classifier and a regressor, fitted on the CPU, saved as from CUDA."""
    X, y = data
    folder = tmp_path_factory.mktemp("devices")
    models = {
        "classifier": TransformerClassifier(
            max_epochs=3, device="cpu", **SMALL_TRANSFORMER
        ).fit(X, y),
        "regressor": LSTMAttentionRegressor(
            hidden_size=4, max_epochs=3, device="cpu", random_state=0
        ).fit(X, X[:, :, 0].sum(1)),
    }
    files = {}
    for name, model in models.items():
        path = folder / f"{name}.skattn"
        model.save(path)
        as_if_saved_on(path, "cuda")
        files[name] = (model, path)
    return files


@CPU_ONLY
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_a_cuda_model_loads_on_the_cpu(gpu_files, data, kind, device, tmp_path):
    X, _ = data
    model, path = gpu_files[kind]
    if device != "cuda":
        path = tmp_path / "model.skattn"
        model.save(path)
        as_if_saved_on(path, device)
    loaded = skattn.load(path)
    assert loaded.get_params()["device"] == device  # the file's own setting
    assert loaded.net_.device == "cpu"
    assert next(loaded.net_.module_.parameters()).device.type == "cpu"
    method = "predict_proba" if kind == "classifier" else "predict"
    assert_array_equal(getattr(loaded, method)(X), getattr(model, method)(X))
    assert_array_equal(loaded.predict(X), model.predict(X))
    if kind == "classifier":
        assert_array_equal(loaded.attention_weights(X), model.attention_weights(X))
    assert_array_equal(skattn.load(path, device="cpu").predict(X), model.predict(X))


@CPU_ONLY
def test_an_explicit_cuda_device_is_a_clear_error(gpu_files):
    _, path = gpu_files["classifier"]
    with pytest.raises(ValueError, match="CUDA is not available") as info:
        skattn.load(path, device="cuda")
    # the device asked for is at fault, not the file
    assert "inconsistent" not in str(info.value)
    assert "device='cuda'" in str(info.value)
