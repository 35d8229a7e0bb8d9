"""torchvision's detectors as named architectures, and their output layout.

A model whose `ml:input.output` is `torchvision-detections` takes what torchvision's detection
models take and answers what they answer:

- input: a list of 3×H×W float tensors, RGB in [0, 1], each at its image's own size (the model
  resizes and normalises internally; its boxes come back in the input's pixels);
- output: one dict per image with `boxes` (N×4, x1 y1 x2 y2), `labels` (N, int64), `scores` (N)
  and, for instance segmentation, `masks` (N×1×H×W probabilities at the image's size). A
  scripted torchvision model answers `(losses, detections)`; both forms are accepted.

Labels are the model's own class numbers; torchvision keeps 0 for the background, so a model's
first class is 1 and `ml:labels` maps each number to an annotation category.

Such a model runs from a TorchScript archive (any network with this contract) or from a state
dict of one of the architectures below, built here without downloading anything
(`weights=None, weights_backbone=None`); the number of classes is read from the state dict.
"""

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch
from torch import nn
from torchvision.models import detection

from .centre_maps import Detection

LAYOUT = "torchvision-detections"
"""The `ml:input.output` value of these models."""

CLASSIFIER_WEIGHTS = {
    "roi": "roi_heads.box_predictor.cls_score.weight",
    "retina": "head.classification_head.cls_logits.weight",
    "fcos": "head.classification_head.cls_logits.weight",
}
"""Per family: the state-dict tensor whose first dimension counts the classes (× anchors)."""
ANCHORS_PER_PLACE = {"roi": 1, "retina": 9, "fcos": 1}

NETWORKS: dict[str, tuple[str, str, Callable[..., nn.Module]]] = {
    "fasterrcnn-mobilenet-v3-large-320-fpn": (
        "object-detection",
        "roi",
        detection.fasterrcnn_mobilenet_v3_large_320_fpn,
    ),
    "fasterrcnn-mobilenet-v3-large-fpn": (
        "object-detection",
        "roi",
        detection.fasterrcnn_mobilenet_v3_large_fpn,
    ),
    "fasterrcnn-resnet50-fpn": ("object-detection", "roi", detection.fasterrcnn_resnet50_fpn),
    "retinanet-resnet50-fpn": ("object-detection", "retina", detection.retinanet_resnet50_fpn),
    "fcos-resnet50-fpn": ("object-detection", "fcos", detection.fcos_resnet50_fpn),
    "maskrcnn-resnet50-fpn": ("instance-segmentation", "roi", detection.maskrcnn_resnet50_fpn),
}
"""Architecture name → (task, family, torchvision builder)."""


def build_detector(name: str, classes: int, **options) -> nn.Module:
    """Network `name` with `classes` classes (the background included), freshly initialised
    (nothing is downloaded); `options` go to torchvision (e.g. `min_size`, `max_size`)."""
    build = NETWORKS[name][2]
    return build(weights=None, weights_backbone=None, num_classes=classes, **options)


def _from_state(name: str) -> Callable[[dict], nn.Module]:
    family = NETWORKS[name][1]

    def from_state(state: dict) -> nn.Module:
        key = CLASSIFIER_WEIGHTS[family]
        tensor = state.get(key)
        if not isinstance(tensor, torch.Tensor):
            raise KeyError(key)
        return build_detector(name, int(tensor.shape[0] // ANCHORS_PER_PLACE[family]))

    return from_state


DETECTORS: dict[str, tuple[str, Callable[[dict], nn.Module]]] = {
    name: (task, _from_state(name)) for name, (task, _, _) in NETWORKS.items()
}
"""Architecture name → (task, builder from a state dict)."""


def _as_tensors(images: Sequence[np.ndarray], device: torch.device) -> list[torch.Tensor]:
    tensors = []
    for image in images:
        if np.ndim(image) != 3 or np.shape(image)[2] != 3:
            raise ValueError(f"image: expected height×width×3 RGB, got shape {np.shape(image)}")
        tensor = torch.from_numpy(np.ascontiguousarray(image, dtype=np.uint8)).permute(2, 0, 1)
        tensors.append(tensor.to(device).float().div_(255))
    return tensors


def _results(output, count: int) -> list[dict]:
    if isinstance(output, tuple) and len(output) == 2:  # scripted: (losses, detections)
        output = output[1]
    if not isinstance(output, list | tuple) or len(output) != count:
        raise ValueError(
            f"model: a {LAYOUT} model answers one dict per image (boxes, labels, scores), "
            f"got {type(output).__name__}"
        )
    for result in output:
        if not isinstance(result, dict) or not {"boxes", "labels", "scores"} <= set(result):
            raise ValueError(f"model: a {LAYOUT} result needs boxes, labels and scores")
    return list(output)


def _detections(
    result: dict, height: int, width: int, threshold: float, limit: int, masks: bool
) -> list[Detection]:
    boxes = result["boxes"].detach().float().cpu()
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"model: boxes must be N×4 (x1, y1, x2, y2), got {tuple(boxes.shape)}")
    scores = result["scores"].detach().float().cpu()
    labels = result["labels"].detach().cpu()
    object_masks = result.get("masks") if masks else None
    if masks and object_masks is None:
        raise ValueError(f"model: an instance-segmentation {LAYOUT} model answers masks too")
    order = torch.argsort(scores, descending=True)
    found = []
    for position in order.tolist():
        score = float(scores[position])
        if score < threshold or len(found) >= limit:
            break
        x1, y1, x2, y2 = boxes[position].tolist()
        left, top = min(max(x1, 0.0), width), min(max(y1, 0.0), height)
        right, bottom = min(max(x2, 0.0), width), min(max(y2, 0.0), height)
        if right - left < 1 or bottom - top < 1:
            continue
        mask = None
        if object_masks is not None:
            probability = object_masks[position]
            probability = probability[0] if probability.ndim == 3 else probability
            if tuple(probability.shape) != (height, width):
                raise ValueError(
                    f"model: masks must be at the image's size {height}×{width}, "
                    f"got {tuple(probability.shape)}"
                )
            mask = (probability > 0.5).cpu().numpy()
            if not mask.any():
                continue
        box = [round(left, 2), round(top, 2), round(right - left, 2), round(bottom - top, 2)]
        found.append(Detection(int(labels[position]), score, box, mask))
    return found


def detect(
    module,
    images: Sequence[np.ndarray],
    device: torch.device,
    threshold: float,
    task: str,
    batch_size: int = 8,
    max_detections: int = 100,
) -> Iterator[list[Detection]]:
    """Each image's detections scoring at least `threshold`, best first, `batch_size` images
    per call of the module."""
    with torch.inference_mode():
        for first in range(0, len(images), batch_size):
            chunk = images[first : first + batch_size]
            output = _results(module(_as_tensors(chunk, device)), len(chunk))
            for image, result in zip(chunk, output, strict=True):
                height, width = image.shape[:2]
                yield _detections(
                    result,
                    height,
                    width,
                    threshold,
                    max_detections,
                    masks=task == "instance-segmentation",
                )
