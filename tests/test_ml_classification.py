"""Image classification end to end on the real herbarium sheets: regions annotated "plant"
(the sheets' plant instances) and "other" (paper, labels, rulers: tiles the plant mask does not
touch) are exported as a dataset record; a classifier is trained by a job as a linear head on
the built-in EfficientNet-Lite0 features (transfer learning), published, run by a pipeline that
labels newly published sheets (with provenance, idempotent), and used remotely by predict.
User models in ONNX and state-dict formats run through the same endpoints."""

import io
import json
import uuid
import warnings

import numpy as np
import pytest
import torch
from PIL import Image
from test_mlmodels import (
    CREATORS,
    _job,
    _machine_annotations,
    _model_body,
    _register,
    annotated_dataset,
    finished_training,
)

from deposit import Api, publish, publish_sheet, upload, wait_for
from live_instance import SHARED_DATA
from specimen_rdm_mlmodels.architectures import state_dict_bytes
from specimen_rdm_mlmodels.segmentation_net import TinyUNet

SHEETS = SHARED_DATA / "herbarium" / "sheets"
NAMES = sorted(path.stem for path in (SHEETS / "img").glob("*.jpg"))
TRAINING_NAMES, NEW_NAMES = NAMES[:7], NAMES[7:9]
TILE = 128
"""Side of the "other" boxes on the full-size (1024 px tall) sheets."""


def _sheet(name: str) -> bytes:
    return (SHEETS / "img" / f"{name}.jpg").read_bytes()


def _boxes(name: str, others: int = 4) -> list[tuple[str, list[int]]]:
    """("plant", box) per plant instance of the sheet, and up to `others` ("other", box) tiles
    that no plant pixel touches."""
    boxes = []
    for path in sorted((SHEETS / "plant_masks_split").glob(f"{name}_plant_*.png")):
        ys, xs = np.nonzero(np.array(Image.open(path)) > 0)
        boxes.append(
            ("plant", [int(xs.min()), int(ys.min()), int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1])
        )
    plant = np.array(Image.open(SHEETS / "plant_masks" / f"{name}.png")) > 0
    height, width = plant.shape
    taken = 0
    for top in range(0, height - TILE + 1, TILE):
        for left in range(0, width - TILE + 1, TILE):
            if taken < others and not plant[top : top + TILE, left : left + TILE].any():
                boxes.append(("other", [left, top, TILE, TILE]))
                taken += 1
    return boxes


def _coco(name: str) -> bytes:
    width, height = Image.open(io.BytesIO(_sheet(name))).size
    categories = {"plant": 1, "other": 8}
    return json.dumps(
        {
            "images": [{"id": 1, "file_name": f"{name}.jpg", "width": width, "height": height}],
            "categories": [{"id": i, "name": n} for n, i in categories.items()],
            "annotations": [
                {
                    "id": k + 1,
                    "image_id": 1,
                    "category_id": categories[label],
                    "bbox": box,
                    "area": box[2] * box[3],
                    "iscrowd": 0,
                }
                for k, (label, box) in enumerate(_boxes(name))
            ],
        }
    ).encode()


@pytest.fixture(scope="module")
def owner(live) -> Api:
    return Api(live.url, live.token("ml-classifier@example.org"))


@pytest.fixture(scope="module", autouse=True)
def no_pipelines_afterwards(live):
    yield
    live.pipelines_file.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def features(admin) -> dict:
    response = admin.get(
        "/api/records", params={"q": "custom_fields.ml\\:builtin:efficientnet-lite0-features"}
    )
    assert response.status_code == 200, response.text
    [hit] = response.json()["hits"]["hits"]
    return hit


@pytest.fixture(scope="module")
def dataset(owner) -> dict:
    """Seven published sheets with "plant" and "other" boxes, exported as a dataset record."""
    return annotated_dataset(owner, "Plant and other regions", TRAINING_NAMES, _sheet, _coco)


@pytest.fixture(scope="module")
def training(owner, dataset, features) -> dict:
    return finished_training(
        owner,
        {
            "task": "image-classification",
            "categories": ["plant", "other"],
            "dataset": dataset["id"],
            "base_model": features["id"],
            "hyperparameters": {"epochs": 10, "seed": 1},
            "title": "Plant or other, on EfficientNet-Lite0 features",
            "license": "cc-by-4.0",
            "creators": CREATORS,
        },
        timeout=600,
    )


@pytest.fixture(scope="module")
def classifier(owner, training) -> dict:
    return publish(owner, training["result"]["draft"])


def test_the_training_job_deposits_a_classifier_derived_from_its_base(
    owner, dataset, features, training, classifier
):
    assert training["progress"]["epoch"] == training["progress"]["epochs"] == 10
    assert 0 <= training["progress"]["validation_f1"] <= 1
    custom = classifier["custom_fields"]
    assert custom["ml:task"] == "image-classification"
    assert custom["ml:architecture"] == "linear head on efficientnet-lite0"
    assert custom["ml:input"]["size"] == features["custom_fields"]["ml:input"]["size"]
    assert [(label["index"], label["name"]) for label in custom["ml:labels"]] == [
        (0, "other"),
        (1, "plant"),
    ]
    metrics = {(m["metric"], m["split"]): m for m in custom["ml:metrics"]}
    assert {("accuracy", "test"), ("macro_f1", "test")} <= set(metrics)
    assert metrics[("macro_f1", "test")]["dataset"]["record"] == dataset["id"]
    related = {
        r["identifier"].rsplit("/", 1)[-1]: r for r in classifier["metadata"]["related_identifiers"]
    }
    assert related[features["id"]]["relation_type"]["id"] == "isderivedfrom"
    assert related[dataset["id"]]["resource_type"]["id"] == "dataset"
    files = owner.get(f"/api/records/{classifier['id']}/files").json()
    keys = {entry["key"] for entry in files["entries"]}
    assert {"model.pt", "model.onnx", "MODEL_CARD.md", "training.json"} <= keys
    assert "confusion_matrix.png" in keys
    card = owner.get(f"/api/records/{classifier['id']}/files/MODEL_CARD.md/content").text
    assert f"Fine-tuned from model record {features['id']}" in card


def test_a_labels_pipeline_classifies_new_sheets_once_with_provenance(
    live, owner, admin, classifier
):
    _register(
        live,
        {
            "plant-or-other": {
                "model": {"record": classifier["id"]},
                "applies_to": {"resource_types": ["image-photo"]},
                "writes": "labels",
                "threshold": 0.5,
                "on_publish": True,
            }
        },
    )
    tag = uuid.uuid4().hex[:8]
    records = [
        publish_sheet(owner, f"Sheet to label {tag} {name}", {f"{name}.jpg": _sheet(name)})
        for name in NEW_NAMES
    ]
    for record, name in zip(records, NEW_NAMES, strict=True):
        found = wait_for(
            lambda record=record: _machine_annotations(owner, record["id"]) or None,
            timeout=300,
            what=f"the label of {record['id']}",
        )
        [annotation] = found
        width, height = Image.open(io.BytesIO(_sheet(name))).size
        assert annotation["target"]["selector"] == {"type": "box", "box": [0, 0, width, height]}
        assert annotation["body"]["category"] in ("plant", "other")
        assert 0.5 <= annotation["score"] <= 1
        assert annotation["creator"]["model"] == {"record": classifier["id"], "version": "1"}
    response = admin.post(
        "/api/ml/jobs",
        json={"type": "pipeline", "pipeline": "plant-or-other", "q": f'metadata.title:"{tag}"'},
    )
    assert response.status_code == 202, response.text
    rerun = _job(admin, response.json()["id"])
    assert rerun["state"] == "COMPLETED", rerun
    for record in records:
        assert len(_machine_annotations(owner, record["id"])) == 1
    analysed = owner.get(f"/api/models/{classifier['id']}/analysed-records").json()
    for record in records:
        assert {"record": record["id"], "model_versions": ["1"]} in analysed["records"]


def test_predict_with_the_classifier_stores_nothing(anonymous, classifier):
    name = NEW_NAMES[0]
    before = anonymous.get("/api/annotations", params={"model": classifier["id"]}).json()
    response = anonymous.post(
        f"/api/models/{classifier['id']}/predict",
        params={"format": "coco", "threshold": 0.5},
        files={"file": (f"{name}.jpg", _sheet(name))},
    )
    assert response.status_code == 200, response.text
    [result] = response.json()
    width, height = Image.open(io.BytesIO(_sheet(name))).size
    assert result["bbox"] == [0, 0, width, height]
    assert result["category_id"] in (1, 8) and 0.5 <= result["score"] <= 1
    page = anonymous.post(
        f"/api/models/{classifier['id']}/predict", data=_sheet(name), params={"format": "w3c"}
    ).json()
    assert len(page["items"]) == 1
    after = anonymous.get("/api/annotations", params={"model": classifier["id"]}).json()
    assert after["hits"]["total"] == before["hits"]["total"]


def _user_model(owner, title: str, weight_format: str, architecture: str, key: str, data: bytes):
    custom = {
        "ml:task": "semantic-segmentation",
        "ml:framework": "pytorch" if weight_format != "onnx" else "onnx",
        "ml:weight_format": weight_format,
        "ml:architecture": architecture,
        "ml:weights_file": key,
        "ml:input": {"size": [64, 64], "channels": 3, "mean": [0.5] * 3, "std": [0.25] * 3},
        "ml:labels": [
            {"index": 0, "name": "plant", "category": "plant", "category_set": "herbarium"}
        ],
    }
    response = owner.post(
        "/api/records", json=_model_body(title, custom, files=True, rights=[{"id": "cc-by-4.0"}])
    )
    assert response.status_code == 201, response.text
    upload(owner, response.json()["id"], key, data)
    return publish(owner, response.json()["id"])


def test_user_models_in_onnx_and_state_dict_formats_predict_the_same_mask(
    owner, anonymous, dataset
):
    torch.manual_seed(5)
    network = TinyUNet(width=4).eval()
    onnx = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            network,
            (torch.zeros(1, 3, 64, 64),),
            onnx,
            input_names=["images"],
            dynamic_axes={"images": {0: "batch"}},
            dynamo=False,
        )
    models = {
        "onnx": _user_model(
            owner, "User ONNX segmenter", "onnx", "tiny-unet", "model.onnx", onnx.getvalue()
        ),
        "state-dict": _user_model(
            owner,
            "User state-dict segmenter",
            "state-dict",
            "tiny-unet",
            "weights.pth",
            state_dict_bytes(network),
        ),
    }
    name = NEW_NAMES[1]
    masks = {}
    for weight_format, model in models.items():
        response = anonymous.post(
            f"/api/models/{model['id']}/predict",
            params={"format": "coco", "threshold": 0.5},
            files={"file": (f"{name}.jpg", _sheet(name))},
        )
        assert response.status_code == 200, (weight_format, response.text)
        masks[weight_format] = response.json()
    assert masks["onnx"] == masks["state-dict"] or (
        len(masks["onnx"]) == len(masks["state-dict"]) == 1
        and masks["onnx"][0]["score"] == pytest.approx(masks["state-dict"][0]["score"], abs=1e-3)
    )

    wrong = _user_model(
        owner,
        "State dict, wrong architecture",
        "state-dict",
        "tiny-cnn",
        "w.pth",
        state_dict_bytes(network),
    )
    response = anonymous.post(f"/api/models/{wrong['id']}/predict", data=_sheet(name))
    assert response.status_code == 400
    assert "known semantic-segmentation architecture" in response.json()["errors"][0]["messages"][0]

    # As base models of a training: ONNX only runs, and a segmenter cannot start a classifier.
    for base, task, reason in [
        (models["onnx"]["id"], "semantic-segmentation", "training starts from torchscript"),
        (models["state-dict"]["id"], "image-classification", "starts from a feature-extraction"),
        ("nope-0000", "image-classification", "no published record 'nope-0000'"),
    ]:
        body = {
            "type": "training",
            "task": task,
            "dataset": dataset["id"],
            "base_model": base,
            **({"categories": ["plant", "other"]} if task == "image-classification" else {}),
            **({"category": "plant"} if task == "semantic-segmentation" else {}),
        }
        response = owner.post("/api/ml/jobs", json=body)
        assert response.status_code == 400, (base, response.text)
        [error] = response.json()["errors"]
        assert error["field"] == "base_model" and reason in error["messages"][0], error
