"""ONNX copies of trained models, so a model record can be run without PyTorch.

A trained network (stored as TorchScript) is exported with torch's TorchScript-based ONNX
exporter at the model's input size, with a dynamic batch axis, and checked before it is kept:
onnxruntime must load it and answer what the TorchScript answers on the same probe batch
(largest absolute difference at most `TOLERANCE`). When the export or the check fails, the
model keeps its TorchScript only and the reason is returned for its training record.
"""

import io
import logging
import warnings

import numpy as np
import torch

from .onnx_module import OnnxModule

logger = logging.getLogger(__name__)

OPSET = 17
TOLERANCE = 1e-3
"""Largest difference between the ONNX and the TorchScript outputs on the probe batch."""


class OnnxExportError(Exception):
    """The network could not be exported, or its export does not answer as it does."""


def export_onnx(torchscript: bytes, input_spec: dict) -> bytes:
    """The ONNX graph (input `images`, N×3×H×W) of a TorchScript archive, checked by
    onnxruntime against the TorchScript on a seeded probe batch."""
    module = torch.jit.load(io.BytesIO(torchscript), map_location="cpu").eval()
    height, width = input_spec.get("size") or (128, 128)
    probe = torch.randn(2, 3, height, width, generator=torch.Generator().manual_seed(0))
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript-based exporter is deprecated
            torch.onnx.export(
                module,
                (probe[:1],),
                buffer,
                input_names=["images"],
                output_names=["output"],
                dynamic_axes={"images": {0: "batch"}, "output": {0: "batch"}},
                opset_version=OPSET,
                dynamo=False,
            )
    except Exception as error:  # the exporter raises many types for unsupported operators
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise OnnxExportError(f"export failed: {reason}") from None
    data = buffer.getvalue()
    try:
        answer = OnnxModule(data, torch.device("cpu"))(probe).numpy()
    except Exception as error:  # OnnxLoadError, or onnxruntime failing on the probe
        raise OnnxExportError(f"onnxruntime cannot run the export: {error}") from None
    # Not inference_mode: after the export, a trained head on a frozen TorchScript base fails
    # in it ("Inference tensors cannot be saved for backward"); no_grad runs it.
    with torch.no_grad():
        expected = module(probe).float().numpy()
    if answer.shape != expected.shape:
        raise OnnxExportError(f"export answers {answer.shape}, TorchScript {expected.shape}")
    difference = float(np.abs(answer - expected).max())
    if difference > TOLERANCE:
        raise OnnxExportError(f"export differs from TorchScript by {difference:.2e}")
    return data


def onnx_copy(torchscript: bytes, input_spec: dict) -> tuple[bytes | None, str]:
    """(ONNX bytes, "ok") or (None, the reason there is none)."""
    if input_spec.get("output") == "torchvision-detections":
        return None, "not made: torchvision-detections models run from TorchScript only"
    try:
        return export_onnx(torchscript, input_spec), "ok"
    except Exception as error:  # an ONNX copy is optional: no failure of it fails a training
        logger.warning("no ONNX copy of the trained model: %s", error)
        return None, str(error)
