"""Training torchvision's detectors (Faster R-CNN, RetinaNet, FCOS, Mask R-CNN) on annotated
images, from scratch or from a base model (transfer learning).

The network is one of the named architectures of `torchvision_detectors.py`, with one class per
label plus torchvision's background class 0, its shorter image side resized to `image_size`
(torchvision's `min_size`; the longer side at most twice that). With a base model, every tensor
of the base whose name and shape fit the new network is copied into it (backbone, FPN, region
proposals; the class-specific heads too when the label count is the same), the rest keeps its
fresh initialisation. Training uses torchvision's own losses (the model in train mode answers
them), SGD with momentum, seeded horizontal flips; the weights of the epoch with the best
validation mAP@.5 are kept and every split is evaluated with pycocotools. The result is a
TorchScript archive of the whole network (it keeps its resize settings), whose output layout is
`torchvision-detections`.
"""

import time
from collections.abc import Callable

import numpy as np
import torch

from .detection_metrics import coco_metrics
from .detection_training import split_samples
from .model_runtime import select_device
from .segmentation_training import (
    BestEpoch,
    TrainingResult,
    seed_everything,
    torchscript_bytes,
)
from .torchvision_detectors import DETECTORS, LAYOUT, build_detector
from .torchvision_detectors import detect as detect_objects


def transfer(network: torch.nn.Module, base_state: dict) -> int:
    """Copy into `network` every tensor of `base_state` with a fitting name and shape; how many
    were copied. ValueError when none fits (the base is another kind of network)."""
    own = network.state_dict()
    fitting = {
        key: value
        for key, value in base_state.items()
        if key in own and tuple(own[key].shape) == tuple(value.shape)
    }
    if not fitting:
        raise ValueError("base_model: none of its weights fit the network being trained")
    own.update(fitting)
    network.load_state_dict(own)
    return len(fitting)


def _tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div_(255)


def _target(sample, index: dict[str, int], masks: bool, flip: bool) -> dict:
    height, width = sample.image.shape[:2]
    boxes = torch.tensor(
        [[x, y, x + w, y + h] for x, y, w, h in sample.boxes], dtype=torch.float32
    ).reshape(-1, 4)
    if flip:
        boxes = torch.stack([width - boxes[:, 2], boxes[:, 1], width - boxes[:, 0], boxes[:, 3]], 1)
    target = {
        "boxes": boxes,
        "labels": torch.tensor([index[label] + 1 for label in sample.labels], dtype=torch.int64),
    }
    if masks:
        stacked = np.stack(sample.masks) if sample.masks else np.zeros((0, height, width), bool)
        target["masks"] = torch.from_numpy(stacked.astype(np.uint8))
        if flip:
            target["masks"] = target["masks"].flip(2)
    return target


def detect(network, samples, task: str, config, device) -> list:
    """The network's detections on each sample, with class indices counted from 0 (as the
    evaluation counts them)."""
    network.eval()
    found = detect_objects(
        network,
        [sample.image for sample in samples],
        device,
        config.threshold,
        task,
        batch_size=1,
        max_detections=config.max_detections,
    )
    results = []
    for detections in found:
        for detection in detections:
            detection.index -= 1
        results.append(detections)
    return results


def train_torchvision_detection(
    samples,
    config,
    task: str,
    base_state: dict | None = None,
    progress: Callable[[int, int, float, float], None] | None = None,
) -> TrainingResult:
    """Train `config.architecture` on the samples (DetectionSample), keep the best epoch by
    validation mAP@.5, evaluate every split, script it.

    `base_state` is the state dict to start from; `progress(epoch, epochs, mean training
    loss, validation mAP@.5)` runs after each epoch.
    """
    architecture = config.architecture
    if DETECTORS.get(architecture, ("",))[0] != task:
        raise ValueError(f"architecture: '{architecture}' is not a torchvision {task} model")
    masks = task == "instance-segmentation"
    labels, index, split, parts = split_samples(samples, config, masks)
    device = select_device(config.device)
    seed_everything(config.seed)
    network = build_detector(
        architecture, len(labels) + 1, min_size=config.image_size, max_size=2 * config.image_size
    )
    copied = transfer(network, base_state) if base_state is not None else 0
    network = network.to(device)
    parameters = [p for p in network.parameters() if p.requires_grad]
    optimiser = torch.optim.SGD(
        parameters, lr=config.learning_rate, momentum=0.9, weight_decay=1e-4
    )
    generator = torch.Generator().manual_seed(config.seed)
    truths = {name: [s.truth(index) for s in part] for name, part in parts.items()}
    train = parts["train"]
    images = [_tensor(sample.image) for sample in train]
    epochs, seen = BestEpoch("validation_map50", config.epochs, progress), 0
    started = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        network.train()
        order = torch.randperm(len(train), generator=generator).tolist()
        losses = []
        for first in range(0, len(order), config.batch_size):
            chosen = order[first : first + config.batch_size]
            flips = (torch.rand(len(chosen), generator=generator) < 0.5).tolist()
            if not config.augment:
                flips = [False] * len(chosen)
            pairs = list(zip(chosen, flips, strict=True))
            batch = [images[i].flip(2) if flip else images[i] for i, flip in pairs]
            targets = [_target(train[i], index, masks, flip) for i, flip in pairs]
            loss_parts = network(
                [image.to(device) for image in batch],
                [{k: v.to(device) for k, v in target.items()} for target in targets],
            )
            loss = sum(loss_parts.values())
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(float(loss))
            seen += len(batch)
        found = detect(network, parts["validation"], task, config, device)
        score = coco_metrics(truths["validation"], found, len(labels))["map_50"]
        epochs.end(epoch, losses, score, network)
    seconds = time.perf_counter() - started
    epochs.restore(network)
    metrics = {}
    for name, part in parts.items():
        found = detect(network, part, task, config, device)
        metrics[name] = coco_metrics(truths[name], found, len(labels), masks=masks)
    return TrainingResult(
        torchscript=torchscript_bytes(network),
        metrics=metrics,
        split=split,
        config={**config.to_dict(), "base_tensors_copied": copied},
        history=epochs.history,
        input_spec={"channels": 3, "output": LAYOUT},
        labels=labels,
        seconds=seconds,
        images_per_second=seen / seconds if seconds else 0.0,
        device=str(device),
        architecture=architecture,
        plots={"loss_curve.png": epochs.loss_curve("validation mAP@.5")},
    )
