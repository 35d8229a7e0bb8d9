"""ML models end to end on the real herbarium sheets: plant masks imported as annotations,
exported as a dataset record, a tiny segmentation model trained by a job, published, run by a
pipeline on newly published sheets (mask annotations with provenance), re-run without
duplicates, a broken model failing cleanly, and predictions that store nothing."""

import io
import json
import os
import uuid
import zipfile

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from deposit import Api, publish, publish_sheet, upload, wait_for
from live_instance import SHARED_DATA

SHEETS = SHARED_DATA / "herbarium" / "sheets"
NAMES = sorted(path.stem for path in (SHEETS / "img").glob("*.jpg"))
TRAINING_NAMES, NEW_NAMES = NAMES[:8], NAMES[8:]
CREATORS = [{"person_or_org": {"type": "personal", "given_name": "Ada", "family_name": "Test"}}]
HYPERPARAMETERS = {"image_size": 64, "epochs": 20, "width": 8, "batch_size": 4, "seed": 3}
"""A tiny, fast model: how good it gets is asserted by the unit tests (fixed split, real sheets);
here the sheets' record ids, and so the seeded split, change from run to run."""


def _sheet(name: str) -> bytes:
    return (SHEETS / "img" / f"{name}.jpg").read_bytes()


def _truth(name: str) -> np.ndarray:
    return np.array(Image.open(SHEETS / "plant_masks" / f"{name}.png")) > 0


def _job(api: Api, job_id: str, timeout: float = 300) -> dict:
    def finished():
        job = api.get(f"/api/ml/jobs/{job_id}").json()
        return job if job["state"] in ("COMPLETED", "FAILED", "CANCELLED") else None

    return wait_for(finished, timeout=timeout, interval=1, what=f"ML job {job_id}")


def _machine_annotations(api: Api, recid: str) -> list[dict]:
    response = api.get(
        "/api/annotations", params={"record": recid, "creator_type": "machine", "size": 100}
    )
    assert response.status_code == 200, response.text
    return response.json()["hits"]["hits"]


def _model_body(title: str, custom_fields: dict, files: bool, **metadata) -> dict:
    """A model record's REST body with DataCite-complete metadata."""
    return {
        "access": {"record": "public", "files": "public"},
        "files": {"enabled": files},
        "metadata": {
            "resource_type": {"id": "model"},
            "title": title,
            "publication_date": "2026-11-22",
            "publisher": "Specimen RDM",
            "creators": CREATORS,
            **metadata,
        },
        "custom_fields": custom_fields,
    }


def _register(live, pipelines: dict) -> None:
    live.pipelines_file.write_text(json.dumps({"pipelines": pipelines}))


@pytest.fixture(scope="module")
def owner(live) -> Api:
    return Api(live.url, live.token("ml-owner@example.org"))


@pytest.fixture(scope="module", autouse=True)
def no_pipelines_afterwards(live):
    """Other test modules publish records too: leave no pipeline registered."""
    yield
    live.pipelines_file.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def dataset(owner) -> dict:
    """Eight published sheets with their real plant masks, exported as a dataset record."""
    tag = uuid.uuid4().hex[:8]
    for name in TRAINING_NAMES:
        record = publish_sheet(owner, f"Training sheet {tag} {name}", {f"{name}.jpg": _sheet(name)})
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr(f"{name}.png", (SHEETS / "plant_masks" / f"{name}.png").read_bytes())
            zipped.writestr("labelmap.json", json.dumps({"255": "plant"}))
        response = owner.post(
            "/api/annotations/import",
            params={"format": "masks", "record": record["id"]},
            files={"file": archive.getvalue()},
        )
        assert response.status_code == 201, response.text
    query = f'metadata.title:"Training sheet {tag}"'
    wait_for(
        lambda: (
            owner.get("/api/records", params={"q": query}).json()["hits"]["total"]
            == len(TRAINING_NAMES)
        ),
        what="the sheets in the search index",
    )
    return publish_dataset(owner, query, f"Plant masks {tag}")


def finished_training(owner: Api, body: dict, timeout: float = 300) -> dict:
    """Start a training job (`body` without its type) and return it once it is COMPLETED."""
    response = owner.post("/api/ml/jobs", json={"type": "training", **body})
    assert response.status_code == 202, response.text
    assert response.json()["state"] in ("QUEUED", "RUNNING", "COMPLETED")
    job = _job(owner, response.json()["id"], timeout=timeout)
    assert job["state"] == "COMPLETED", job
    return job


def annotated_dataset(owner: Api, what: str, names, sheet, coco) -> dict:
    """Publish one sheet record per name (`sheet(name)` its JPEG bytes), import `coco(name)`
    into it, and publish their annotations as a dataset record titled `what`."""
    tag = uuid.uuid4().hex[:8]
    for name in names:
        record = publish_sheet(owner, f"{what} sheet {tag} {name}", {f"{name}.jpg": sheet(name)})
        response = owner.post(
            "/api/annotations/import",
            params={"format": "coco", "record": record["id"]},
            files={"file": (f"{name}.json", coco(name))},
        )
        assert response.status_code == 201, response.text
    query = f'metadata.title:"{what} sheet {tag}"'
    wait_for(
        lambda: (
            owner.get("/api/records", params={"q": query}).json()["hits"]["total"] == len(names)
        ),
        what="the sheets in the search index",
    )
    return publish_dataset(owner, query, f"{what} {tag}")


def publish_dataset(owner: Api, records_q: str, title: str) -> dict:
    """The annotations of the records `records_q` finds, exported as a COCO dataset record
    (herbarium categories) and published with a creator and a licence."""
    response = owner.post(
        "/api/annotations/export/dataset",
        params={"format": "coco", "records_q": records_q, "category_set": "herbarium"},
        json={"title": title},
    )
    assert response.status_code == 201, response.text
    draft = response.json()
    data = {k: draft[k] for k in ("metadata", "files", "access")}
    data["metadata"]["creators"] = CREATORS
    data["metadata"]["rights"] = [{"id": "cc-by-4.0"}]
    data["metadata"]["publisher"] = "Specimen RDM"
    assert owner.put(f"/api/records/{draft['id']}/draft", json=data).status_code == 200
    return publish(owner, draft["id"])


@pytest.fixture(scope="module")
def training(owner, dataset) -> dict:
    """A finished training job on the dataset record."""
    return finished_training(
        owner,
        {
            "task": "semantic-segmentation",
            "category": "plant",
            "dataset": dataset["id"],
            "hyperparameters": HYPERPARAMETERS,
            "title": "Tiny plant segmenter",
            "license": "cc-by-4.0",
            "creators": CREATORS,
        },
    )


@pytest.fixture(scope="module")
def model(owner, training) -> dict:
    """The trained model, published."""
    return publish(owner, training["result"]["draft"])


def test_training_job_reports_progress_and_deposits_a_draft_model(owner, dataset, training):
    assert training["progress"]["epoch"] == training["progress"]["epochs"] >= 1
    assert training["counts"]["total"] == len(TRAINING_NAMES)
    test_iou = training["result"]["metrics"]["test"]["iou"]
    assert 0 <= test_iou <= 1
    draft = owner.get(f"/api/records/{training['result']['draft']}/draft").json()
    custom = draft["custom_fields"]
    assert custom["ml:task"] == "semantic-segmentation"
    assert custom["ml:weight_format"] == "torchscript"
    assert custom["ml:labels"][0]["category"] == "plant"
    metrics = {(m["metric"], m["split"]): m for m in custom["ml:metrics"]}
    assert metrics[("iou", "test")]["value"] == pytest.approx(test_iou, abs=1e-6)
    assert metrics[("iou", "test")]["dataset"]["record"] == dataset["id"]
    split = custom["ml:training"]["split"]
    assert sorted(sum(split.values(), [])) == sorted(
        {k for keys in split.values() for k in keys}
    ), "the splits overlap"
    assert len(sum(split.values(), [])) == len(TRAINING_NAMES)
    assert custom["ml:training"]["config"]["seed"] == HYPERPARAMETERS["seed"]
    related = [r["identifier"] for r in draft["metadata"]["related_identifiers"]]
    assert related[0].endswith(f"/records/{dataset['id']}")
    assert len(related) == 1 + len(TRAINING_NAMES)
    files = owner.get(f"/api/records/{draft['id']}/draft/files").json()["entries"]
    keys = {entry["key"] for entry in files}
    assert {"model.pt", "MODEL_CARD.md", "training.json", "loss_curve.png"} <= keys


def test_publishing_a_model_needs_a_licence_and_its_weights(owner):
    response = owner.post(
        "/api/records",
        json=_model_body(
            "Model without licence",
            {"ml:task": "semantic-segmentation", "ml:use_cases": ["label-transcription"]},
            files=False,
        ),
    )
    assert response.status_code == 201, response.text
    draft = response.json()
    errors = {e["field"]: e["messages"] for e in draft.get("errors", [])}
    assert "a model record needs a licence" in errors["metadata.rights"]
    assert "needs a model for text-recognition" in errors["custom_fields.ml:use_cases"][0]
    response = owner.post(f"/api/records/{draft['id']}/draft/actions/publish")
    assert response.status_code == 400, response.text
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"metadata.rights", "custom_fields.ml:use_cases"} <= fields


def test_pipeline_annotates_new_sheets_with_provenance_and_rerun_adds_nothing(
    live, owner, admin, anonymous, model
):
    _register(
        live,
        {
            "plant-masks": {
                "model": {"latest_of": model["parent"]["id"]},
                "applies_to": {"resource_types": ["image-photo"]},
                "category_set": "herbarium",
                # The tiny model is unsure: a low threshold keeps its mask from being empty.
                "threshold": 0.2,
                "min_area": 1,
            }
        },
    )
    name = NEW_NAMES[0]
    record = publish_sheet(
        owner, f"New sheet {uuid.uuid4().hex[:8]}", {f"{name}.jpg": _sheet(name)}
    )
    found = wait_for(
        lambda: _machine_annotations(anonymous, record["id"]),
        timeout=180,
        what="the pipeline's annotations",
    )
    assert len(found) == 1
    annotation = found[0]
    creator = annotation["creator"]
    assert creator["type"] == "model"
    assert creator["model"] == {"record": model["id"], "version": "1"}
    assert 0 <= annotation["score"] <= 1
    assert annotation["target"]["selector"]["type"] == "mask"
    assert annotation["body"]["category"] == "plant"
    assert annotation["status"]["state"] == "proposed"
    job = _job(admin, creator["job"])
    assert job["state"] == "COMPLETED" and job["counts"]["annotated"] == 1

    rle = annotation["target"]["selector"]["rle"]
    predicted = mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode()}) > 0
    truth = _truth(name)
    assert predicted.shape == truth.shape
    iou = (predicted & truth).sum() / max((predicted | truth).sum(), 1)
    print(f"pipeline IoU on unseen sheet {name}: {iou:.3f}")

    analysed = anonymous.get(f"/api/models/{model['id']}/analysed-records").json()
    assert {"record": record["id"], "model_versions": ["1"]} in analysed["records"]

    response = admin.post(
        "/api/ml/jobs",
        json={"type": "pipeline", "pipeline": "plant-masks", "q": f'id:"{record["id"]}"'},
    )
    assert response.status_code == 202, response.text
    rerun = _job(admin, response.json()["id"])
    assert rerun["state"] == "COMPLETED", rerun
    assert rerun["counts"] == {
        "total": 1,
        "done": 1,
        "annotated": 0,
        "unchanged": 1,
        "errors": 0,
    }
    assert len(_machine_annotations(anonymous, record["id"])) == 1


def test_pipeline_jobs_are_for_administrators(owner):
    response = owner.post("/api/ml/jobs", json={"type": "pipeline", "pipeline": "plant-masks"})
    assert response.status_code == 403


def test_corrupt_weights_fail_the_job_with_a_clear_error_and_write_nothing(
    live, owner, admin, anonymous, model
):
    custom = {k: v for k, v in model["custom_fields"].items() if k != "ml:metrics"}
    response = owner.post(
        "/api/records",
        json=_model_body(
            "Broken model",
            {**custom, "ml:weights_file": "model.pt"},
            files=True,
            rights=[{"id": "cc-by-4.0"}],
        ),
    )
    assert response.status_code == 201, response.text
    draft = response.json()
    upload(owner, draft["id"], "model.pt", os.urandom(4096))
    broken = publish(owner, draft["id"])
    _register(
        live,
        {
            "broken": {
                "model": {"record": broken["id"]},
                "applies_to": {"resource_types": ["image-photo"]},
                "on_publish": False,
            }
        },
    )
    response = admin.post(
        "/api/ml/jobs",
        json={"type": "pipeline", "pipeline": "broken", "q": "metadata.title:sheet"},
    )
    assert response.status_code == 202, response.text
    job = _job(admin, response.json()["id"])
    assert job["state"] == "FAILED"
    assert "TorchScript" in job["message"] and "model.pt" in job["message"]
    hits = anonymous.get("/api/annotations", params={"model": broken["id"]}).json()
    assert hits["hits"]["total"] == 0


def test_predict_returns_annotations_and_stores_nothing(owner, anonymous, model):
    before = anonymous.get("/api/annotations", params={"model": model["id"]}).json()
    name = NEW_NAMES[-1]
    response = anonymous.post(
        f"/api/models/{model['id']}/predict",
        params={"format": "w3c", "filename": f"{name}.jpg", "threshold": 0.2},
        data=_sheet(name),
        headers={"Content-Type": "image/jpeg"},
    )
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["type"] == "AnnotationPage"
    assert len(page["items"]) == 1
    assert page["items"][0]["target"]["source"] == f"{name}.jpg"
    coco = anonymous.post(
        f"/api/models/{model['id']}/predict",
        params={"format": "coco", "threshold": 0.2},
        files={"file": (f"{name}.jpg", _sheet(name))},
    )
    assert coco.status_code == 200, coco.text
    [result] = coco.json()
    assert result["category_id"] == 1 and 0 <= result["score"] <= 1
    width, height = Image.open(io.BytesIO(_sheet(name))).size
    assert result["segmentation"]["size"] == [height, width]

    high = anonymous.post(
        f"/api/models/{model['id']}/predict", params={"threshold": 2}, data=_sheet(name)
    )
    assert high.status_code == 400 and high.json()["errors"][0]["field"] == "threshold"
    bad = anonymous.post(f"/api/models/{model['id']}/predict", data=b"not an image")
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "file"
    after = anonymous.get("/api/annotations", params={"model": model["id"]}).json()
    assert after["hits"]["total"] == before["hits"]["total"]


def test_model_search_by_metric_threshold_and_the_model_card(live, anonymous, dataset, model):
    def ids(**params):
        response = anonymous.get("/api/models", params=params)
        assert response.status_code == 200, response.text
        return [hit["id"] for hit in response.json()["hits"]["hits"]]

    test_iou = next(
        m["value"]
        for m in model["custom_fields"]["ml:metrics"]
        if m["metric"] == "iou" and m["split"] == "test"
    )
    found = wait_for(
        lambda: ids(metric="iou", min=test_iou - 0.01, dataset=dataset["id"], split="test"),
        what="the model in the search index",
    )
    assert model["id"] in found
    assert model["id"] not in ids(metric="iou", min=test_iou + 0.01, split="test")
    assert model["id"] not in ids(metric="iou", dataset="some-other-dataset")
    assert model["id"] in ids(q="task:semantic-segmentation AND use_case:plant-segmentation")
    bad = anonymous.get("/api/models", params={"metric": "iou", "min": "high"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "min"

    page = anonymous.get(f"/records/{model['id']}")
    assert page.status_code == 200
    assert 'id="model-card"' in page.text and "semantic-segmentation" in page.text
    assert f'href="/records/{dataset["id"]}"' in page.text
    assert f"/api/records/{model['id']}/files/loss_curve.png/content" in page.text


def test_a_training_job_cancelled_between_epochs_deposits_nothing(owner, dataset):
    drafts_before = owner.get("/api/user/records", params={"q": "metadata.title:Cancelled"})
    response = owner.post(
        "/api/ml/jobs",
        json={
            "type": "training",
            "task": "semantic-segmentation",
            "category": "plant",
            "dataset": dataset["id"],
            "hyperparameters": {**HYPERPARAMETERS, "epochs": 500},
            "title": "Cancelled segmenter",
        },
    )
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    wait_for(
        lambda: owner.get(f"/api/ml/jobs/{job_id}").json()["progress"].get("epoch", 0) >= 1,
        timeout=120,
        what="the first epoch",
    )
    cancelled = owner.post(f"/api/ml/jobs/{job_id}/cancel")
    assert cancelled.status_code == 202
    assert cancelled.json()["state"] in ("CANCELLING", "CANCELLED")
    job = _job(owner, job_id)
    assert job["state"] == "CANCELLED"
    assert job["progress"]["epoch"] < 500
    assert job["result"] == {}
    drafts_after = owner.get("/api/user/records", params={"q": "metadata.title:Cancelled"})
    assert drafts_after.json()["hits"]["total"] == drafts_before.json()["hits"]["total"]


def test_training_requests_are_checked(owner, dataset):
    cases = [
        ({"task": "text-recognition"}, "task"),
        ({"category": ""}, "category"),
        ({"dataset": None}, "dataset"),
        ({"hyperparameters": {"epochs": 0}}, "hyperparameters"),
        ({"hyperparameters": {"optimizer": "sgd"}}, "hyperparameters"),
        ({"base_model": "abcd-1234"}, "base_model"),
    ]
    valid = {"type": "training", "task": "semantic-segmentation", "category": "plant"}
    for change, field in cases:
        body = {**valid, "dataset": dataset["id"], **change}
        response = owner.post("/api/ml/jobs", json=body)
        assert response.status_code == 400, (change, response.text)
        assert response.json()["errors"][0]["field"] == field


def test_ratings_one_per_user_and_the_suitability_they_move(live, owner, anonymous, model):
    rater = Api(live.url, live.token("ml-rater@example.org"))
    url = f"/api/models/{model['id']}/rating"
    first = owner.put(url, json={"value": 5, "comment": "Clean masks on our sheets"})
    assert first.status_code == 200, first.text
    assert first.json()["count"] == 1
    assert first.json()["bayesian"] == pytest.approx((5 * 3 + 5) / 6, abs=1e-4)
    again = owner.put(url, json={"value": 4})
    assert again.json()["count"] == 1 and again.json()["mean"] == 4
    refused = rater.put(url, json={"value": 6})
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "value"
    assert rater.put(url, json={"value": 2}).json()["count"] == 2
    # Refused before our view: InvenioRDM's CSRF check answers 400 to a write without session
    # or token; with a session, the view answers 401.
    assert anonymous.put(url, json={"value": 5}).status_code in (400, 401)

    listed = anonymous.get(f"/api/models/{model['id']}/ratings").json()
    assert listed["summary"] == {"count": 2, "mean": 3.0, "bayesian": 3.0}
    assert {r["value"] for r in listed["ratings"]} == {4, 2}
    [score] = listed["suitability"]
    test_iou = next(
        m["value"]
        for m in model["custom_fields"]["ml:metrics"]
        if m["metric"] == "iou" and m["split"] == "test"
    )
    assert score["use_case"] == "plant-segmentation"
    assert score["score"] == pytest.approx(0.8 * test_iou + 0.2 * 0.5, abs=1e-4)

    ranked = anonymous.get(
        "/api/models", params={"use_case": "plant-segmentation", "sort": "suitability"}
    ).json()["hits"]["hits"]
    scores = [hit["suitability"]["score"] for hit in ranked]
    assert model["id"] in [hit["id"] for hit in ranked]
    assert scores == sorted(scores, key=lambda s: -1.0 if s is None else s, reverse=True)
    page = anonymous.get(f"/records/{model['id']}").text
    assert "Community rating" in page and 'data-use-case="plant-segmentation"' in page
    assert rater.delete(url).status_code == 204
    assert rater.delete(url).status_code == 404


def test_a_broken_registry_stops_no_deposit(live, owner):
    live.pipelines_file.write_text("pipelines:\n  plant-masks: {model: {}}\n")
    try:
        record = publish_sheet(owner, f"Sheet despite registry {uuid.uuid4().hex[:8]}")
        assert record["status"] == "published"
        response = owner.get("/api/ml/pipelines")
        assert response.status_code == 500
        assert "pipelines.plant-masks.model" in response.json()["message"]
    finally:
        live.pipelines_file.unlink(missing_ok=True)
