"""Validation of stored-shape annotations before anything is written: one report, many rules.

Every rule yields `Problem`s naming the field and the reason with the numbers. A region up to
`tolerance` pixels beyond the image edge is a warning (kept as given: COCO tools produce
such boxes from float rounding), further out an error. Duplicates (same image, same category,
IoU ≥ `duplicate_iou` with a stored or an earlier annotation of the batch) are warnings of
their own class, so importers can skip them.
"""

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pycocotools import mask as mask_utils

from .categories import Category
from .interchange import Problem
from .rle import run_lengths, selector_rle

MOTIVATIONS = {  # W3C Web Annotation motivations an annotation may carry
    "identifying",
    "classifying",
    "tagging",
    "describing",
    "assessing",
    "commenting",
    "editing",
}
SELECTOR_TYPES = {"image", "box", "polygon", "mask"}


@dataclass
class DuplicateProblem(Problem):
    """A warning that an annotation repeats another (an existing id or a batch index)."""

    duplicate_of: str | int | None = None


def _finite(values) -> bool:
    return all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values
    )


class _Checker:
    """Collects the problems of one annotation."""

    def __init__(self, index: int, prefix: str, tolerance: float):
        self.index, self.prefix, self.tolerance = index, prefix, tolerance
        self.problems: list[Problem] = []

    def add(self, severity: str, field: str, reason: str) -> None:
        path = f"{self.prefix}.{field}" if self.prefix else field
        self.problems.append(Problem(severity, self.index, path, reason))

    def inside(self, field: str, what: str, low: float, high: float, limit: float) -> bool:
        """Is [low, high] within [0, limit]? Warn within tolerance, error beyond it."""
        overshoot = max(-low, high - limit, 0.0)
        if overshoot == 0:
            return True
        if overshoot <= self.tolerance:
            self.add(
                "warning", field, f"{what} overshoots the image edge by {overshoot:.2f} px (kept)"
            )
            return True
        self.add("error", field, f"{what} lies {overshoot:.2f} px outside the image (0..{limit})")
        return False


def _check_target(check: _Checker, target: dict) -> tuple[int, int] | None:
    width, height = target.get("width"), target.get("height")
    ok = True
    for name, value in (("width", width), ("height", height)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            check.add(
                "error", f"target.{name}", f"image {name} must be a positive integer, got {value!r}"
            )
            ok = False
    return (width, height) if ok else None


def _check_box(check: _Checker, box, size, field="target.selector.box") -> bool:
    if not isinstance(box, (list, tuple)) or len(box) != 4 or not _finite(box):
        check.add("error", field, f"a box is 4 finite numbers [x, y, width, height], got {box!r}")
        return False
    x, y, w, h = box
    if w <= 0 or h <= 0:
        check.add("error", field, f"box width and height must be positive, got {w} × {h}")
        return False
    width, height = size
    ok = check.inside(field, f"box x {x}..{x + w}", x, x + w, width)
    return check.inside(field, f"box y {y}..{y + h}", y, y + h, height) and ok


def _check_polygon(check: _Checker, selector: dict, size) -> bool:
    rings = selector.get("polygon")
    if not isinstance(rings, list) or not rings:
        check.add("error", "target.selector.polygon", "a polygon needs at least one ring")
        return False
    box = selector.get("box")
    box_ok = box is None or _check_box(check, box, size)
    ok = box_ok
    width, height = size
    for r, ring in enumerate(rings):
        field = f"target.selector.polygon[{r}]"
        if not isinstance(ring, list) or len(ring) < 6 or len(ring) % 2 or not _finite(ring):
            check.add(
                "error",
                field,
                "a ring is an even number (≥ 6) of finite numbers: at least 3 points",
            )
            ok = False
            continue
        xs, ys = ring[0::2], ring[1::2]
        ok = check.inside(field, f"ring x {min(xs)}..{max(xs)}", min(xs), max(xs), width) and ok
        ok = check.inside(field, f"ring y {min(ys)}..{max(ys)}", min(ys), max(ys), height) and ok
        if box is not None and box_ok:
            bx, by, bw, bh = box
            t = check.tolerance
            if (
                min(xs) < bx - t
                or max(xs) > bx + bw + t
                or min(ys) < by - t
                or max(ys) > by + bh + t
            ):
                check.add("error", field, f"ring points leave the selector's box {box}")
                ok = False
    return ok


def _check_mask(check: _Checker, selector: dict, size) -> bool:
    rle = selector.get("rle")
    field = "target.selector.rle"
    if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
        check.add("error", field, "a mask is a COCO RLE {size: [height, width], counts}")
        return False
    width, height = size
    if list(rle["size"]) != [height, width]:
        check.add(
            "error",
            f"{field}.size",
            f"RLE size {list(rle['size'])} is not the image's [height, width] [{height}, {width}]",
        )
        return False
    try:
        runs = run_lengths(rle)
    except (ValueError, TypeError) as error:
        check.add("error", f"{field}.counts", f"unreadable RLE counts: {error}")
        return False
    if sum(runs) != width * height:
        check.add(
            "error",
            f"{field}.counts",
            f"RLE runs sum to {sum(runs)}, not width × height = {width * height}",
        )
        return False
    box = selector.get("box")
    if box is not None and _check_box(check, box, size):
        actual = mask_utils.toBbox(selector_rle(selector, height, width)).tolist()
        if max(abs(a - b) for a, b in zip(actual, box, strict=True)) > 1:
            check.add(
                "warning", "target.selector.box", f"box {box} differs from the mask's box {actual}"
            )
    return True


def _check_body(check: _Checker, body, category_sets) -> None:
    if not isinstance(body, dict) or not any(
        body.get(k) for k in ("category", "text", "trait", "tags")
    ):
        check.add("error", "body", "a body needs a category, text, trait or tags")
        return
    if body.get("category"):
        set_name = body.get("category_set")
        categories = category_sets.get(set_name)
        if categories is None:
            check.add(
                "error",
                "body.category_set",
                f"unknown category set {set_name!r} (known: {', '.join(sorted(category_sets))})",
            )
        elif body["category"] not in categories:
            check.add(
                "error",
                "body.category",
                f"{body['category']!r} is not a category of the set {set_name!r}",
            )
    trait = body.get("trait")
    if trait is not None and (
        not isinstance(trait, dict) or not trait.get("name") or trait.get("value") in (None, "")
    ):
        check.add("error", "body.trait", "a trait needs a name and a value")
    text = body.get("text")
    if text is not None and (
        not isinstance(text, dict)
        or not isinstance(text.get("value"), str)
        or not text["value"].strip()
    ):
        check.add("error", "body.text.value", "transcribed text must be a non-empty string")


def _check_one(check: _Checker, annotation: dict, category_sets) -> bool:
    """All single-annotation rules; True when the geometry can be compared for duplicates."""
    target = annotation.get("target") or {}
    size = _check_target(check, target)
    selector = target.get("selector") or {}
    kind = selector.get("type")
    geometry_ok = False
    if kind not in SELECTOR_TYPES:
        check.add(
            "error",
            "target.selector.type",
            f"{kind!r} is not one of {', '.join(sorted(SELECTOR_TYPES))}",
        )
    elif size is not None:
        if kind == "box":
            geometry_ok = _check_box(check, selector.get("box"), size)
        elif kind == "polygon":
            geometry_ok = _check_polygon(check, selector, size)
        elif kind == "mask":
            geometry_ok = _check_mask(check, selector, size)
        else:
            geometry_ok = True
    _check_body(check, annotation.get("body"), category_sets)
    score = annotation.get("score")
    if score is not None and (not _finite([score]) or not 0 <= score <= 1):
        check.add("error", "score", f"a score is a number in 0..1, got {score!r}")
    motivation = annotation.get("motivation")
    if motivation is not None and motivation not in MOTIVATIONS:
        check.add(
            "error", "motivation", f"{motivation!r} is not one of {', '.join(sorted(MOTIVATIONS))}"
        )
    return geometry_ok and not any(p.severity == "error" for p in check.problems)


def _group_key(annotation: dict):
    target, body = annotation["target"], annotation.get("body") or {}
    return (target.get("record"), target.get("file"), body.get("category"))


def _rle(annotation: dict) -> dict:
    target = annotation["target"]
    return selector_rle(target["selector"], target["height"], target["width"])


def _duplicates(candidates, existing, duplicate_iou, prefixes) -> list[Problem]:
    """Same (record, file, category) and IoU ≥ threshold: compared within each group only."""
    problems: list[Problem] = []
    stored = defaultdict(list)
    for annotation in existing:
        if (annotation.get("target") or {}).get("selector") and (annotation.get("body") or {}).get(
            "category"
        ):
            stored[_group_key(annotation)].append((annotation.get("id"), _rle(annotation)))
    seen = defaultdict(list)
    for index, annotation in candidates:
        if not (annotation.get("body") or {}).get("category"):
            continue
        key = _group_key(annotation)
        rle = _rle(annotation)
        others = stored[key] + [(f"batch index {i}", r) for i, r in seen[key]]
        if others:
            ious = mask_utils.iou([rle], [r for _, r in others], [0] * len(others))[0]
            best = int(ious.argmax())
            if ious[best] >= duplicate_iou:
                other = others[best][0]
                label = (
                    other
                    if isinstance(other, str) and other.startswith("batch")
                    else f"annotation {other}"
                )
                problems.append(
                    DuplicateProblem(
                        "warning",
                        index,
                        prefixes[index] or "target",
                        f"duplicate of {label} (IoU {ious[best]:.2f}); not written again",
                        duplicate_of=other,
                    )
                )
                continue
        seen[key].append((index, rle))
    return problems


def validate_annotations(
    annotations: Sequence[dict],
    category_sets: Mapping[str, Mapping[str, Category]],
    *,
    existing: Sequence[dict] = (),
    tolerance: float = 0.5,
    duplicate_iou: float = 0.95,
    fields: Sequence[str] | None = None,
) -> list[Problem]:
    """Every problem of every annotation, then the duplicates among the geometrically valid."""
    prefixes = (
        list(fields)
        if fields is not None
        else [f"annotations[{i}]" for i in range(len(annotations))]
    )
    problems: list[Problem] = []
    comparable = []
    for index, annotation in enumerate(annotations):
        check = _Checker(index, prefixes[index], tolerance)
        if _check_one(check, annotation, category_sets):
            comparable.append((index, annotation))
        problems.extend(check.problems)
    problems.extend(_duplicates(comparable, existing, duplicate_iou, prefixes))
    return problems


def has_errors(problems: Sequence[Problem]) -> bool:
    """Whether any problem is an error (then nothing may be written)."""
    return any(p.severity == "error" for p in problems)


def duplicate_indexes(problems: Sequence[Problem]) -> set[int]:
    """Batch indexes reported as duplicates."""
    return {p.index for p in problems if isinstance(p, DuplicateProblem)}
