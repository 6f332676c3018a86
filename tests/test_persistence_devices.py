"""Model files across devices: a model saved on a GPU loads on a CPU-only
machine.

The file is crafted on the CPU: a model fitted with ``device="cpu"`` is saved,
and the ``device`` hyperparameter recorded in the archive is rewritten to
``"cuda"``, which is all that distinguishes a GPU-trained file (weights are
always saved from the CPU). So the fallback is tested on every machine, not
only on those with a GPU.
"""

import pytest
import torch
from numpy.testing import assert_array_equal

import skattn
from skattn import LSTMAttentionRegressor, TransformerClassifier

from ._params import SMALL_TRANSFORMER

pytestmark = pytest.mark.skipif(
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


def test_an_explicit_cuda_device_is_a_clear_error(gpu_files):
    _, path = gpu_files["classifier"]
    with pytest.raises(ValueError, match="CUDA is not available") as info:
        skattn.load(path, device="cuda")
    # the device asked for is at fault, not the file
    assert "inconsistent" not in str(info.value)
    assert "device='cuda'" in str(info.value)
