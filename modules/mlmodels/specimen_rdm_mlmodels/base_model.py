"""The base model of a training job (transfer learning): a published model record whose
weights become the starting point of a new model.

Its weights must be trainable here: TorchScript (any architecture) or a state dict of a named
architecture; ONNX graphs only run. Whoever starts the training must be allowed to read the
base model's files.
"""

from dataclasses import dataclass

import torch
from invenio_rdm_records.proxies import current_rdm_records_service
from invenio_records_resources.services.errors import PermissionDeniedError
from torch import nn

from .architectures import ArchitectureError, load_state_dict
from .custom_fields import MODEL_RESOURCE_TYPE
from .model_runtime import ModelLoadError, load_torchscript
from .torchvision_detectors import DETECTORS
from .training_data import TrainingDataError

TRAINABLE_FORMATS = ("torchscript", "state-dict")


@dataclass
class BaseModel:
    """A model record's network to start from: its task, module, input spec and architecture."""

    record: str
    task: str
    module: nn.Module
    input_spec: dict
    architecture: str | None
    version: str = "1"


STARTS_FROM = {
    "semantic-segmentation": "a semantic-segmentation model",
    "image-classification": "a feature-extraction model or a tiny-cnn image-classification model",
    "object-detection": "a detection model of one of torchvision's architectures",
    "instance-segmentation": "a detection model of one of torchvision's architectures",
}
"""Which base models a training of each task can start from."""


def _fail(reason: str):
    raise TrainingDataError("base_model", reason)


def _fits(task: str, custom: dict) -> bool:
    base_task = custom.get("ml:task")
    if task == "semantic-segmentation":
        return base_task == "semantic-segmentation"
    if task in ("object-detection", "instance-segmentation"):
        return (
            base_task in ("object-detection", "instance-segmentation")
            and custom.get("ml:architecture") in DETECTORS
        )
    if task != "image-classification":
        return False
    return base_task == "feature-extraction" or (
        base_task == "image-classification" and custom.get("ml:architecture") == "tiny-cnn"
    )


def check_base_model(identity, record_id: str, task: str):
    """The published model record a `task` training may start from (TrainingDataError naming
    `base_model` otherwise): readable with its files, trainable weights, a fitting task."""
    try:
        item = current_rdm_records_service.read(identity, record_id)
    except PermissionDeniedError:
        _fail(f"you may not read record '{record_id}'")
    except Exception as error:  # unknown, deleted or unpublished ids raise several types
        _fail(f"no published record '{record_id}' ({type(error).__name__})")
    record = item._record
    if not current_rdm_records_service.check_permission(identity, "read_files", record=record):
        _fail(f"you may not read the weights of '{record_id}'")
    custom = record.get("custom_fields") or {}
    resource_type = (record.metadata.get("resource_type") or {}).get("id")
    if resource_type != MODEL_RESOURCE_TYPE:
        _fail(f"record '{record_id}' is not a model (type {resource_type})")
    weight_format = custom.get("ml:weight_format")
    if weight_format not in TRAINABLE_FORMATS:
        _fail(
            f"weights of '{record_id}' are {weight_format}; training starts from "
            f"{' or '.join(TRAINABLE_FORMATS)} weights"
        )
    if not _fits(task, custom):
        _fail(
            f"a {task} model starts from {STARTS_FROM[task]}, not a {custom.get('ml:task')} "
            f"model of architecture '{custom.get('ml:architecture')}'"
        )
    return record


def read_base_model(identity, record_id: str, task: str) -> BaseModel:
    """The network of published model record `record_id`, on the CPU, ready to train."""
    record = check_base_model(identity, record_id, task)
    custom = record.get("custom_fields") or {}
    weight_format = custom.get("ml:weight_format")
    file_record = record.files.get(custom.get("ml:weights_file") or "")
    if file_record is None or file_record.file is None:
        _fail(f"'{record_id}' has no weights file '{custom.get('ml:weights_file')}'")
    with file_record.open_stream("rb") as stream:
        data = stream.read()
    architecture = custom.get("ml:architecture")
    try:
        if weight_format == "torchscript":
            module = load_torchscript(data, torch.device("cpu"))
        else:
            module = load_state_dict(data, architecture)
    except (ModelLoadError, ArchitectureError) as error:
        _fail(f"weights of '{record_id}' cannot be loaded: {error}")
    return BaseModel(
        record=record_id,
        task=custom.get("ml:task"),
        module=module,
        input_spec=custom.get("ml:input") or {},
        architecture=architecture,
        version=str(record.versions.index),
    )
