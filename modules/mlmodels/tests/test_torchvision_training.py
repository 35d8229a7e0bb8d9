"""Training torchvision's detectors: a short run gives a TorchScript detector of the
torchvision-detections layout with COCO metrics, and a base model's weights are carried over
wherever they fit."""

import io

import numpy as np
import pytest
import torch

from specimen_rdm_mlmodels.detection_training import DetectionConfig, DetectionSample
from specimen_rdm_mlmodels.model_runtime import (
    TorchvisionDetectionRuntime,
    TorchvisionInstanceSegmentationRuntime,
)
from specimen_rdm_mlmodels.segmentation_net import TinyUNet
from specimen_rdm_mlmodels.torchvision_detectors import LAYOUT, build_detector
from specimen_rdm_mlmodels.torchvision_training import train_torchvision_detection, transfer

ARCHITECTURE = "fasterrcnn-mobilenet-v3-large-320-fpn"


def _samples(count: int = 6, masks: bool = False) -> list[DetectionSample]:
    """White images with one or two dark rectangles ("label") and a grey square ("stamp")."""
    rng = np.random.default_rng(0)
    samples = []
    for n in range(count):
        image = np.full((96, 128, 3), 250, dtype=np.uint8)
        boxes, labels, object_masks = [], [], []
        for label, value in (("label", 20), ("stamp", 120)):
            x, y = int(rng.integers(0, 80)), int(rng.integers(0, 50))
            w, h = int(rng.integers(20, 40)), int(rng.integers(15, 40))
            w, h = min(w, 128 - x), min(h, 96 - y)
            image[y : y + h, x : x + w] = value
            boxes.append([x, y, w, h])
            labels.append(label)
            mask = np.zeros((96, 128), dtype=bool)
            mask[y : y + h, x : x + w] = True
            object_masks.append(mask)
        samples.append(
            DetectionSample(f"sheet{n}", image, boxes, labels, object_masks if masks else None)
        )
    return samples


def _config(**changes) -> DetectionConfig:
    values = {
        "architecture": ARCHITECTURE,
        "image_size": 128,
        "epochs": 2,
        "batch_size": 2,
        "learning_rate": 0.01,
        "device": "cpu",
    }
    return DetectionConfig(**{**values, **changes})


@pytest.fixture(scope="module")
def trained():
    return train_torchvision_detection(_samples(), _config(), "object-detection")


def test_a_short_training_gives_a_torchscript_detector_with_coco_metrics(trained):
    assert trained.architecture == ARCHITECTURE
    assert trained.input_spec["output"] == LAYOUT
    assert trained.labels == ["label", "stamp"]
    assert [entry["epoch"] for entry in trained.history] == [1, 2]
    assert set(trained.split) == {"train", "validation", "test"}
    for split in ("train", "validation", "test"):
        assert {"map", "map_50", "map_75"} <= set(trained.metrics[split])
        assert 0 <= trained.metrics[split]["map_50"] <= 1
    assert trained.config["base_tensors_copied"] == 0
    module = torch.jit.load(io.BytesIO(trained.torchscript))
    runtime = TorchvisionDetectionRuntime(module, trained.input_spec, 0.0, torch.device("cpu"))
    image = _samples(1)[0].image
    [found] = runtime.detect([image])
    for detection in found:  # classes are 1 (label) and 2 (stamp); boxes inside the image
        x, y, w, h = detection.box
        assert detection.index in (1, 2)
        assert x >= 0 and y >= 0 and x + w <= 128 and y + h <= 96


def test_the_same_seed_gives_the_same_split_and_losses(trained):
    again = train_torchvision_detection(_samples(), _config(), "object-detection")
    assert again.split == trained.split
    assert [e["loss"] for e in again.history] == pytest.approx(
        [e["loss"] for e in trained.history], rel=1e-4
    )


def test_a_base_model_starts_the_network_where_it_fits(trained):
    base = torch.jit.load(io.BytesIO(trained.torchscript)).state_dict()
    # The same labels: every tensor is carried over.
    same = build_detector(ARCHITECTURE, 3, min_size=128, max_size=256)
    assert transfer(same, base) == len(same.state_dict())
    for key, value in same.state_dict().items():
        assert torch.equal(value, base[key]), key
    # One label more: all but the class-specific box predictor.
    more = build_detector(ARCHITECTURE, 4, min_size=128, max_size=256)
    copied = transfer(more, base)
    different = [k for k in base if k.startswith("roi_heads.box_predictor.")]
    assert len(different) == 4 and copied == len(base) - 4
    assert torch.equal(
        more.state_dict()["backbone.body.0.0.weight"], base["backbone.body.0.0.weight"]
    )
    # Another kind of network shares nothing.
    with pytest.raises(ValueError, match="none of its weights fit"):
        transfer(more, TinyUNet(classes=3, width=4).state_dict())
    # A training from the base records what it copied.
    result = train_torchvision_detection(
        _samples(), _config(epochs=1), "object-detection", base_state=base
    )
    assert result.config["base_tensors_copied"] == len(base)


def test_instance_segmentation_trains_mask_rcnn_and_reports_mask_metrics():
    samples = _samples(masks=True)
    config = _config(architecture="maskrcnn-resnet50-fpn", epochs=1, image_size=96)
    result = train_torchvision_detection(samples, config, "instance-segmentation")
    assert {"mask_map", "mask_map_50"} <= set(result.metrics["test"])
    module = torch.jit.load(io.BytesIO(result.torchscript))
    runtime = TorchvisionInstanceSegmentationRuntime(
        module, result.input_spec, 0.0, torch.device("cpu")
    )
    [found] = runtime.detect([samples[0].image])
    for detection in found:
        assert detection.mask.shape == (96, 128) and detection.mask.any()


def test_bad_architectures_are_refused():
    with pytest.raises(ValueError, match="architecture must be one of tiny-unet-centre-maps"):
        DetectionConfig(architecture="yolo")
    with pytest.raises(ValueError, match="is not a torchvision instance-segmentation model"):
        train_torchvision_detection(_samples(masks=True), _config(), "instance-segmentation")
