"""Object detection and instance segmentation: the centre-map layout both ways, the COCO
metrics (pycocotools) on hand-made cases, and training on the plant instances of the real
herbarium sheets, run back from the stored TorchScript and from an ONNX export."""

import io
import warnings

import numpy as np
import pytest
import torch
from sheet_samples import instance_samples

from specimen_rdm_mlmodels.centre_maps import Detection, classes_of, decode, encode
from specimen_rdm_mlmodels.detection_metrics import Truth, coco_metrics
from specimen_rdm_mlmodels.detection_training import (
    DetectionConfig,
    DetectionSample,
    train_detection,
)
from specimen_rdm_mlmodels.model_runtime import (
    DetectionRuntime,
    InstanceSegmentationRuntime,
    load_weights,
)

CPU = torch.device("cpu")
HEIGHT = 192


def _perfect_output(target: np.ndarray, classes: int) -> torch.Tensor:
    """The raw output a network would give if it had learnt `target` exactly."""
    output = torch.from_numpy(target.copy())
    centres = output[:classes]
    output[:classes] = torch.where(centres == 1, torch.tensor(8.0), torch.tensor(-8.0))
    if output.shape[0] > classes + 2:
        output[classes + 2] = torch.where(output[classes + 2] > 0.5, 8.0, -8.0)
    return output[None]


def test_encoding_then_decoding_gives_back_the_sheets_plant_instances():
    samples = instance_samples(HEIGHT)
    assert sum(len(s.boxes) for s in samples) == 19  # the 19 plant instance masks
    truths, found = [], []
    for sample in samples:
        target, weight = encode(
            sample.boxes,
            [0] * len(sample.boxes),
            sample.image.shape[:2],
            (96, 96),
            1,
            sample.masks,
        )
        assert target.shape == (4, 96, 96) and (target[0] == 1).sum() == len(sample.boxes)
        assert weight.sum() > 0
        output = _perfect_output(target, 1)
        [detections] = decode(output, [sample.image.shape[:2]], "instance-segmentation", 0.5)
        assert len(detections) == len(sample.boxes)
        assert all(d.mask.shape == sample.image.shape[:2] for d in detections)
        truths.append(sample.truth({"plant": 0}))
        found.append(detections)
    metrics = coco_metrics(truths, found, 1, masks=True)
    # Centres and sizes are quantised to the 96×96 grid: every box is found at IoU ≥ 0.5 and
    # most at ≥ 0.75; a decoded mask is the union of the objects clipped to the box, so where
    # two plants' boxes overlap it takes in some of the other plant.
    assert metrics["map_50"] == pytest.approx(1.0)
    assert metrics["map"] > 0.7
    assert metrics["mask_map_50"] > 0.7


def _box(x, y, w, h, score=0.9, index=0):
    return Detection(index, score, [x, y, w, h])


def test_coco_metrics_match_hand_counts():
    truth = [Truth(100, 100, [[10, 10, 40, 40], [60, 60, 20, 20]], [0, 1])]
    exact = [[_box(10, 10, 40, 40), _box(60, 60, 20, 20, index=1)]]
    assert coco_metrics(truth, exact, 2) == pytest.approx({"map": 1, "map_50": 1, "map_75": 1})
    # IoU 0.6 for class 0 (40×40 shifted by 10 px in x: 1200 / 2000): found at .5, missed at .75
    shifted = [[_box(20, 10, 40, 40), _box(60, 60, 20, 20, index=1)]]
    metrics = coco_metrics(truth, shifted, 2)
    assert metrics["map_50"] == pytest.approx(1.0)
    assert metrics["map_75"] == pytest.approx(0.5, abs=0.01)
    # The wrong class finds nothing; no predictions at all score 0.
    assert coco_metrics(truth, [[_box(10, 10, 40, 40, index=1)]], 2)["map_50"] == 0.0
    assert coco_metrics(truth, [[]], 2)["map"] == 0.0
    # A confident false positive ranked before the true one halves the precision at its recall.
    ranked = [[_box(70, 0, 20, 20, 0.95), _box(10, 10, 40, 40, 0.5)]]
    single = [Truth(100, 100, [[10, 10, 40, 40]], [0])]
    assert coco_metrics(single, ranked, 1)["map_50"] == pytest.approx(0.5, abs=0.01)
    with pytest.raises(ValueError, match="truths"):
        coco_metrics(truth, [], 2)


@pytest.fixture(scope="module")
def trained():
    """An object detector trained on 6 of the 10 real sheets (seeded)."""
    config = DetectionConfig(seed=0)
    return train_detection(instance_samples(HEIGHT), config, task="object-detection")


def test_a_detector_learns_the_plants_of_the_real_sheets(trained):
    result = trained
    assert result.labels == ["plant"]
    assert [len(result.split[s]) for s in ("train", "validation", "test")] == [6, 2, 2]
    assert set(result.metrics["test"]) == {"map", "map_50", "map_75"}
    assert len(result.history) == 150
    # Learnt: the loss falls to a fraction, and on its own training sheets the kept epoch finds
    # plants that an untrained network does not.
    assert result.history[-1]["loss"] < result.history[0]["loss"] / 4
    samples = {s.key: s for s in instance_samples(HEIGHT)}
    untrained = train_detection(
        list(samples.values()), DetectionConfig(epochs=1, learning_rate=1e-9)
    )
    assert result.metrics["train"]["map_50"] > untrained.metrics["train"]["map_50"] + 0.1
    best = max(entry["validation_map50"] for entry in result.history)
    assert result.metrics["validation"]["map_50"] == pytest.approx(best)
    # The stored TorchScript, run by the worker's runtime, reproduces the test metrics.
    module = load_weights(result.torchscript, "torchscript", CPU)
    runtime = DetectionRuntime(module, result.input_spec, result.config["threshold"], CPU)
    test = [samples[key] for key in result.split["test"]]
    found = runtime.detect([s.image for s in test], batch_size=2)
    metrics = coco_metrics([s.truth({"plant": 0}) for s in test], found, 1)
    assert metrics == pytest.approx(result.metrics["test"], abs=1e-6)
    assert all(
        d.box[0] >= 0 and d.box[0] + d.box[2] <= s.image.shape[1] + 0.01
        for s, ds in zip(test, found, strict=True)
        for d in ds
    )


def test_an_onnx_export_of_the_detector_finds_the_same_boxes(trained):
    module = torch.jit.load(io.BytesIO(trained.torchscript))
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (torch.zeros(1, 3, 96, 96),),
            buffer,
            input_names=["images"],
            dynamic_axes={"images": {0: "batch"}},
            dynamo=False,
        )
    images = [s.image for s in instance_samples(HEIGHT)[:3]]
    spec, threshold = trained.input_spec, trained.config["threshold"]
    scripted = DetectionRuntime(
        load_weights(trained.torchscript, "torchscript", CPU), spec, threshold, CPU
    )
    onnx = DetectionRuntime(load_weights(buffer.getvalue(), "onnx", CPU), spec, threshold, CPU)
    for mine, theirs in zip(scripted.detect(images), onnx.detect(images), strict=True):
        assert len(mine) == len(theirs) > 0
        for a, b in zip(mine, theirs, strict=True):
            assert a.index == b.index and a.score == pytest.approx(b.score, abs=1e-3)
            assert a.box == pytest.approx(b.box, abs=0.5)


def test_an_instance_segmenter_gives_masks_inside_its_boxes():
    samples = instance_samples(HEIGHT)
    config = DetectionConfig(image_size=64, epochs=3, width=4)
    result = train_detection(samples, config, task="instance-segmentation")
    assert {"map", "mask_map", "mask_map_50", "mask_map_75"} <= set(result.metrics["test"])
    module = load_weights(result.torchscript, "torchscript", CPU)
    runtime = InstanceSegmentationRuntime(module, result.input_spec, 0.01, CPU)
    [found] = runtime.detect([samples[0].image])
    for detection in found:
        ys, xs = np.nonzero(detection.mask)
        x, y, w, h = detection.box
        assert len(xs) and xs.min() >= int(x) and xs.max() < x + w + 1
        assert ys.min() >= int(y) and ys.max() < y + h + 1


def test_unusable_objects_and_outputs_are_refused():
    image = np.zeros((50, 40, 3), np.uint8)
    with pytest.raises(ValueError, match=r"box \[30, 0, 20, 10\] is not inside 40×50"):
        DetectionSample("a", image, [[30, 0, 20, 10]], ["plant"])
    with pytest.raises(ValueError, match="1 boxes, 0 labels"):
        DetectionSample("a", image, [[0, 0, 5, 5]], [])
    with pytest.raises(ValueError, match="a mask is not 50×40"):
        DetectionSample("a", image, [[0, 0, 5, 5]], ["plant"], [np.zeros((5, 5), bool)])
    with pytest.raises(ValueError, match=r"classes\+3"):
        classes_of(3, "instance-segmentation")
    with pytest.raises(ValueError, match="got 2 channels"):
        decode(torch.zeros(1, 2, 8, 8), [(8, 8)], "object-detection", 0.5)
    samples = [DetectionSample(str(i), image, [[0, 0, 5, 5]], ["plant"]) for i in range(3)]
    with pytest.raises(ValueError, match="needs a mask for every object"):
        train_detection(samples, DetectionConfig(epochs=1), task="instance-segmentation")
    with pytest.raises(ValueError, match="threshold"):
        DetectionConfig(threshold=1.5)
