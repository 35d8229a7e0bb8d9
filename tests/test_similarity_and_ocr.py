"""The built-in models end to end: published as model records by the instance's setup, run by
on-publish pipelines on real sheets and a real label (text annotations searchable in full text,
embeddings in the k-NN index), similarity search by record and by uploaded image with access
control, idempotent re-runs, OCR through predict, and clear errors."""

import json
import re
import uuid

import pytest
import requests

from deposit import Api, create_draft, publish, publish_sheet, upload, wait_for
from live_instance import SHARED_DATA

SHEETS = SHARED_DATA / "herbarium" / "sheets" / "img"
LABEL = SHARED_DATA / "herbarium" / "labels" / "institution_label.jpg"
DRAWER = SHARED_DATA / "herbarium" / "insects" / "pinned.jpg"
SHEET_NAMES = ["109601", "119018", "12406", "136319", "172695"]
TAG = uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def owner(live) -> Api:
    return Api(live.url, live.token("builtin-owner@example.org"))


@pytest.fixture(scope="module")
def other(live) -> Api:
    return Api(live.url, live.token("builtin-other@example.org"))


@pytest.fixture(scope="module")
def builtins(admin) -> dict:
    """`{builtin id: model record}` as the setup step published them."""
    response = admin.get("/api/records", params={"q": "_exists_:custom_fields.ml\\:builtin"})
    assert response.status_code == 200, response.text
    return {hit["custom_fields"]["ml:builtin"]: hit for hit in response.json()["hits"]["hits"]}


def _jobs_done(admin: Api, recid: str, pipelines: int) -> list[dict]:
    """The finished pipeline jobs of a record (waits until `pipelines` of them finished)."""

    def finished():
        response = admin.get("/api/ml/jobs", params={"record": recid})
        assert response.status_code == 200, response.text
        jobs = response.json()["hits"]
        done = [job for job in jobs if job["state"] in ("COMPLETED", "FAILED", "CANCELLED")]
        return done if len(done) >= pipelines else None

    return wait_for(finished, timeout=300, interval=1, what=f"the pipelines of {recid}")


@pytest.fixture(scope="module")
def published(live, owner, admin, builtins) -> dict:
    """Five sheets, the label and the drawer published with both built-in pipelines registered
    (on publish, for this module's records only); `{name: record}` once their jobs finished."""
    applies = {"resource_types": ["image-photo"], "query": f'metadata.title:"{TAG}"'}
    live.pipelines_file.write_text(
        json.dumps(
            {
                "pipelines": {
                    "image-features": {
                        "model": {"builtin": "efficientnet-lite0-features"},
                        "applies_to": applies,
                        "writes": "embeddings",
                    },
                    "label-text": {
                        "model": {"builtin": "ppocr-v6-text"},
                        "applies_to": applies,
                        "writes": "text",
                        "threshold": 0.6,
                    },
                }
            }
        )
    )
    images = {name: (SHEETS / f"{name}.jpg").read_bytes() for name in SHEET_NAMES}
    images["label"] = LABEL.read_bytes()
    images["drawer"] = DRAWER.read_bytes()
    records = {
        name: publish_sheet(owner, f"Sheet {TAG} {name}", {f"{name}.jpg": content})
        for name, content in images.items()
    }
    for record in records.values():
        jobs = _jobs_done(admin, record["id"], 2)
        assert all(job["state"] == "COMPLETED" for job in jobs), jobs
    yield records
    live.pipelines_file.unlink(missing_ok=True)


def test_setup_published_both_builtin_models_with_their_package_weights(builtins):
    features = builtins["efficientnet-lite0-features"]
    ocr = builtins["ppocr-v6-text"]
    assert features["custom_fields"]["ml:task"] == "feature-extraction"
    assert features["custom_fields"]["ml:weight_format"] == "torchscript"
    assert set(features["files"]["entries"]) == {"model.pt", "MODEL_CARD.md"}
    assert ocr["custom_fields"]["ml:task"] == "text-recognition"
    assert set(ocr["files"]["entries"]) == {"det.onnx", "cls.onnx", "rec.onnx", "MODEL_CARD.md"}
    for record in (features, ocr):
        assert record["status"] == "published"
        assert [r["id"] for r in record["metadata"]["rights"]] == ["apache-2.0"]
        assert record["pids"]["doi"]["identifier"]


def test_ocr_pipeline_writes_text_annotations_of_the_label_searchable_in_full_text(
    owner, anonymous, published, builtins
):
    label = published["label"]
    ocr_id = builtins["ppocr-v6-text"]["id"]
    params = {"record": label["id"], "creator_type": "machine", "size": 200}

    def machine_texts():
        hits = owner.get("/api/annotations", params=params).json()["hits"]["hits"]
        texts = [hit["body"]["text"]["value"] for hit in hits if hit["body"].get("text")]
        return (hits, texts) if "MELBOURNE UNIVERSITY HERBARIUM" in texts else None

    # Searches are near-real-time (indices refresh every second): poll briefly.
    hits, texts = wait_for(machine_texts, timeout=30, what="the label's text annotations")
    for hit in hits:
        if hit["body"].get("text"):
            assert hit["creator"]["model"] == {"record": ocr_id, "version": "1"}
            assert hit["creator"]["job"] and 0.6 <= hit["score"] <= 1
            assert hit["status"]["state"] == "proposed"
            assert hit["target"]["selector"]["type"] == "polygon"

    # Annotation full-text search and record search both find the label by its text.
    def annotated_records():
        found = anonymous.get("/api/annotations", params={"text": "Melbourne herbarium"}).json()
        return {hit["target"]["record"] for hit in found["hits"]["hits"]}

    wait_for(lambda: label["id"] in annotated_records(), timeout=30, what="annotation search")

    def records():
        found = anonymous.get("/api/records", params={"q": f'"{TAG}" AND MELBOURNE'}).json()
        return [hit["id"] for hit in found["hits"]["hits"]]

    assert wait_for(records, timeout=30, what="record search") == [label["id"]]


def test_similar_records_by_record(anonymous, published):
    sheet = published[SHEET_NAMES[0]]
    # size 100: an instance kept from earlier runs holds more records of the same images.
    response = anonymous.get("/api/similar", params={"record": sheet["id"], "size": 100})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["query"] == {"record": sheet["id"], "file": f"{SHEET_NAMES[0]}.jpg"}
    hits = answer["hits"]
    ids = [hit["record"] for hit in hits]
    assert sheet["id"] not in ids and len(ids) == len(set(ids))
    similarities = [hit["similarity"] for hit in hits]
    assert similarities == sorted(similarities, reverse=True)
    assert all(-1 <= s <= 1 for s in similarities)
    mine = {record["id"]: name for name, record in published.items()}
    ours = [mine[recid] for recid in ids if recid in mine]
    # The other four sheets are nearer than the drawer of insects.
    assert set(ours[:4]) == set(SHEET_NAMES[1:]), ours
    assert hits[0]["links"]["self_html"].endswith(f"/records/{hits[0]['record']}")


def test_the_landing_page_shows_similar_images(live, published):
    sheet = published[SHEET_NAMES[1]]
    page = requests.get(f"{live.url}/records/{sheet['id']}", timeout=60)
    assert page.status_code == 200
    assert 'id="similar-records"' in page.text
    shown = re.findall(
        r'class="ui card similar-record" href="[^"]+" data-record="([^"]+)"', page.text
    )
    assert 1 <= len(shown) <= 6 and sheet["id"] not in shown
    thumbnail = re.search(r'src="(/api/iiif/record:[^"]+)"', page.text).group(1)
    image = requests.get(f"{live.url}{thumbnail.replace('&#39;', '')}", timeout=60)
    assert image.status_code == 200 and image.headers["Content-Type"].startswith("image/")
    # The drawer's page too: it has an embedding.
    drawer = requests.get(f"{live.url}/records/{published['drawer']['id']}", timeout=60)
    assert 'id="similar-records"' in drawer.text


def test_similar_records_by_uploaded_image(anonymous, published):
    name = SHEET_NAMES[2]
    response = anonymous.post(
        "/api/similar",
        params={"size": 100},
        data=(SHEETS / f"{name}.jpg").read_bytes(),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 200, response.text
    hits = response.json()["hits"]
    assert hits[0]["similarity"] > 0.999
    # The record of that very image is among the exact matches (earlier runs of a kept test
    # instance may hold other records of it).
    exact = [hit["record"] for hit in hits if hit["similarity"] > 0.999]
    assert published[name]["id"] in exact
    assert published["drawer"]["id"] not in exact


def test_similarity_search_shows_only_records_the_caller_may_read(
    owner, other, anonymous, admin, published
):
    draft = create_draft(owner, f"Restricted sheet {TAG}")
    data = {k: draft[k] for k in ("metadata", "files", "custom_fields") if k in draft}
    data["access"] = {"record": "restricted", "files": "restricted"}
    assert owner.put(f"/api/records/{draft['id']}/draft", json=data).status_code == 200
    name = SHEET_NAMES[3]
    upload(owner, draft["id"], f"{name}.jpg", (SHEETS / f"{name}.jpg").read_bytes())
    restricted = publish(owner, draft["id"])
    _jobs_done(admin, restricted["id"], 2)
    query = {"record": published[name]["id"], "size": 20}

    def found(api: Api) -> set[str]:
        response = api.get("/api/similar", params=query)
        assert response.status_code == 200, response.text
        return {hit["record"] for hit in response.json()["hits"]}

    # The k-NN index is near-real-time (refreshed every second), like record search.
    wait_for(lambda: restricted["id"] in found(owner), timeout=30, what="the new embedding")
    assert restricted["id"] not in found(anonymous)
    assert restricted["id"] not in found(other)
    response = other.get("/api/similar", params={"record": restricted["id"]})
    assert response.status_code == 403, response.text


def test_rerunning_the_pipelines_writes_nothing_new(admin, owner, published):
    label = published["label"]
    before = owner.get(
        "/api/annotations", params={"record": label["id"], "creator_type": "machine"}
    ).json()["hits"]["total"]
    for pipeline in ("label-text", "image-features"):
        response = admin.post(
            "/api/ml/jobs",
            json={"type": "pipeline", "pipeline": pipeline, "q": f'id:"{label["id"]}"'},
        )
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]
        job = wait_for(
            lambda job_id=job_id: (
                j
                if (j := admin.get(f"/api/ml/jobs/{job_id}").json())["state"] == "COMPLETED"
                else None
            ),
            timeout=120,
            what=f"re-run of {pipeline}",
        )
        assert job["counts"]["annotated"] == 0 and job["counts"]["unchanged"] == 1, job
    after = owner.get(
        "/api/annotations", params={"record": label["id"], "creator_type": "machine"}
    ).json()["hits"]["total"]
    assert after == before


def test_predict_with_the_ocr_model_answers_text_and_stores_nothing(
    anonymous, owner, builtins, published
):
    ocr_id = builtins["ppocr-v6-text"]["id"]
    response = anonymous.post(
        f"/api/models/{ocr_id}/predict",
        data=LABEL.read_bytes(),
        headers={"Content-Type": "image/jpeg"},
    )
    assert response.status_code == 200, response.text
    page = response.json()
    values = [
        body["value"]
        for item in page["items"]
        for body in (item["body"] if isinstance(item["body"], list) else [item["body"]])
        if body.get("purpose") == "transcribing"
    ]
    assert "MELBOURNE UNIVERSITY HERBARIUM" in values
    response = anonymous.post(
        f"/api/models/{ocr_id}/predict", params={"format": "coco"}, data=LABEL.read_bytes()
    )
    assert response.status_code == 400 and "format" in response.text
    features_id = builtins["efficientnet-lite0-features"]["id"]
    response = anonymous.post(f"/api/models/{features_id}/predict", data=LABEL.read_bytes())
    assert response.status_code == 400 and "/api/similar" in response.text


@pytest.mark.parametrize(
    "params, status, field",
    [
        ({}, 400, "record"),
        ({"record": "zzzzz-zzzzz"}, 404, "record"),
        ({"record": "RECORD", "size": "0"}, 400, "size"),
        ({"record": "RECORD", "model": "zzzzz-zzzzz"}, 404, "record"),
    ],
)
def test_similarity_errors_name_the_parameter(anonymous, published, params, status, field):
    params = {k: published["label"]["id"] if v == "RECORD" else v for k, v in params.items()}
    response = anonymous.get("/api/similar", params=params)
    assert response.status_code == status, response.text
    assert response.json()["errors"][0]["field"] == field


def test_similarity_by_upload_refuses_what_is_not_an_image(anonymous):
    response = anonymous.post("/api/similar", data=b"%PDF-1.4 not an image")
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == "file"
