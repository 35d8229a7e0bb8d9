"""Content-based image search: records whose images look like a record's image or an upload.

The query vector is the stored embedding of a record's image (`record=`), or the feature
model run on an uploaded image (nothing stored). Neighbours come from the k-NN index of that
model's embeddings; only records the caller may read are returned, one hit per record.
"""

from flask import current_app
from flask_principal import PermissionDenied
from invenio_rdm_records.proxies import current_rdm_records_service

from .builtin_models import builtin_record_id
from .embeddings import SimilarityError, nearest, readable, stored_vector
from .inference import InferenceError, load_model, read_image
from .prediction import UploadedImage

MAX_SIZE = 100


def _size(value) -> int:
    try:
        size = int(value)
    except (TypeError, ValueError):
        size = 0
    if not 1 <= size <= MAX_SIZE:
        raise SimilarityError("size", f"a whole number from 1 to {MAX_SIZE}")
    return size


def feature_model(model_id: str | None) -> str:
    """The model record whose embeddings are searched: `model_id`, or the configured default
    (a built-in id or a record id)."""
    if model_id:
        return model_id
    default = current_app.config["MLMODELS_SIMILARITY_MODEL"]
    resolved = builtin_record_id(default) or default
    if not resolved:
        raise SimilarityError("model", "no default feature model: pass model=<record id>")
    return resolved


def _answer(identity, model_id: str, query: dict, vector, size: int, exclude=None) -> dict:
    # Ask for more neighbours than wanted: some are other files of one record, or not readable.
    hits = nearest(vector, model_id, min(4 * size + 10, 1000), exclude)
    results = []
    for hit, record in readable(identity, hits)[:size]:
        results.append(
            {
                "record": hit.record,
                "file": hit.file,
                "similarity": hit.similarity,
                "title": record["metadata"].get("title"),
                "resource_type": (record["metadata"].get("resource_type") or {}).get("id"),
                "links": {
                    "self": record["links"].get("self"),
                    "self_html": record["links"].get("self_html"),
                },
            }
        )
    return {"model": model_id, "query": query, "total": len(results), "hits": results}


def similar_to_record(identity, recid: str, model_id: str | None, file_key, size) -> dict:
    """Records whose images are nearest to record `recid`'s image (`file_key` or its first)."""
    size = _size(size)
    try:
        current_rdm_records_service.read(identity, recid)
    except PermissionDenied:  # record or permission denied errors
        raise SimilarityError("record", f"you may not read record {recid}", status=403) from None
    except Exception:  # PIDDoesNotExist, deleted, a draft id...
        raise SimilarityError("record", f"no published record '{recid}'", status=404) from None
    model_id = feature_model(model_id)
    key, vector = stored_vector(recid, model_id, file_key)
    return _answer(identity, model_id, {"record": recid, "file": key}, vector, size, recid)


def similar_to_image(identity, data: bytes, model_id: str | None, size) -> dict:
    """Records whose images are nearest to an uploaded image (which is not stored)."""
    size = _size(size)
    model_id = feature_model(model_id)
    try:
        item = current_rdm_records_service.read(identity, model_id)
    except PermissionDenied:  # record or permission denied errors
        raise SimilarityError("model", f"you may not read model {model_id}", status=403) from None
    except Exception:
        raise SimilarityError("model", f"no published model record '{model_id}'", 404) from None
    record = item._record
    if not current_rdm_records_service.check_permission(identity, "read_files", record=record):
        raise SimilarityError("model", "you may not use this model's weights", status=403)
    if len(data) > current_app.config["MLMODELS_PREDICT_MAX_BYTES"]:
        raise SimilarityError(
            "file",
            f"{len(data)} bytes is more than the limit of "
            f"{current_app.config['MLMODELS_PREDICT_MAX_BYTES']}",
        )
    try:
        pixels = read_image(UploadedImage(data), current_app.config["MLMODELS_MAX_IMAGE_PIXELS"])
        model = load_model(record, 0.5, current_app.config["MLMODELS_DEVICE"])
    except InferenceError as error:
        field, _, reason = str(error).partition(": ")
        raise SimilarityError(field if field == "model" else "file", reason) from None
    if model.task != "feature-extraction":
        raise SimilarityError("model", f"{model_id} is a {model.task} model, not a feature model")
    [vector] = model.runtime.embed([pixels], batch_size=1)
    return _answer(identity, model_id, {"upload": True}, vector, size)
