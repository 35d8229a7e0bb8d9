"""ONNX weights run with onnxruntime behind the same call as a torch module (batch in, tensor
out), so the segmentation, feature and classification runtimes work on either format.

The graph must take one float input N×3×H×W (the model's input spec says H and W) and its first
output is the answer (logits or features). onnxruntime's CUDA provider is used when the worker
runs on CUDA and the installed onnxruntime has it; the CPU provider otherwise.
"""

import logging

import numpy as np
import onnxruntime
import torch

logger = logging.getLogger(__name__)


class OnnxLoadError(Exception):
    """The bytes are not an ONNX graph onnxruntime can run, or its input is not an image batch."""


def providers_for(device: torch.device) -> list[str]:
    """onnxruntime execution providers for `device` (CPU as the fallback)."""
    available = onnxruntime.get_available_providers()
    if device.type == "cuda":
        if "CUDAExecutionProvider" in available:
            return ["CUDAExecutionProvider", "CPUExecutionProvider"]
        logger.warning("onnxruntime has no CUDA provider here: running the ONNX model on the CPU")
    return ["CPUExecutionProvider"]


class OnnxModule:
    """Callable like a torch module: `module(batch)` runs the graph on the batch."""

    def __init__(self, data: bytes, device: torch.device) -> None:
        """A session of the ONNX graph in `data`."""
        if not data:
            raise OnnxLoadError("weights are empty")
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        try:
            self.session = onnxruntime.InferenceSession(
                data, sess_options=options, providers=providers_for(device)
            )
        except Exception as error:  # onnxruntime raises its own exception types
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise OnnxLoadError(
                f"weights are not an ONNX model onnxruntime can run ({reason})"
            ) from None
        inputs = self.session.get_inputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 4:
            shapes = [tuple(i.shape) for i in inputs]
            raise OnnxLoadError(f"the graph must take one N×3×H×W input, it takes {shapes}")
        self.input_name = inputs[0].name
        self.device = device

    def eval(self) -> "OnnxModule":
        """Nothing to switch (kept for symmetry with torch modules)."""
        return self

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        """The graph's first output for the batch, as a tensor on the runtime's device."""
        array = batch.detach().to("cpu", torch.float32).numpy()
        [output, *_] = self.session.run(None, {self.input_name: np.ascontiguousarray(array)})
        return torch.from_numpy(np.asarray(output)).to(self.device)
