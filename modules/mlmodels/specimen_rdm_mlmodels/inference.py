"""Run a model record on a record's images and store what it finds.

What is written depends on the model's task: a segmentation model writes mask annotations, an
object detector one box annotation per object it finds, an instance segmenter one mask
annotation per object, a classifier one whole-image annotation with the most probable class
(when its probability reaches the pipeline's threshold), a text-recognition model one text
annotation per line it reads, a feature extractor one embedding per image (`embeddings.py`, the
similarity index). Every machine annotation carries the model record id and version, the job
id, its score and the checksum of the file it was computed on; an embedding row the same. A
record's file that already has results of this model version for this checksum is skipped, so
running a pipeline twice (or the same model on a re-published record whose image did not
change) writes nothing new. A transaction lock per (record, model version) keeps two workers
from writing the same results at once.
"""

from dataclasses import dataclass

import numpy as np
from flask import current_app
from invenio_access.permissions import system_identity
from invenio_db import db
from invenio_files_rest.models import ObjectVersion
from invenio_rdm_records.proxies import current_rdm_records_service
from invenio_rdm_records.records.api import RDMRecord
from invenio_search import current_search_client
from invenio_search.utils import build_alias_name
from sqlalchemy import text
from sqlalchemy.orm import joinedload

from specimen_rdm_annotations.annotation_store import create_annotations, index_annotations
from specimen_rdm_annotations.masks import mask_annotation
from specimen_rdm_annotations.proxies import current_annotations
from specimen_rdm_annotations.records.api import Annotation
from specimen_rdm_annotations.services.components import now_iso
from specimen_rdm_annotations.target_access import resolve_target
from specimen_rdm_annotations.target_files import image_files

from . import embeddings
from .architectures import task_of
from .builtin_models import builtin_record_id
from .centre_maps import EXTRA_CHANNELS
from .custom_fields import MODEL_RESOURCE_TYPE
from .image_decoding import UnusableImage, decode_image, decoder_pool
from .model_runtime import (
    RUNTIMES,
    WEIGHT_FORMATS,
    ModelLoadError,
    runtime_cache,
    select_device,
)
from .ocr_runtime import OCR_ARCHITECTURE, OCR_FILES, ocr_cache
from .torchvision_detectors import DETECTORS
from .torchvision_detectors import LAYOUT as TORCHVISION_LAYOUT

WRITES_OF_TASK = {
    "semantic-segmentation": "annotations",
    "object-detection": "annotations",
    "instance-segmentation": "annotations",
    "image-classification": "labels",
    "text-recognition": "text",
    "feature-extraction": "embeddings",
}
"""What a pipeline of a model of each runnable task writes."""
SUPPORTED_TASKS = tuple(WRITES_OF_TASK)
FORMATS_OF_TASK = {
    "semantic-segmentation": WEIGHT_FORMATS,
    "object-detection": WEIGHT_FORMATS,
    "instance-segmentation": WEIGHT_FORMATS,
    "image-classification": WEIGHT_FORMATS,
    "feature-extraction": WEIGHT_FORMATS,
    "text-recognition": ("onnx",),
}
"""Weight formats each task's runtime loads (text recognition: the rapidocr ONNX files)."""
DETECTION_LAYOUTS = ("centre-maps", TORCHVISION_LAYOUT)
"""Output layouts of the detection and instance-segmentation models that run here."""


class InferenceError(ValueError):
    """A model or an image cannot be used: what and why (the job reports it per item)."""


@dataclass(frozen=True)
class LoadedModel:
    """A published model record ready to run: its reference, labels and runtime."""

    record: str
    version: str
    labels: list[dict]
    runtime: object
    task: str = "semantic-segmentation"

    def reference(self) -> dict:
        """What machine annotations store as their model."""
        return {"record": self.record, "version": self.version}


def model_record(
    record_id: str | None, latest_of: str | None, builtin: str | None = None
) -> RDMRecord:
    """The published model record: by id, the latest version of a concept (parent) id, or the
    record of a built-in model."""
    if builtin:
        record_id = builtin_record_id(builtin)
        if record_id is None:
            raise InferenceError(
                f"model: built-in model '{builtin}' has no record (run `invenio mlmodels builtin`)"
            )
    try:
        if latest_of:
            item = current_rdm_records_service.read_latest(system_identity, latest_of)
        else:
            item = current_rdm_records_service.read(system_identity, record_id)
    except Exception as error:
        raise InferenceError(f"model: no published record '{latest_of or record_id}'") from error
    return item._record


def load_model(record: RDMRecord, threshold: float, device: str) -> LoadedModel:
    """Check that `record` is a runnable model and load its weights (cached by checksum)."""
    recid = record.pid.pid_value
    resource_type = (record.metadata.get("resource_type") or {}).get("id")
    custom = record.get("custom_fields") or {}
    if resource_type != MODEL_RESOURCE_TYPE:
        raise InferenceError(f"model: record {recid} is not a model (type {resource_type})")
    task = custom.get("ml:task")
    if task not in SUPPORTED_TASKS:
        raise InferenceError(f"model: task '{task}' of {recid} has no runtime here yet")
    weight_format = custom.get("ml:weight_format")
    if weight_format not in FORMATS_OF_TASK[task]:
        raise InferenceError(
            f"model: weight format '{weight_format}' of {recid} cannot run: {task} models run "
            f"from {' or '.join(FORMATS_OF_TASK[task])} weights here"
        )
    layout = (custom.get("ml:input") or {}).get("output")
    if task in EXTRA_CHANNELS and layout not in DETECTION_LAYOUTS:
        raise InferenceError(
            f"model: {task} runs models whose ml:input.output is one of "
            f"{', '.join(DETECTION_LAYOUTS)} (see docs/ml-models.md); {recid} declares {layout!r}"
        )
    if task in EXTRA_CHANNELS and layout == TORCHVISION_LAYOUT and weight_format == "onnx":
        raise InferenceError(
            f"model: {TORCHVISION_LAYOUT} models run from TorchScript or a state dict, not "
            f"ONNX ({recid})"
        )
    architecture = custom.get("ml:architecture")
    if weight_format == "state-dict" and task_of(architecture) != task:
        raise InferenceError(
            f"model: a state dict needs a known {task} architecture in ml:architecture; "
            f"'{architecture}' of {recid} is not one"
        )
    if weight_format == "state-dict" and architecture in DETECTORS and layout != TORCHVISION_LAYOUT:
        raise InferenceError(
            f"model: torchvision's {architecture} answers the {TORCHVISION_LAYOUT} layout; "
            f"{recid} declares ml:input.output {layout!r}"
        )
    runtime_cache.size = current_app.config["MLMODELS_RUNTIME_CACHE_SIZE"]
    try:
        if task == "text-recognition":
            runtime = _ocr_runtime(record, custom, threshold, device)
        else:
            runtime = _torch_runtime(record, custom, threshold, device, task)
    except ModelLoadError as error:
        raise InferenceError(f"model: {recid} {custom.get('ml:weights_file')}: {error}") from error
    labels = custom.get("ml:labels") or []
    return LoadedModel(recid, str(record.versions.index), labels, runtime, task)


def _model_file(record: RDMRecord, key: str | None):
    file_record = record.files.get(key) if key else None
    if file_record is None or file_record.file is None:
        raise InferenceError(f"model: weights file '{key}' is not a file of {record.pid.pid_value}")
    return file_record


def _read(file_record) -> bytes:
    with file_record.open_stream("rb") as stream:
        return stream.read()


def _torch_runtime(record: RDMRecord, custom: dict, threshold: float, device: str, task: str):
    assert task in RUNTIMES
    file_record = _model_file(record, custom.get("ml:weights_file"))
    return runtime_cache.get(
        file_record.file.checksum,
        lambda: _read(file_record),
        custom.get("ml:input") or {},
        threshold,
        select_device(device),
        task=task,
        weight_format=custom.get("ml:weight_format"),
        architecture=custom.get("ml:architecture"),
    )


def _ocr_runtime(record: RDMRecord, custom: dict, threshold: float, device: str):
    if custom.get("ml:architecture") != OCR_ARCHITECTURE:
        raise InferenceError(
            f"model: text recognition runs the '{OCR_ARCHITECTURE}' architecture (files "
            f"{', '.join(OCR_FILES)}), not '{custom.get('ml:architecture')}'"
        )
    files = {name: _model_file(record, name) for name in OCR_FILES}
    checksums = {name: f.file.checksum for name, f in files.items()}
    return ocr_cache.get(
        checksums, lambda name: _read(files[name]), threshold, select_device(device).type
    )


def _file_bytes(file_record) -> bytes:
    with file_record.open_stream("rb") as stream:
        return stream.read()


def read_image(file_record, max_pixels: int) -> np.ndarray:
    """The image as an RGB array; InferenceError for a file that is not a usable image."""
    try:
        return decode_image(_file_bytes(file_record), max_pixels)
    except UnusableImage as error:
        raise InferenceError(str(error)) from error


_DONE_SQL = text(
    """
    SELECT DISTINCT json -> 'attributes' ->> 'file_checksum'
    FROM annotation_metadata
    WHERE (json -> 'target' ->> 'record') = :recid
      AND json IS NOT NULL
      AND json -> 'creator' -> 'model' ->> 'record' = :model
      AND json -> 'creator' -> 'model' ->> 'version' = :version
    """
)


def _done_checksums(recid: str, model: LoadedModel) -> set[str]:
    """Checksums of the files this model version has already analysed on this record."""
    if model.task == "feature-extraction":
        return embeddings.done_checksums(recid, model.record, model.version)
    rows = db.session.execute(
        _DONE_SQL, {"recid": recid, "model": model.record, "version": model.version}
    )
    return {checksum for (checksum,) in rows}


def _load_file_rows(record) -> list:
    """The record's file records with their object versions and file instances, in one query.

    Reading N images, or dumping the record for its search document after a commit expired
    them, otherwise costs up to three lazy loads per file (file record → object version → file
    instance); with these rows in the session those are answered from its identity map, and
    rows the record's file manager already holds are refreshed in place. The identity map holds
    rows weakly: the caller keeps the list while it needs them.
    """
    model_cls = record.files.file_cls.model_cls
    return (
        model_cls.query.options(joinedload(model_cls.object_version).joinedload(ObjectVersion.file))
        .filter(model_cls.record_id == record.id)
        .all()
    )


def _category(labels: list[dict], index: int) -> str:
    for label in labels:
        if label.get("index") == index:
            return label.get("category") or label["name"]
    return "plant"


def check_writes(pipeline, model: LoadedModel) -> None:
    """InferenceError unless the pipeline writes what its model's task produces."""
    produces = WRITES_OF_TASK[model.task]
    if pipeline.writes != produces:
        raise InferenceError(
            f"pipeline {pipeline.name}: writes '{pipeline.writes}', but model {model.record} is "
            f"a {model.task} model, which writes '{produces}'"
        )


def annotate_record(recid: str, model: LoadedModel, pipeline, job_id: str) -> dict:
    """Run `model` on the images of published record `recid`; counts of what happened.

    Raises InferenceError when the record is gone; a broken image is reported in the counts
    (`errors`) and the record's other images are still analysed.
    """
    record = resolve_target(recid)
    if record is None:
        raise InferenceError(f"record: no published record with id '{recid}'")
    lock_key = f"mlmodels:{recid}:{model.record}:{model.version}"
    db.session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": lock_key})
    done = _done_checksums(recid, model)
    counts = {"images": 0, "skipped": 0, "created": 0, "errors": []}
    max_pixels = current_app.config["MLMODELS_MAX_IMAGE_PIXELS"]
    file_rows = _load_file_rows(record)  # held until the images are read
    checksums = {
        row.key: row.object_version.file.checksum
        for row in file_rows
        if row.object_version is not None and row.object_version.file is not None
    }
    pending, contents = [], []
    for key, target in image_files(record).items():
        counts["images"] += 1
        checksum = checksums[key]
        if checksum in done:
            counts["skipped"] += 1
            continue
        pending.append((target, checksum))
        contents.append(_file_bytes(target.file_record))
    del file_rows
    todo, arrays = [], []
    decoded = decoder_pool.decode(
        contents, max_pixels, current_app.config["MLMODELS_DECODE_THREADS"]
    )
    del contents
    for (target, checksum), (array, error) in zip(pending, decoded, strict=True):
        if error is not None:
            counts["errors"].append({"file": target.key, "reason": str(error)})
            continue
        todo.append((target, checksum))
        arrays.append(array)
    del decoded
    if not todo:
        db.session.commit()
        return counts
    writer = _WRITERS[model.task]
    counts["created"] = writer(record, recid, todo, arrays, model, pipeline, job_id)
    return counts


def _machine_annotation(data: dict, model: LoadedModel, job_id: str, score: float) -> dict:
    """`data` with the score, the model and job as creator, and the proposed status."""
    data.update(
        {
            "score": round(float(score), 4),
            "creator": {"type": "model", "model": model.reference(), "job": job_id},
            "status": {"state": "proposed", "by": "system", "at": now_iso()},
        }
    )
    return data


def _place(data: dict, categories, pipeline, recid: str, key: str, checksum: str) -> None:
    """Put a machine annotation in the pipeline's category set, on the record's file (with the
    file's checksum); InferenceError when its category is not in that set."""
    if data["body"]["category"] not in categories:
        raise InferenceError(
            f"model: label category '{data['body']['category']}' is not in category set "
            f"'{pipeline.category_set}'"
        )
    data["body"]["category_set"] = pipeline.category_set
    data["target"].update({"record": recid, "file": key})
    data["attributes"] = {"file_checksum": checksum}


def refresh_annotations() -> None:
    """Make every indexed annotation searchable now (one refresh at the end of a job)."""
    current_search_client.indices.refresh(index=build_alias_name(Annotation.index.search_alias))


def _store_annotations(record, annotations: list[dict]) -> int:
    created = create_annotations(annotations)
    db.session.commit()
    # No forced refresh: the index's own refresh (1 s) makes them searchable; forcing one per
    # record made OpenSearch rewrite its segments once per record of a pipeline job.
    index_annotations(created, refresh=False)
    file_rows = _load_file_rows(record)  # held while the record is dumped
    current_rdm_records_service.indexer.index(record)
    del file_rows
    return len(created)


def _write_masks(record, recid, todo, arrays, model: LoadedModel, pipeline, job_id) -> int:
    """A segmentation model: one mask annotation per image (unless below `min_area`)."""
    predictions = model.runtime.predict(
        arrays, batch_size=current_app.config["MLMODELS_INFERENCE_BATCH_SIZE"]
    )
    category = _category(model.labels, 0)
    # The masks are built here from arrays of the image's size: only the category needs checking
    # (the annotation validator's RLE re-decoding cost a third of the pipeline's time).
    if category not in current_annotations.category_sets.get(pipeline.category_set, {}):
        raise InferenceError(
            f"model: label category '{category}' is not in category set '{pipeline.category_set}'"
        )
    annotations = []
    for (target, checksum), prediction in zip(todo, predictions, strict=True):
        if int(prediction.mask.sum()) < pipeline.min_area:
            continue
        data = mask_annotation(prediction.mask, category, {"file_checksum": checksum})
        data["target"].update(
            {"record": recid, "file": target.key, "width": target.width, "height": target.height}
        )
        data["body"]["category_set"] = pipeline.category_set
        data["motivation"] = "classifying"
        annotations.append(_machine_annotation(data, model, job_id, prediction.score))
    return _store_annotations(record, annotations)


def object_annotation(labels: list[dict], detection, width: int, height: int) -> dict:
    """The annotation of one detected object: its mask (instance segmentation) or its box,
    and its class as body category (category set from the label, else "herbarium")."""
    entry = next((e for e in labels if e.get("index") == detection.index), None)
    if entry is None:
        raise InferenceError(f"model: class {detection.index} has no entry in ml:labels")
    category = entry.get("category") or entry["name"]
    if detection.mask is not None:
        data = mask_annotation(detection.mask, category)
    else:
        data = {
            "target": {"selector": {"type": "box", "box": detection.box}},
            "body": {"category": category},
        }
    data["target"].update({"width": width, "height": height})
    data["body"]["category_set"] = entry.get("category_set") or "herbarium"
    data["motivation"] = "classifying"
    return data


def _write_objects(record, recid, todo, arrays, model: LoadedModel, pipeline, job_id) -> int:
    """A detector or instance segmenter: one annotation per object scoring at least the
    pipeline's threshold (masks under `min_area` pixels left out), in its category set."""
    found = model.runtime.detect(
        arrays, batch_size=current_app.config["MLMODELS_INFERENCE_BATCH_SIZE"]
    )
    categories = current_annotations.category_sets.get(pipeline.category_set, {})
    annotations = []
    for (target, checksum), detections in zip(todo, found, strict=True):
        for detection in detections:
            if detection.mask is not None and int(detection.mask.sum()) < pipeline.min_area:
                continue
            data = object_annotation(model.labels, detection, target.width, target.height)
            _place(data, categories, pipeline, recid, target.key, checksum)
            annotations.append(_machine_annotation(data, model, job_id, detection.score))
    return _store_annotations(record, annotations)


def label_annotation(labels: list[dict], label, width: int, height: int) -> dict:
    """The whole-image annotation of a classifier's answer (body: category and category set)."""
    entry = next((e for e in labels if e.get("index") == label.index), None)
    if entry is None:
        raise InferenceError(f"model: class {label.index} has no entry in ml:labels")
    data = {
        "target": {
            "width": width,
            "height": height,
            "selector": {"type": "box", "box": [0, 0, width, height]},
        },
        "body": {
            "category": entry.get("category") or entry["name"],
            "category_set": entry.get("category_set") or "herbarium",
        },
        "motivation": "classifying",
    }
    return data


def _write_labels(record, recid, todo, arrays, model: LoadedModel, pipeline, job_id) -> int:
    """A classifier: one whole-image annotation per image whose best class reaches the
    threshold, in the pipeline's category set."""
    labels = model.runtime.classify(
        arrays, batch_size=current_app.config["MLMODELS_INFERENCE_BATCH_SIZE"]
    )
    categories = current_annotations.category_sets.get(pipeline.category_set, {})
    annotations = []
    for (target, checksum), label in zip(todo, labels, strict=True):
        if label.score < pipeline.threshold:
            continue
        data = label_annotation(model.labels, label, target.width, target.height)
        _place(data, categories, pipeline, recid, target.key, checksum)
        annotations.append(_machine_annotation(data, model, job_id, label.score))
    return _store_annotations(record, annotations)


def text_annotation(line, width: int, height: int) -> dict:
    """The annotation of one recognised text line (polygon clamped to the image)."""
    ring = []
    for x, y in line.polygon:
        ring += [round(min(max(x, 0.0), width), 2), round(min(max(y, 0.0), height), 2)]
    xs, ys = ring[0::2], ring[1::2]
    box = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
    return {
        "target": {
            "width": width,
            "height": height,
            "selector": {"type": "polygon", "polygon": [ring], "box": box},
        },
        "body": {"text": {"value": line.text}},
        "motivation": "describing",
    }


def _write_text(record, recid, todo, arrays, model: LoadedModel, pipeline, job_id) -> int:
    """A text-recognition model: one text annotation per line read."""
    annotations = []
    for (target, checksum), lines in zip(todo, model.runtime.read(arrays), strict=True):
        for line in lines:
            data = text_annotation(line, target.width, target.height)
            data["target"].update({"record": recid, "file": target.key})
            data["attributes"] = {"file_checksum": checksum}
            annotations.append(_machine_annotation(data, model, job_id, line.score))
    return _store_annotations(record, annotations)


def _write_embeddings(record, recid, todo, arrays, model: LoadedModel, pipeline, job_id) -> int:
    """A feature extractor: one embedding per image, stored and put in the k-NN index."""
    vectors = model.runtime.embed(
        arrays, batch_size=current_app.config["MLMODELS_INFERENCE_BATCH_SIZE"]
    )
    rows = [
        {
            "record_id": recid,
            "file_key": target.key,
            "file_checksum": checksum,
            "model_record": model.record,
            "model_version": model.version,
            "job_id": job_id,
            "vector": vector,
        }
        for (target, checksum), vector in zip(todo, vectors, strict=True)
    ]
    embeddings.store_embeddings(rows)
    # Index before the commit: a failed indexing rolls the rows back (the record is retried),
    # and a failed commit leaves index documents that the retry overwrites (same ids).
    embeddings.index_embeddings(rows)
    db.session.commit()
    return len(rows)


_WRITERS = {
    "semantic-segmentation": _write_masks,
    "object-detection": _write_objects,
    "instance-segmentation": _write_objects,
    "image-classification": _write_labels,
    "text-recognition": _write_text,
    "feature-extraction": _write_embeddings,
}
