"""Detectors with torchvision's contract: TorchScript archives of any such network, state dicts
of torchvision's named detection architectures, and the runtime that reads their answers."""

import io

import numpy as np
import pytest
import torch
from torch import nn
from torchvision.models import detection

from specimen_rdm_mlmodels.architectures import (
    ArchitectureError,
    load_state_dict,
    state_dict_bytes,
    task_of,
)
from specimen_rdm_mlmodels.model_runtime import (
    RuntimeCache,
    TorchvisionDetectionRuntime,
    TorchvisionInstanceSegmentationRuntime,
)
from specimen_rdm_mlmodels.torchvision_detectors import DETECTORS, LAYOUT


class DarkRegion(nn.Module):
    """A detector with torchvision's contract, answering what can be checked: the box and mask
    of the dark pixels (class 1, score 0.9), the whole image (class 2, score 0.2) and a box
    of no width (class 1, score 0.95), like a scripted torchvision model: (losses, detections).
    """

    def forward(
        self, images: list[torch.Tensor]
    ) -> tuple[dict[str, torch.Tensor], list[dict[str, torch.Tensor]]]:
        results: list[dict[str, torch.Tensor]] = []
        for image in images:
            height, width = image.shape[1], image.shape[2]
            dark = image.mean(0) < 0.5
            where = torch.nonzero(dark)
            whole = torch.tensor([0.0, 0.0, float(width), float(height)])
            boxes = [whole, torch.tensor([5.0, 5.0, 5.0, 9.0])]
            labels = [2, 1]
            scores = [0.2, 0.95]
            masks = [torch.ones(height, width), torch.zeros(height, width)]
            if where.shape[0] > 0:
                first, last = where.min(0).values.float(), where.max(0).values.float() + 1
                boxes.append(torch.stack([first[1], first[0], last[1], last[0]]))
                labels.append(1)
                scores.append(0.9)
                masks.append(dark.float())
            results.append(
                {
                    "boxes": torch.stack(boxes),
                    "labels": torch.tensor(labels),
                    "scores": torch.tensor(scores),
                    "masks": torch.stack(masks)[:, None],
                }
            )
        return {}, results


def _sheet(top: int, left: int, height: int = 60, width: int = 80) -> np.ndarray:
    image = np.full((height, width, 3), 255, dtype=np.uint8)
    image[top : top + 20, left : left + 30] = 10
    return image


def _scripted() -> torch.jit.ScriptModule:
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(DarkRegion()), buffer)
    return torch.jit.load(io.BytesIO(buffer.getvalue()))


def test_runtime_reads_boxes_scores_and_labels_best_first():
    runtime = TorchvisionDetectionRuntime(_scripted(), {"output": LAYOUT}, 0.5, torch.device("cpu"))
    found = runtime.detect([_sheet(10, 20), _sheet(30, 40, 70, 90)], batch_size=2)
    assert len(found) == 2
    first, second = found
    # The 0.95 box has no width (left out), the whole image scores under the threshold.
    assert [(d.index, d.score, d.box) for d in first] == [(1, pytest.approx(0.9), [20, 10, 30, 20])]
    assert second[0].box == [40, 30, 30, 20] and second[0].mask is None
    low = TorchvisionDetectionRuntime(_scripted(), {"output": LAYOUT}, 0.1, torch.device("cpu"))
    [everything] = low.detect([_sheet(10, 20)])
    assert [d.index for d in everything] == [1, 2]  # best first
    assert everything[1].box == [0, 0, 80, 60]


def test_instance_segmentation_keeps_each_objects_mask():
    runtime = TorchvisionInstanceSegmentationRuntime(
        _scripted(), {"output": LAYOUT}, 0.5, torch.device("cpu")
    )
    [[detection]] = runtime.detect([_sheet(10, 20)])
    expected = np.zeros((60, 80), dtype=bool)
    expected[10:30, 20:50] = True
    assert detection.mask.dtype == bool and np.array_equal(detection.mask, expected)


def test_answers_that_break_the_contract_are_named():
    class NoScores(nn.Module):
        def forward(self, images):
            return [{"boxes": torch.zeros(0, 4), "labels": torch.zeros(0)} for _ in images]

    class Tensor(nn.Module):
        def forward(self, images):
            return torch.zeros(len(images), 5, 8, 8)

    class BadBoxes(nn.Module):
        def forward(self, images):
            one = torch.ones(1)
            return [{"boxes": torch.zeros(1, 3), "labels": one, "scores": one} for _ in images]

    cases = [(NoScores(), "needs boxes, labels and scores"), (Tensor(), "one dict per image")]
    cases.append((BadBoxes(), "boxes must be N×4"))
    for module, message in cases:
        runtime = TorchvisionDetectionRuntime(module, {"output": LAYOUT}, 0.5, torch.device("cpu"))
        with pytest.raises(ValueError, match=message):
            runtime.detect([_sheet(10, 20)])


@pytest.mark.parametrize(
    ("name", "build", "classes"),
    [
        (
            "fasterrcnn-mobilenet-v3-large-320-fpn",
            detection.fasterrcnn_mobilenet_v3_large_320_fpn,
            3,
        ),
        ("retinanet-resnet50-fpn", detection.retinanet_resnet50_fpn, 4),
    ],
)
def test_state_dicts_of_torchvision_detectors_load_with_their_class_count(name, build, classes):
    torch.manual_seed(0)
    original = build(weights=None, weights_backbone=None, num_classes=classes).eval()
    module = load_state_dict(state_dict_bytes(original), name)
    assert task_of(name) == "object-detection"
    for key, tensor in original.state_dict().items():
        assert torch.equal(module.state_dict()[key], tensor), key
    image = _sheet(10, 20, 120, 160)
    runtime = TorchvisionDetectionRuntime(module, {"output": LAYOUT}, 0.0, torch.device("cpu"))
    expected = TorchvisionDetectionRuntime(original, {"output": LAYOUT}, 0.0, torch.device("cpu"))
    [found] = runtime.detect([image])
    assert [(d.index, d.box) for d in found] == [
        (d.index, d.box) for d in expected.detect([image])[0]
    ]
    for item in found:
        x, y, w, h = item.box
        assert x >= 0 and y >= 0 and x + w <= 160 and y + h <= 120 and 0 < item.index < classes


def test_frozen_batch_norm_state_dicts_fit_and_other_gaps_are_named():
    """torchvision's pretrained detectors freeze their batch norms: no num_batches_tracked."""
    torch.manual_seed(0)
    name = "fasterrcnn-mobilenet-v3-large-320-fpn"
    build = DETECTORS[name][1]
    state = detection.fasterrcnn_mobilenet_v3_large_320_fpn(
        weights=None, weights_backbone=None, num_classes=2
    ).state_dict()
    frozen = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    assert len(frozen) < len(state)
    buffer = io.BytesIO()
    torch.save(frozen, buffer)
    assert isinstance(load_state_dict(buffer.getvalue(), name), type(build(state)))
    for broken, message in [
        ({k: v for k, v in frozen.items() if "rpn.head.conv" not in k}, "missing rpn.head.conv"),
        ({k: v for k, v in frozen.items() if "cls_score" not in k}, "no tensor"),
        ({**frozen, "extra.weight": torch.zeros(1)}, "unexpected extra.weight"),
    ]:
        buffer = io.BytesIO()
        torch.save(broken, buffer)
        with pytest.raises(ArchitectureError, match=message):
            load_state_dict(buffer.getvalue(), name)


def test_the_cache_picks_the_runtime_of_the_output_layout():
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(DarkRegion()), buffer)
    cache = RuntimeCache()
    cpu = torch.device("cpu")
    runtime = cache.get(
        "sha", buffer.getvalue, {"output": LAYOUT}, 0.5, cpu, task="instance-segmentation"
    )
    assert isinstance(runtime, TorchvisionInstanceSegmentationRuntime)
    runtime = cache.get(
        "sha", buffer.getvalue, {"output": LAYOUT}, 0.5, cpu, task="object-detection"
    )
    assert type(runtime) is TorchvisionDetectionRuntime
