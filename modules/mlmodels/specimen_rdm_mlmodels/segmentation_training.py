"""Training a binary segmentation model (TinyUNet) on image + mask samples.

Reproducible: the split (train / validation / test) is a seeded shuffle of the sorted sample
keys, and torch, numpy and Python are seeded from the same seed. Images are resized to a square
`image_size` for training ("stretch"); the loss is BCE + soft Dice; the weights of the epoch with
the best validation IoU are kept. Every split is evaluated at the images' original resolution
(probabilities resized back, thresholded), with the metrics of `segmentation_metrics`.
"""

import io
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .evaluation_plots import iou_bars_png, loss_curve_png
from .model_runtime import (
    DEVICE_PREFERENCES,
    IMAGENET_MEAN,
    IMAGENET_STD,
    masks_at,
    preprocess,
    select_device,
)
from .segmentation_metrics import iou, summarise
from .segmentation_net import TinyUNet

SPLITS = ("train", "validation", "test")


@dataclass
class CommonTrainingConfig:
    """What every training has: `fractions` are the train / validation / test shares, `augment`
    adds seeded horizontal flips, `device` is "auto", "cpu" or "cuda"."""

    image_size: int = 128
    epochs: int = 30
    batch_size: int = 4
    learning_rate: float = 3e-3
    seed: int = 0
    fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)
    width: int = 16
    augment: bool = True
    device: str = "auto"
    image_multiple = 8
    """`image_size` must be a multiple of this (the network's downsampling)."""

    def __post_init__(self) -> None:
        """Refuse values no training can use."""
        step = self.image_multiple
        if self.image_size < step or self.image_size % step:
            raise ValueError(f"image_size must be a multiple of {step}, at least {step}")
        if self.epochs < 1 or self.batch_size < 1 or self.width < 1:
            raise ValueError("epochs, batch_size and width must be at least 1")
        if not 0 < self.learning_rate < 1:
            raise ValueError("learning_rate must be between 0 and 1")
        self.fractions = tuple(float(f) for f in self.fractions)
        if len(self.fractions) != 3 or min(self.fractions) <= 0:
            raise ValueError("fractions must be three positive shares (train, validation, test)")
        if self.device not in DEVICE_PREFERENCES:
            raise ValueError(f"device must be one of {', '.join(DEVICE_PREFERENCES)}")

    def input_spec(self) -> dict:
        """Input spec of a network trained from scratch: `image_size` squared, stretched,
        ImageNet normalisation."""
        return {
            "size": [self.image_size, self.image_size],
            "channels": 3,
            "mean": IMAGENET_MEAN,
            "std": IMAGENET_STD,
            "resize": "stretch",
        }

    def to_dict(self) -> dict:
        """JSON-ready configuration."""
        data = asdict(self)
        data["fractions"] = list(self.fractions)
        return data


@dataclass
class TrainingConfig(CommonTrainingConfig):
    """Hyperparameters of a segmentation training (stored with the model, so a run can be
    repeated exactly).

    Images are stretched to `image_size`×`image_size` for training (aspect ratio not kept), and
    the model's input spec says so; `threshold` turns probabilities into the mask.
    """

    threshold: float = 0.5

    def __post_init__(self) -> None:
        """Refuse values no training can use."""
        super().__post_init__()
        if not 0 < self.threshold < 1:
            raise ValueError("threshold must be between 0 and 1")


@dataclass
class Sample:
    """One training image (H×W×3 uint8) and its mask (H×W bool, nonzero values are foreground)."""

    key: str
    image: np.ndarray
    mask: np.ndarray

    def __post_init__(self) -> None:
        """Refuse a mask that does not cover its image pixel for pixel."""
        self.mask = np.asarray(self.mask, dtype=bool)
        if self.image.ndim != 3 or self.image.shape[2] != 3:
            raise ValueError(f"sample {self.key}: image must be H×W×3, not {self.image.shape}")
        if self.mask.shape != self.image.shape[:2]:
            raise ValueError(
                f"sample {self.key}: mask {self.mask.shape} does not match image "
                f"{self.image.shape[:2]}"
            )


@dataclass
class TrainingResult:
    """Weights, metrics and everything needed to document and repeat the training."""

    torchscript: bytes
    metrics: dict
    split: dict[str, list[str]]
    config: dict
    history: list[dict]
    input_spec: dict
    labels: list[str]
    seconds: float
    images_per_second: float
    device: str
    per_image_iou: dict[str, float] = field(default_factory=dict)
    plots: dict[str, bytes] = field(default_factory=dict)
    architecture: str = "tiny-unet"


def split_keys(keys: Sequence[str], fractions: Sequence[float], seed: int) -> dict[str, list[str]]:
    """Seeded split of the keys into train / validation / test, none empty.

    The keys are sorted before the shuffle, so their order does not matter; each split is sorted.
    """
    ordered = sorted(keys)
    if len(ordered) < 3:
        raise ValueError(f"training needs at least 3 annotated images, got {len(ordered)}")
    random.Random(seed).shuffle(ordered)
    total = sum(fractions)
    n_validation = max(1, round(len(ordered) * fractions[1] / total))
    n_test = max(1, round(len(ordered) * fractions[2] / total))
    n_train = len(ordered) - n_validation - n_test
    if n_train < 1:
        n_train, n_validation = 1, len(ordered) - 1 - n_test
    bounds = (0, n_train, n_train + n_validation, len(ordered))
    return {
        name: sorted(ordered[start:end])
        for name, start, end in zip(SPLITS, bounds, bounds[1:], strict=False)
    }


class BestEpoch:
    """The history of a training's epochs and the weights of its best one (by the validation
    metric `metric`, first best kept); reports each epoch to `progress`."""

    def __init__(self, metric: str, epochs: int, progress: Callable | None) -> None:
        """An empty history for `epochs` epochs."""
        self.metric, self.epochs, self.progress = metric, epochs, progress
        self.history: list[dict] = []
        self.best, self.state = -1.0, None

    def end(self, epoch: int, losses: Sequence[float], score: float, module) -> None:
        """Record an epoch's mean loss and validation score; keep `module`'s weights if best."""
        self.history.append({"epoch": epoch, "loss": float(np.mean(losses)), self.metric: score})
        if score > self.best:
            self.best = score
            self.state = {k: v.detach().clone() for k, v in module.state_dict().items()}
        if self.progress:
            self.progress(epoch, self.epochs, self.history[-1]["loss"], score)

    def restore(self, module) -> None:
        """Put the best epoch's weights back into `module`."""
        module.load_state_dict(self.state)

    def loss_curve(self, name: str) -> bytes:
        """PNG of the training loss and the validation metric (called `name`) per epoch."""
        return loss_curve_png(self.history, self.metric, name)


def torchscript_bytes(module: torch.nn.Module) -> bytes:
    """`module` (on the CPU, eval mode) as a TorchScript archive; scripted unless it already is."""
    module = module.cpu().eval()
    scripted = module if isinstance(module, torch.jit.ScriptModule) else torch.jit.script(module)
    buffer = io.BytesIO()
    torch.jit.save(scripted, buffer)
    return buffer.getvalue()


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _tensors(samples: Sequence[Sample], spec: dict) -> tuple[torch.Tensor, torch.Tensor]:
    images = preprocess([s.image for s in samples], spec)
    size = tuple(spec["size"])
    masks = torch.cat(
        [
            F.interpolate(torch.from_numpy(s.mask)[None, None].float(), size=size, mode="nearest")
            for s in samples
        ]
    )
    return images, masks


def _loss(logits: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    bce = F.binary_cross_entropy_with_logits(logits, masks)
    probabilities = torch.sigmoid(logits)
    intersection = (probabilities * masks).sum(dim=(1, 2, 3))
    total = probabilities.sum(dim=(1, 2, 3)) + masks.sum(dim=(1, 2, 3))
    return bce + (1 - (2 * intersection + 1) / (total + 1)).mean()


def predict_masks(
    model: torch.nn.Module,
    samples: Sequence[Sample],
    spec: dict,
    threshold: float,
    device: torch.device,
) -> list[np.ndarray]:
    """Masks of the samples at their original sizes (probabilities resized, then thresholded)."""
    model.eval()
    masks = []
    with torch.inference_mode():
        for sample in samples:
            logits = model(preprocess([sample.image], spec).to(device))
            sizes = [sample.image.shape[:2]]
            masks.extend(mask for _, mask in masks_at(torch.sigmoid(logits), sizes, threshold))
    return masks


def train_segmentation(
    samples: Sequence[Sample],
    config: TrainingConfig,
    progress: Callable[[int, int, float, float], None] | None = None,
    label: str = "plant",
    base=None,
) -> TrainingResult:
    """Train, keep the best epoch by validation IoU, evaluate every split, script the model.

    `progress(epoch, epochs, mean training loss, validation IoU)` is called after each epoch.
    `base` (a `base_model.BaseModel` of a segmentation model) is fine-tuned instead of a new
    TinyUNet, at its own input size and normalisation.
    """
    by_key = {sample.key: sample for sample in samples}
    if len(by_key) != len(samples):
        raise ValueError("sample keys must be unique")
    split = split_keys(list(by_key), config.fractions, config.seed)
    device = select_device(config.device)
    seed_everything(config.seed)
    spec = config.input_spec()
    if base is not None:
        if base.task != "semantic-segmentation":
            raise ValueError(
                f"base_model: a segmentation model starts from a segmentation model, not a "
                f"{base.task} model"
            )
        spec = {**spec, **base.input_spec}
    parts = {name: [by_key[k] for k in keys] for name, keys in split.items()}
    images, masks = _tensors(parts["train"], spec)
    model = (base.module if base is not None else TinyUNet(width=config.width)).to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    generator = torch.Generator().manual_seed(config.seed)
    truths = [s.mask for s in parts["validation"]]
    epochs = BestEpoch("validation_iou", config.epochs, progress)
    seen, started = 0, time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = torch.randperm(len(images), generator=generator)
        losses = []
        for first in range(0, len(order), config.batch_size):
            index = order[first : first + config.batch_size]
            batch, target = images[index], masks[index]
            if config.augment:
                flip = torch.rand(len(index), generator=generator) < 0.5
                batch = torch.where(flip.view(-1, 1, 1, 1), batch.flip(3), batch)
                target = torch.where(flip.view(-1, 1, 1, 1), target.flip(3), target)
            if len(index) == 1:  # BatchNorm needs two values per channel
                batch, target = (
                    torch.cat([batch, batch.flip(3)]),
                    torch.cat([target, target.flip(3)]),
                )
            optimiser.zero_grad()
            loss = _loss(model(batch.to(device)), target.to(device))
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
            seen += len(batch)
        predicted = predict_masks(model, parts["validation"], spec, config.threshold, device)
        epochs.end(epoch, losses, summarise(predicted, truths)["iou"], model)
    seconds = time.perf_counter() - started
    epochs.restore(model)
    metrics, per_image = {}, {}
    for name, part in parts.items():
        predicted = predict_masks(model, part, spec, config.threshold, device)
        metrics[name] = summarise(predicted, [s.mask for s in part])
        if name == "test":
            per_image = {s.key: iou(p, s.mask) for s, p in zip(part, predicted, strict=True)}
    return TrainingResult(
        torchscript=torchscript_bytes(model),
        metrics=metrics,
        split=split,
        config=config.to_dict(),
        history=epochs.history,
        input_spec=spec,
        labels=[label],
        seconds=seconds,
        images_per_second=seen / seconds if seconds else 0.0,
        device=str(device),
        per_image_iou=per_image,
        architecture=(base.architecture or "tiny-unet") if base is not None else "tiny-unet",
        plots={
            "loss_curve.png": epochs.loss_curve("validation IoU"),
            "test_iou.png": iou_bars_png(per_image),
        },
    )
