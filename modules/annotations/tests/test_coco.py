"""COCO: instances and results files read, stored and written back losslessly."""

import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from shared_data import COCO_DIR, coco_categories, targeted

from specimen_rdm_annotations.coco import read_coco, write_coco
from specimen_rdm_annotations.interchange import FormatError

INSTANCES = COCO_DIR / "mmdetection_coco_dummy" / "instances_val2017.json"
RESULTS = COCO_DIR / "cocoapi_results"


def _ordered(categories):
    return sorted(categories.values(), key=lambda c: c.id)


def test_instances_round_trip_gives_identical_masks_areas_and_boxes(tmp_path):
    parsed = read_coco(INSTANCES.read_bytes())
    assert len(parsed.annotations) == 37 and parsed.problems == []
    images, annotations = targeted(parsed)
    written = write_coco(images, annotations, _ordered(coco_categories()))
    (tmp_path / "out.json").write_text(json.dumps(written))
    original, ours = COCO(str(INSTANCES)), COCO(str(tmp_path / "out.json"))
    ids = {image.file: image.id for image in images}
    for source_image in original.dataset["images"]:
        a_list = original.loadAnns(original.getAnnIds(imgIds=source_image["id"]))
        b_list = ours.loadAnns(ours.getAnnIds(imgIds=ids[source_image["file_name"]]))
        assert len(a_list) == len(b_list)
        for a, b in zip(a_list, b_list, strict=True):
            assert (
                a["area"] == b["area"] and a["bbox"] == b["bbox"] and a["iscrowd"] == b["iscrowd"]
            )
            assert np.array_equal(original.annToMask(a), ours.annToMask(b))


@pytest.mark.parametrize("name, kind", [("fakesegm100", "segm"), ("fakebbox100", "bbox")])
def test_results_files_evaluate_to_ap_one_against_themselves(tmp_path, name, kind):
    source = json.loads((RESULTS / f"instances_val2014_{name}_results.json").read_text())
    categories = coco_categories()
    parsed = read_coco(json.dumps(source), {c.id: n for n, c in categories.items()})
    assert parsed.problems == []
    # The images are not shipped: their sizes come from the RLEs (segm) or cover the boxes.
    for image in parsed.images:
        if image.width is None:
            boxes = [
                a.data["target"]["selector"]["box"]
                for a in parsed.annotations
                if a.image == image.ref
            ]
            image.width = int(max(b[0] + b[2] for b in boxes)) + 2
            image.height = int(max(b[1] + b[3] for b in boxes)) + 2
    images, annotations = targeted(parsed)
    results = write_coco(images, annotations, _ordered(categories), results=True)
    ground_truth = {
        "images": [{"id": i.id, "width": i.width, "height": i.height} for i in images],
        "categories": [{"id": c.id, "name": c.name} for c in _ordered(categories)],
        "annotations": [],
    }
    for number, result in enumerate(results, start=1):
        entry = {k: v for k, v in result.items() if k != "score"}
        image = images[result["image_id"] - 1]
        if "segmentation" in entry:
            rle = dict(entry["segmentation"], counts=entry["segmentation"]["counts"].encode())
            area = float(mask_utils.area(rle))
        else:
            area = entry["bbox"][2] * entry["bbox"][3]
            entry["segmentation"] = [
                [
                    entry["bbox"][0],
                    entry["bbox"][1],
                    entry["bbox"][0] + entry["bbox"][2],
                    entry["bbox"][1],
                    entry["bbox"][0] + entry["bbox"][2],
                    entry["bbox"][1] + entry["bbox"][3],
                    entry["bbox"][0],
                    entry["bbox"][1] + entry["bbox"][3],
                ]
            ]
        assert image.id == result["image_id"]
        ground_truth["annotations"].append({**entry, "id": number, "area": area, "iscrowd": 0})
    (tmp_path / "gt.json").write_text(json.dumps(ground_truth))
    truth = COCO(str(tmp_path / "gt.json"))
    evaluation = COCOeval(truth, truth.loadRes(results), kind)
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    assert evaluation.stats[0] == pytest.approx(1.0)


def test_keypoint_results_are_reported_as_unsupported():
    content = (RESULTS / "person_keypoints_val2014_fakekeypoints100_results.json").read_bytes()
    parsed = read_coco(content, {1: "person"})
    assert parsed.annotations == [] and len(parsed.problems) == 125
    assert "keypoint" in parsed.problems[0].reason


def test_undefined_category_and_unknown_image_are_problems():
    document = json.loads(INSTANCES.read_text())
    document["annotations"][0]["category_id"] = 999
    document["annotations"][1]["image_id"] = 12345
    parsed = read_coco(json.dumps(document))
    fields = {p.field: p.reason for p in parsed.problems}
    assert "999" in fields["annotations[0].category_id"]
    assert "12345" in fields["annotations[1].image_id"]
    assert len(parsed.annotations) == 35


def test_not_json_and_results_without_categories_raise_format_errors():
    with pytest.raises(FormatError, match="not JSON"):
        read_coco(b"{not json")
    with pytest.raises(FormatError, match="category set"):
        read_coco(b"[]")
