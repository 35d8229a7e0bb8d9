"""Remote use of a model: predictions on an uploaded image, returned and never stored.

A segmentation model answers its mask, an object detector a box per object, an instance
segmenter a mask per object, a classifier a whole-image annotation with its most
probable class (when that reaches the threshold), a text-recognition model one text annotation
per line.

The answer is the annotations the model would have written, as a W3C AnnotationPage or a COCO
results list, about the uploaded file (not a repository record).
"""

import io

from flask import current_app
from invenio_rdm_records.proxies import current_rdm_records_service
from PIL import Image

from specimen_rdm_annotations.coco import write_coco
from specimen_rdm_annotations.interchange import ExportImage
from specimen_rdm_annotations.masks import mask_annotation
from specimen_rdm_annotations.proxies import current_annotations
from specimen_rdm_annotations.w3c import write_annotation_page

from .inference import (
    InferenceError,
    label_annotation,
    load_model,
    object_annotation,
    read_image,
    text_annotation,
)

FORMATS = ("w3c", "coco")
UPLOAD = "upload"


class UploadedImage:
    """The uploaded bytes, opened as a record file is."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def open_stream(self, mode: str):
        return io.BytesIO(self.data)


def predict(
    identity, model_id: str, data: bytes, filename: str, fmt: str, threshold: float = 0.5
) -> dict | list:
    """Run model record `model_id` (which `identity` may read) on one image; the annotations."""
    item = current_rdm_records_service.read(identity, model_id)
    record = item._record
    if not current_rdm_records_service.check_permission(identity, "read_files", record=record):
        raise InferenceError("model: you may not use this model's weights")
    if fmt not in FORMATS:
        raise InferenceError(f"format: '{fmt}' is not one of {', '.join(FORMATS)}")
    if len(data) > current_app.config["MLMODELS_PREDICT_MAX_BYTES"]:
        raise InferenceError(
            f"file: {len(data)} bytes is more than the limit of "
            f"{current_app.config['MLMODELS_PREDICT_MAX_BYTES']}"
        )
    try:
        Image.open(io.BytesIO(data)).verify()
    except Exception as error:
        raise InferenceError(f"file: not an image Pillow can read ({error})") from None
    pixels = read_image(UploadedImage(data), current_app.config["MLMODELS_MAX_IMAGE_PIXELS"])
    model = load_model(record, threshold, current_app.config["MLMODELS_DEVICE"])
    height, width = pixels.shape[:2]
    creator = {"type": "model", "model": model.reference()}
    category_set = "herbarium"
    if model.task == "feature-extraction":
        raise InferenceError(
            "model: a feature-extraction model predicts no annotations; "
            "search by image with POST /api/similar"
        )
    if model.task == "text-recognition":
        if fmt == "coco":
            raise InferenceError("format: COCO results cannot hold text; use format=w3c")
        [lines] = model.runtime.read([pixels])
        annotations = []
        for line in lines:
            data = text_annotation(line, width, height)
            data["target"].update({"record": UPLOAD, "file": filename})
            data.update({"score": round(line.score, 4), "creator": creator})
            annotations.append(data)
    elif model.task == "image-classification":
        [label] = model.runtime.classify([pixels], batch_size=1)
        data = label_annotation(model.labels, label, width, height)
        category_set = data["body"]["category_set"]
        annotations = []
        if label.score >= threshold:
            data["target"].update({"record": UPLOAD, "file": filename})
            data.update({"score": round(label.score, 4), "creator": creator})
            annotations.append(data)
    elif model.task in ("object-detection", "instance-segmentation"):
        [detections] = model.runtime.detect([pixels], batch_size=1)
        category_set = (model.labels or [{}])[0].get("category_set") or category_set
        annotations = []
        for detection in detections:
            data = object_annotation(model.labels, detection, width, height)
            data["target"].update({"record": UPLOAD, "file": filename})
            data.update({"score": round(detection.score, 4), "creator": creator})
            annotations.append(data)
    else:
        annotations, category_set = _mask_predictions(model, pixels, filename, creator)
    image = ExportImage(1, UPLOAD, filename, width, height, None)
    if fmt == "coco":
        categories = current_annotations.category_sets.get(category_set, {})
        ordered = sorted(categories.values(), key=lambda c: c.id)
        return write_coco([image], annotations, ordered, results=True)
    return write_annotation_page(
        image,
        [(f"prediction-{i + 1}", a) for i, a in enumerate(annotations)],
        f"{current_app.config['SITE_API_URL']}/models/{model_id}/predict",
        lambda annotation_id: f"urn:specimen-rdm:{annotation_id}",
    )


def _mask_predictions(model, pixels, filename: str, creator: dict) -> tuple[list[dict], str]:
    """The mask annotation of a segmentation model (none for an empty mask), its category set."""
    height, width = pixels.shape[:2]
    [prediction] = model.runtime.predict([pixels], batch_size=1)
    label = (model.labels or [{"index": 0, "name": "plant"}])[0]
    category = label.get("category") or label["name"]
    category_set = label.get("category_set") or "herbarium"
    if not prediction.mask.any():
        return [], category_set
    data = mask_annotation(prediction.mask, category)
    data["target"].update({"record": UPLOAD, "file": filename, "width": width, "height": height})
    data["body"]["category_set"] = category_set
    data.update(
        {
            "score": round(float(prediction.score), 4),
            "motivation": "classifying",
            "creator": creator,
        }
    )
    return [data], category_set
