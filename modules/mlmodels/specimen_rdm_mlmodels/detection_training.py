"""Training an object detector or an instance segmenter on boxes (and masks) of annotated images.

The network is a TinyUNet whose output follows the centre-map layout of `centre_maps`: one
centre map per class, the box size, and for instance segmentation an object map. From scratch
only (no base model); the `architecture` hyperparameter picks one of torchvision's detectors
instead (`torchvision_training.py`, which can start from a base model). Images are stretched
to `image_size`×`image_size`; the loss is the focal loss of the centre maps + `size_weight` ×
L1 of the box size near each centre (+ BCE and soft Dice of the object map). The weights of
the epoch with the best validation mAP@.5 are kept (mAP@[.5:.95] of a few validation images
stays at 0 for many epochs); every split is evaluated at the images' original resolution with
pycocotools (`detection_metrics`).

Reproducible like the other trainings: the split is a seeded shuffle of the image keys, and
torch, numpy and Python are seeded.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .centre_maps import EXTRA_CHANNELS, PRIOR, Detection, decode, encode, focal_loss
from .detection_metrics import Truth, coco_metrics
from .model_runtime import preprocess, select_device
from .segmentation_net import TinyUNet
from .segmentation_training import (
    BestEpoch,
    CommonTrainingConfig,
    TrainingResult,
    seed_everything,
    split_keys,
    torchscript_bytes,
)
from .torchvision_detectors import DETECTORS

ARCHITECTURE = "tiny-unet-centre-maps"


@dataclass
class DetectionConfig(CommonTrainingConfig):
    """Hyperparameters of a detection or instance-segmentation training (stored with the
    model). `threshold` is the lowest centre score reported as a detection (evaluation and
    the runtime's default), `max_detections` the most per image."""

    image_size: int = 96
    epochs: int = 150
    batch_size: int = 2
    learning_rate: float = 1e-2
    width: int = 8
    threshold: float = 0.05
    max_detections: int = 100
    size_weight: float = 1.0
    architecture: str = ARCHITECTURE
    """The centre-map TinyUNet, or one of torchvision's detectors (`torchvision_training.py`;
    `image_size` is then the shorter image side it resizes to)."""

    def __post_init__(self) -> None:
        """Refuse values no training can use."""
        super().__post_init__()
        if self.architecture != ARCHITECTURE and self.architecture not in DETECTORS:
            known = ", ".join([ARCHITECTURE, *sorted(DETECTORS)])
            raise ValueError(f"architecture must be one of {known}")
        if not 0 < self.threshold < 1:
            raise ValueError("threshold must be between 0 and 1")
        if not 1 <= self.max_detections <= 1000:
            raise ValueError("max_detections must be between 1 and 1000")
        if self.size_weight <= 0:
            raise ValueError("size_weight must be positive")


@dataclass
class DetectionSample:
    """One image (H×W×3 uint8), its objects' boxes [x, y, w, h] and class names, and for
    instance segmentation one H×W mask per object."""

    key: str
    image: np.ndarray
    boxes: list[list[float]]
    labels: list[str]
    masks: list[np.ndarray] | None = None

    def __post_init__(self) -> None:
        """Refuse objects that do not fit the image."""
        if np.ndim(self.image) != 3 or np.shape(self.image)[2] != 3:
            raise ValueError(f"sample {self.key}: image must be H×W×3, not {self.image.shape}")
        if len(self.boxes) != len(self.labels):
            counts = f"{len(self.boxes)} boxes, {len(self.labels)} labels"
            raise ValueError(f"sample {self.key}: {counts}")
        height, width = self.image.shape[:2]
        for box in self.boxes:
            x, y, w, h = box
            if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > width + 0.5 or y + h > height + 0.5:
                raise ValueError(f"sample {self.key}: box {box} is not inside {width}×{height}")
        if self.masks is not None:
            if len(self.masks) != len(self.boxes):
                counts = f"{len(self.masks)} masks for {len(self.boxes)} boxes"
                raise ValueError(f"sample {self.key}: {counts}")
            self.masks = [np.asarray(m, dtype=bool) for m in self.masks]
            if any(m.shape != (height, width) for m in self.masks):
                raise ValueError(f"sample {self.key}: a mask is not {height}×{width}")

    def truth(self, index: dict[str, int]) -> Truth:
        """The sample's objects for the COCO evaluation."""
        height, width = self.image.shape[:2]
        classes = [index[label] for label in self.labels]
        return Truth(height, width, [list(b) for b in self.boxes], classes, self.masks)


def _targets(samples, index, spec, masks: bool) -> tuple[torch.Tensor, torch.Tensor]:
    size = tuple(spec["size"])
    targets, weights = [], []
    for sample in samples:
        target, weight = encode(
            sample.boxes,
            [index[label] for label in sample.labels],
            sample.image.shape[:2],
            size,
            len(index),
            sample.masks if masks else None,
        )
        targets.append(torch.from_numpy(target))
        weights.append(torch.from_numpy(weight))
    return torch.stack(targets), torch.stack(weights)[:, None]


def _loss(output, target, weight, classes: int, size_weight: float, masks: bool):
    loss = focal_loss(output[:, :classes], target[:, :classes])
    size_error = (output[:, classes : classes + 2] - target[:, classes : classes + 2]).abs()
    loss = loss + size_weight * (size_error * weight).sum() / weight.sum().clamp(min=1)
    if masks:
        logits, truth = output[:, classes + 2 : classes + 3], target[:, classes + 2 : classes + 3]
        probability = torch.sigmoid(logits)
        dice = 1 - (2 * (probability * truth).sum() + 1) / (probability.sum() + truth.sum() + 1)
        loss = loss + F.binary_cross_entropy_with_logits(logits, truth) + dice
    return loss


def detect(
    network, samples, spec, task: str, config: DetectionConfig, device
) -> list[list[Detection]]:
    """The network's detections on each sample at its original size."""
    network.eval()
    found = []
    with torch.inference_mode():
        for sample in samples:
            output = network(preprocess([sample.image], spec).to(device))
            found.extend(
                decode(
                    output, [sample.image.shape[:2]], task, config.threshold, config.max_detections
                )
            )
    return found


def split_samples(samples, config, masks: bool):
    """(labels, label → class index, split keys, split samples) of a detection training;
    ValueError for duplicate keys, objects without masks (`masks`) or no object at all."""
    by_key = {sample.key: sample for sample in samples}
    if len(by_key) != len(samples):
        raise ValueError("sample keys must be unique")
    if masks and any(sample.masks is None for sample in samples):
        raise ValueError("instance segmentation needs a mask for every object")
    labels = sorted({label for sample in samples for label in sample.labels})
    if not labels:
        raise ValueError("categories: the images have no objects of the chosen categories")
    index = {label: i for i, label in enumerate(labels)}
    split = split_keys(list(by_key), config.fractions, config.seed)
    parts = {name: [by_key[k] for k in keys] for name, keys in split.items()}
    return labels, index, split, parts


def train_detection(
    samples: Sequence[DetectionSample],
    config: DetectionConfig,
    task: str = "object-detection",
    progress: Callable[[int, int, float, float], None] | None = None,
) -> TrainingResult:
    """Train, keep the best epoch by validation mAP@.5, evaluate every split, script it.

    `progress(epoch, epochs, mean training loss, validation mAP@.5)` runs after each epoch.
    """
    if task not in EXTRA_CHANNELS:
        raise ValueError(f"task: detection training is for {', '.join(EXTRA_CHANNELS)}")
    masks = task == "instance-segmentation"
    labels, index, split, parts = split_samples(samples, config, masks)
    device = select_device(config.device)
    seed_everything(config.seed)
    spec = {**config.input_spec(), "output": "centre-maps"}
    classes = len(labels)
    network = TinyUNet(classes=classes + EXTRA_CHANNELS[task], width=config.width)
    with torch.no_grad():
        network.head.bias[:classes].fill_(float(np.log(PRIOR / (1 - PRIOR))))
        network.head.bias[classes : classes + 2].fill_(0.25)
    network = network.to(device)
    images = preprocess([s.image for s in parts["train"]], spec)
    targets, weights = _targets(parts["train"], index, spec, masks)
    optimiser = torch.optim.Adam(network.parameters(), lr=config.learning_rate)
    generator = torch.Generator().manual_seed(config.seed)
    truths = {name: [s.truth(index) for s in part] for name, part in parts.items()}
    epochs, seen = BestEpoch("validation_map50", config.epochs, progress), 0
    started = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        network.train()
        order = torch.randperm(len(images), generator=generator)
        losses = []
        for first in range(0, len(order), config.batch_size):
            chosen = order[first : first + config.batch_size]
            batch, target, weight = images[chosen], targets[chosen], weights[chosen]
            if config.augment:  # a mirrored image has mirrored centres and the same box sizes
                flip = (torch.rand(len(chosen), generator=generator) < 0.5).view(-1, 1, 1, 1)
                batch = torch.where(flip, batch.flip(3), batch)
                target = torch.where(flip, target.flip(3), target)
                weight = torch.where(flip, weight.flip(3), weight)
            if len(chosen) == 1:  # BatchNorm needs two values per channel
                batch, target, weight = (torch.cat([t, t.flip(3)]) for t in (batch, target, weight))
            optimiser.zero_grad()
            output = network(batch.to(device))
            loss = _loss(
                output, target.to(device), weight.to(device), classes, config.size_weight, masks
            )
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
            seen += len(batch)
        found = detect(network, parts["validation"], spec, task, config, device)
        score = coco_metrics(truths["validation"], found, classes)["map_50"]
        epochs.end(epoch, losses, score, network)
    seconds = time.perf_counter() - started
    epochs.restore(network)
    metrics = {}
    for name, part in parts.items():
        found = detect(network, part, spec, task, config, device)
        metrics[name] = coco_metrics(truths[name], found, classes, masks=masks)
    return TrainingResult(
        torchscript=torchscript_bytes(network),
        metrics=metrics,
        split=split,
        config=config.to_dict(),
        history=epochs.history,
        input_spec=spec,
        labels=labels,
        seconds=seconds,
        images_per_second=seen / seconds if seconds else 0.0,
        device=str(device),
        architecture=ARCHITECTURE,
        plots={"loss_curve.png": epochs.loss_curve("validation mAP@.5")},
    )
