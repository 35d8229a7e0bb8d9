"""Training samples from a dataset record or an annotation query: image + binary mask of one
category (segmentation), one labelled crop per region of the chosen categories
(classification), or each image with the boxes (and masks) of its regions of the chosen
categories (object detection, instance segmentation).

A dataset record made by `POST /api/annotations/export/dataset` holds `annotations.json`, a COCO
file whose images carry IIIF URLs `…/iiif/record:<record id>:<file key>/…`; the images are read
from those records through the files service with the identity of whoever started the training,
so nobody trains on images they may not see. Every region of the chosen category on an image
(mask, polygon or box) is painted into that image's mask. Images are held in memory for the job
only.
"""

import io
import json
import re
from dataclasses import dataclass

import numpy as np
from invenio_rdm_records.proxies import current_rdm_records_service
from invenio_records_resources.services.errors import PermissionDeniedError
from PIL import Image
from pycocotools import mask as mask_utils

from specimen_rdm_annotations.annotation_export import export_images, select_annotations
from specimen_rdm_annotations.coco import write_coco
from specimen_rdm_annotations.dataset_deposit import FILE_KEY
from specimen_rdm_annotations.proxies import current_annotations

from .classification_training import LabelledImage
from .detection_training import DetectionSample
from .segmentation_training import Sample

IIIF_IMAGE = re.compile(r"/iiif/record:(?P<record>[^:/]+):(?P<key>[^/]+)/")


class TrainingDataError(ValueError):
    """The training data cannot be used: which field and why."""

    def __init__(self, field: str, reason: str) -> None:
        """Error about request field `field`."""
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass
class TrainingData:
    """Samples plus where they came from (for the model record's links)."""

    samples: list[Sample] | list[LabelledImage]
    image_records: list[str]
    dataset: dict | None


def _region_mask(annotation: dict, height: int, width: int) -> np.ndarray:
    segmentation = annotation.get("segmentation")
    if isinstance(segmentation, dict):
        rle = segmentation
        if isinstance(rle.get("counts"), list):
            rle = mask_utils.frPyObjects(rle, height, width)
        return mask_utils.decode(rle).astype(bool)
    if isinstance(segmentation, list) and segmentation:
        rles = mask_utils.frPyObjects(segmentation, height, width)
        return mask_utils.decode(mask_utils.merge(rles)).astype(bool)
    x, y, w, h = annotation["bbox"]
    mask = np.zeros((height, width), dtype=bool)
    mask[int(round(y)) : int(round(y + h)), int(round(x)) : int(round(x + w))] = True
    return mask


def _read_image(identity, recid: str, key: str, max_pixels: int) -> np.ndarray:
    content = current_rdm_records_service.files.get_file_content(identity, recid, key)
    with content.get_stream("rb") as stream:
        data = stream.read()
    with Image.open(io.BytesIO(data)) as image:
        if image.size[0] * image.size[1] > max_pixels:
            raise TrainingDataError(
                "dataset", f"image {recid}/{key} is larger than {max_pixels} pixels"
            )
        return np.asarray(image.convert("RGB"))


def _category_ids(coco: dict, names: list[str]) -> dict[int, str]:
    """COCO category id → name of the chosen categories (each must be in the file)."""
    by_name = {c.get("name"): c["id"] for c in coco.get("categories", [])}
    missing = [name for name in names if name not in by_name]
    if missing:
        field = "category" if len(names) == 1 else "categories"
        raise TrainingDataError(field, f"{missing} not in the dataset ({sorted(by_name)})")
    return {c["id"]: c["name"] for c in coco.get("categories", []) if c.get("name") in names}


def _annotated_images(identity, coco: dict, category_ids, max_images: int, max_pixels: int):
    """(record id, file key, pixels, regions of the chosen categories) per COCO image that has
    such regions, read from the repository and checked against the size the file states."""
    by_image: dict[int, list[dict]] = {}
    for annotation in coco.get("annotations", []):
        if annotation.get("category_id") in category_ids:
            by_image.setdefault(annotation["image_id"], []).append(annotation)
    images = [image for image in coco.get("images", []) if image["id"] in by_image]
    if len(images) > max_images:
        raise TrainingDataError(
            "dataset", f"{len(images)} images is more than the limit of {max_images}"
        )
    for image in images:
        match = IIIF_IMAGE.search(image.get("coco_url") or "")
        if match is None:
            raise TrainingDataError("dataset", f"image {image['id']} has no repository URL")
        recid, key = match["record"], image.get("file_name") or match["key"]
        pixels = _read_image(identity, recid, key, max_pixels)
        height, width = pixels.shape[:2]
        if (width, height) != (image["width"], image["height"]):
            raise TrainingDataError(
                "dataset",
                f"image {recid}/{key} is {width}×{height}, the dataset says "
                f"{image['width']}×{image['height']}",
            )
        yield recid, key, pixels, by_image[image["id"]]


def samples_from_coco(
    identity, coco: dict, category: str, max_images: int, max_pixels: int
) -> tuple[list[Sample], list[str]]:
    """Samples of the COCO file's images that have regions of `category`; their record ids."""
    category_ids = _category_ids(coco, [category])
    samples, records = [], set()
    for recid, key, pixels, regions in _annotated_images(
        identity, coco, category_ids, max_images, max_pixels
    ):
        height, width = pixels.shape[:2]
        mask = np.zeros((height, width), dtype=bool)
        for annotation in regions:
            mask |= _region_mask(annotation, height, width)
        samples.append(Sample(key=f"{recid}/{key}", image=pixels, mask=mask))
        records.add(recid)
    return samples, sorted(records)


def crop(pixels: np.ndarray, bbox) -> np.ndarray | None:
    """The region [x, y, w, h] of the image, clamped to it; None when nothing of it is inside."""
    height, width = pixels.shape[:2]
    x, y, w, h = (float(v) for v in bbox)
    left, top = max(0, int(np.floor(x))), max(0, int(np.floor(y)))
    right, bottom = min(width, int(np.ceil(x + w))), min(height, int(np.ceil(y + h)))
    if right - left < 1 or bottom - top < 1:
        return None
    return np.ascontiguousarray(pixels[top:bottom, left:right])


def labelled_from_coco(
    identity, coco: dict, categories: list[str], max_images: int, max_pixels: int
) -> tuple[list[LabelledImage], list[str]]:
    """One labelled crop per region (its box) of the chosen categories; their record ids."""
    category_ids = _category_ids(coco, categories)
    samples, records = [], set()
    for recid, key, pixels, regions in _annotated_images(
        identity, coco, category_ids, max_images, max_pixels
    ):
        for annotation in regions:
            pixels_of_region = crop(pixels, annotation["bbox"])
            if pixels_of_region is None:
                continue
            samples.append(
                LabelledImage(
                    key=f"{recid}/{key}#{annotation['id']}",
                    group=f"{recid}/{key}",
                    image=pixels_of_region,
                    label=category_ids[annotation["category_id"]],
                )
            )
        records.add(recid)
    return samples, sorted(records)


def objects_from_coco(
    identity, coco: dict, categories: list[str], masks: bool, max_images: int, max_pixels: int
) -> tuple[list[DetectionSample], list[str]]:
    """One sample per image with regions of the chosen categories: each region's box and class
    (and with `masks` its mask: a box region's mask is its box); their record ids."""
    category_ids = _category_ids(coco, categories)
    samples, records = [], set()
    for recid, key, pixels, regions in _annotated_images(
        identity, coco, category_ids, max_images, max_pixels
    ):
        height, width = pixels.shape[:2]
        boxes, labels, region_masks = [], [], []
        for annotation in regions:
            x, y, w, h = (float(v) for v in annotation["bbox"])
            left, top = max(0.0, x), max(0.0, y)
            right, bottom = min(float(width), x + w), min(float(height), y + h)
            if right - left < 1 or bottom - top < 1:
                continue
            boxes.append([left, top, right - left, bottom - top])
            labels.append(category_ids[annotation["category_id"]])
            if masks:
                region_masks.append(_region_mask(annotation, height, width))
        region_masks = region_masks if masks else None
        samples.append(DetectionSample(f"{recid}/{key}", pixels, boxes, labels, region_masks))
        records.add(recid)
    return samples, sorted(records)


def _samples(identity, coco: dict, request: dict, max_images: int, max_pixels: int):
    if request.get("task") in ("object-detection", "instance-segmentation"):
        masks = request["task"] == "instance-segmentation"
        return objects_from_coco(
            identity, coco, request["categories"], masks, max_images, max_pixels
        )
    if request.get("task") == "image-classification":
        return labelled_from_coco(identity, coco, request["categories"], max_images, max_pixels)
    return samples_from_coco(identity, coco, request["category"], max_images, max_pixels)


def from_dataset_record(
    identity, dataset_id: str, request: dict, max_images: int, max_pixels: int
) -> TrainingData:
    """Samples of a published dataset record's `annotations.json` for the training request
    (masks of its `category`, or crops of its `categories` for a classifier)."""
    try:
        dataset = current_rdm_records_service.read(identity, dataset_id)
    except PermissionDeniedError:
        raise TrainingDataError("dataset", f"you may not read record '{dataset_id}'") from None
    except Exception as error:  # unknown, deleted or unpublished ids raise several types
        raise TrainingDataError(
            "dataset", f"no published record '{dataset_id}' ({type(error).__name__})"
        ) from None
    try:
        content = current_rdm_records_service.files.get_file_content(identity, dataset_id, FILE_KEY)
    except PermissionDeniedError:
        raise TrainingDataError(
            "dataset", f"you may not read the files of '{dataset_id}'"
        ) from None
    except Exception:
        raise TrainingDataError("dataset", f"record '{dataset_id}' has no {FILE_KEY}") from None
    with content.get_stream("rb") as stream:
        coco = json.load(stream)
    samples, records = _samples(identity, coco, request, max_images, max_pixels)
    version = str(dataset.data.get("versions", {}).get("index", 1))
    return TrainingData(samples, records, {"record": dataset_id, "version": version})


def from_annotation_query(
    identity, query: dict, request: dict, max_images: int, max_pixels: int
) -> TrainingData:
    """Samples of the annotations a query selects (same parameters as the annotation export)."""
    annotations = select_annotations(identity, query)
    if not annotations:
        raise TrainingDataError("annotations", "no annotations match")
    images = export_images(annotations)
    set_name = annotations[0]["body"].get("category_set")
    categories = current_annotations.category_sets.get(set_name, {})
    coco = write_coco(images, annotations, sorted(categories.values(), key=lambda c: c.id))
    samples, records = _samples(identity, coco, request, max_images, max_pixels)
    return TrainingData(samples, records, None)
