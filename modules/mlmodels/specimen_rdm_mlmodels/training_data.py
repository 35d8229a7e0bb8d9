"""Training samples (image + binary mask) from a dataset record or an annotation query.

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

    samples: list[Sample]
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


def samples_from_coco(
    identity, coco: dict, category: str, max_images: int, max_pixels: int
) -> tuple[list[Sample], list[str]]:
    """Samples of the COCO file's images that have regions of `category`; their record ids."""
    category_ids = {c["id"] for c in coco.get("categories", []) if c.get("name") == category}
    if not category_ids:
        names = sorted({c.get("name") for c in coco.get("categories", [])})
        raise TrainingDataError("category", f"'{category}' is not in the dataset ({names})")
    by_image: dict[int, list[dict]] = {}
    for annotation in coco.get("annotations", []):
        if annotation.get("category_id") in category_ids:
            by_image.setdefault(annotation["image_id"], []).append(annotation)
    images = [image for image in coco.get("images", []) if image["id"] in by_image]
    if len(images) > max_images:
        raise TrainingDataError(
            "dataset", f"{len(images)} images is more than the limit of {max_images}"
        )
    samples, records = [], set()
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
        mask = np.zeros((height, width), dtype=bool)
        for annotation in by_image[image["id"]]:
            mask |= _region_mask(annotation, height, width)
        samples.append(Sample(key=f"{recid}/{key}", image=pixels, mask=mask))
        records.add(recid)
    return samples, sorted(records)


def from_dataset_record(
    identity, dataset_id: str, category: str, max_images: int, max_pixels: int
) -> TrainingData:
    """Samples of a published dataset record's `annotations.json`."""
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
    samples, records = samples_from_coco(identity, coco, category, max_images, max_pixels)
    version = str(dataset.data.get("versions", {}).get("index", 1))
    return TrainingData(samples, records, {"record": dataset_id, "version": version})


def from_annotation_query(
    identity, query: dict, category: str, max_images: int, max_pixels: int
) -> TrainingData:
    """Samples of the annotations a query selects (same parameters as the annotation export)."""
    annotations = select_annotations(identity, query)
    if not annotations:
        raise TrainingDataError("annotations", "no annotations match")
    images = export_images(annotations)
    set_name = annotations[0]["body"].get("category_set")
    categories = current_annotations.category_sets.get(set_name, {})
    coco = write_coco(images, annotations, sorted(categories.values(), key=lambda c: c.id))
    samples, records = samples_from_coco(identity, coco, category, max_images, max_pixels)
    return TrainingData(samples, records, None)
