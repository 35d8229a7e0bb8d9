"""Inselect: normalised boxes of the pinned-insects drawer placed on the image and written back."""

import json

import pytest
from shared_data import SHARED, targeted

from specimen_rdm_annotations.inselect import read_inselect, write_inselect

PINNED = SHARED / "herbarium" / "insects" / "pinned.inselect"


def test_pinned_insects_round_trip():
    source = json.loads(PINNED.read_text())
    parsed = read_inselect(PINNED.read_bytes(), "pinned.inselect", (813, 643))
    assert parsed.problems == [] and len(parsed.annotations) == len(source["items"])
    assert parsed.images[0].file_name == "pinned.jpg"
    first = parsed.annotations[0].data
    assert first["target"]["selector"]["box"][0] == pytest.approx(
        source["items"][0]["rect"][0] * 813
    )
    images, annotations = targeted(parsed, "herbarium")
    written = json.loads(write_inselect(images[0], annotations))
    for ours, theirs in zip(written["items"], source["items"], strict=True):
        assert ours["rect"] == pytest.approx(theirs["rect"], abs=1e-12)
        assert ours["fields"] == theirs.get("fields", {})


def test_size_is_needed_and_bad_rects_are_problems():
    assert "size" in read_inselect(PINNED.read_bytes(), "pinned.inselect", None).problems[0].reason
    document = {"items": [{"rect": [0.5, 0.5, 0.6, 0.1]}, {"rect": [0.1, 0.1]}]}
    parsed = read_inselect(json.dumps(document).encode(), "x.inselect", (100, 100))
    assert [p.field for p in parsed.problems] == ["items[0].rect", "items[1].rect"]
