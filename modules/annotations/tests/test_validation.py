"""Validation rules: each has a failing case and a passing near miss."""

import numpy as np
import pytest
from shared_data import CATEGORY_SETS

from specimen_rdm_annotations.categories import load_category_sets
from specimen_rdm_annotations.rle import mask_to_rle
from specimen_rdm_annotations.validation import duplicate_indexes, has_errors, validate_annotations

SETS = load_category_sets(CATEGORY_SETS)


def _annotation(selector: dict, category: str = "ruler", **extra) -> dict:
    return {
        "target": {
            "record": "r",
            "file": "f.jpg",
            "width": 100,
            "height": 50,
            "selector": selector,
        },
        "body": {"category": category, "category_set": "herbarium"},
        **extra,
    }


def _mask_rle() -> dict:
    mask = np.zeros((50, 100), dtype=np.uint8)
    mask[10:20, 30:60] = 1
    return mask_to_rle(mask)


def _problems(annotation: dict):
    return validate_annotations([annotation], SETS)


CASES = [
    # (failing annotation, near miss, field, words in the reason)
    (
        _annotation({"type": "box", "box": [90, 10, 20, 10]}),
        _annotation({"type": "box", "box": [80, 10, 20, 10]}),
        "annotations[0].target.selector.box",
        "outside",
    ),
    (
        _annotation({"type": "box", "box": [10, 10, 0, 10]}),
        _annotation({"type": "box", "box": [10, 10, 0.5, 10]}),
        "annotations[0].target.selector.box",
        "positive",
    ),
    (
        _annotation({"type": "box", "box": [10, 10, 5]}),
        _annotation({"type": "box", "box": [10, 10, 5, 5]}),
        "annotations[0].target.selector.box",
        "4 finite",
    ),
    (
        _annotation({"type": "polygon", "polygon": [[1, 1, 5, 5]]}),
        _annotation({"type": "polygon", "polygon": [[1, 1, 5, 5, 1, 5]]}),
        "annotations[0].target.selector.polygon[0]",
        "3 points",
    ),
    (
        _annotation({"type": "polygon", "polygon": [[1, 1, 150, 5, 1, 5]]}),
        _annotation({"type": "polygon", "polygon": [[1, 1, 100, 5, 1, 5]]}),
        "annotations[0].target.selector.polygon[0]",
        "outside",
    ),
    (
        _annotation({"type": "polygon", "polygon": [[1, 1, 30, 5, 1, 5]], "box": [0, 0, 10, 10]}),
        _annotation({"type": "polygon", "polygon": [[1, 1, 10, 5, 1, 5]], "box": [0, 0, 10, 10]}),
        "annotations[0].target.selector.polygon[0]",
        "box",
    ),
    (
        _annotation({"type": "mask", "rle": {"size": [50, 99], "counts": "0"}}),
        _annotation({"type": "mask", "rle": _mask_rle()}),
        "annotations[0].target.selector.rle.size",
        "[50, 100]",
    ),
    (
        _annotation({"type": "mask", "rle": {"size": [50, 100], "counts": [10, 20]}}),
        _annotation({"type": "mask", "rle": {"size": [50, 100], "counts": [10, 4990]}}),
        "annotations[0].target.selector.rle.counts",
        "5000",
    ),
    (
        _annotation({"type": "circle"}),
        _annotation({"type": "image"}),
        "annotations[0].target.selector.type",
        "circle",
    ),
    (
        _annotation({"type": "image"}, "unicorn"),
        _annotation({"type": "image"}, "color_card"),
        "annotations[0].body.category",
        "unicorn",
    ),
    (
        _annotation({"type": "image"}, score=1.2),
        _annotation({"type": "image"}, score=1.0),
        "annotations[0].score",
        "0..1",
    ),
    (
        _annotation({"type": "image"}, motivation="liking"),
        _annotation({"type": "image"}, motivation="assessing"),
        "annotations[0].motivation",
        "liking",
    ),
]


@pytest.mark.parametrize("failing, passing, field, words", CASES)
def test_each_rule_fails_and_its_near_miss_passes(failing, passing, field, words):
    problems = _problems(failing)
    errors = {p.field: p.reason for p in problems if p.severity == "error"}
    assert field in errors, problems
    assert words in errors[field]
    assert not has_errors(_problems(passing)), _problems(passing)


def test_overshoot_within_tolerance_is_a_warning_and_kept():
    problems = _problems(_annotation({"type": "box", "box": [80, 10, 20.3, 10]}))
    assert not has_errors(problems)
    assert problems[0].severity == "warning" and "0.30 px" in problems[0].reason


def test_target_size_and_bodies():
    annotation = _annotation({"type": "image"})
    annotation["target"]["width"] = 0
    annotation["body"] = {}
    fields = {p.field for p in _problems(annotation)}
    assert {"annotations[0].target.width", "annotations[0].body"} <= fields
    trait = _annotation({"type": "image"})
    trait["body"] = {"trait": {"name": "leaf_length"}, "text": {"value": " "}}
    fields = {p.field for p in _problems(trait)}
    assert {"annotations[0].body.trait", "annotations[0].body.text.value"} <= fields
    trait["body"] = {"trait": {"name": "leaf_length", "value": 4}, "text": {"value": "Nepal"}}
    assert _problems(trait) == []


def test_duplicates_in_batch_and_against_stored_annotations():
    first = _annotation({"type": "box", "box": [10, 10, 40, 20]})
    near = _annotation({"type": "box", "box": [10.2, 10, 40, 20]})
    apart = _annotation({"type": "box", "box": [10, 10, 30, 20]})  # IoU 0.75
    other_category = _annotation({"type": "box", "box": [10, 10, 40, 20]}, "label")
    problems = validate_annotations([first, near, apart, other_category], SETS)
    assert duplicate_indexes(problems) == {1}
    assert "batch index 0" in problems[0].reason
    stored = {**first, "id": "abc-123"}
    problems = validate_annotations([near], SETS, existing=[stored])
    assert duplicate_indexes(problems) == {0} and "abc-123" in problems[0].reason


def test_twenty_thousand_boxes_on_two_hundred_images():
    rng = np.random.default_rng(0)
    categories = list(SETS["herbarium"])
    annotations = []
    for i in range(20_000):
        x, y = rng.uniform(0, 60), rng.uniform(0, 30)
        annotations.append(
            {
                "target": {
                    "record": "r",
                    "file": f"{i % 200}.jpg",
                    "width": 100,
                    "height": 50,
                    "selector": {"type": "box", "box": [x, y, 30, 15]},
                },
                "body": {"category": categories[i % 10], "category_set": "herbarium"},
            }
        )
    problems = validate_annotations(annotations, SETS)
    assert not has_errors(problems)
