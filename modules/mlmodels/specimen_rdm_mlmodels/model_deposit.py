"""A trained model as a draft model record: weights, plots, model card, metrics and links.

The draft (or a new version of an existing model record) belongs to whoever started the
training; they review it, complete creators and licence if needed, and publish it as any
other record.
"""

import io
import json
from datetime import date
from importlib.metadata import version

from flask import current_app
from invenio_rdm_records.proxies import current_rdm_records_service

from .detection_metrics import PROTOCOL as DETECTION_PROTOCOLS
from .onnx_export import onnx_copy
from .segmentation_training import TrainingResult
from .torchvision_detectors import LAYOUT as TORCHVISION_LAYOUT

WEIGHTS_FILE = "model.pt"
ONNX_FILE = "model.onnx"
CARD_FILE = "MODEL_CARD.md"
TRAINING_FILE = "training.json"
IOU_PROTOCOL = (
    "mean per-image IoU of the thresholded (0.5) prediction at the image's original resolution"
)
PROTOCOLS = {
    "iou": IOU_PROTOCOL,
    "accuracy": "share of the split's region crops whose most probable class is the true one",
    "macro_f1": "unweighted mean over classes of the per-class F1 on the split's region crops",
    **DETECTION_PROTOCOLS,
}
"""How each metric was measured (the `protocol` of an `ml:metrics` entry)."""
INTENDED_USE = {
    "semantic-segmentation": "Segment the plant on digitised herbarium sheets.",
    "image-classification": "Classify image regions (or whole images) into the labels below.",
    "object-detection": "Find the objects of the labels below on images, as boxes.",
    "instance-segmentation": "Find the objects of the labels below on images, as masks.",
}
USE_CASES = {
    "semantic-segmentation": ["plant-segmentation"],
    "image-classification": [],
    "object-detection": [],
    "instance-segmentation": [],
}
KIND = {
    "semantic-segmentation": "Plant segmentation",
    "image-classification": "Classifier",
    "object-detection": "Object detector",
    "instance-segmentation": "Instance segmenter",
}


def code_version() -> str:
    """The version of the code that trained the model (package version)."""
    return f"specimen-rdm-mlmodels {version('specimen-rdm-mlmodels')}"


def _record_url(recid: str) -> str:
    return f"{current_app.config['SITE_UI_URL']}/records/{recid}"


def _related(recid: str, resource_type: str) -> dict:
    return {
        "identifier": _record_url(recid),
        "scheme": "url",
        "relation_type": {"id": "isderivedfrom"},
        "resource_type": {"id": resource_type},
    }


def metrics_of(result: TrainingResult, dataset: dict | None) -> list[dict]:
    """`ml:metrics` entries: IoU, Dice and pixel accuracy per split."""
    entries = []
    for split in ("test", "validation"):
        for metric, value in (result.metrics.get(split) or {}).items():
            entry = {
                "metric": metric,
                "value": round(float(value), 6),
                "split": split,
                "protocol": PROTOCOLS.get(metric, f"mean per-image {metric}"),
            }
            if dataset:
                entry["dataset"] = dataset
            entries.append(entry)
    return entries


def model_card(title: str, request: dict, result: TrainingResult, dataset: dict | None) -> str:
    """The model card (Markdown): task, intended use, labels, data, metrics, training."""
    test = result.metrics.get("test") or {}
    lines = [
        f"# {title}",
        "",
        f"Task: {request['task']}. Labels: {', '.join(result.labels)}. "
        f"Architecture: {result.architecture}.",
        "",
        "## Intended use",
        request.get("intended_use") or INTENDED_USE[request["task"]],
        "",
        *(
            ["## Base model", f"Fine-tuned from model record {request['base_model']}.", ""]
            if request.get("base_model")
            else []
        ),
        "## Training data",
        f"Dataset record {dataset['record']} (version {dataset['version']})"
        if dataset
        else "Annotations selected by a query (see training.json).",
        f"Split (seeded, {result.config.get('seed')}): "
        + ", ".join(f"{name} {len(keys)} samples" for name, keys in result.split.items()),
        "",
        "## Evaluation (held-out test split)",
        "| metric | value |",
        "| --- | --- |",
        *[f"| {name} | {value:.4f} |" for name, value in test.items()],
        "",
        "## Training",
        f"{len(result.history)} epochs on {result.device} in {result.seconds:.1f} s "
        f"({result.images_per_second:.1f} images/s); configuration in training.json.",
        "",
        "## Files",
        f"`{WEIGHTS_FILE}` (TorchScript, the weights this record runs) and, when the export "
        f"succeeded, `{ONNX_FILE}` (the same network in ONNX, checked against the TorchScript "
        "with onnxruntime; `training.json` says whether it was made).",
    ]
    return "\n".join(lines) + "\n"


def _first_label(result: TrainingResult) -> int:
    """The class number of the first label: torchvision's detectors keep 0 for the background."""
    return 1 if result.input_spec.get("output") == TORCHVISION_LAYOUT else 0


def _files(title: str, request: dict, result: TrainingResult, dataset, job_id) -> dict:
    onnx, onnx_status = onnx_copy(result.torchscript, result.input_spec)
    training = {
        "onnx": onnx_status,
        "job": job_id,
        "code_version": code_version(),
        "config": result.config,
        "split": result.split,
        "history": result.history,
        "metrics": result.metrics,
        "per_image_iou": result.per_image_iou,
    }
    return {
        WEIGHTS_FILE: result.torchscript,
        **({ONNX_FILE: onnx} if onnx is not None else {}),
        CARD_FILE: model_card(title, request, result, dataset).encode(),
        TRAINING_FILE: json.dumps(training, indent=2).encode(),
        **result.plots,
    }


def deposit_model(
    identity,
    request: dict,
    result: TrainingResult,
    dataset: dict | None,
    image_records: list[str],
    job_id: str,
) -> dict:
    """Create the draft model record (or a new version) of a training result; its JSON."""
    title = request.get("title") or (
        f"{KIND[request['task']]} ({result.architecture}), job {job_id[:8]}"
    )
    related = [_related(recid, "image") for recid in image_records]
    if dataset:
        related.insert(0, _related(dataset["record"], "dataset"))
    if request.get("base_model"):
        related.insert(0, _related(request["base_model"], "model"))
    data = {
        "access": {"record": "public", "files": "public"},
        "files": {"enabled": True},
        "metadata": {
            "resource_type": {"id": "model"},
            "title": title,
            "publication_date": date.today().isoformat(),
            "publisher": current_app.config.get("APP_RDM_DEPOSIT_FORM_DEFAULTS", {}).get(
                "publisher", "Specimen RDM"
            ),
            "description": model_card(title, request, result, dataset).replace("\n", "<br>"),
            "related_identifiers": related,
            **({"rights": [{"id": request["license"]}]} if request.get("license") else {}),
            **({"creators": request["creators"]} if request.get("creators") else {}),
        },
        "custom_fields": {
            "ml:task": request["task"],
            "ml:framework": "pytorch",
            "ml:weight_format": "torchscript",
            "ml:architecture": result.architecture,
            "ml:weights_file": WEIGHTS_FILE,
            "ml:input": result.input_spec,
            "ml:labels": [
                {
                    "index": index,
                    "name": name,
                    "category": name,
                    "category_set": request.get("category_set", "herbarium"),
                }
                for index, name in enumerate(result.labels, start=_first_label(result))
            ],
            "ml:use_cases": request.get("use_cases") or USE_CASES[request["task"]],
            "ml:metrics": metrics_of(result, dataset),
            "ml:training": {
                "job": job_id,
                "code_version": code_version(),
                "config": result.config,
                "split": result.split,
                "device": result.device,
                "seconds": round(result.seconds, 3),
                "images_per_second": round(result.images_per_second, 3),
            },
        },
    }
    service = current_rdm_records_service
    if request.get("new_version_of"):
        draft = service.new_version(identity, request["new_version_of"])
        data["metadata"] = {**draft.data["metadata"], **data["metadata"]}
        # A new version starts without files (InvenioRDM copies none unless asked).
        draft = service.update_draft(identity, draft.id, data)
    else:
        draft = service.create(identity, data)
    files = service.draft_files
    contents = _files(title, request, result, dataset, job_id)
    files.init_files(identity, draft.id, [{"key": key} for key in contents])
    for key, content in contents.items():
        files.set_file_content(
            identity, draft.id, key, io.BytesIO(content), content_length=len(content)
        )
        files.commit_file(identity, draft.id, key)
    return service.read_draft(identity, draft.id).to_dict()
