"""Training an image classifier on labelled image regions (crops), from scratch or from a base
model (transfer learning).

- From scratch: a TinyCNN at `image_size`×`image_size`, ImageNet normalisation.
- From a feature-extraction base model (e.g. the built-in EfficientNet-Lite0): a linear head on
  the base's features, at the base's input size and normalisation. With `freeze_base` (default)
  the base is not trained: its features are computed once per crop (and its mirror image when
  augmenting) and only the head learns, which takes seconds on a CPU.
- From an image-classification base of architecture `tiny-cnn`: its convolutional layers are
  the starting point, a new head is learned for the new classes and every layer is fine-tuned.

Reproducible: the split is a seeded shuffle of the source images (all crops of one image stay
in one split, so no test image was seen in training), and torch, numpy and Python are seeded.
The weights of the epoch with the best validation macro-F1 are kept; every split is evaluated
(accuracy, macro-F1) and the test split's confusion matrix is plotted.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .classification_metrics import confusion, summarise
from .classification_net import FeatureClassifier, TinyCNN
from .evaluation_plots import confusion_png
from .model_runtime import (
    preprocess,
    select_device,
)
from .segmentation_training import (
    BestEpoch,
    CommonTrainingConfig,
    TrainingResult,
    seed_everything,
    split_keys,
    torchscript_bytes,
)

if TYPE_CHECKING:  # base_model reads records (Invenio); training itself needs none of it
    from .base_model import BaseModel


@dataclass
class ClassificationConfig(CommonTrainingConfig):
    """Hyperparameters of a classifier training (stored with the model, so a run can be
    repeated exactly).

    `image_size` is the training size from scratch (a base model brings its own input size);
    `freeze_base` keeps a feature-extraction base fixed (only the head learns).
    """

    image_size: int = 64
    epochs: int = 20
    batch_size: int = 16
    freeze_base: bool = True
    image_multiple = 16


@dataclass
class LabelledImage:
    """One training crop (H×W×3 uint8), its class name, and the image it was cut from."""

    key: str
    group: str
    image: np.ndarray
    label: str

    def __post_init__(self) -> None:
        """Refuse an image that is not H×W×3."""
        if np.ndim(self.image) != 3 or np.shape(self.image)[2] != 3 or not self.image.size:
            raise ValueError(f"sample {self.key}: image must be H×W×3, not {self.image.shape}")


def _initial_network(base: "BaseModel | None", classes: int, config: ClassificationConfig, spec):
    """The network to train and a description of where it came from."""
    if base is None:
        return TinyCNN(classes=classes, width=config.width), "tiny-cnn"
    if base.task == "feature-extraction":
        with torch.inference_mode():
            probe = base.module(preprocess([np.zeros((32, 32, 3), np.uint8)], spec))
        if probe.ndim != 2:
            raise ValueError(f"base_model: a feature extractor answers N×D, got {probe.shape}")
        network = FeatureClassifier(base.module, int(probe.shape[1]), classes)
        return network, f"linear head on {base.architecture or base.record}"
    if base.task == "image-classification" and base.architecture == "tiny-cnn":
        state = base.module.state_dict()
        width = int(state["features.0.0.weight"].shape[0])
        network = TinyCNN(classes=classes, width=width)
        features = {k: v for k, v in state.items() if k.startswith("features.")}
        network.load_state_dict(features, strict=False)
        return network, "tiny-cnn"
    raise ValueError(
        "base_model: transfer learning starts from a feature-extraction model or a tiny-cnn "
        f"classifier, not a {base.task} model of architecture '{base.architecture}'"
    )


def _spec(base: "BaseModel | None", config: ClassificationConfig) -> dict:
    if base is not None:
        return dict(base.input_spec)
    return config.input_spec()


def _batches(images: Sequence[np.ndarray], spec: dict, size: int = 32) -> torch.Tensor:
    return torch.cat([preprocess(images[i : i + size], spec) for i in range(0, len(images), size)])


def _predict(network: nn.Module, inputs: torch.Tensor, device, size: int = 32) -> list[int]:
    network.eval()
    answers = []
    with torch.inference_mode():
        for first in range(0, len(inputs), size):
            logits = network(inputs[first : first + size].to(device))
            answers.extend(int(i) for i in logits.argmax(dim=1).cpu())
    return answers


def train_classification(
    samples: Sequence[LabelledImage],
    config: ClassificationConfig,
    base: "BaseModel | None" = None,
    progress: Callable[[int, int, float, float], None] | None = None,
) -> TrainingResult:
    """Train, keep the best epoch by validation macro-F1, evaluate every split, script it.

    `progress(epoch, epochs, mean training loss, validation macro-F1)` runs after each epoch.
    """
    keys = [sample.key for sample in samples]
    if len(set(keys)) != len(keys):
        raise ValueError("sample keys must be unique")
    labels = sorted({sample.label for sample in samples})
    if len(labels) < 2:
        raise ValueError(f"categories: a classifier needs at least two classes, got {labels}")
    split = split_keys(sorted({s.group for s in samples}), config.fractions, config.seed)
    group_split = {group: name for name, groups in split.items() for group in groups}
    parts = {name: [s for s in samples if group_split[s.group] == name] for name in split}
    device = select_device(config.device)
    seed_everything(config.seed)
    spec = _spec(base, config)
    network, architecture = _initial_network(base, len(labels), config, spec)
    network = network.to(device)
    index = {label: i for i, label in enumerate(labels)}
    inputs = {name: _batches([s.image for s in part], spec) for name, part in parts.items()}
    targets = {
        name: torch.tensor([index[s.label] for s in part], dtype=torch.long)
        for name, part in parts.items()
    }
    started = time.perf_counter()  # the frozen base's feature pass counts as training time
    frozen = isinstance(network, FeatureClassifier) and config.freeze_base
    trained = network.head if frozen else network
    if frozen:
        # The backbone does not change: its features of every crop are computed once, and the
        # head is trained and evaluated on them (the same answers as the whole network gives).
        network.backbone.eval()
        for parameter in network.backbone.parameters():
            parameter.requires_grad_(False)
        inputs = {name: _features(network.backbone, x, device) for name, x in inputs.items()}
        flipped_x = _features(
            network.backbone, _batches([s.image[:, ::-1] for s in parts["train"]], spec), device
        )
    else:
        flipped_x = None
    train_x = inputs["train"]
    optimiser = torch.optim.Adam(
        [p for p in trained.parameters() if p.requires_grad], lr=config.learning_rate
    )
    generator = torch.Generator().manual_seed(config.seed)
    epochs, seen = BestEpoch("validation_f1", config.epochs, progress), 0
    for epoch in range(1, config.epochs + 1):
        trained.train()
        order = torch.randperm(len(train_x), generator=generator)
        losses = []
        for first in range(0, len(order), config.batch_size):
            batch_index = order[first : first + config.batch_size]
            batch, target = train_x[batch_index], targets["train"][batch_index]
            if config.augment:
                flip = torch.rand(len(batch_index), generator=generator) < 0.5
                mirrored = flipped_x[batch_index] if frozen else batch.flip(3)
                shape = (-1,) + (1,) * (batch.ndim - 1)
                batch = torch.where(flip.view(shape), mirrored, batch)
            if len(batch_index) == 1:  # BatchNorm needs two values per channel
                twin = flipped_x[batch_index] if frozen else batch.flip(3)
                batch, target = torch.cat([batch, twin]), torch.cat([target, target])
            optimiser.zero_grad()
            loss = F.cross_entropy(trained(batch.to(device)), target.to(device))
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
            seen += len(batch)
        predicted = _predict(trained, inputs["validation"], device)
        f1 = summarise(targets["validation"].tolist(), predicted, len(labels))["macro_f1"]
        epochs.end(epoch, losses, f1, trained)
    seconds = time.perf_counter() - started
    epochs.restore(trained)
    metrics, matrix = {}, None
    for name in split:
        predicted = _predict(trained, inputs[name], device)
        truth = targets[name].tolist()
        metrics[name] = summarise(truth, predicted, len(labels))
        if name == "test":
            matrix = confusion(truth, predicted, len(labels))
    return TrainingResult(
        torchscript=torchscript_bytes(network),
        metrics=metrics,
        split={name: sorted(s.key for s in part) for name, part in parts.items()},
        config=config.to_dict(),
        history=epochs.history,
        input_spec=spec,
        labels=labels,
        seconds=seconds,
        images_per_second=seen / seconds if seconds else 0.0,
        device=str(device),
        architecture=architecture,
        plots={
            "loss_curve.png": epochs.loss_curve("validation macro-F1"),
            "confusion_matrix.png": confusion_png(matrix, labels),
        },
    )


def _features(backbone: nn.Module, inputs: torch.Tensor, device, size: int = 32) -> torch.Tensor:
    """The frozen backbone's features of every input (computed once, on the CPU afterwards)."""
    parts = []
    with torch.inference_mode():
        for first in range(0, len(inputs), size):
            parts.append(backbone(inputs[first : first + size].to(device)).float().cpu())
    return torch.cat(parts).clone()
