"""ONNX copies of trained networks: every kind trained here exports and answers as its
TorchScript does on the real sheets; an export that answers differently is not kept."""

import io

import numpy as np
import pytest
import torch
from sheet_samples import sheet_samples, tile_samples

from specimen_rdm_mlmodels.base_model import BaseModel
from specimen_rdm_mlmodels.builtin_models import FEATURE_INPUT, efficientnet_lite0_torchscript
from specimen_rdm_mlmodels.classification_net import TinyCNN
from specimen_rdm_mlmodels.classification_training import (
    ClassificationConfig,
    train_classification,
)
from specimen_rdm_mlmodels.model_runtime import load_weights, preprocess
from specimen_rdm_mlmodels.onnx_export import OnnxExportError, export_onnx, onnx_copy
from specimen_rdm_mlmodels.segmentation_net import TinyUNet

CPU = torch.device("cpu")
SPEC = {"size": [64, 64], "mean": [0.5] * 3, "std": [0.25] * 3}


def _script(module: torch.nn.Module) -> bytes:
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(module.eval()), buffer)
    return buffer.getvalue()


def _answers(weights: bytes, weight_format: str, spec: dict) -> np.ndarray:
    module = load_weights(weights, weight_format, CPU)
    images = [sample.image for sample in sheet_samples()[:3]]
    with torch.inference_mode():
        return module(preprocess(images, spec)).float().numpy()


def _head_on_efficientnet() -> bytes:
    """A head trained (one epoch) on the frozen built-in features, as a training job makes it."""
    module = load_weights(efficientnet_lite0_torchscript(), "torchscript", CPU)
    base = BaseModel("builtin", "feature-extraction", module, FEATURE_INPUT, "efficientnet-lite0")
    config = ClassificationConfig(epochs=1)
    return train_classification(tile_samples()[::4], config, base=base).torchscript


@pytest.mark.parametrize(
    "scripted, spec",
    [
        (lambda: _script(TinyUNet(width=4)), SPEC),
        (lambda: _script(TinyUNet(classes=4, width=4)), SPEC),  # a centre-map detector's shape
        (lambda: _script(TinyCNN(classes=3, width=4)), SPEC),
        (_head_on_efficientnet, FEATURE_INPUT),
    ],
    ids=["segmenter", "detector", "tiny-cnn", "head-on-efficientnet"],
)
def test_exports_answer_as_the_torchscript_does(scripted, spec):
    torch.manual_seed(1)
    scripted = scripted()
    onnx = export_onnx(scripted, spec)
    expected = _answers(scripted, "torchscript", spec)
    assert _answers(onnx, "onnx", spec) == pytest.approx(expected, abs=1e-3)


class Noisy(torch.nn.Module):
    """A network whose answer is random: its export cannot match its TorchScript."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3)) + torch.rand_like(x.mean(dim=(2, 3)))


def test_an_export_that_answers_differently_is_not_kept():
    scripted = _script(Noisy())
    with pytest.raises(OnnxExportError, match="differs from TorchScript"):
        export_onnx(scripted, SPEC)
    data, reason = onnx_copy(scripted, SPEC)
    assert data is None and "differs from TorchScript" in reason
