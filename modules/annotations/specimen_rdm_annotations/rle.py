"""COCO run-length encoding: decoding the compressed counts string and RLEs of any selector."""

from collections.abc import Sequence

import numpy as np
from pycocotools import mask as mask_utils


def decode_counts(counts: str | bytes) -> list[int]:
    """Run lengths of a compressed COCO RLE string (the inverse of maskApi.c's rleToString).

    Each run is a signed number in 5-bit groups (offset 48, bit 0x20 = more groups follow);
    from the third run on, the value is the difference to the run two places back.
    """
    text = counts.decode("ascii") if isinstance(counts, bytes) else counts
    runs: list[int] = []
    position = 0
    while position < len(text):
        value, shift, more = 0, 0, True
        while more:
            if position >= len(text):
                raise ValueError("RLE counts end in the middle of a number")
            code = ord(text[position]) - 48
            if not 0 <= code < 64:
                raise ValueError(f"RLE counts hold an invalid character {text[position]!r}")
            value |= (code & 0x1F) << (5 * shift)
            more = bool(code & 0x20)
            position += 1
            shift += 1
            if not more and code & 0x10:
                value |= -1 << (5 * shift)
        if len(runs) > 2:
            value += runs[-2]
        runs.append(value)
    if any(run < 0 for run in runs):
        raise ValueError("RLE counts decode to a negative run")
    return runs


def run_lengths(rle: dict) -> list[int]:
    """Run lengths of a compressed (str/bytes counts) or uncompressed (list counts) RLE."""
    counts = rle["counts"]
    if isinstance(counts, list):
        return [int(c) for c in counts]
    return decode_counts(counts)


def compressed(rle: dict) -> dict:
    """The RLE with string counts (pycocotools' own form), from either form."""
    height, width = rle["size"]
    if isinstance(rle["counts"], list):
        encoded = mask_utils.frPyObjects(rle, height, width)
    else:
        counts = rle["counts"]
        encoded = {
            "size": [height, width],
            "counts": counts.encode() if isinstance(counts, str) else counts,
        }
    return encoded


def selector_rle(selector: dict, height: int, width: int) -> dict:
    """Compressed RLE (bytes counts, as pycocotools wants) of any selector on an H×W image."""
    kind = selector["type"]
    if kind == "mask":
        return compressed(selector["rle"])
    if kind == "polygon":
        parts = mask_utils.frPyObjects(
            [list(map(float, ring)) for ring in selector["polygon"]], height, width
        )
        return mask_utils.merge(parts)
    if kind == "box":
        boxes = np.array([selector["box"]], dtype=np.float64)
        return mask_utils.frPyObjects(boxes, height, width)[0]
    whole = np.ones((height, width), dtype=np.uint8, order="F")
    return mask_utils.encode(whole)


def to_json(rle: dict) -> dict:
    """RLE with counts as str, for storing in JSON."""
    counts = rle["counts"]
    return {
        "size": [int(v) for v in rle["size"]],
        "counts": counts.decode() if isinstance(counts, bytes) else counts,
    }


def mask_to_rle(mask: np.ndarray) -> dict:
    """JSON-ready compressed RLE of a 2-D mask (any nonzero pixel is inside)."""
    return to_json(mask_utils.encode(np.asfortranarray((mask != 0).astype(np.uint8))))


def rle_to_mask(rle: dict) -> np.ndarray:
    """H×W uint8 0/1 mask of an RLE in either form."""
    return mask_utils.decode(compressed(rle))


def boxes_iou(first: Sequence[dict], second: Sequence[dict]) -> np.ndarray:
    """IoU matrix (len(first) × len(second)) of compressed RLEs."""
    if not first or not second:
        return np.zeros((len(first), len(second)))
    return np.asarray(mask_utils.iou(list(first), list(second), [0] * len(second)))


def selector_box(selector: dict, height: int, width: int) -> list[float]:
    """[x, y, w, h] of any selector: its stored box, the whole image, or its pixels' box."""
    if "box" in selector:
        return selector["box"]
    if selector["type"] == "image":
        return [0, 0, width, height]
    return mask_utils.toBbox(selector_rle(selector, height, width)).tolist()


def with_box(selector: dict, height: int, width: int) -> dict:
    """The selector with COCO's `box` filled in for polygons and masks that came without one."""
    if selector["type"] not in ("polygon", "mask") or "box" in selector:
        return selector
    return {**selector, "box": selector_box(selector, height, width)}
