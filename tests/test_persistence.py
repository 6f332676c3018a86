"""Training behaviour: early stopping, schedules, weights, progress,
divergence, interruption, continued training, devices and safe saving."""

import copy
import json
import pickle
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal

import skattn
from skattn import (
    AttentionPoolingTransformer,
    LSTMAttentionClassifier,
    LSTMAttentionRegressor,
    TransformerClassifier,
    TransformerRegressor,
)
from skattn._net import SequenceNet

SMALL = dict(d_model=8, num_heads=2, dim_feedforward=16, random_state=0)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 12, 2))
    y = np.where(np.arange(80) % 2, "a", "b")
    X[:, :6, 0] += np.where(y == "a", 1.0, -1.0)[:, None]  # the class signal
    return X, y


def test_early_stopping_stops_and_restores_the_best_epoch(data):
    X, y = data
    params = dict(early_stopping=True, lr=3e-2, lr_schedule="constant", **SMALL)
    clf = TransformerClassifier(n_iter_no_change=3, max_epochs=200, **params).fit(X, y)
    valid = [row["valid_loss"] for row in clf.history_]
    best = int(np.argmin(valid))
    assert clf.n_iter_ == best + 1 + 3  # stopped 3 epochs after the best one
    # With a constant learning rate the first epochs do not depend on
    # max_epochs, so the restored model equals one trained for best + 1 epochs.
    short = TransformerClassifier(n_iter_no_change=500, max_epochs=best + 1, **params)
    assert_array_equal(clf.predict_proba(X), short.fit(X, y).predict_proba(X))


def test_validation_split_is_stratified(data):
    X, y = data
    y = np.array(["rare"] * 10 + ["common"] * 70)
    clf = LSTMAttentionClassifier(
        hidden_size=4,
        early_stopping=True,
        validation_fraction=0.25,
        max_epochs=1,
        random_state=0,
    )
    seen = {}

    original = SequenceNet.partial_fit

    def spy(net, X, y=None, **kwargs):
        train, valid = X
        seen["valid"] = np.bincount(valid.target.numpy(), minlength=2)
        return original(net, X, y, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(SequenceNet, "partial_fit", spy)
        clf.fit(X, y)
    # 20 validation samples, 1/8 of them from the rare class
    assert_array_equal(
        seen["valid"], [18, 2][::-1] if clf.classes_[0] == "rare" else [18, 2]
    )


def test_cosine_schedule_decays_to_zero_and_constant_stays(data):
    X, y = data
    cosine = TransformerClassifier(max_epochs=6, lr=1e-2, **SMALL).fit(X, y)
    lrs = [row["lr"] for row in cosine.history_]
    assert max(lrs) <= 1e-2 and lrs[-1] < 1e-6
    constant = TransformerClassifier(
        max_epochs=3, lr=1e-2, lr_schedule="constant", **SMALL
    )
    assert [row["lr"] for row in constant.fit(X, y).history_] == [1e-2] * 3


def test_gradients_are_clipped(data, monkeypatch):
    X, y = data
    norms = []
    original = torch.nn.utils.clip_grad_norm_

    def spy(parameters, max_norm, **kwargs):
        parameters = list(parameters)
        total = original(parameters, max_norm, **kwargs)
        after = torch.linalg.vector_norm(
            torch.stack([p.grad.norm() for p in parameters if p.grad is not None])
        )
        norms.append((max_norm, float(after)))
        return total

    monkeypatch.setattr("skorch.callbacks.regularization.clip_grad_norm_", spy)
    TransformerClassifier(max_epochs=1, clip_grad_norm=0.01, **SMALL).fit(X, y)
    assert norms and all(
        max_norm == 0.01 and after <= 0.0101 for max_norm, after in norms
    )


def test_sample_weight_zero_removes_samples_and_weights_shift_the_fit(data):
    X, y = data
    params = dict(max_epochs=5, lr=1e-2, **SMALL)
    weights = np.r_[np.ones(60), np.zeros(20)]
    weighted = TransformerClassifier(**params).fit(X, y, sample_weight=weights)
    subset = TransformerClassifier(**params).fit(X[:60], y[:60])
    assert_array_equal(weighted.predict_proba(X), subset.predict_proba(X))

    heavy_a = np.where(y == "a", 50.0, 1.0)
    favoured = TransformerClassifier(**params).fit(X, y, sample_weight=heavy_a)
    plain = TransformerClassifier(**params).fit(X, y)
    assert (favoured.predict(X) == "a").sum() > (plain.predict(X) == "a").sum()


def test_class_weight(data):
    X, _ = data
    y = np.where(np.arange(80) < 70, "common", "rare")
    y[70:] = "rare"
    X = X.copy()
    X[70:, :, 0] += 0.5  # a weak signal for the rare class
    params = dict(max_epochs=10, lr=1e-2, **SMALL)
    plain = TransformerClassifier(**params).fit(X, y)
    balanced = TransformerClassifier(class_weight="balanced", **params).fit(X, y)
    assert (balanced.predict(X) == "rare").sum() > (plain.predict(X) == "rare").sum()
    as_dict = TransformerClassifier(class_weight={"common": 1.0, "rare": 7.0}, **params)
    by_weight = TransformerClassifier(**params)
    sample_weight = np.where(y == "rare", 7.0, 1.0)
    assert_array_equal(
        as_dict.fit(X, y).predict_proba(X),
        by_weight.fit(X, y, sample_weight=sample_weight).predict_proba(X),
    )
    with pytest.raises(ValueError, match="class_weight has keys \\['other'\\]"):
        TransformerClassifier(class_weight={"other": 2.0}, **params).fit(X, y)


def test_bad_sample_weight(data):
    X, y = data
    clf = TransformerClassifier(max_epochs=1, **SMALL)
    with pytest.raises(ValueError, match="Negative values"):
        clf.fit(X, y, sample_weight=-np.ones(80))
    with pytest.raises(ValueError, match="at least one non-zero"):
        clf.fit(X, y, sample_weight=np.zeros(80))


def test_verbose_prints_a_table_and_quiet_prints_nothing(data, capsys):
    X, y = data
    TransformerClassifier(max_epochs=2, verbose=0, **SMALL).fit(X, y)
    assert capsys.readouterr().out == ""
    TransformerClassifier(max_epochs=2, verbose=1, early_stopping=True, **SMALL).fit(
        X, y
    )
    out = capsys.readouterr().out
    assert (
        "epoch" in out and "train_loss" in out and "valid_loss" in out and "dur" in out
    )


def test_divergence_is_a_clear_error(data):
    X, y = data
    clf = TransformerClassifier(max_epochs=5, lr=1e12, clip_grad_norm=None, **SMALL)
    with pytest.raises(
        FloatingPointError,
        match="in epoch \\d+: training diverged. Try a lower learning rate",
    ):
        clf.fit(X, y)


def test_ctrl_c_keeps_a_usable_model(data, monkeypatch):
    X, y = data
    calls = {"n": 0}
    original = SequenceNet.train_step

    def interrupt_in_epoch_3(net, batch, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2 * 3 + 1:  # 3 batches per epoch
            raise KeyboardInterrupt
        return original(net, batch, **kwargs)

    monkeypatch.setattr(SequenceNet, "train_step", interrupt_in_epoch_3)
    clf = TransformerClassifier(max_epochs=10, batch_size=32, **SMALL)
    with pytest.warns(
        UserWarning, match="interrupted after 3 epochs; keeping the weights of epoch"
    ):
        clf.fit(X, y)
    assert clf.n_iter_ == 3
    assert np.isfinite(clf.predict_proba(X)).all()


def test_warm_start_continues_from_the_fitted_weights(data):
    X, y = data
    clf = TransformerClassifier(max_epochs=3, lr=1e-2, warm_start=True, **SMALL)
    clf.fit(X, y)
    before = clf.predict_proba(X)
    first_losses = [row["train_loss"] for row in clf.history_]
    clf.fit(X, y)
    assert clf.n_iter_ == 6  # the history continues
    assert not np.array_equal(clf.predict_proba(X), before)
    assert clf.history_[3]["train_loss"] < first_losses[0]
    with pytest.raises(ValueError, match="cannot learn new classes"):
        clf.fit(X, np.where(y == "a", "a", "z"))


def test_partial_fit_streams_epochs(data):
    X, y = data
    clf = TransformerClassifier(lr=1e-2, **SMALL)
    clf.partial_fit(X[:40], y[:40], classes=["a", "b"])
    assert clf.n_iter_ == 1
    for _ in range(5):
        clf.partial_fit(X[40:], y[40:])
    assert clf.n_iter_ == 6
    assert clf.score(X, y) > 0.6
    reg = LSTMAttentionRegressor(hidden_size=4, random_state=0)
    reg.partial_fit(X, X[:, :, 0].sum(1)).partial_fit(X, X[:, :, 0].sum(1))
    assert reg.n_iter_ == 2 and reg.predict(X).shape == (80,)


def test_mixed_precision_trains(data):
    X, y = data
    clf = TransformerClassifier(max_epochs=2, mixed_precision=True, **SMALL).fit(X, y)
    assert np.isfinite([row["train_loss"] for row in clf.history_]).all()
    assert clf.predict_proba(X).dtype == np.float64


def test_device_auto_and_missing_cuda(data):
    X, y = data
    clf = TransformerClassifier(max_epochs=1, **SMALL).fit(X, y)
    assert clf.net_.device == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(
            ValueError, match="device='cuda', but CUDA is not available"
        ):
            TransformerClassifier(device="cuda", **SMALL).fit(X, y)
    with pytest.raises(ValueError, match="device='tpu'"):
        TransformerClassifier(device="tpu", **SMALL).fit(X, y)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_training_loads_on_cpu(data, tmp_path):
    X, y = data
    clf = TransformerClassifier(max_epochs=3, device="cuda", **SMALL).fit(X, y)
    assert clf.net_.device == "cuda"
    gpu_proba = clf.predict_proba(X)
    clf.save(tmp_path / "m.skattn")
    cpu = skattn.load(tmp_path / "m.skattn", device="cpu")
    np.testing.assert_allclose(cpu.predict_proba(X), gpu_proba, rtol=1e-6, atol=1e-9)
    pickled = pickle.loads(pickle.dumps(clf))
    assert pickled.predict_proba(X).shape == (80, 2)
    amp = TransformerClassifier(
        max_epochs=2, device="cuda", mixed_precision=True, **SMALL
    )
    assert np.isfinite(amp.fit(X, y).predict_proba(X)).all()


LEARNED = dict(SMALL, positional_encoding="learned")  # saved with its max length
ALL = [
    (LSTMAttentionClassifier, dict(hidden_size=4, random_state=0), "labels"),
    (LSTMAttentionRegressor, dict(hidden_size=4, random_state=0), "targets"),
    (TransformerClassifier, LEARNED, "labels"),
    (TransformerRegressor, SMALL, "targets"),
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
    clf = TransformerClassifier(max_epochs=1, **SMALL).fit(X, y)
    joblib.dump(clf, tmp_path / "m.joblib")
    assert_array_equal(
        joblib.load(tmp_path / "m.joblib").predict_proba(X), clf.predict_proba(X)
    )
    assert_array_equal(
        pickle.loads(pickle.dumps(clf)).predict_proba(X), clf.predict_proba(X)
    )


class _Exploit:
    def __reduce__(self):
        return (print, ("code ran",))


def test_bad_model_files_give_clear_errors_and_run_no_code(data, tmp_path, capsys):
    X, y = data
    path = tmp_path / "m.skattn"
    TransformerClassifier(max_epochs=1, **SMALL).fit(X, y).save(path)
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


def test_partial_fit_classes_are_checked(data):
    X, y = data
    clf = LSTMAttentionClassifier(hidden_size=4, max_epochs=1, random_state=0)
    with pytest.raises(ValueError, match="Input classes contains NaN"):
        clf.partial_fit(X, y == "a", classes=[0, 1, np.nan])  # NaN became a class
    with pytest.raises(ValueError, match="classes must be a 1D array"):
        clf.partial_fit(X, y, classes=[["a", "b"]])  # was a message about y
    with pytest.raises(ValueError, match="but classes contains only 1 class: 'a'"):
        clf.partial_fit(X, y, classes=["a"])


def test_negative_class_weight_is_an_error(data):
    X, y = data
    clf = LSTMAttentionClassifier(class_weight={"a": -1.0, "b": 1.0}, max_epochs=1)
    with pytest.raises(ValueError, match="class_weight gives negative weights"):
        clf.fit(X, y)  # the samples of "a" were dropped silently


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
        ("d_model", 2**30),
        ("dim_feedforward", 2**40),
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
