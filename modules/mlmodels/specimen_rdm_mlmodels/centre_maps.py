"""The "centre map" output layout of this repository's detection models, both ways.

A detection model (task object-detection or instance-segmentation) answers, for input images
N×3×S×T, a tensor N×K×S×T of raw values (a CenterNet-style layout, Zhou et al. 2019, "Objects
as Points", at the input's own resolution):

- channels 0…C-1: logits of "an object of class c has its box centre at this pixel";
- channels C, C+1: the box's width and height as fractions of the image's width and height,
  read at the centre pixel;
- channel C+2 (instance segmentation only): logit of "this pixel belongs to an object".

So K = C + 2 for object detection and C + 3 for instance segmentation, and a model of either
task needs no code beyond its weights (TorchScript or ONNX) and this decoder.

`encode` makes the training targets of boxes (and masks), `decode` turns an output back into
detections at each image's original size: peaks of the centre maps (a pixel that is the
maximum of its 3×3 neighbourhood) at or above the score threshold, best first, their box from
the size channels; an instance's mask is the object channel thresholded at 0.5 inside its box.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

EXTRA_CHANNELS = {"object-detection": 2, "instance-segmentation": 3}
"""Channels after the C centre maps, by task."""
PRIOR = 0.1
"""Initial centre probability of an untrained network (bias of the centre channels)."""


def classes_of(channels: int, task: str) -> int:
    """C of an output with `channels` channels; ValueError when it cannot be this layout."""
    classes = channels - EXTRA_CHANNELS[task]
    if classes < 1:
        raise ValueError(
            f"model: a {task} model answers N×(classes+{EXTRA_CHANNELS[task]})×H×W, "
            f"got {channels} channels"
        )
    return classes


@dataclass
class Detection:
    """One object: class index, score, box [x, y, width, height] in image pixels, and for
    instance segmentation its mask (image-sized bool array)."""

    index: int
    score: float
    box: list[float]
    mask: np.ndarray | None = None


def encode(
    boxes: Sequence[Sequence[float]],
    classes: Sequence[int],
    image_size: tuple[int, int],
    size: tuple[int, int],
    class_count: int,
    masks: Sequence[np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(target K×S×T, size-loss weights S×T) of one image's objects at the training size.

    `boxes` are [x, y, w, h] in the image's pixels (`image_size` = (height, width)); each
    centre map holds a Gaussian per object of its class (σ a sixth of the box's smaller side,
    at least one pixel) with exactly 1.0 at the centre pixel; the size channels hold each
    object's width and height fractions where its Gaussian is the largest and at least 0.5
    (those pixels have weight 1); the object channel (when `masks` are given) is their union.
    """
    height, width = image_size
    rows, cols = size
    extra = 3 if masks is not None else 2
    target = np.zeros((class_count + extra, rows, cols), dtype=np.float32)
    weight = np.zeros((rows, cols), dtype=np.float32)
    strongest = np.zeros((rows, cols), dtype=np.float32)
    ys, xs = np.mgrid[0:rows, 0:cols].astype(np.float32)
    for (x, y, w, h), index in zip(boxes, classes, strict=True):
        cx, cy = (x + w / 2) * cols / width, (y + h / 2) * rows / height
        px, py = min(cols - 1, max(0, int(cx))), min(rows - 1, max(0, int(cy)))
        sigma = max(1.0, min(w * cols / width, h * rows / height) / 6)
        gaussian = np.exp(-((xs - px) ** 2 + (ys - py) ** 2) / (2 * sigma**2))
        np.maximum(target[index], gaussian, out=target[index])
        target[index, py, px] = 1.0
        mine = (gaussian >= 0.5) & (gaussian > strongest)
        target[class_count, mine] = w / width
        target[class_count + 1, mine] = h / height
        weight[mine] = 1.0
        strongest = np.maximum(strongest, gaussian)
    if masks is not None:
        union = np.zeros((height, width), dtype=bool)
        for mask in masks:
            union |= np.asarray(mask, dtype=bool)
        resized = F.interpolate(
            torch.from_numpy(union)[None, None].float(), size=(rows, cols), mode="nearest"
        )
        target[class_count + 2] = resized[0, 0].numpy()
    return target, weight


def focal_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss of centre maps, per object (α = 2, β = 4)."""
    probability = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    positive = target.eq(1).float()
    positive_loss = torch.log(probability) * (1 - probability) ** 2 * positive
    negative_loss = torch.log(1 - probability) * probability**2 * (1 - target) ** 4 * (1 - positive)
    objects = positive.sum().clamp(min=1)
    return -(positive_loss.sum() + negative_loss.sum()) / objects


def decode(
    output: torch.Tensor,
    image_sizes: Sequence[tuple[int, int]],
    task: str,
    threshold: float,
    max_detections: int = 100,
) -> list[list[Detection]]:
    """Detections of each image of a batch output N×K×S×T, best first, at the images' sizes."""
    classes = classes_of(output.shape[1], task)
    centres = torch.sigmoid(output[:, :classes].float())
    peaks = centres * (F.max_pool2d(centres, 3, stride=1, padding=1) == centres)
    rows, cols = output.shape[2:]
    results = []
    for item, (height, width) in enumerate(image_sizes):
        scores, flat = peaks[item].flatten().topk(min(max_detections, peaks[item].numel()))
        keep = scores >= threshold
        scores, flat = scores[keep].tolist(), flat[keep].tolist()
        object_map = None
        if task == "instance-segmentation" and scores:
            object_map = (
                F.interpolate(
                    torch.sigmoid(output[item : item + 1, classes + 2 : classes + 3].float()),
                    size=(height, width),
                    mode="bilinear",
                    align_corners=False,
                )[0, 0]
                .cpu()
                .numpy()
                > 0.5
            )
        found = []
        for score, position in zip(scores, flat, strict=True):
            index, rest = divmod(position, rows * cols)
            row, col = divmod(rest, cols)
            w = float(output[item, classes, row, col].clamp(0, 1)) * width
            h = float(output[item, classes + 1, row, col].clamp(0, 1)) * height
            cx, cy = (col + 0.5) * width / cols, (row + 0.5) * height / rows
            left, top = max(0.0, cx - w / 2), max(0.0, cy - h / 2)
            right, bottom = min(float(width), cx + w / 2), min(float(height), cy + h / 2)
            if right - left < 1 or bottom - top < 1:
                continue
            box = [round(left, 2), round(top, 2), round(right - left, 2), round(bottom - top, 2)]
            mask = None
            if object_map is not None:
                mask = np.zeros((height, width), dtype=bool)
                y0, y1 = int(top), int(np.ceil(bottom))
                x0, x1 = int(left), int(np.ceil(right))
                mask[y0:y1, x0:x1] = object_map[y0:y1, x0:x1]
                if not mask.any():
                    continue
            found.append(Detection(index, float(score), box, mask))
        results.append(found)
    return results
