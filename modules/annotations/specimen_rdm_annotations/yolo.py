"""YOLO txt labels (Ultralytics layout) ↔ stored annotations.

A line is `class cx cy w h` (detection) or `class x1 y1 x2 y2 ...` (segmentation), all
coordinates normalised to 0..1 of the image; class is a 0-based index into `names` of
`data.yaml` (or the lines of `classes.txt`). Exports number classes by the category set's order;
in segment mode boxes and masks are written as the 4-corner polygon of their box.
"""

import io
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Literal

import yaml

from .categories import Category
from .interchange import (
    ExportImage,
    FormatError,
    ParsedAnnotation,
    ParsedFile,
    ParsedImage,
    Problem,
)
from .rle import selector_box

EPSILON = 1e-6


def _names(archive: zipfile.ZipFile, files: list[str]) -> list[str]:
    for name in files:
        if PurePosixPath(name).name in ("data.yaml", "dataset.yaml"):
            try:
                names = (yaml.safe_load(archive.read(name)) or {}).get("names")
            except yaml.YAMLError as error:
                raise FormatError(name, f"not YAML: {error}") from None
            if isinstance(names, dict):
                return [str(names[k]) for k in sorted(names, key=int)]
            if isinstance(names, list):
                return [str(n) for n in names]
            raise FormatError(f"{name}.names", "a list of class names or {index: name}")
    for name in files:
        if PurePosixPath(name).name == "classes.txt":
            return [
                line.strip() for line in archive.read(name).decode().splitlines() if line.strip()
            ]
    raise FormatError("file", "no data.yaml or classes.txt naming the classes")


def read_yolo(data: bytes, sizes: Mapping[str, tuple[int, int]]) -> ParsedFile:
    """Read a zip of label files; `sizes` maps image file stem → (width, height)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        raise FormatError("file", f"not a zip: {error}") from None
    parsed = ParsedFile()
    with archive:
        files = [n for n in archive.namelist() if not n.startswith("__MACOSX")]
        names = _names(archive, files)
        parsed.categories = {i + 1: n for i, n in enumerate(names)}
        for label_file in sorted(
            n for n in files if n.endswith(".txt") and PurePosixPath(n).name != "classes.txt"
        ):
            stem = PurePosixPath(label_file).stem
            if stem not in sizes:
                parsed.problems.append(
                    Problem("error", None, label_file, f"no image named {stem}.* in the record")
                )
                continue
            width, height = sizes[stem]
            parsed.images.append(ParsedImage(stem, None, width, height))
            for number, line in enumerate(archive.read(label_file).decode().splitlines(), start=1):
                if not line.strip():
                    continue
                index = len(parsed.annotations) + len(
                    [p for p in parsed.problems if p.index is not None]
                )
                field = f"{label_file}:line {number}"
                parts = line.split()
                try:
                    klass, values = int(parts[0]), [float(v) for v in parts[1:]]
                except ValueError:
                    parsed.problems.append(Problem("error", index, field, "not numbers"))
                    continue
                if not 0 <= klass < len(names):
                    parsed.problems.append(
                        Problem(
                            "error", index, field, f"class {klass} is not in 0..{len(names) - 1}"
                        )
                    )
                    continue
                if len(values) != 4 and (len(values) < 6 or len(values) % 2):
                    parsed.problems.append(
                        Problem(
                            "error", index, field, "expected 4 box values or ≥ 3 polygon points"
                        )
                    )
                    continue
                if any(v < -EPSILON or v > 1 + EPSILON for v in values):
                    parsed.problems.append(
                        Problem("error", index, field, "coordinates must be normalised to 0..1")
                    )
                    continue
                if len(values) == 4:
                    cx, cy, w, h = values
                    selector = {
                        "type": "box",
                        "box": [(cx - w / 2) * width, (cy - h / 2) * height, w * width, h * height],
                    }
                else:
                    ring = [v * (width if i % 2 == 0 else height) for i, v in enumerate(values)]
                    xs, ys = ring[0::2], ring[1::2]
                    selector = {
                        "type": "polygon",
                        "polygon": [ring],
                        "box": [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)],
                    }
                parsed.annotations.append(
                    ParsedAnnotation(
                        index,
                        stem,
                        {"target": {"selector": selector}, "body": {"category": names[klass]}},
                        field,
                    )
                )
    return parsed


def write_yolo(
    images: Sequence[ExportImage],
    annotations: Sequence[dict],
    categories: Sequence[Category],
    *,
    task: Literal["detect", "segment"] = "detect",
) -> bytes:
    """Zip with `data.yaml` and `labels/<stem>.txt` per image."""
    classes = {category.name: i for i, category in enumerate(categories)}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "data.yaml", yaml.safe_dump({"names": [c.name for c in categories]}, sort_keys=False)
        )
        for image in images:
            lines = []
            for annotation in annotations:
                target = annotation["target"]
                category = (annotation.get("body") or {}).get("category")
                if (target["record"], target["file"]) != (
                    image.record,
                    image.file,
                ) or category not in classes:
                    continue
                x, y, w, h = selector_box(target["selector"], image.height, image.width)
                selector = target["selector"]
                if task == "detect":
                    values = [
                        (x + w / 2) / image.width,
                        (y + h / 2) / image.height,
                        w / image.width,
                        h / image.height,
                    ]
                    lines.append(" ".join([str(classes[category])] + [f"{v:.6g}" for v in values]))
                    continue
                rings = (
                    selector["polygon"]
                    if selector["type"] == "polygon"
                    else [[x, y, x + w, y, x + w, y + h, x, y + h]]
                )
                for ring in rings:
                    values = [
                        v / (image.width if i % 2 == 0 else image.height)
                        for i, v in enumerate(ring)
                    ]
                    lines.append(" ".join([str(classes[category])] + [f"{v:.6g}" for v in values]))
            archive.writestr(
                f"labels/{PurePosixPath(image.file).stem}.txt", "\n".join(lines) + "\n"
            )
    return buffer.getvalue()
