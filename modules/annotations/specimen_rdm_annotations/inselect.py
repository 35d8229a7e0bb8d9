"""Inselect JSON (NHM London's specimen-segmentation tool) ↔ stored box annotations.

Inselect stores boxes normalised to the scanned image: `rect` = [x, y, width, height] in 0..1;
`fields` (e.g. Genus, catalogNumber) are kept as `attributes`.
"""

import json
from collections.abc import Sequence

from .interchange import (
    ExportImage,
    FormatError,
    ParsedAnnotation,
    ParsedFile,
    ParsedImage,
    Problem,
    load_json,
)
from .rle import selector_box


def read_inselect(
    data: bytes, name: str, size: tuple[int, int] | None, category: str = "insect"
) -> ParsedFile:
    """Read an Inselect document; `size` is the (width, height) of the scanned image."""
    document = load_json(data)
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        raise FormatError("items", "an Inselect document has a list of items")
    stem = name.rsplit(".", 1)[0]
    extension = document.get("scanned extension") or ".jpg"
    parsed = ParsedFile(images=[ParsedImage(stem, None, *(size or (None, None)))])
    if size is None:
        parsed.problems.append(
            Problem("error", None, "file", "the image size is needed to place normalised boxes")
        )
        return parsed
    parsed.images[0].file_name = None if stem == "upload" else stem + extension
    width, height = size
    for index, item in enumerate(document["items"]):
        rect = item.get("rect") if isinstance(item, dict) else None
        field = f"items[{index}].rect"
        if (
            not isinstance(rect, list)
            or len(rect) != 4
            or not all(isinstance(v, (int, float)) for v in rect)
        ):
            parsed.problems.append(
                Problem("error", index, field, "a rect is 4 numbers [x, y, width, height] in 0..1")
            )
            continue
        x, y, w, h = rect
        if min(x, y) < 0 or x + w > 1 + 1e-9 or y + h > 1 + 1e-9 or w <= 0 or h <= 0:
            parsed.problems.append(
                Problem("error", index, field, f"{rect} is not inside the unit square")
            )
            continue
        data = {
            "target": {
                "selector": {"type": "box", "box": [x * width, y * height, w * width, h * height]}
            },
            "body": {"category": category},
        }
        if item.get("fields"):
            data["attributes"] = dict(item["fields"])
        parsed.annotations.append(ParsedAnnotation(index, stem, data, f"items[{index}]"))
    return parsed


def write_inselect(image: ExportImage, annotations: Sequence[dict]) -> bytes:
    """An Inselect document of the annotations on one image (boxes of any selector)."""
    items = []
    for annotation in annotations:
        x, y, w, h = selector_box(annotation["target"]["selector"], image.height, image.width)
        items.append(
            {
                "fields": dict(annotation.get("attributes") or {}),
                "rect": [x / image.width, y / image.height, w / image.width, h / image.height],
            }
        )
    extension = "." + image.file.rsplit(".", 1)[-1] if "." in image.file else ".jpg"
    return json.dumps(
        {"inselect version": 1, "scanned extension": extension, "items": items}, indent=1
    ).encode()
