"""COCO JSON (instances files and results files) ↔ stored annotations.

Conventions (as pycocotools): pixel coordinates with the origin at the top-left corner of the
top-left pixel; `bbox` is [x, y, width, height]; category ids are 1-based and come from the
category set; segmentations are polygons (flat rings), compressed RLE (string counts) or
uncompressed RLE (list counts, `iscrowd: 1`). Values are kept exactly as given, including
the file's `area`, so that COCO → store → COCO is lossless.
"""

from collections.abc import Mapping, Sequence

from pycocotools import mask as mask_utils

from .categories import Category
from .interchange import (
    ExportImage,
    FormatError,
    ParsedAnnotation,
    ParsedFile,
    ParsedImage,
    Problem,
    load_json,
)
from .rle import compressed, selector_box, selector_rle


def _selector(annotation: dict, field: str, problems: list[Problem], index: int) -> dict | None:
    segmentation = annotation.get("segmentation")
    bbox = annotation.get("bbox")
    selector: dict
    if isinstance(segmentation, dict):
        if "size" not in segmentation or "counts" not in segmentation:
            problems.append(
                Problem("error", index, f"{field}.segmentation", "an RLE needs size and counts")
            )
            return None
        box = bbox if bbox is not None else mask_utils.toBbox(compressed(segmentation)).tolist()
        selector = {"type": "mask", "rle": segmentation, "box": box}
    elif isinstance(segmentation, list) and segmentation:
        if bbox is None:
            xs = [v for ring in segmentation for v in ring[0::2]]
            ys = [v for ring in segmentation for v in ring[1::2]]
            bbox = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
        selector = {"type": "polygon", "polygon": segmentation, "box": bbox}
    elif bbox is not None:
        selector = {"type": "box", "box": bbox}
    else:
        problems.append(
            Problem("error", index, field, "an annotation needs a bbox or a segmentation")
        )
        return None
    if selector["type"] != "box" and "area" in annotation:
        selector["area"] = annotation["area"]
    if annotation.get("iscrowd"):
        selector["iscrowd"] = True
    return selector


def read_coco(data, categories_by_id: Mapping[int, str] | None = None) -> ParsedFile:
    """Read a COCO instances file (dict) or a COCO results file (list of detections)."""
    document = load_json(data)
    parsed = ParsedFile()
    if isinstance(document, list):
        if categories_by_id is None:
            raise FormatError(
                "categories", "a results file needs a category set to name its category ids"
            )
        annotations, known_images = document, None
        parsed.categories = dict(categories_by_id)
    elif isinstance(document, dict) and isinstance(document.get("annotations"), list):
        annotations = document["annotations"]
        cats = document.get("categories") or []
        parsed.categories = {
            int(c["id"]): str(c["name"]) for c in cats if "id" in c and "name" in c
        }
        if not parsed.categories and categories_by_id:
            parsed.categories = dict(categories_by_id)
        known_images = set()
        for i, image in enumerate(document.get("images") or []):
            if "id" not in image:
                parsed.problems.append(
                    Problem("error", None, f"images[{i}].id", "an image needs an id")
                )
                continue
            known_images.add(str(image["id"]))
            parsed.images.append(
                ParsedImage(
                    str(image["id"]),
                    image.get("file_name"),
                    image.get("width"),
                    image.get("height"),
                    image.get("sha256"),
                )
            )
    else:
        raise FormatError("file", "expected a COCO object with 'annotations' or a list of results")

    result_images: dict[str, ParsedImage] = {}
    for index, annotation in enumerate(annotations):
        field = f"annotations[{index}]"
        if not isinstance(annotation, dict):
            parsed.problems.append(Problem("error", index, field, "an annotation is a JSON object"))
            continue
        if "keypoints" in annotation:
            parsed.problems.append(
                Problem(
                    "error", index, f"{field}.keypoints", "keypoint annotations are not supported"
                )
            )
            continue
        image_ref = str(annotation.get("image_id"))
        if known_images is not None and image_ref not in known_images:
            parsed.problems.append(
                Problem(
                    "error",
                    index,
                    f"{field}.image_id",
                    f"image {image_ref} is not among the file's images",
                )
            )
            continue
        category = parsed.categories.get(annotation.get("category_id"))
        if category is None:
            parsed.problems.append(
                Problem(
                    "error",
                    index,
                    f"{field}.category_id",
                    f"category {annotation.get('category_id')!r} is not defined",
                )
            )
            continue
        selector = _selector(annotation, field, parsed.problems, index)
        if selector is None:
            continue
        if known_images is None and image_ref not in result_images:
            size = (selector.get("rle") or {}).get("size")
            result_images[image_ref] = ParsedImage(
                image_ref, None, size[1] if size else None, size[0] if size else None
            )
        data = {"target": {"selector": selector}, "body": {"category": category}}
        if "score" in annotation:
            data["score"] = annotation["score"]
        parsed.annotations.append(ParsedAnnotation(index, image_ref, data, field))
    parsed.images.extend(result_images.values())
    return parsed


def _area(selector: dict, image: ExportImage) -> float:
    if "area" in selector:
        return selector["area"]
    if selector["type"] == "box":
        return selector["box"][2] * selector["box"][3]
    return float(mask_utils.area(selector_rle(selector, image.height, image.width)))


def _segmentation(selector: dict):
    if selector["type"] == "polygon":
        return selector["polygon"]
    if selector["type"] == "mask":
        return selector["rle"]
    return None


def write_coco(
    images: Sequence[ExportImage],
    annotations: Sequence[dict],
    categories: Sequence[Category],
    *,
    results: bool = False,
) -> dict | list:
    """A COCO instances file (or, with `results`, a results list) of stored annotations."""
    by_target = {(image.record, image.file): image for image in images}
    ids = {category.name: category.id for category in categories}
    written = []
    for annotation in annotations:
        target, body = annotation["target"], annotation.get("body") or {}
        image = by_target.get((target["record"], target["file"]))
        if image is None or body.get("category") not in ids:
            continue
        selector = target["selector"]
        entry = {
            "image_id": image.id,
            "category_id": ids[body["category"]],
            "bbox": selector_box(selector, image.height, image.width),
        }
        segmentation = _segmentation(selector)
        if results:
            if segmentation is not None:
                entry["segmentation"] = segmentation
            entry["score"] = annotation.get("score", 1.0)
        else:
            entry.update(
                id=len(written) + 1,
                area=_area(selector, image),
                iscrowd=int(bool(selector.get("iscrowd"))),
                segmentation=segmentation if segmentation is not None else [],
            )
            if "score" in annotation:
                entry["score"] = annotation["score"]
        written.append(entry)
    if results:
        return written
    return {
        "info": {"description": "Specimen RDM annotation export"},
        "images": [
            {
                "id": image.id,
                "file_name": image.file,
                "width": image.width,
                "height": image.height,
                **({"coco_url": image.url} if image.url else {}),
            }
            for image in images
        ],
        "annotations": written,
        "categories": [
            {"id": c.id, "name": c.name, "supercategory": c.supercategory or c.name}
            for c in categories
        ],
    }
