"""What a training job runs, by task: its hyperparameters, its data, its base model, its trainer.

- semantic-segmentation: masks of one `category`; a TinyUNet, or a segmentation base model
  fine-tuned; validation metric IoU.
- image-classification: crops of the regions of two or more `categories`; a TinyCNN, or a linear
  head on a feature-extraction base model (or a tiny-cnn base fine-tuned); validation metric
  macro-F1.
- object-detection / instance-segmentation: boxes (and masks) of the regions of one or more
  `categories`; a TinyUNet with centre maps (`centre_maps.py`), from scratch; validation metric
  COCO mAP@.5 (pycocotools).
"""

from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app

from .base_model import read_base_model
from .classification_training import ClassificationConfig, train_classification
from .detection_training import DetectionConfig, train_detection
from .segmentation_training import TrainingConfig, TrainingResult, train_segmentation
from .training_data import TrainingData, from_annotation_query, from_dataset_record

CONFIG_OF_TASK = {
    "semantic-segmentation": TrainingConfig,
    "image-classification": ClassificationConfig,
    "object-detection": DetectionConfig,
    "instance-segmentation": DetectionConfig,
}
"""Hyperparameter class of each trainable task."""
VALIDATION_METRIC = {
    "semantic-segmentation": "validation_iou",
    "image-classification": "validation_f1",
    "object-detection": "validation_map50",
    "instance-segmentation": "validation_map50",
}
"""The metric that picks the best epoch, as the job's progress names it."""


@dataclass
class Training:
    """A finished training: its result and the data it used."""

    result: TrainingResult
    data: TrainingData


def training_data(identity, request: dict) -> TrainingData:
    """The samples the request names (dataset record or annotation query), as `identity` sees
    them."""
    config = current_app.config
    limits = (config["MLMODELS_TRAINING_MAX_IMAGES"], config["MLMODELS_MAX_IMAGE_PIXELS"])
    if request.get("dataset"):
        return from_dataset_record(identity, request["dataset"], request, *limits)
    return from_annotation_query(identity, request["annotations"], request, *limits)


def train(
    identity,
    request: dict,
    device: str,
    loaded: Callable[[TrainingData], None],
    progress: Callable[[int, int, float, float], None],
) -> Training:
    """Read the data and the base model, train; `loaded(data)` runs once the data is read."""
    task = request["task"]
    data = training_data(identity, request)
    loaded(data)
    config = CONFIG_OF_TASK[task](**request.get("hyperparameters", {}), device=device)
    base = None
    if request.get("base_model"):
        base = read_base_model(identity, request["base_model"], task)
    if task in ("object-detection", "instance-segmentation"):
        if base is not None:
            raise ValueError(f"base_model: a {task} model is trained from scratch here")
        result = train_detection(data.samples, config, task=task, progress=progress)
    elif task == "image-classification":
        result = train_classification(data.samples, config, base=base, progress=progress)
    else:
        result = train_segmentation(
            data.samples, config, progress=progress, label=request["category"], base=base
        )
    return Training(result, data)
