"""What every annotation format reader produces and every writer consumes.

Readers (`coco.py`, `voc.py`, `yolo.py`, `masks.py`, `inselect.py`, `w3c.py`) turn a file into a
`ParsedFile`: the images the file names and one `ParsedAnnotation` per annotation, whose `data`
already has the stored annotation shape except the target's record, file key and image size
(those come from matching `ParsedImage`s to record files). Writers take `ExportImage`s and stored
annotations and return the format's bytes or JSON.

Stored annotation shape (the annotation record's JSON, see docs/annotations.md):

    {
      "target": {"record": "<RDM record id>", "file": "<file key>", "width": W, "height": H,
                 "selector": SELECTOR},
      "body": {"category": "ruler", "category_set": "herbarium",
               "trait": {"name": ..., "value": ..., "unit": ...},
               "text": {"value": ..., "language": "en"}, "tags": [...]},
      "motivation": "identifying", "score": 0.93,
      "creator": {...}, "status": {...}
    }

SELECTOR, in pixels with the origin at the top-left corner of the top-left pixel, x to the right,
y down (COCO's convention; a pixel (i, j) covers [i, i+1) × [j, j+1)):

    {"type": "image"}                                   the whole image
    {"type": "box", "box": [x, y, w, h]}                floats, w > 0, h > 0
    {"type": "polygon", "polygon": [[x1, y1, x2, y2, ...], ...], "box": [x, y, w, h]}
                                                        one flat ring per part (COCO polygons)
    {"type": "mask", "rle": {"size": [H, W], "counts": "..."}, "box": [x, y, w, h]}
                                                        COCO RLE, compressed string counts, or a
                                                        list of ints for uncompressed RLE as given

Polygon and mask selectors also carry "box" (COCO's bbox), and may carry "area" (the area as the
source file gave it, kept so that COCO round trips are lossless) and "iscrowd": true.
"""

import json
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass
class Problem:
    """One entry of a validation report.

    `index` is the annotation's position in the input (None for file-level problems), `field` a
    dotted path inside the input (e.g. `annotations[3].bbox`, `object[0].bndbox.xmax`).
    """

    severity: Severity
    index: int | None
    field: str
    reason: str

    def to_dict(self) -> dict:
        """JSON form used in REST responses."""
        return {
            "severity": self.severity,
            "index": self.index,
            "field": self.field,
            "reason": self.reason,
        }


class FormatError(ValueError):
    """A file that cannot be read as the format at all (not JSON, not XML, wrong structure)."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass
class ParsedImage:
    """An image as an annotation file names it.

    `ref` is the key annotations use to point at it (COCO image id as a string, a VOC or mask
    file name, ...). Width, height and SHA-256 are what the file states, if anything.
    """

    ref: str
    file_name: str | None = None
    width: int | None = None
    height: int | None = None
    sha256: str | None = None


@dataclass
class ParsedAnnotation:
    """One annotation read from a file, before it is matched to a record file.

    `data` holds `target.selector`, `body`, and optionally `score` and `motivation`; `image` is
    the `ParsedImage.ref` it belongs to; `index` its position in the file; `source_field` the
    path of the annotation in the file (for reports).
    """

    index: int
    image: str
    data: dict
    source_field: str = ""


@dataclass
class ParsedFile:
    """A whole annotation file: its images, annotations and categories (id → name)."""

    images: list[ParsedImage] = field(default_factory=list)
    annotations: list[ParsedAnnotation] = field(default_factory=list)
    categories: dict[int, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


@dataclass
class ExportImage:
    """An image a writer emits: the record file it is, with a stable numeric id for COCO/YOLO."""

    id: int
    record: str
    file: str
    width: int
    height: int
    url: str | None = None
    sha256: str | None = None


def load_json(data):
    """Parsed JSON of an uploaded file (bytes or str); other values are returned as given."""
    if isinstance(data, (bytes, str)):
        try:
            return json.loads(data)
        except (ValueError, UnicodeDecodeError) as error:
            raise FormatError("file", f"not JSON: {error}") from None
    return data
