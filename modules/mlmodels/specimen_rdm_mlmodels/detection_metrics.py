"""COCO detection metrics of a split, computed by pycocotools' own COCOeval.

Truth and predictions are given per image (boxes [x, y, w, h] in pixels, class indices, and
masks for the "segm" evaluation); they are written as a COCO ground truth and a COCO results
list and evaluated with the standard parameters: mAP@[.5:.95] (`map`), mAP@.5 (`map_50`),
mAP@.75 (`map_75`) over all areas, up to 100 detections per image. A split without any
prediction scores 0.0; a split without any truth has no defined mAP and scores 0.0 as well.
"""

import contextlib
import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from .centre_maps import Detection

PROTOCOL = {
    "map": "COCO mAP@[.5:.95], boxes, pycocotools COCOeval (maxDets 100, all areas)",
    "map_50": "COCO mAP@.5, boxes, pycocotools COCOeval (maxDets 100, all areas)",
    "map_75": "COCO mAP@.75, boxes, pycocotools COCOeval (maxDets 100, all areas)",
    "mask_map": "COCO mAP@[.5:.95], masks, pycocotools COCOeval (maxDets 100, all areas)",
    "mask_map_50": "COCO mAP@.5, masks, pycocotools COCOeval (maxDets 100, all areas)",
    "mask_map_75": "COCO mAP@.75, masks, pycocotools COCOeval (maxDets 100, all areas)",
}
"""How each metric was measured (the `protocol` of an `ml:metrics` entry)."""


@dataclass
class Truth:
    """The true objects of one image (height × width): boxes, class indices, optional masks."""

    height: int
    width: int
    boxes: list[list[float]]
    classes: list[int]
    masks: list[np.ndarray] | None = None


def _rle(mask: np.ndarray) -> dict:
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle["counts"] = rle["counts"].decode()
    return rle


def _ground_truth(truths: Sequence[Truth], classes: int, masks: bool) -> COCO:
    images, annotations = [], []
    for image_id, truth in enumerate(truths, start=1):
        images.append({"id": image_id, "height": truth.height, "width": truth.width})
        for number, (box, index) in enumerate(zip(truth.boxes, truth.classes, strict=True)):
            annotation = {
                "id": len(annotations) + 1,
                "image_id": image_id,
                "category_id": index + 1,
                "bbox": [float(v) for v in box],
                "area": float(box[2] * box[3]),
                "iscrowd": 0,
            }
            if masks:
                mask = truth.masks[number]
                annotation["segmentation"] = _rle(mask)
                annotation["area"] = float(np.count_nonzero(mask))
            annotations.append(annotation)
    coco = COCO()
    coco.dataset = {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": i + 1, "name": str(i)} for i in range(classes)],
    }
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def _results(predictions: Sequence[Sequence[Detection]], masks: bool) -> list[dict]:
    results = []
    for image_id, detections in enumerate(predictions, start=1):
        for detection in detections:
            result = {
                "image_id": image_id,
                "category_id": detection.index + 1,
                "bbox": [float(v) for v in detection.box],
                "score": float(detection.score),
            }
            if masks:
                result["segmentation"] = _rle(detection.mask)
            results.append(result)
    return results


def _evaluate(truth: COCO, results: list[dict], iou_type: str) -> tuple[float, float, float]:
    if not results or not truth.dataset["annotations"]:
        return 0.0, 0.0, 0.0
    with contextlib.redirect_stdout(io.StringIO()):
        evaluation = COCOeval(truth, truth.loadRes(results), iou_type)
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return tuple(max(0.0, float(v)) for v in evaluation.stats[:3])


def coco_metrics(
    truths: Sequence[Truth],
    predictions: Sequence[Sequence[Detection]],
    classes: int,
    masks: bool = False,
) -> dict[str, float]:
    """{"map", "map_50", "map_75"} of the boxes, and with `masks` the same of the masks
    ("mask_map", …), over the images of a split (truths and predictions in the same order)."""
    if len(truths) != len(predictions):
        raise ValueError(f"{len(truths)} truths but {len(predictions)} predictions")
    metrics = {}
    kinds = [("bbox", "")] + ([("segm", "mask_")] if masks else [])
    for iou_type, prefix in kinds:
        truth = _ground_truth(truths, classes, iou_type == "segm")
        stats = _evaluate(truth, _results(predictions, iou_type == "segm"), iou_type)
        for name, value in zip(("map", "map_50", "map_75"), stats, strict=True):
            metrics[prefix + name] = value
    return metrics
