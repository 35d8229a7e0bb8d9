"""What a training job runs, by task: its hyperparameters, its data, its base model, its trainer.

- semantic-segmentation: masks of one `category`; a TinyUNet, or a segmentation base model
  fine-tuned; validation metric IoU.
- image-classification: crops of the regions of two or more `categories`; a TinyCNN, or a linear
  head on a feature-extraction base model (or a tiny-cnn base fine-tuned); validation metric
  macro-F1.
- object-detection / instance-segmentation: boxes (and masks) of the regions of one or more
  `categories`; a TinyUNet with centre maps (`centre_maps.py`), from scratch, or with the
  `architecture` hyperparameter one of torchvision's detectors (`torchvision_training.py`), from
  scratch or from a base model of the same architecture; validation metric COCO mAP@.5
  (pycocotools).
"""

from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app

from .base_model import read_base_model
from .classification_training import ClassificationConfig, train_classification
from .detection_training import DetectionConfig, train_detection
from .segmentation_training import TrainingConfig, TrainingResult, train_segmentation
from .torchvision_detectors import DETECTORS
from .torchvision_training import train_torchvision_detection
from .training_data import TrainingData, from_annotation_query, from_dataset_record

DETECTION_TASKS = ("object-detection", "instance-segmentation")

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
    hyperparameters = dict(request.get("hyperparameters", {}))
    base = None
    if request.get("base_model"):
        base = read_base_model(identity, request["base_model"], task)
        if task in DETECTION_TASKS:  # a detector goes on with its base's architecture
            hyperparameters.setdefault("architecture", base.architecture)
    config = CONFIG_OF_TASK[task](**hyperparameters, device=device)
    if task in DETECTION_TASKS:
        if config.architecture in DETECTORS:
            if base is not None and base.architecture != config.architecture:
                raise ValueError(
                    f"base_model: a {base.architecture} model cannot start a "
                    f"{config.architecture} training"
                )
            state = base.module.state_dict() if base is not None else None
            result = train_torchvision_detection(
                data.samples, config, task, base_state=state, progress=progress
            )
        elif base is not None:
            raise ValueError(
                f"base_model: the centre-map detector is trained from scratch; set the "
                f"architecture hyperparameter to one of torchvision's ({', '.join(DETECTORS)})"
            )
        else:
            result = train_detection(data.samples, config, task=task, progress=progress)
    elif task == "image-classification":
        result = train_classification(data.samples, config, base=base, progress=progress)
    else:
        result = train_segmentation(
            data.samples, config, progress=progress, label=request["category"], base=base
        )
    return Training(result, data)
