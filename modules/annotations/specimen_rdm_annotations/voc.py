"""Pascal VOC XML ↔ stored annotations.

VOC boxes are 1-based, inclusive pixel indices: a box covering pixels 1..3 has xmin=1, xmax=3.
In our (COCO) convention that is x = xmin - 1, width = xmax - xmin + 1; writing inverts it.
`pose`, `truncated`, `difficult` and `occluded` are kept in `attributes`.
"""

import io
import zipfile
from collections.abc import Sequence
from pathlib import PurePosixPath

from lxml import etree

from .interchange import (
    ExportImage,
    FormatError,
    ParsedAnnotation,
    ParsedFile,
    ParsedImage,
    Problem,
)
from .rle import selector_box

FLAGS = ("pose", "truncated", "difficult", "occluded")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def _number(text: str | None):
    value = float(text)
    return int(value) if value.is_integer() else value


def _read_one(data: bytes, name: str, parsed: ParsedFile, start: int = 0) -> int:
    """Read one XML into `parsed`; objects are numbered from `start`; returns how many."""
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as error:
        raise FormatError(name or "file", f"not XML: {error}") from None
    if root.tag != "annotation":
        raise FormatError(name or "file", f"root element is <{root.tag}>, not <annotation>")
    prefix = f"{name}:" if name else ""
    filename = root.findtext("filename") or (PurePosixPath(name).stem + ".jpg" if name else None)
    try:
        width, height = int(root.findtext("size/width")), int(root.findtext("size/height"))
    except (TypeError, ValueError):
        parsed.problems.append(
            Problem("error", None, f"{prefix}size", "<size> needs integer <width> and <height>")
        )
        width = height = None
    parsed.images.append(ParsedImage(filename, filename, width, height))
    objects = root.findall("object")
    for number, obj in enumerate(objects):
        index = start + number
        field = f"{prefix}object[{number}]"
        try:
            xmin, ymin, xmax, ymax = (
                _number(obj.findtext(f"bndbox/{t}")) for t in ("xmin", "ymin", "xmax", "ymax")
            )
        except (TypeError, ValueError):
            bad = next(
                t
                for t in ("xmin", "ymin", "xmax", "ymax")
                if not _is_number(obj.findtext(f"bndbox/{t}"))
            )
            parsed.problems.append(
                Problem("error", index, f"{field}.bndbox.{bad}", "missing or not a number")
            )
            continue
        if xmax < xmin or ymax < ymin:
            parsed.problems.append(
                Problem(
                    "error",
                    index,
                    f"{field}.bndbox",
                    f"xmax/ymax ({xmax}, {ymax}) below xmin/ymin ({xmin}, {ymin})",
                )
            )
            continue
        attributes = {}
        for flag in FLAGS:
            text = obj.findtext(flag)
            if text is not None:
                attributes[flag] = _number(text) if _is_number(text) else text
        data = {
            "target": {
                "selector": {
                    "type": "box",
                    "box": [xmin - 1, ymin - 1, xmax - xmin + 1, ymax - ymin + 1],
                }
            },
            "body": {"category": (obj.findtext("name") or "").strip()},
        }
        if attributes:
            data["attributes"] = attributes
        parsed.annotations.append(ParsedAnnotation(index, filename, data, field))
    return len(objects)


def _is_number(text) -> bool:
    try:
        float(text)
        return True
    except (TypeError, ValueError):
        return False


def read_voc(data: bytes, name: str = "") -> ParsedFile:
    """One VOC XML file."""
    parsed = ParsedFile()
    _read_one(data, name, parsed)
    return parsed


def read_voc_zip(data: bytes) -> ParsedFile:
    """Every `*.xml` of a zip (folders allowed, `__MACOSX` skipped)."""
    parsed = ParsedFile()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        raise FormatError("file", f"not a zip: {error}") from None
    seen = 0
    with archive:
        for info in archive.infolist():
            if info.filename.endswith(".xml") and not info.filename.startswith("__MACOSX"):
                seen += _read_one(archive.read(info), info.filename, parsed, seen)
    return parsed


def _voc_box(annotation: dict) -> tuple[int, int, int, int]:
    target = annotation["target"]
    x, y, w, h = selector_box(target["selector"], target["height"], target["width"])
    return round(x + 1), round(y + 1), round(x + w), round(y + h)


def write_voc(image: ExportImage, annotations: Sequence[dict]) -> bytes:
    """One VOC XML for an image; polygons and masks are written as their box."""
    root = etree.Element("annotation")
    etree.SubElement(root, "filename").text = image.file
    size = etree.SubElement(root, "size")
    for tag, value in (("width", image.width), ("height", image.height), ("depth", 3)):
        etree.SubElement(size, tag).text = str(value)
    for annotation in annotations:
        obj = etree.SubElement(root, "object")
        etree.SubElement(obj, "name").text = (annotation.get("body") or {}).get(
            "category"
        ) or "object"
        for flag in FLAGS:
            if flag in (annotation.get("attributes") or {}):
                etree.SubElement(obj, flag).text = str(annotation["attributes"][flag])
        box = etree.SubElement(obj, "bndbox")
        for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), _voc_box(annotation), strict=True):
            etree.SubElement(box, tag).text = str(value)
    return etree.tostring(root, pretty_print=True)


def write_voc_zip(images: Sequence[ExportImage], annotations: Sequence[dict]) -> bytes:
    """A zip with one `<file stem>.xml` per image."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for image in images:
            on_image = [
                a
                for a in annotations
                if (a["target"]["record"], a["target"]["file"]) == (image.record, image.file)
            ]
            archive.writestr(f"{PurePosixPath(image.file).stem}.xml", write_voc(image, on_image))
    return buffer.getvalue()
