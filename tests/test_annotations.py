"""Annotations end to end: REST CRUD, revisions, review, permissions, imports, exports, search."""

import io
import json
import uuid
import zipfile

import numpy as np
import pytest
from PIL import Image
from pycocotools.coco import COCO

from deposit import Api, create_draft, publish, publish_sheet, sheet_jpeg, upload, wait_for
from live_instance import SHARED_DATA

COCO_FILE = SHARED_DATA / "coco_voc" / "mmdetection_coco_dummy" / "instances_val2017.json"
VOC_FILE = SHARED_DATA / "coco_voc" / "mmdetection_voc" / "000001.xml"
SHEETS = SHARED_DATA / "herbarium" / "sheets"


def _jpeg(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 190, 170)).save(buffer, format="JPEG")
    return buffer.getvalue()


def _box(record: dict, box: list[float], category: str = "ruler", **extra) -> dict:
    return {
        "target": {
            "record": record["id"],
            "file": "sheet.jpg",
            "selector": {"type": "box", "box": box},
        },
        "body": {"category": category},
        **extra,
    }


def _annotations(api: Api, **params) -> dict:
    response = api.get("/api/annotations", params={"size": 100, **params})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def curator(live) -> Api:
    """The owner of the annotated records (a curator of their annotations)."""
    return Api(live.url, live.token("annotation-owner@example.org"))


@pytest.fixture(scope="module")
def stranger(live) -> Api:
    """Another registered user: may propose corrections, may not review."""
    return Api(live.url, live.token("annotation-stranger@example.org"))


@pytest.fixture(scope="module")
def sheet(curator) -> dict:
    """A published public record with one real herbarium sheet (BM000521755)."""
    return publish_sheet(curator, f"Annotated sheet {uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module")
def restricted_sheet(curator) -> dict:
    """A published record whose metadata and files are restricted."""
    draft = create_draft(curator, f"Restricted sheet {uuid.uuid4().hex[:8]}")
    data = {k: draft[k] for k in ("metadata", "files")}
    data["access"] = {"record": "restricted", "files": "restricted"}
    response = curator.put(f"/api/records/{draft['id']}/draft", json=data)
    assert response.status_code == 200, response.text
    upload(curator, draft["id"], "sheet.jpg", sheet_jpeg())
    return publish(curator, draft["id"])


def test_create_read_update_review_revisions_delete(curator, stranger, anonymous, sheet):
    response = curator.post("/api/annotations", json=_box(sheet, [100, 200, 300, 80], score=0.9))
    assert response.status_code == 201, response.text
    created = response.json()
    annotation_id = created["id"]
    width, height = Image.open(io.BytesIO(sheet_jpeg())).size
    assert created["target"]["width"] == width and created["target"]["height"] == height
    assert created["status"]["state"] == "accepted"  # the record's owner is a curator
    assert created["creator"]["type"] == "person"

    assert anonymous.get(f"/api/annotations/{annotation_id}").status_code == 200
    found = wait_for(
        lambda: _annotations(anonymous, record=sheet["id"], category="ruler")["hits"]["hits"],
        what="the annotation in search",
    )
    assert [hit["id"] for hit in found] == [annotation_id]

    # A stranger's correction is a new revision, proposed until a curator decides.
    correction = _box(sheet, [101, 200, 300, 80], score=0.9)
    response = stranger.put(f"/api/annotations/{annotation_id}", json=correction)
    assert response.status_code == 200, response.text
    assert response.json()["status"]["state"] == "proposed"
    review = stranger.post(f"/api/annotations/{annotation_id}/review", json={"state": "accepted"})
    assert review.status_code == 403
    review = curator.post(f"/api/annotations/{annotation_id}/review", json={"state": "rejected"})
    assert review.status_code == 200, review.text
    assert review.json()["status"]["state"] == "rejected"

    revisions = anonymous.get(f"/api/annotations/{annotation_id}/revisions").json()["hits"]["hits"]
    boxes = [r["annotation"]["target"]["selector"]["box"] for r in revisions]
    states = [r["annotation"]["status"]["state"] for r in revisions]
    assert boxes == [[100, 200, 300, 80], [101, 200, 300, 80], [101, 200, 300, 80]]
    assert states == ["accepted", "proposed", "rejected"]

    assert stranger.delete(f"/api/annotations/{annotation_id}").status_code == 403
    assert curator.delete(f"/api/annotations/{annotation_id}").status_code == 204
    assert anonymous.get(f"/api/annotations/{annotation_id}").status_code == 410
    wait_for(
        lambda: _annotations(anonymous, record=sheet["id"], category="ruler")["hits"]["total"] == 0,
        what="the deleted annotation to leave search",
    )


@pytest.mark.parametrize(
    "change, field, words",
    [
        ({"box": [100, 200, 10_000, 80]}, "target.selector.box", "image"),
        ({"box": [100, 200, 0, 80]}, "target.selector.box", "width"),
        ({"category": "unicorn"}, "body.category", "unicorn"),
        ({"file": "missing.jpg"}, "target.file", "missing.jpg"),
        ({"score": 1.5}, "score", ""),
    ],
)
def test_invalid_annotations_are_rejected_naming_the_field(curator, sheet, change, field, words):
    data = _box(sheet, change.get("box", [10, 10, 50, 50]), change.get("category", "label"))
    if "file" in change:
        data["target"]["file"] = change["file"]
    if "score" in change:
        data["score"] = change["score"]
    response = curator.post("/api/annotations", json=data)
    assert response.status_code == 400, response.text
    errors = {e["field"]: " ".join(e["messages"]) for e in response.json()["errors"]}
    assert field in errors, errors
    assert words in errors[field]


def test_annotations_of_a_restricted_record_are_invisible_to_others(
    curator, stranger, anonymous, restricted_sheet
):
    response = curator.post(
        "/api/annotations", json=_box(restricted_sheet, [5, 5, 40, 40], "barcode")
    )
    assert response.status_code == 201, response.text
    annotation_id = response.json()["id"]
    assert curator.get(f"/api/annotations/{annotation_id}").status_code == 200
    # Indexed and found by its owner first, so that the checks below are not vacuous.
    wait_for(
        lambda: (
            annotation_id in {h["id"] for h in _annotations(curator, q="barcode")["hits"]["hits"]}
        ),
        what="the owner to find the annotation of a restricted record",
    )
    for api in (anonymous, stranger):
        assert api.get(f"/api/annotations/{annotation_id}").status_code == 403
        assert (
            _annotations(api, category="barcode", record=restricted_sheet["id"])["hits"]["total"]
            == 0
        )
        assert annotation_id not in {
            h["id"] for h in _annotations(api, q="barcode")["hits"]["hits"]
        }
        exported = api.get(
            "/api/annotations/export", params={"format": "coco", "record": restricted_sheet["id"]}
        )
        assert exported.status_code == 403, exported.text
        assert (
            api.post("/api/annotations", json=_box(restricted_sheet, [1, 1, 5, 5])).status_code
            == 403
        )


@pytest.fixture(scope="module")
def coco_record(curator) -> dict:
    """A record holding the two COCO val2017 images (as blank JPEGs of their real sizes)."""
    images = json.loads(COCO_FILE.read_text())["images"]
    files = {image["file_name"]: _jpeg(image["width"], image["height"]) for image in images}
    return publish_sheet(curator, f"COCO sample {uuid.uuid4().hex[:8]}", files)


def test_coco_import_is_lossless_and_idempotent(curator, anonymous, coco_record, tmp_path):
    params = {"format": "coco", "record": coco_record["id"], "category_set": "coco"}
    content = COCO_FILE.read_bytes()
    response = curator.post("/api/annotations/import", params=params, files={"file": content})
    assert response.status_code == 201, response.text
    report = response.json()
    assert report["counts"]["created"] == 37 and report["errors"] == []
    assert len(report["created"]) == 37

    again = curator.post("/api/annotations/import", params=params, files={"file": content})
    assert again.status_code == 201, again.text
    assert again.json()["counts"] == {**again.json()["counts"], "created": 0, "duplicates": 37}

    exported = anonymous.get(
        "/api/annotations/export", params={"format": "coco", "record": coco_record["id"]}
    )
    assert exported.status_code == 200, exported.text
    (tmp_path / "out.json").write_bytes(exported.content)
    original, ours = COCO(str(COCO_FILE)), COCO(str(tmp_path / "out.json"))
    names = {image["file_name"]: image["id"] for image in ours.dataset["images"]}
    assert all(image["coco_url"].startswith("http") for image in ours.dataset["images"])
    for image in original.dataset["images"]:
        source = original.loadAnns(original.getAnnIds(imgIds=image["id"]))
        exported_anns = ours.loadAnns(ours.getAnnIds(imgIds=names[image["file_name"]]))
        assert len(source) == len(exported_anns)
        for a, b in zip(
            sorted(source, key=lambda a: a["bbox"]),
            sorted(exported_anns, key=lambda b: b["bbox"]),
            strict=True,
        ):
            assert a["area"] == b["area"]
            assert np.array_equal(original.annToMask(a), ours.annToMask(b))
            assert (
                original.loadCats(a["category_id"])[0]["name"]
                == ours.loadCats(b["category_id"])[0]["name"]
            )


def test_coco_export_with_images_packages_the_record_files(anonymous, coco_record):
    params = {"format": "coco", "record": coco_record["id"], "include_images": "true"}
    response = anonymous.get("/api/annotations/export", params=params)
    assert response.status_code == 200, response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        coco = json.loads(archive.read("annotations.json"))
        for image in coco["images"]:
            with Image.open(io.BytesIO(archive.read(image["file_name"]))) as packaged:
                assert packaged.size == (image["width"], image["height"])


def test_an_import_with_errors_writes_nothing(curator, coco_record):
    data = json.loads(COCO_FILE.read_text())
    data["annotations"][3]["bbox"] = [600, 400, 200, 200]  # beyond the 640×427 image
    params = {"format": "coco", "record": coco_record["id"], "category_set": "coco"}
    before = _annotations(curator, record=coco_record["id"])["hits"]["total"]
    response = curator.post(
        "/api/annotations/import", params=params, files={"file": json.dumps(data).encode()}
    )
    assert response.status_code == 400, response.text
    report = response.json()
    assert report["counts"]["created"] == 0
    assert any(
        e["index"] == 3 and "bbox" in e["field"] or "box" in e["field"] for e in report["errors"]
    )
    assert _annotations(curator, record=coco_record["id"])["hits"]["total"] == before


def test_voc_import_exports_the_same_pixel_boxes(curator):
    record = publish_sheet(
        curator, f"VOC sample {uuid.uuid4().hex[:8]}", {"000002.jpg": _jpeg(335, 500)}
    )
    params = {"format": "voc", "record": record["id"], "category_set": "coco"}
    xml = VOC_FILE.read_bytes().replace(b"<name>train</name>", b"<name>train</name>")
    response = curator.post("/api/annotations/import", params=params, files={"file": xml})
    assert response.status_code == 201, response.text
    exported = curator.get(
        "/api/annotations/export", params={"format": "voc", "record": record["id"]}
    )
    assert exported.status_code == 200
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        written = archive.read("000002.xml").decode()
    original = VOC_FILE.read_text()
    for tag in ("xmin", "ymin", "xmax", "ymax"):
        value = original.split(f"<{tag}>")[1].split("<")[0]
        assert f"<{tag}>{value}</{tag}>" in written


def test_plant_masks_round_trip_pixel_exact_and_search_finds_the_record(curator, anonymous):
    name = "BM000521755"
    record = publish_sheet(
        curator, f"Masked sheet {uuid.uuid4().hex[:8]}", {f"{name}.jpg": sheet_jpeg(name)}
    )
    upload_zip = io.BytesIO()
    with zipfile.ZipFile(upload_zip, "w") as archive:
        archive.writestr(f"{name}.png", (SHEETS / "plant_masks" / f"{name}.png").read_bytes())
        archive.writestr("labelmap.json", json.dumps({"255": "plant"}))
    params = {"format": "masks", "record": record["id"]}
    response = curator.post(
        "/api/annotations/import", params=params, files={"file": upload_zip.getvalue()}
    )
    assert response.status_code == 201, response.text
    exported = anonymous.get(
        "/api/annotations/export", params={"format": "masks", "record": record["id"]}
    )
    assert exported.status_code == 200, exported.text
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        pngs = [n for n in archive.namelist() if n.endswith(".png")]
        assert len(pngs) == 1
        ours = np.array(Image.open(io.BytesIO(archive.read(pngs[0]))))
    original = np.array(Image.open(SHEETS / "plant_masks" / f"{name}.png"))
    assert np.array_equal(ours, original)

    text = {
        "target": {
            "record": record["id"],
            "file": f"{name}.jpg",
            "selector": {"type": "box", "box": [10, 10, 100, 40]},
        },
        "body": {
            "category": "label",
            "text": {"value": "Flora of Nepal, leg. Stainton", "language": "en"},
        },
        "motivation": "describing",
    }
    assert curator.post("/api/annotations", json=text).status_code == 201

    def found(query):
        hits = anonymous.get("/api/records", params={"q": query}).json()["hits"]["hits"]
        return record["id"] in {hit["id"] for hit in hits}

    wait_for(lambda: found("annotated:plant AND annotated:label"), what="records by annotation")
    assert found('annotation_text:"Nepal"')
    assert not found("annotated:plant AND annotated:ruler")
    facets = anonymous.get("/api/records", params={"q": f"id:{record['id']}"}).json()[
        "aggregations"
    ]
    assert {b["key"] for b in facets["annotated_with"]["buckets"]} == {"plant", "label"}


def test_w3c_page_of_an_image_lists_its_annotations(curator, anonymous, sheet):
    response = curator.post("/api/annotations", json=_box(sheet, [20, 30, 40, 50], "stamp"))
    assert response.status_code == 201
    url = f"/api/annotations/pages/{sheet['id']}/sheet.jpg"
    data = wait_for(
        lambda: (
            (page := anonymous.get(url)).status_code == 200 and page.json()["items"] and page.json()
        ),
        what="the annotation on the image's page",
    )
    assert data["type"] == "AnnotationPage"
    selectors = [item["target"]["selector"]["value"] for item in data["items"]]
    assert "xywh=20,30,40,50" in selectors


def test_iiif_manifest_canvases_link_their_annotation_pages(anonymous, sheet):
    response = anonymous.get(
        f"/api/iiif/record:{sheet['id']}/manifest", headers={"Accept": "application/ld+json"}
    )
    assert response.status_code == 200, response.text
    canvases = response.json()["sequences"][0]["canvases"]
    links = [content["@id"] for canvas in canvases for content in canvas["otherContent"]]
    assert links == [f"{anonymous.base}/api/annotations/pages/{sheet['id']}/sheet.jpg"]
    assert anonymous.get(links[0]).json()["type"] == "AnnotationPage"


def test_publishing_a_record_public_makes_its_annotations_searchable(curator, anonymous):
    draft = create_draft(curator, f"Later public {uuid.uuid4().hex[:8]}")
    data = {k: draft[k] for k in ("metadata", "files")}
    response = curator.put(
        f"/api/records/{draft['id']}/draft",
        json={**data, "access": {"record": "restricted", "files": "restricted"}},
    )
    assert response.status_code == 200, response.text
    upload(curator, draft["id"], "sheet.jpg", sheet_jpeg())
    record = publish(curator, draft["id"])
    response = curator.post("/api/annotations", json=_box(record, [5, 5, 30, 30], "note"))
    assert response.status_code == 201, response.text
    annotation_id = response.json()["id"]

    def anonymous_finds():
        hits = _annotations(anonymous, category="note", q=f"id:{annotation_id}")["hits"]["hits"]
        return [hit["id"] for hit in hits]

    assert anonymous_finds() == []
    edit = curator.post(f"/api/records/{record['id']}/draft")
    assert edit.status_code == 201, edit.text
    response = curator.put(
        f"/api/records/{record['id']}/draft",
        json={**data, "access": {"record": "public", "files": "public"}},
    )
    assert response.status_code == 200, response.text
    publish(curator, record["id"])
    assert wait_for(anonymous_finds, what="the annotation to follow the record's access") == [
        annotation_id
    ]


def test_an_export_is_deposited_as_a_dataset_draft_linked_to_its_images(curator, coco_record):
    params = {"format": "coco", "record": coco_record["id"]}
    response = curator.post(
        "/api/annotations/export/dataset", params=params, json={"title": "COCO sample training set"}
    )
    assert response.status_code == 201, response.text
    draft = response.json()
    assert draft["metadata"]["resource_type"]["id"] == "dataset"
    assert draft["metadata"]["title"] == "COCO sample training set"
    related = draft["metadata"]["related_identifiers"]
    assert [r["relation_type"]["id"] for r in related] == ["isderivedfrom"]
    assert related[0]["identifier"].endswith(f"/records/{coco_record['id']}")
    content = curator.get(f"/api/records/{draft['id']}/draft/files/annotations.json/content")
    assert content.status_code == 200
    coco = content.json()
    assert len(coco["annotations"]) == 37
    assert all("/api/iiif/record:" in image["coco_url"] for image in coco["images"])
