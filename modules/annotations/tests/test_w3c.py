"""W3C Web Annotation: our pages read back losslessly and expand with the official context."""

import numpy as np
import pytest
from pyld.jsonld import JsonLdError
from shared_data import SHARED

from specimen_rdm_annotations.interchange import ExportImage
from specimen_rdm_annotations.rle import mask_to_rle, rle_to_mask
from specimen_rdm_annotations.w3c import expand, read_annotation_page, write_annotation_page

CONTEXT = SHARED / "schemas" / "web-annotation" / "anno.jsonld"
IMAGE = ExportImage(
    1,
    "rec",
    "sheet.jpg",
    60,
    40,
    url="https://repo.example/api/iiif/record:rec:sheet.jpg/full/full/0/default.jpg",
)


def _mask():
    mask = np.zeros((40, 60), dtype=np.uint8)
    mask[5:20, 10:33] = 1
    mask[30:35, 50:55] = 1
    return mask


def _stored() -> list[tuple[str, dict]]:
    target = {"record": "rec", "file": "sheet.jpg", "width": 60, "height": 40}
    return [
        (
            "a1",
            {
                "target": {**target, "selector": {"type": "box", "box": [1.5, 2, 10, 20.25]}},
                "body": {"category": "ruler", "category_set": "herbarium"},
                "score": 0.75,
                "status": {"state": "proposed", "by": "3", "at": "2026-11-22T00:00:00+00:00"},
            },
        ),
        (
            "a2",
            {
                "target": {
                    **target,
                    "selector": {
                        "type": "polygon",
                        "polygon": [[1, 1, 9, 1, 9, 9], [20.5, 20, 30, 20, 30, 30]],
                        "box": [1, 1, 29, 29],
                    },
                },
                "body": {
                    "category": "label",
                    "category_set": "herbarium",
                    "text": {"value": "Flora of Nepal", "language": "en"},
                },
                "motivation": "describing",
            },
        ),
        (
            "a3",
            {
                "target": {
                    **target,
                    "selector": {
                        "type": "mask",
                        "rle": mask_to_rle(_mask()),
                        "box": [10, 5, 45, 30],
                    },
                },
                "body": {"category": "plant", "category_set": "herbarium", "tags": ["flowering"]},
            },
        ),
        (
            "a4",
            {
                "target": {**target, "selector": {"type": "image"}},
                "body": {"trait": {"name": "leaf_length", "value": 4.2, "unit": "cm"}},
                "attributes": {"source": "manual"},
            },
        ),
    ]


def _page():
    return write_annotation_page(
        IMAGE,
        _stored(),
        "https://repo.example/page",
        lambda i: f"https://repo.example/api/annotations/{i}",
    )


def test_our_pages_read_back_losslessly():
    parsed = read_annotation_page(_page())
    assert parsed.problems == []
    assert [i.file_name for i in parsed.images] == ["sheet.jpg"]
    for ours, (_, stored) in zip(parsed.annotations, _stored(), strict=True):
        selector, original = ours.data["target"]["selector"], stored["target"]["selector"]
        if original["type"] == "mask":
            assert np.array_equal(rle_to_mask(selector["rle"]), _mask())
        else:
            assert selector == original
        body = {k: v for k, v in stored["body"].items() if k != "category_set"}
        assert ours.data["body"] == body
        for key in ("score", "status", "attributes", "motivation"):
            if key in stored:
                assert ours.data[key] == stored[key]


def test_pages_expand_with_the_official_context():
    expanded = expand(_page(), CONTEXT)
    graph = expanded[0]["http://www.w3.org/ns/activitystreams#items"][0]["@list"]
    annotation = graph[0]
    assert "http://www.w3.org/ns/oa#Annotation" in annotation["@type"]
    target = annotation["http://www.w3.org/ns/oa#hasTarget"][0]
    assert (
        target["http://www.w3.org/ns/oa#hasSelector"][0][
            "http://www.w3.org/1999/02/22-rdf-syntax-ns#value"
        ][0]["@value"]
        == "xywh=1.5,2,10,20.25"
    )
    assert annotation["https://specimen-rdm.org/terms/score"][0]["@value"] == 0.75


def test_pages_of_other_tools_with_pixel_fragments_and_svg_polygons():
    page = {
        "@context": "http://www.w3.org/ns/anno.jsonld",
        "type": "AnnotationPage",
        "items": [
            {
                "type": "Annotation",
                "body": {"type": "TextualBody", "purpose": "tagging", "value": "barcode"},
                "target": {
                    "source": "https://x.org/files/s.jpg/content",
                    "selector": {"type": "FragmentSelector", "value": "xywh=pixel:5,6,7,8"},
                },
            },
            {
                "type": "Annotation",
                "body": [{"type": "TextualBody", "purpose": "classifying", "value": "stamp"}],
                "target": {
                    "source": "https://x.org/files/s.jpg/content",
                    "selector": {
                        "type": "SvgSelector",
                        "value": "<svg><polygon points='1,1 10,1 10,10'/></svg>".replace("'", '"'),
                    },
                },
            },
            {
                "type": "Annotation",
                "body": [],
                "target": {
                    "source": "https://x.org/s.jpg",
                    "selector": {
                        "type": "SvgSelector",
                        "value": '<svg><path d="M 1 1 q 2 2 3 3"/></svg>',
                    },
                },
            },
        ],
    }
    parsed = read_annotation_page(page)
    assert parsed.images[0].file_name == "s.jpg"
    assert parsed.annotations[0].data["target"]["selector"] == {"type": "box", "box": [5, 6, 7, 8]}
    assert parsed.annotations[1].data["target"]["selector"]["polygon"] == [[1, 1, 10, 1, 10, 10]]
    assert (
        parsed.problems[0].field == "items[2].target.selector"
        and "M, L and Z" in parsed.problems[0].reason
    )


def test_expansion_fetches_nothing_else():
    with pytest.raises(JsonLdError):
        expand({"@context": "https://elsewhere.example/context.jsonld", "id": "x"}, CONTEXT)
