"""Instance segmentation and object detection end to end on the real herbarium sheets: the plant
instances of seven sheets (one mask each, `plant_masks_split`) are imported as COCO, exported as
a dataset record, an instance segmenter is trained by a job and evaluated with pycocotools,
published, run by a pipeline on newly published sheets (one mask annotation per plant found,
with provenance, idempotent) and used remotely by predict. A user's object detector uploaded as
ONNX answers boxes through predict; bad detection requests are 400s naming the field."""

import io
import json
import uuid
import warnings

import numpy as np
import pytest
import torch
from PIL import Image
from pycocotools import mask as mask_utils
from test_mlmodels import (
    CREATORS,
    _job,
    _model_body,
    _register,
    annotated_dataset,
    finished_training,
)

from deposit import Api, publish, publish_sheet, upload, wait_for
from live_instance import SHARED_DATA
from specimen_rdm_mlmodels.segmentation_net import TinyUNet

SHEETS = SHARED_DATA / "herbarium" / "sheets"
NAMES = sorted(path.stem for path in (SHEETS / "img").glob("*.jpg"))
TRAINING_NAMES, NEW_NAMES = NAMES[:7], NAMES[7:9]
PIPELINE_THRESHOLD = 0.001
"""Low: a 30-epoch model is weak on unseen sheets; this test is about the flow, the unit tests
and the bench measure how good such models get."""


def _sheet(name: str) -> bytes:
    return (SHEETS / "img" / f"{name}.jpg").read_bytes()


def _coco(name: str) -> bytes:
    """The sheet's plant instances as COCO annotations with compressed-RLE masks."""
    annotations = []
    for path in sorted((SHEETS / "plant_masks_split").glob(f"{name}_plant_*.png")):
        mask = np.asfortranarray((np.array(Image.open(path)) > 0).astype(np.uint8))
        rle = mask_utils.encode(mask)
        annotations.append(
            {
                "id": len(annotations) + 1,
                "image_id": 1,
                "category_id": 1,
                "segmentation": {"size": rle["size"], "counts": rle["counts"].decode()},
                "bbox": mask_utils.toBbox(rle).tolist(),
                "area": int(mask_utils.area(rle)),
                "iscrowd": 0,
            }
        )
    height, width = mask.shape
    return json.dumps(
        {
            "images": [{"id": 1, "file_name": f"{name}.jpg", "width": width, "height": height}],
            "categories": [{"id": 1, "name": "plant"}],
            "annotations": annotations,
        }
    ).encode()


def _machine_annotations(api: Api, recid: str) -> tuple[int, list[dict]]:
    response = api.get(
        "/api/annotations", params={"record": recid, "creator_type": "machine", "size": 100}
    )
    assert response.status_code == 200, response.text
    return response.json()["hits"]["total"], response.json()["hits"]["hits"]


@pytest.fixture(scope="module")
def owner(live) -> Api:
    return Api(live.url, live.token("ml-detector@example.org"))


@pytest.fixture(scope="module", autouse=True)
def no_pipelines_afterwards(live):
    yield
    live.pipelines_file.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def dataset(owner) -> dict:
    """Seven published sheets with their plant instances, exported as a dataset record."""
    return annotated_dataset(owner, "Plant instances", TRAINING_NAMES, _sheet, _coco)


@pytest.fixture(scope="module")
def training(owner, dataset) -> dict:
    return finished_training(
        owner,
        {
            "task": "instance-segmentation",
            "categories": ["plant"],
            "dataset": dataset["id"],
            "hyperparameters": {"epochs": 30, "seed": 2},
            "title": "Plant instances, centre maps",
            "license": "cc-by-4.0",
            "creators": CREATORS,
        },
        timeout=600,
    )


@pytest.fixture(scope="module")
def segmenter(owner, training) -> dict:
    return publish(owner, training["result"]["draft"])


def test_the_training_job_deposits_an_instance_segmenter_with_coco_metrics(
    owner, dataset, training, segmenter
):
    assert training["progress"]["epoch"] == training["progress"]["epochs"] == 30
    assert 0 <= training["progress"]["validation_map50"] <= 1
    custom = segmenter["custom_fields"]
    assert custom["ml:task"] == "instance-segmentation"
    assert custom["ml:architecture"] == "tiny-unet-centre-maps"
    assert custom["ml:input"]["output"] == "centre-maps"
    assert [(label["index"], label["name"]) for label in custom["ml:labels"]] == [(0, "plant")]
    metrics = {(m["metric"], m["split"]): m for m in custom["ml:metrics"]}
    for metric in ("map", "map_50", "mask_map", "mask_map_50"):
        entry = metrics[(metric, "test")]
        assert 0 <= entry["value"] <= 1
        assert "pycocotools" in entry["protocol"]
        assert entry["dataset"]["record"] == dataset["id"]
    keys = {e["key"] for e in owner.get(f"/api/records/{segmenter['id']}/files").json()["entries"]}
    assert {"model.pt", "model.onnx", "MODEL_CARD.md", "training.json", "loss_curve.png"} <= keys
    record_files = f"/api/records/{segmenter['id']}/files"
    assert owner.get(f"{record_files}/training.json/content").json()["onnx"] == "ok"
    card = owner.get(f"/api/records/{segmenter['id']}/files/MODEL_CARD.md/content").text
    assert "| mask_map |" in card and "instance-segmentation" in card

    # Searchable by task and by a metric threshold, like any model.
    def found() -> list[str]:
        response = owner.get(
            "/api/models",
            params={
                "q": "task:instance-segmentation",
                "metric": "mask_map",
                "min": 0,
                "dataset": dataset["id"],
                "split": "test",
            },
        )
        assert response.status_code == 200, response.text
        return [hit["id"] for hit in response.json()["hits"]["hits"]] or None

    assert segmenter["id"] in wait_for(found, what="the model in the search index")


def test_a_pipeline_segments_the_plants_of_new_sheets_once_with_provenance(
    live, owner, admin, segmenter
):
    _register(
        live,
        {
            "plant-instances": {
                "model": {"record": segmenter["id"]},
                "applies_to": {"resource_types": ["image-photo"]},
                "writes": "annotations",
                "threshold": PIPELINE_THRESHOLD,
                "min_area": 1,
                "on_publish": True,
            }
        },
    )
    tag = uuid.uuid4().hex[:8]
    records = [
        publish_sheet(owner, f"Sheet to segment {tag} {name}", {f"{name}.jpg": _sheet(name)})
        for name in NEW_NAMES
    ]
    totals = {}
    for record, name in zip(records, NEW_NAMES, strict=True):
        total, found = wait_for(
            lambda record=record: (
                _machine_annotations(owner, record["id"])
                if _machine_annotations(owner, record["id"])[0]
                else None
            ),
            timeout=300,
            what=f"the plant instances of {record['id']}",
        )
        totals[record["id"]] = total
        width, height = Image.open(io.BytesIO(_sheet(name))).size
        for annotation in found:
            selector = annotation["target"]["selector"]
            assert selector["type"] == "mask" and selector["rle"]["size"] == [height, width]
            x, y, w, h = selector["box"]
            assert x >= 0 and y >= 0 and x + w <= width and y + h <= height
            assert annotation["body"]["category"] == "plant"
            assert PIPELINE_THRESHOLD <= annotation["score"] <= 1
            assert annotation["creator"]["model"] == {"record": segmenter["id"], "version": "1"}
    response = admin.post(
        "/api/ml/jobs",
        json={"type": "pipeline", "pipeline": "plant-instances", "q": f'metadata.title:"{tag}"'},
    )
    assert response.status_code == 202, response.text
    rerun = _job(admin, response.json()["id"])
    assert rerun["state"] == "COMPLETED", rerun
    for record in records:
        assert _machine_annotations(owner, record["id"])[0] == totals[record["id"]]


def test_predict_with_the_instance_segmenter_stores_nothing(anonymous, segmenter):
    name = NEW_NAMES[0]
    before = anonymous.get("/api/annotations", params={"model": segmenter["id"]}).json()
    response = anonymous.post(
        f"/api/models/{segmenter['id']}/predict",
        params={"format": "coco", "threshold": PIPELINE_THRESHOLD},
        files={"file": (f"{name}.jpg", _sheet(name))},
    )
    assert response.status_code == 200, response.text
    results = response.json()
    width, height = Image.open(io.BytesIO(_sheet(name))).size
    assert results, "no instance above the threshold"
    for result in results:
        assert result["category_id"] == 1 and result["score"] >= PIPELINE_THRESHOLD
        assert result["segmentation"]["size"] == [height, width]
    after = anonymous.get("/api/annotations", params={"model": segmenter["id"]}).json()
    assert after["hits"]["total"] == before["hits"]["total"]


def test_a_user_detector_in_onnx_answers_boxes(owner, anonymous):
    torch.manual_seed(4)
    network = TinyUNet(classes=3, width=4).eval()  # one class + width, height
    with torch.no_grad():  # a centre at every pixel (score 0.88), boxes a quarter of the image
        network.head.weight.zero_()
        network.head.bias.copy_(torch.tensor([2.0, 0.25, 0.25]))
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
    custom = {
        "ml:task": "object-detection",
        "ml:framework": "onnx",
        "ml:weight_format": "onnx",
        "ml:architecture": "tiny-unet-centre-maps",
        "ml:weights_file": "detector.onnx",
        "ml:input": {
            "size": [64, 64],
            "channels": 3,
            "mean": [0.5] * 3,
            "std": [0.25] * 3,
            "output": "centre-maps",
        },
        "ml:labels": [
            {"index": 0, "name": "plant", "category": "plant", "category_set": "herbarium"}
        ],
    }
    detector = _user_model(owner, "User ONNX detector", custom, onnx.getvalue())
    name = NEW_NAMES[1]
    width, height = Image.open(io.BytesIO(_sheet(name))).size
    page = anonymous.post(
        f"/api/models/{detector['id']}/predict",
        params={"format": "w3c", "threshold": 0.5},
        files={"file": (f"{name}.jpg", _sheet(name))},
    )
    assert page.status_code == 200, page.text
    items = page.json()["items"]
    assert len(items) == 100  # at most 100 detections per image
    coco = anonymous.post(
        f"/api/models/{detector['id']}/predict",
        params={"format": "coco", "threshold": 0.5},
        files={"file": (f"{name}.jpg", _sheet(name))},
    ).json()
    assert len(coco) == len(items)
    for result in coco:
        x, y, w, h = result["bbox"]
        assert "segmentation" not in result
        assert x >= 0 and y >= 0 and x + w <= width + 0.01 and y + h <= height + 0.01
        assert w <= width / 4 + 0.01 and h <= height / 4 + 0.01
        assert result["score"] == pytest.approx(0.8808, abs=1e-3)

    # A detector that does not declare its output layout is not run.
    undeclared = {
        **custom,
        "ml:input": {k: v for k, v in custom["ml:input"].items() if k != "output"},
    }
    other = _user_model(owner, "Detector of unknown layout", undeclared, onnx.getvalue())
    response = anonymous.post(f"/api/models/{other['id']}/predict", data=_sheet(name))
    assert response.status_code == 400
    message = response.json()["errors"][0]["messages"][0]
    assert "ml:input.output is one of centre-maps, torchvision-detections" in message


def _user_model(owner: Api, title: str, custom: dict, data: bytes) -> dict:
    """A published model record with its weights file (`ml:weights_file`) holding `data`."""
    response = owner.post(
        "/api/records", json=_model_body(title, custom, files=True, rights=[{"id": "cc-by-4.0"}])
    )
    assert response.status_code == 201, response.text
    upload(owner, response.json()["id"], custom["ml:weights_file"], data)
    return publish(owner, response.json()["id"])


def test_bad_detection_training_requests_are_refused_by_field(owner, dataset, segmenter):
    for body, field, reason in [
        ({"task": "object-detection", "categories": []}, "categories", "one or more"),
        ({"task": "instance-segmentation", "category": "plant"}, "categories", "one or more"),
        (
            {"task": "object-detection", "categories": ["plant"], "base_model": segmenter["id"]},
            "base_model",
            "one of torchvision's architectures",
        ),
        (
            {
                "task": "object-detection",
                "categories": ["plant"],
                "hyperparameters": {"max_detections": 0},
            },
            "hyperparameters",
            "max_detections",
        ),
        (
            {
                "task": "object-detection",
                "categories": ["plant"],
                "hyperparameters": {"architecture": "maskrcnn-resnet50-fpn"},
            },
            "hyperparameters",
            "maskrcnn-resnet50-fpn is not a object-detection model",
        ),
    ]:
        response = owner.post(
            "/api/ml/jobs", json={"type": "training", "dataset": dataset["id"], **body}
        )
        assert response.status_code == 400, (body, response.text)
        [error] = response.json()["errors"]
        assert error["field"] == field and reason in error["messages"][0], error


class DarkPixels(torch.nn.Module):
    """An instance segmenter with torchvision's contract whose answer a test can compute: one
    object (class 1, score 0.9), the box and mask of the pixels darker than half grey."""

    def forward(
        self, images: list[torch.Tensor]
    ) -> tuple[dict[str, torch.Tensor], list[dict[str, torch.Tensor]]]:
        results: list[dict[str, torch.Tensor]] = []
        for image in images:
            dark = image.mean(0) < 0.5
            where = torch.nonzero(dark)
            first, last = where.min(0).values.float(), where.max(0).values.float() + 1
            results.append(
                {
                    "boxes": torch.stack([first[1], first[0], last[1], last[0]])[None],
                    "labels": torch.tensor([1]),
                    "scores": torch.tensor([0.9]),
                    "masks": dark.float()[None, None],
                }
            )
        return {}, results


def _torchvision_fields(task: str, weight_format: str, weights_file: str, **more) -> dict:
    """`ml:` fields of a user model with torchvision's contract, class 1 = plant."""
    return {
        "ml:task": task,
        "ml:framework": "pytorch",
        "ml:weight_format": weight_format,
        "ml:weights_file": weights_file,
        "ml:input": {"output": "torchvision-detections"},
        "ml:labels": [
            {"index": 1, "name": "plant", "category": "plant", "category_set": "herbarium"}
        ],
        **more,
    }


def _dark_pixels(data: bytes) -> np.ndarray:
    pixels = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float32) / 255
    return pixels.mean(2) < 0.5


def test_a_torchvision_style_instance_segmenter_runs_in_a_pipeline(live, owner, admin):
    """A TorchScript model with torchvision's list-of-dicts answer: its objects become mask
    annotations with the model's box, mask, class (1 → plant) and score."""
    archive = io.BytesIO()
    torch.jit.save(torch.jit.script(DarkPixels()), archive)
    custom = _torchvision_fields("instance-segmentation", "torchscript", "detector.pt")
    model = _user_model(owner, "Dark pixels (torchvision contract)", custom, archive.getvalue())
    _register(
        live,
        {
            "dark-pixels": {
                "model": {"record": model["id"]},
                "writes": "annotations",
                "threshold": 0.5,
                "on_publish": False,
            }
        },
    )
    tag = uuid.uuid4().hex[:8]
    name = NEW_NAMES[0]
    record = publish_sheet(owner, f"Dark pixels {tag} {name}", {f"{name}.jpg": _sheet(name)})
    wait_for(
        lambda: owner.get("/api/records", params={"q": f'"{tag}"'}).json()["hits"]["total"],
        what="the sheet in the search index",
    )
    response = admin.post(
        "/api/ml/jobs",
        json={"type": "pipeline", "pipeline": "dark-pixels", "q": f'metadata.title:"{tag}"'},
    )
    assert response.status_code == 202, response.text
    job = _job(admin, response.json()["id"])
    assert job["state"] == "COMPLETED", job
    total, [annotation] = _machine_annotations(owner, record["id"])
    assert total == 1
    expected = _dark_pixels(_sheet(name))
    rows, cols = np.nonzero(expected)
    box = [cols.min(), rows.min(), cols.max() + 1 - cols.min(), rows.max() + 1 - rows.min()]
    selector = annotation["target"]["selector"]
    assert selector["type"] == "mask"
    assert selector["box"] == pytest.approx(box, abs=2)
    rle = dict(selector["rle"], counts=selector["rle"]["counts"].encode())
    found = mask_utils.decode(rle).astype(bool)
    assert (found & expected).sum() / (found | expected).sum() > 0.999
    assert annotation["body"]["category"] == "plant" and annotation["score"] == 0.9
    assert annotation["creator"]["model"] == {"record": model["id"], "version": "1"}


def _boxes_inside_the_sheet(api: Api, model: dict, name: str) -> list[dict]:
    """The model's COCO answer on sheet `name` (threshold 0.01), each box inside the sheet."""
    response = api.post(
        f"/api/models/{model['id']}/predict",
        params={"format": "coco", "threshold": 0.01},
        files={"file": (f"{name}.jpg", _sheet(name))},
    )
    assert response.status_code == 200, response.text
    width, height = Image.open(io.BytesIO(_sheet(name))).size
    for result in response.json():
        x, y, w, h = result["bbox"]
        assert x >= 0 and y >= 0 and x + w <= width + 0.01 and y + h <= height + 0.01
    return response.json()


def test_a_torchvision_detector_state_dict_answers_boxes(owner, anonymous):
    """A state dict of torchvision's Faster R-CNN (MobileNetV3, 320 px): the class count is read
    from the weights, boxes come back in the image's pixels."""
    from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_320_fpn

    torch.manual_seed(3)
    network = fasterrcnn_mobilenet_v3_large_320_fpn(
        weights=None, weights_backbone=None, num_classes=2
    )
    weights = io.BytesIO()
    torch.save(network.state_dict(), weights)
    custom = _torchvision_fields(
        "object-detection",
        "state-dict",
        "detector.pth",
        **{"ml:architecture": "fasterrcnn-mobilenet-v3-large-320-fpn"},
    )
    detector = _user_model(owner, "Faster R-CNN state dict", custom, weights.getvalue())
    name = NEW_NAMES[1]
    results = _boxes_inside_the_sheet(anonymous, detector, name)
    assert results, "an untrained Faster R-CNN still proposes boxes at threshold 0.01"
    scores = [result["score"] for result in results]
    assert scores == sorted(scores, reverse=True) and len(results) <= 100
    # The same weights declared with the centre-map layout are refused, naming the layout.
    wrong = _user_model(
        owner,
        "Faster R-CNN declared as centre maps",
        {**custom, "ml:input": {"output": "centre-maps"}},
        weights.getvalue(),
    )
    response = anonymous.post(f"/api/models/{wrong['id']}/predict", data=_sheet(name))
    assert response.status_code == 400
    assert "answers the torchvision-detections layout" in response.text


def test_a_torchvision_detector_is_trained_then_fine_tuned_from_it(owner, anonymous, dataset):
    """A training job with torchvision's Faster R-CNN, then a second one that starts from the
    first (transfer learning): both deposit TorchScript detectors of the torchvision layout,
    class 1 = plant; the second links its base model and says what it copied."""
    body = {
        "task": "object-detection",
        "categories": ["plant"],
        "dataset": dataset["id"],
        "hyperparameters": {
            "architecture": "fasterrcnn-mobilenet-v3-large-320-fpn",
            "image_size": 160,
            "epochs": 2,
            "seed": 1,
        },
        "title": "Plants, Faster R-CNN",
        "license": "cc-by-4.0",
        "creators": CREATORS,
    }
    first = finished_training(owner, body, timeout=600)
    base = publish(owner, first["result"]["draft"])
    custom = base["custom_fields"]
    assert custom["ml:architecture"] == "fasterrcnn-mobilenet-v3-large-320-fpn"
    assert custom["ml:input"]["output"] == "torchvision-detections"
    assert [(label["index"], label["name"]) for label in custom["ml:labels"]] == [(1, "plant")]
    files = f"/api/records/{base['id']}/files"
    assert owner.get(f"{files}/training.json/content").json()["onnx"].startswith("not made")
    tuned = finished_training(
        owner,
        {
            **body,
            "base_model": base["id"],
            "hyperparameters": {"image_size": 160, "epochs": 1, "seed": 1},
            "title": "Plants, Faster R-CNN fine-tuned",
        },
        timeout=600,
    )
    draft = owner.get(f"/api/records/{tuned['result']['draft']}/draft").json()
    assert draft["custom_fields"]["ml:architecture"] == "fasterrcnn-mobilenet-v3-large-320-fpn"
    [link] = [
        r for r in draft["metadata"]["related_identifiers"] if r["resource_type"]["id"] == "model"
    ]
    assert link["identifier"].endswith(f"/records/{base['id']}")
    assert link["relation_type"]["id"] == "isderivedfrom"
    training = owner.get(
        f"/api/records/{tuned['result']['draft']}/draft/files/training.json/content"
    ).json()
    assert training["config"]["architecture"] == "fasterrcnn-mobilenet-v3-large-320-fpn"
    assert training["config"]["base_tensors_copied"] > 100
    _boxes_inside_the_sheet(anonymous, base, NEW_NAMES[0])

    # A base model starts a training of its own architecture only.
    response = owner.post(
        "/api/ml/jobs",
        json={
            **body,
            "type": "training",
            "base_model": base["id"],
            "hyperparameters": {"architecture": "retinanet-resnet50-fpn", "epochs": 1},
        },
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == "base_model"
    assert "cannot start a retinanet-resnet50-fpn training" in response.text
