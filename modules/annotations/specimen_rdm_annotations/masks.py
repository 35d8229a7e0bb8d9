"""PNG masks ↔ stored mask annotations (COCO RLE), pixel-exact both ways.

An upload is a zip of PNGs (+ optional `labelmap.json`, e.g. `{"255": "plant"}`):
`<image stem>.png` is a semantic mask (each listed pixel value is one annotation of that
category; 0 is background unless listed), `<image stem>_<category>_<k>.png` an instance mask
(any nonzero pixel is inside). Semantic exports paint annotations in order, later ones over
earlier ones where they overlap.
"""

import io
import json
import re
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

from .interchange import (
    ExportImage,
    FormatError,
    ParsedAnnotation,
    ParsedFile,
    ParsedImage,
    Problem,
)
from .rle import mask_to_rle, selector_rle

MAX_PIXELS = 100_000_000
INSTANCE_NAME = re.compile(r"^(?P<stem>.+)_(?P<category>[^_]+)_(?P<k>\d+)$")
SINGLE_CHANNEL = {"1", "L", "P", "I", "I;16", "I;16B", "I;16L"}


def _png(content: bytes, name: str, problems: list[Problem]) -> np.ndarray | None:
    try:
        with Image.open(io.BytesIO(content)) as image:
            if image.width * image.height > MAX_PIXELS:
                problems.append(
                    Problem(
                        "error",
                        None,
                        name,
                        f"{image.width}×{image.height} px is more than {MAX_PIXELS} pixels",
                    )
                )
                return None
            if image.format != "PNG" or image.mode not in SINGLE_CHANNEL:
                problems.append(
                    Problem(
                        "error",
                        None,
                        name,
                        f"a mask is a single-channel PNG, got {image.format} {image.mode}",
                    )
                )
                return None
            return np.array(image)
    except Exception as error:  # Pillow raises many types for broken files
        problems.append(Problem("error", None, name, f"unreadable PNG: {error}"))
        return None


def mask_annotation(mask: np.ndarray, category: str, extra: dict | None = None) -> dict:
    """Annotation data (mask selector with RLE, box and area; body category) of a boolean mask."""
    rle = mask_to_rle(mask)
    encoded = {"size": rle["size"], "counts": rle["counts"].encode()}
    data = {
        "target": {
            "selector": {
                "type": "mask",
                "rle": rle,
                "box": mask_utils.toBbox(encoded).tolist(),
                "area": int(mask_utils.area(encoded)),
            }
        },
        "body": {"category": category},
    }
    if extra:
        data["attributes"] = extra
    return data


def read_masks(data: bytes, label_map: Mapping[int, str] | None = None) -> ParsedFile:
    """Read a zip of semantic and instance mask PNGs."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        raise FormatError("file", f"not a zip: {error}") from None
    parsed = ParsedFile()
    with archive:
        names = [
            n for n in archive.namelist() if not n.startswith("__MACOSX") and not n.endswith("/")
        ]
        labels = dict(label_map or {})
        if not labels and any(PurePosixPath(n).name == "labelmap.json" for n in names):
            source = next(n for n in names if PurePosixPath(n).name == "labelmap.json")
            try:
                labels = {int(k): str(v) for k, v in json.loads(archive.read(source)).items()}
            except (ValueError, AttributeError) as error:
                raise FormatError(
                    "labelmap.json", f'expected {{"value": "category"}}: {error}'
                ) from None
        images: dict[str, ParsedImage] = {}
        for name in sorted(n for n in names if n.lower().endswith(".png")):
            mask = _png(archive.read(name), name, parsed.problems)
            if mask is None:
                continue
            stem = PurePosixPath(name).stem
            instance = INSTANCE_NAME.match(stem)
            image_stem = instance["stem"] if instance else stem
            images.setdefault(
                image_stem, ParsedImage(image_stem, None, mask.shape[1], mask.shape[0])
            )
            if instance:
                index = len(parsed.annotations)
                parsed.annotations.append(
                    ParsedAnnotation(
                        index, image_stem, mask_annotation(mask, instance["category"]), name
                    )
                )
                continue
            values = [int(v) for v in np.unique(mask)]
            unknown = [v for v in values if v not in labels and v != 0]
            if unknown:
                parsed.problems.append(
                    Problem("error", None, name, f"pixel values {unknown} are not in the label map")
                )
                continue
            for value in values:
                if value in labels:
                    index = len(parsed.annotations)
                    data = mask_annotation(mask == value, labels[value], {"mask_value": value})
                    parsed.annotations.append(
                        ParsedAnnotation(index, image_stem, data, f"{name}:value {value}")
                    )
        parsed.images = list(images.values())
    return parsed


def _on_image(image: ExportImage, annotations: Sequence[dict]) -> list[dict]:
    return [
        a
        for a in annotations
        if (a["target"]["record"], a["target"]["file"]) == (image.record, image.file)
    ]


def _mask(annotation: dict) -> np.ndarray:
    target = annotation["target"]
    return mask_utils.decode(selector_rle(target["selector"], target["height"], target["width"]))


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """A deflated zip of `{name: content}` (the mask and export packages)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array.astype(np.uint8), mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def write_instance_masks(
    images: Sequence[ExportImage], annotations: Sequence[dict], *, value: int = 255
) -> bytes:
    """Zip of `<file stem>_<category>_<k>.png`, 8-bit, 0 outside and `value` inside."""
    files = {}
    for image in images:
        counters: dict[str, int] = {}
        for annotation in _on_image(image, annotations):
            category = (annotation.get("body") or {}).get("category") or "region"
            counters[category] = counters.get(category, 0) + 1
            name = f"{PurePosixPath(image.file).stem}_{category}_{counters[category]}.png"
            files[name] = _png_bytes(_mask(annotation) * value)
    return zip_bytes(files)


def write_semantic_masks(
    images: Sequence[ExportImage], annotations: Sequence[dict], label_values: Mapping[str, int]
) -> bytes:
    """Zip of one `<file stem>.png` per image (pixel = the category's value) + labelmap.json."""
    files = {}
    for image in images:
        canvas = np.zeros((image.height, image.width), dtype=np.uint8)
        for annotation in _on_image(image, annotations):
            category = (annotation.get("body") or {}).get("category")
            if category in label_values:
                canvas[_mask(annotation) == 1] = label_values[category]
        files[f"{PurePosixPath(image.file).stem}.png"] = _png_bytes(canvas)
    files["labelmap.json"] = json.dumps(
        {str(v): k for k, v in label_values.items()}, indent=1
    ).encode()
    return zip_bytes(files)
