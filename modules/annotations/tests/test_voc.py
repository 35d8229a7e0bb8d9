"""Pascal VOC: 1-based inclusive boxes read and written back; VOC → COCO → VOC keeps pixels."""

import io
import zipfile

import pytest
from lxml import etree
from shared_data import COCO_DIR, coco_categories, targeted

from specimen_rdm_annotations.coco import read_coco, write_coco
from specimen_rdm_annotations.interchange import FormatError
from specimen_rdm_annotations.voc import read_voc, read_voc_zip, write_voc, write_voc_zip

VOC = COCO_DIR / "mmdetection_voc" / "000001.xml"


def _corners(xml: bytes) -> list[tuple[int, ...]]:
    root = etree.fromstring(xml)
    return [
        tuple(int(o.findtext(f"bndbox/{t}")) for t in ("xmin", "ymin", "xmax", "ymax"))
        for o in root.iter("object")
    ]


def test_voc_boxes_follow_the_one_based_inclusive_convention():
    parsed = read_voc(VOC.read_bytes())
    (annotation,) = parsed.annotations
    assert parsed.images[0].width == 335 and parsed.images[0].height == 500
    assert annotation.data["target"]["selector"]["box"] == [
        138,
        199,
        69,
        102,
    ]  # 139..207 × 200..301
    assert annotation.data["attributes"] == {"pose": "Unspecified", "truncated": 0, "difficult": 0}


def test_voc_to_coco_to_voc_keeps_the_pixel_boxes(tmp_path):
    images, annotations = targeted(read_voc(VOC.read_bytes()))
    categories = sorted(coco_categories().values(), key=lambda c: c.id)
    coco = write_coco(images, annotations, categories)
    back_images, back = targeted(read_coco(coco))
    xml = write_voc(back_images[0], back)
    assert _corners(xml) == _corners(VOC.read_bytes())


def test_voc_zip_round_trip_keeps_names_sizes_and_attributes():
    images, annotations = targeted(read_voc(VOC.read_bytes()))
    archive = write_voc_zip(images, annotations)
    parsed = read_voc_zip(archive)
    assert [a.data for a in parsed.annotations] == [
        a for a in read_voc(VOC.read_bytes()).annotations[0:1] for a in [a.data]
    ]
    assert parsed.annotations[0].source_field == "000002.xml:object[0]"


@pytest.mark.parametrize(
    "change, field",
    [
        (b"<xmax>207</xmax>", "object[0].bndbox.xmax"),
        (b"<xmax>100</xmax>", "object[0].bndbox"),
    ],
)
def test_bad_boxes_are_problems_naming_the_element(change, field):
    replacement = b"<xmax>abc</xmax>" if change == b"<xmax>207</xmax>" else change
    parsed = read_voc(VOC.read_bytes().replace(b"<xmax>207</xmax>", replacement), "a.xml")
    assert parsed.annotations == []
    assert parsed.problems[0].field == f"a.xml:{field}"


def test_not_xml_and_not_a_zip_are_format_errors():
    with pytest.raises(FormatError):
        read_voc(b"<annotation><unclosed>")
    with pytest.raises(FormatError):
        read_voc_zip(b"no zip")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("__MACOSX/._000001.xml", b"junk")
        archive.writestr("labels/000001.xml", VOC.read_bytes())
    assert len(read_voc_zip(buffer.getvalue()).annotations) == 1
