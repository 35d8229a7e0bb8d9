"""User model weights in every format the runtimes load: TorchScript, ONNX and state dicts of
a named architecture give the same answers; broken or foreign weights are refused by name."""

import io
import pickle
import warnings

import numpy as np
import onnxruntime
import pytest
import torch
from sheet_samples import sheet_samples

from specimen_rdm_mlmodels.architectures import (
    ArchitectureError,
    load_state_dict,
    state_dict_bytes,
    task_of,
)
from specimen_rdm_mlmodels.classification_net import TinyCNN
from specimen_rdm_mlmodels.model_runtime import (
    ClassificationRuntime,
    ModelLoadError,
    RuntimeCache,
    load_weights,
)
from specimen_rdm_mlmodels.onnx_module import providers_for
from specimen_rdm_mlmodels.segmentation_net import TinyUNet

CPU = torch.device("cpu")
SPEC = {"size": [64, 64], "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}


def _torchscript(module: torch.nn.Module) -> bytes:
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(module.eval()), buffer)
    return buffer.getvalue()


def _onnx(module: torch.nn.Module, size: int = 64) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript-based exporter is deprecated
        torch.onnx.export(
            module.eval(),
            (torch.zeros(1, 3, size, size),),
            buffer,
            input_names=["images"],
            dynamic_axes={"images": {0: "batch"}},
            dynamo=False,
        )
    return buffer.getvalue()


@pytest.fixture(scope="module")
def unet() -> TinyUNet:
    torch.manual_seed(1)
    network = TinyUNet(width=4)
    # Non-trivial BatchNorm statistics, so that a format that dropped them would differ.
    network.train()
    with torch.no_grad():
        network(torch.randn(4, 3, 64, 64) * 2 + 0.5)
    return network.eval()


@pytest.fixture(scope="module")
def cnn() -> TinyCNN:
    torch.manual_seed(2)
    return TinyCNN(classes=3, width=4).eval()


def _sheets(count: int = 3) -> list[np.ndarray]:
    return [sample.image for sample in sheet_samples()[:count]]


def test_segmentation_masks_agree_across_the_three_formats(unet):
    cache = RuntimeCache()
    formats = {
        "torchscript": _torchscript(unet),
        "onnx": _onnx(unet),
        "state-dict": state_dict_bytes(unet),
    }
    answers = {}
    for weight_format, data in formats.items():
        runtime = cache.get(
            weight_format,
            lambda data=data: data,
            SPEC,
            0.5,
            CPU,
            task="semantic-segmentation",
            weight_format=weight_format,
            architecture="tiny-unet",
        )
        answers[weight_format] = runtime.predict(_sheets(), batch_size=2)
    reference = answers["torchscript"]
    for weight_format in ("onnx", "state-dict"):
        for mine, theirs in zip(answers[weight_format], reference, strict=True):
            assert mine.mask.shape == theirs.mask.shape
            # Float rounding may flip a pixel at the threshold, nothing more.
            assert (mine.mask != theirs.mask).mean() < 1e-3, weight_format
            assert mine.score == pytest.approx(theirs.score, abs=1e-3)


def test_classifier_probabilities_agree_across_the_three_formats(cnn):
    images = _sheets()
    results = {}
    for weight_format, data in {
        "torchscript": _torchscript(cnn),
        "onnx": _onnx(cnn),
        "state-dict": state_dict_bytes(cnn),
    }.items():
        module = load_weights(data, weight_format, CPU, "tiny-cnn")
        results[weight_format] = ClassificationRuntime(module, SPEC, 0.5, CPU).classify(images)
    for weight_format in ("onnx", "state-dict"):
        for mine, theirs in zip(results[weight_format], results["torchscript"], strict=True):
            assert mine.index == theirs.index
            np.testing.assert_allclose(mine.probabilities, theirs.probabilities, atol=1e-4)
            assert mine.probabilities.sum() == pytest.approx(1.0, abs=1e-5)


def test_state_dict_sizes_come_from_the_tensors():
    network = load_state_dict(state_dict_bytes(TinyUNet(width=6, classes=2)), "tiny-unet")
    assert network.head.out_channels == 2 and network.down1[0].out_channels == 6
    assert load_state_dict(state_dict_bytes(TinyCNN(classes=5)), "tiny-cnn").head.out_features == 5
    assert task_of("tiny-cnn") == "image-classification"
    assert task_of("resnet-9000") is None


def test_state_dicts_that_do_not_fit_are_refused(unet, cnn):
    with pytest.raises(
        ArchitectureError,
        match="architecture 'resnet' is not one of fasterrcnn-.*, tiny-cnn, tiny-unet",
    ):
        load_state_dict(state_dict_bytes(cnn), "resnet")
    with pytest.raises(ArchitectureError, match="has no tensor 'features.0.0.weight'"):
        load_state_dict(state_dict_bytes(unet), "tiny-cnn")
    state = cnn.state_dict()
    state.pop("head.bias")
    buffer = io.BytesIO()
    torch.save(state, buffer)
    with pytest.raises(ArchitectureError, match="does not fit tiny-cnn"):
        load_state_dict(buffer.getvalue(), "tiny-cnn")


class Payload:
    """A pickled object: loading it would run code, so weights_only loading must refuse it."""

    def __reduce__(self):
        return (print, ("code ran",))


def test_a_state_dict_that_would_run_code_is_refused(capsys):
    buffer = io.BytesIO()
    torch.save({"head.weight": Payload()}, buffer, pickle_module=pickle)
    with pytest.raises(ModelLoadError, match="not a PyTorch state dict"):
        load_weights(buffer.getvalue(), "state-dict", CPU, "tiny-cnn")
    assert "code ran" not in capsys.readouterr().out


@pytest.mark.parametrize("data", [b"", b"not an onnx graph at all", b"\x08\x07" * 100])
def test_broken_onnx_is_refused_with_a_reason(data):
    with pytest.raises(ModelLoadError, match="^weights are "):
        load_weights(data, "onnx", CPU)


def test_onnx_graphs_with_other_inputs_are_refused():
    class TwoInputs(torch.nn.Module):
        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return a + b

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(TwoInputs(), (torch.zeros(1, 3), torch.zeros(1, 3)), buffer, dynamo=False)
    with pytest.raises(ModelLoadError, match="one N×3×H×W input"):
        load_weights(buffer.getvalue(), "onnx", CPU)


def test_onnx_runs_on_the_cpu_provider_without_cuda(monkeypatch):
    assert providers_for(CPU) == ["CPUExecutionProvider"]
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    assert providers_for(torch.device("cuda")) == ["CPUExecutionProvider"]
    monkeypatch.setattr(
        onnxruntime,
        "get_available_providers",
        lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"],
    )
    assert providers_for(torch.device("cuda"))[0] == "CUDAExecutionProvider"


def test_unknown_weight_format_is_refused():
    with pytest.raises(ModelLoadError, match="weight format 'safetensors' is not one of"):
        load_weights(b"x", "safetensors", CPU)
