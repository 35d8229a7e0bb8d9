"""Loading model weights in a worker and running them on images, on CUDA when present.

Weights are TorchScript archives (no model code needed to run them), ONNX graphs (run with
onnxruntime, `onnx_module.py`) or PyTorch state dicts of a named architecture
(`architectures.py`). A segmentation model answers N×C×H×W logits (channel 0 is the
foreground), a feature extractor N×D features, a classifier N×classes logits, a detector or
instance segmenter centre maps (`centre_maps.py`). A worker keeps
the last few loaded models, keyed by the weights file's checksum, so a pipeline over
thousands of records loads its model once. Images are resized to the model's
input size ("stretch"), normalised with the model's mean/std and run in batches; segmentation
probabilities are resized back to each image's own size before thresholding.
"""

import io
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .architectures import ArchitectureError, load_state_dict
from .centre_maps import Detection, decode
from .onnx_module import OnnxLoadError, OnnxModule
from .torchvision_detectors import LAYOUT as TORCHVISION_LAYOUT
from .torchvision_detectors import detect as torchvision_detect

logger = logging.getLogger(__name__)

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
DEFAULT_INPUT_SIZE = (128, 128)
"""Input (height, width) of a model whose input spec declares none."""
DEVICE_PREFERENCES = ("auto", "cpu", "cuda")


WEIGHT_FORMATS = ("torchscript", "onnx", "state-dict")
"""Formats of user model weights the runtimes load."""


class ModelLoadError(Exception):
    """The weights cannot be loaded (not of their format, truncated, corrupt)."""


def select_device(preference: str = "auto") -> torch.device:
    """CUDA when asked for ("cuda", "auto") and available; otherwise the CPU.

    A worker without a GPU that is asked for "cuda" runs on the CPU (and says so in its log)
    rather than failing the job. Any other preference is a ValueError.
    """
    if preference not in DEVICE_PREFERENCES:
        raise ValueError(f"device: '{preference}' is not one of {', '.join(DEVICE_PREFERENCES)}")
    available = torch.cuda.is_available()
    if preference == "cuda" and not available:
        logger.warning("CUDA requested but not available: running on the CPU")
    return torch.device("cuda" if preference in ("cuda", "auto") and available else "cpu")


def load_torchscript(data: bytes, device: torch.device) -> torch.jit.ScriptModule:
    """The TorchScript module in `data`, in eval mode on `device`."""
    if not data:
        raise ModelLoadError("weights are empty")
    try:
        module = torch.jit.load(io.BytesIO(data), map_location=device)
    except Exception as error:  # torch raises RuntimeError, ValueError, zipfile errors...
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ModelLoadError(f"weights are not a TorchScript archive ({reason})") from None
    return module.eval()


def load_weights(
    data: bytes, weight_format: str, device: torch.device, architecture: str | None = None
):
    """A callable module (batch → tensor on `device`) of weights in any supported format."""
    if weight_format == "torchscript":
        return load_torchscript(data, device)
    if weight_format == "onnx":
        try:
            return OnnxModule(data, device)
        except OnnxLoadError as error:
            raise ModelLoadError(str(error)) from None
    if weight_format == "state-dict":
        try:
            return load_state_dict(data, architecture).to(device)
        except ArchitectureError as error:
            raise ModelLoadError(str(error)) from None
    raise ModelLoadError(f"weight format '{weight_format}' is not one of {WEIGHT_FORMATS}")


def preprocess(images: Sequence[np.ndarray], input_spec: dict) -> torch.Tensor:
    """N×3×H×W float tensor: RGB uint8 images resized to the input size and normalised.

    Training, evaluation and the runtime all call this, so a model sees the same input in each.
    """
    for image in images:
        if np.ndim(image) != 3 or np.shape(image)[2] != 3:
            raise ValueError(f"image: expected height×width×3 RGB, got shape {np.shape(image)}")
    height, width = input_spec.get("size") or DEFAULT_INPUT_SIZE
    mean = torch.tensor(input_spec.get("mean") or IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(input_spec.get("std") or IMAGENET_STD).view(1, 3, 1, 1)
    resized = [
        F.interpolate(
            torch.from_numpy(np.ascontiguousarray(image, dtype=np.uint8))
            .permute(2, 0, 1)[None]
            .float()
            / 255,
            size=(height, width),
            mode="bilinear",
            align_corners=False,
        )
        for image in images
    ]
    return (torch.cat(resized) - mean) / std


def masks_at(
    probabilities: torch.Tensor, sizes: Sequence[tuple[int, int]], threshold: float
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Per image: the probability map resized to (height, width), and its thresholded mask."""
    for probability, size in zip(probabilities, sizes, strict=True):
        full = F.interpolate(probability[None], size=size, mode="bilinear", align_corners=False)
        full = full[0, 0].float().cpu().numpy()
        yield full, full > threshold


@dataclass
class Prediction:
    """One image's result: the mask at the image's size and its confidence."""

    mask: np.ndarray
    score: float


class TorchRuntime:
    """A loaded TorchScript module with its input spec and threshold, on its device."""

    def __init__(
        self, module: torch.nn.Module, input_spec: dict, threshold: float, device: torch.device
    ) -> None:
        """Runtime of `module` (already on `device`)."""
        self.module = module
        self.input_spec = input_spec
        self.threshold = threshold
        self.device = device

    def outputs(
        self, images: Sequence[np.ndarray], batch_size: int
    ) -> Iterator[tuple[Sequence[np.ndarray], torch.Tensor]]:
        """(the images, the module's float output) per batch of `batch_size` images, in
        inference mode; on CUDA through pinned memory with non-blocking copies."""
        cuda = self.device.type == "cuda"
        with torch.inference_mode():
            for first in range(0, len(images), batch_size):
                chunk = images[first : first + batch_size]
                batch = preprocess(chunk, self.input_spec)
                if cuda:
                    batch = batch.pin_memory()
                yield chunk, self.module(batch.to(self.device, non_blocking=cuda)).float()


class SegmentationRuntime(TorchRuntime):
    """A loaded binary segmentation model."""

    def predict(self, images: Sequence[np.ndarray], batch_size: int = 8) -> list[Prediction]:
        """Masks of RGB uint8 images (any sizes), computed `batch_size` images at a time.

        The score is the mean probability inside the predicted mask (0.0 for an empty mask).
        """
        results = []
        for chunk, logits in self.outputs(images, batch_size):
            probabilities = torch.sigmoid(logits[:, :1])
            sizes = [image.shape[:2] for image in chunk]
            for full, mask in masks_at(probabilities, sizes, self.threshold):
                score = float(full[mask].mean()) if mask.any() else 0.0
                results.append(Prediction(mask=mask, score=score))
        return results


class FeatureRuntime(TorchRuntime):
    """A loaded feature extractor: one L2-normalised vector per image (cosine = dot product);
    the threshold is not used."""

    def embed(self, images: Sequence[np.ndarray], batch_size: int = 8) -> np.ndarray:
        """N×D float32 array of unit vectors, computed `batch_size` images at a time."""
        vectors = []
        for _, features in self.outputs(images, batch_size):
            if features.ndim != 2:
                shape = tuple(features.shape)
                raise ValueError(f"model: a feature extractor answers N×D, got {shape}")
            vectors.append(F.normalize(features, dim=1).cpu().numpy())
        return np.concatenate(vectors) if vectors else np.zeros((0, 0), dtype=np.float32)


@dataclass
class Label:
    """One image's class: index of the most probable class and its probability."""

    index: int
    score: float
    probabilities: np.ndarray


class ClassificationRuntime(TorchRuntime):
    """A loaded image classifier (logits N×classes; softmax gives the probabilities)."""

    def classify(self, images: Sequence[np.ndarray], batch_size: int = 8) -> list[Label]:
        """The most probable class of each image, `batch_size` images at a time."""
        labels = []
        for _, logits in self.outputs(images, batch_size):
            if logits.ndim != 2:
                shape = tuple(logits.shape)
                raise ValueError(f"model: a classifier answers N×classes, got {shape}")
            for row in torch.softmax(logits, dim=1).cpu().numpy():
                best = int(row.argmax())
                labels.append(Label(best, float(row[best]), row))
        return labels


class DetectionRuntime(TorchRuntime):
    """A loaded object detector (centre-map outputs, `centre_maps.py`): boxes and scores."""

    task = "object-detection"
    max_detections = 100

    def detect(self, images: Sequence[np.ndarray], batch_size: int = 8) -> list[list[Detection]]:
        """Each image's detections scoring at least the threshold, best first."""
        found = []
        for chunk, output in self.outputs(images, batch_size):
            if output.ndim != 4:
                shape = tuple(output.shape)
                raise ValueError(f"model: a {self.task} model answers N×K×H×W, got {shape}")
            sizes = [image.shape[:2] for image in chunk]
            found.extend(decode(output, sizes, self.task, self.threshold, self.max_detections))
        return found


class InstanceSegmentationRuntime(DetectionRuntime):
    """A loaded instance segmenter: a detector whose detections also carry masks."""

    task = "instance-segmentation"


class TorchvisionDetectionRuntime(TorchRuntime):
    """A loaded detector or instance segmenter with torchvision's contract (list of images in,
    one dict of boxes, labels, scores (and masks) per image out; `torchvision_detectors.py`).
    """

    task = "object-detection"
    max_detections = 100

    def detect(self, images: Sequence[np.ndarray], batch_size: int = 8) -> list[list[Detection]]:
        """Each image's detections scoring at least the threshold, best first."""
        return list(
            torchvision_detect(
                self.module,
                images,
                self.device,
                self.threshold,
                self.task,
                batch_size,
                self.max_detections,
            )
        )


class TorchvisionInstanceSegmentationRuntime(TorchvisionDetectionRuntime):
    """A torchvision-style instance segmenter (Mask R-CNN): detections with masks."""

    task = "instance-segmentation"


TORCHVISION_RUNTIMES = {
    "object-detection": TorchvisionDetectionRuntime,
    "instance-segmentation": TorchvisionInstanceSegmentationRuntime,
}
"""Runtime class of each task for models of the `torchvision-detections` output layout."""


def runtime_class(task: str, input_spec: dict):
    """The runtime class of a model of `task` with this input spec (its output layout)."""
    if input_spec.get("output") == TORCHVISION_LAYOUT and task in TORCHVISION_RUNTIMES:
        return TORCHVISION_RUNTIMES[task]
    return RUNTIMES[task]


RUNTIMES = {
    "semantic-segmentation": SegmentationRuntime,
    "feature-extraction": FeatureRuntime,
    "image-classification": ClassificationRuntime,
    "object-detection": DetectionRuntime,
    "instance-segmentation": InstanceSegmentationRuntime,
}
"""Runtime class of each task that runs from TorchScript, ONNX or state-dict weights."""


class RuntimeCache:
    """The last `size` loaded runtimes, by weights checksum (thread-safe)."""

    def __init__(self, size: int = 4) -> None:
        """An empty cache holding at most `size` models."""
        self.size = size
        self._entries: OrderedDict[tuple, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self,
        checksum: str,
        load: Callable[[], bytes],
        input_spec: dict,
        threshold: float,
        device: torch.device,
        task: str = "semantic-segmentation",
        weight_format: str = "torchscript",
        architecture: str | None = None,
    ):
        """The runtime of these weights; `load()` is called only when they are not cached."""
        runtime_cls = runtime_class(task, input_spec)
        key = (checksum, str(device), task, weight_format, architecture, runtime_cls)
        with self._lock:
            runtime = self._entries.get(key)
            if runtime is None:
                module = load_weights(load(), weight_format, device, architecture)
                runtime = runtime_cls(module, input_spec, threshold, device)
                self._entries[key] = runtime
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
            self._entries.move_to_end(key)
        if runtime.threshold != threshold or runtime.input_spec != input_spec:
            return runtime_cls(runtime.module, input_spec, threshold, device)
        return runtime


runtime_cache = RuntimeCache()
"""The worker's cache (its size follows MLMODELS_RUNTIME_CACHE_SIZE, set on each model load)."""
