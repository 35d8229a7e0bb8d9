"""YOLO: detection and segmentation labels written and read back within float precision."""

import io
import zipfile

import pytest
from shared_data import COCO_DIR, coco_categories, targeted

from specimen_rdm_annotations.coco import read_coco
from specimen_rdm_annotations.yolo import read_yolo, write_yolo

INSTANCES = COCO_DIR / "mmdetection_coco_dummy" / "instances_val2017.json"


def _sample():
    images, annotations = targeted(read_coco(INSTANCES.read_bytes()))
    categories = sorted(coco_categories().values(), key=lambda c: c.id)
    sizes = {image.file.rsplit(".", 1)[0]: (image.width, image.height) for image in images}
    # The reader goes through label files by name: order the source the same way.
    annotations.sort(key=lambda a: a["target"]["file"])
    return images, annotations, categories, sizes


def test_detection_round_trip_keeps_boxes():
    images, annotations, categories, sizes = _sample()
    parsed = read_yolo(write_yolo(images, annotations, categories), sizes)
    assert parsed.problems == [] and len(parsed.annotations) == len(annotations)
    for ours, source in zip(parsed.annotations, annotations, strict=True):
        assert ours.data["body"]["category"] == source["body"]["category"]
        assert ours.data["target"]["selector"]["box"] == pytest.approx(
            source["target"]["selector"]["box"], rel=1e-5, abs=1e-2
        )


def test_segmentation_round_trip_keeps_polygons():
    images, annotations, categories, sizes = _sample()
    polygons = [a for a in annotations if a["target"]["selector"]["type"] == "polygon"]
    parsed = read_yolo(write_yolo(images, polygons, categories, task="segment"), sizes)
    rings = [ring for a in polygons for ring in a["target"]["selector"]["polygon"]]
    assert len(parsed.annotations) == len(rings)
    for ours, ring in zip(parsed.annotations, rings, strict=True):
        assert ours.data["target"]["selector"]["polygon"][0] == pytest.approx(
            ring, rel=1e-5, abs=1e-2
        )


def _archive(label: str, names: str = "names: [ruler, label]\n") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data.yaml", names)
        archive.writestr("labels/train/sheet.txt", label)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "line, reason",
    [
        ("5 0.5 0.5 0.1 0.1", "class 5"),
        ("0 0.5 0.5 0.1", "expected"),
        ("0 0.5 1.5 0.1 0.1", "normalised"),
        ("a b c d e", "numbers"),
    ],
)
def test_bad_lines_are_problems_naming_file_and_line(line, reason):
    parsed = read_yolo(_archive(f"0 0.5 0.5 0.2 0.2\n{line}\n"), {"sheet": (100, 200)})
    assert len(parsed.annotations) == 1
    assert (
        parsed.problems[0].field == "labels/train/sheet.txt:line 2"
        and reason in parsed.problems[0].reason
    )


def test_label_file_without_an_image_is_a_problem():
    parsed = read_yolo(_archive("0 0.5 0.5 0.2 0.2\n"), {"other": (10, 10)})
    assert parsed.annotations == [] and "sheet" in parsed.problems[0].reason
