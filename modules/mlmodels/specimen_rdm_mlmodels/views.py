"""REST API of models, pipelines and ML jobs (under `/api`).

- `GET /models?q=&metric=iou&min=0.5&dataset=<record id>&split=test&use_case=…&sort=metric|
  suitability`: model records with a metric entry meeting all of that, with their suitability
  for the use case (docs/ml-models.md).
- `PUT /models/<id>/rating` `{"value": 1..5, "comment": …}`, `DELETE /models/<id>/rating`,
  `GET /models/<id>/ratings` (ratings, Bayesian average, suitability per use case).
- `POST /models/<id>/predict?format=w3c|coco&threshold=0.5` (body: the image, raw or as
  multipart `file`):
  the model's predictions on the image; nothing is stored.
- `GET /models/<id>/analysed-records`: the records this model (any version) has annotated.
- `GET /similar?record=<id>&file=<key>&model=<id>&size=20`: records whose images look like the
  record's image (its stored embedding); `POST /similar?model=&size=` with an image (raw body or
  multipart `file`): records that look like the upload, which is not stored.
- `GET /ml/pipelines`: the registered pipelines.
- `POST /ml/jobs` `{"type": "pipeline", "pipeline": name, "q": record query}` (administrators)
  or `{"type": "training", "task", "category" (semantic segmentation) | "categories"
  (classification: two or more; object detection, instance segmentation: one or more),
  "dataset" | "annotations", "base_model", "hyperparameters", "title", "license", "creators",
  "new_version_of", "device"}`: 202 with the job.
- `GET /ml/jobs?record=<id>&pipeline=<name>&size=50`: jobs, newest first (administrators see
  every job, including those started on publish; others see the jobs they started).
- `GET /ml/jobs/<id>`: state, counts, progress, per-item errors, result (the draft model record).
- `POST /ml/jobs/<id>/cancel`.
"""

import uuid

from flask import Blueprint, current_app, g, jsonify, request
from invenio_access import Permission
from invenio_access.permissions import superuser_access
from invenio_db import db
from invenio_jobs.models import Job, Run, RunStatusEnum
from invenio_rdm_records.proxies import current_rdm_records_service
from invenio_records_resources.services.errors import PermissionDeniedError
from invenio_rest.csrf import csrf
from sqlalchemy import func
from sqlalchemy.orm.exc import NoResultFound

from specimen_rdm_annotations.annotation_export import select_annotations

from . import ml_jobs
from .base_model import check_base_model
from .custom_fields import MODEL_RESOURCE_TYPE
from .embeddings import SimilarityError
from .inference import InferenceError
from .model_search import ModelSearchError, search_models
from .pipeline_registry import PipelineRegistryError
from .prediction import predict
from .proxies import current_mlmodels
from .ratings import RatingError, rate, rating_summary, ratings_of, unrate
from .similarity import similar_to_image, similar_to_record
from .suitability import model_scores, suitability
from .tasks import schedule_pipeline_job, schedule_training_job
from .torchvision_detectors import DETECTORS
from .training_data import TrainingDataError
from .training_jobs import CONFIG_OF_TASK, DETECTION_TASKS

blueprint = Blueprint("specimen_mlmodels", __name__)

TRAINABLE_TASKS = tuple(CONFIG_OF_TASK)
MIN_CATEGORIES = {"image-classification": 2, "object-detection": 1, "instance-segmentation": 1}
"""Tasks that learn `categories` (a list), and how many they need at least."""


class MLRequestError(Exception):
    """A request the API refuses: HTTP status, field and reason."""

    def __init__(self, status: int, field: str | None, reason: str) -> None:
        """Error `status` about `field` (None: about the request as a whole)."""
        super().__init__(reason)
        self.status, self.field, self.reason = status, field, reason

    def to_json(self) -> dict:
        """InvenioRDM's error shape: status, message, errors [{field, messages}]."""
        body = {"status": self.status, "message": self.reason}
        if self.field:
            body["message"] = "A validation error occurred."
            body["errors"] = [{"field": self.field, "messages": [self.reason]}]
        return body


@blueprint.errorhandler(MLRequestError)
def _request_error(error: MLRequestError):
    db.session.rollback()
    return jsonify(error.to_json()), error.status


@blueprint.errorhandler(InferenceError)
def _inference_error(error: InferenceError):
    field, _, reason = str(error).partition(": ")
    return _request_error(MLRequestError(400, field, reason or str(error)))


@blueprint.errorhandler(SimilarityError)
def _similarity_error(error: SimilarityError):
    return _request_error(MLRequestError(error.status, error.field, error.reason))


@blueprint.errorhandler(PipelineRegistryError)
def _registry_error(error: PipelineRegistryError):
    message = f"The pipeline registry is broken ({error}); an administrator must fix it."
    return _request_error(MLRequestError(500, None, message))


@blueprint.errorhandler(PermissionDeniedError)
def _denied(error):
    return _request_error(MLRequestError(403, None, "You may not use this model."))


@blueprint.errorhandler(NoResultFound)
def _no_record(error):
    return _request_error(MLRequestError(404, None, "No such model record."))


def _user_id() -> int:
    user_id = getattr(getattr(g, "identity", None), "id", None)
    if not isinstance(user_id, int):
        raise MLRequestError(401, None, "Log in or send an API token to use ML jobs.")
    return user_id


def _is_admin() -> bool:
    return Permission(superuser_access).allows(g.identity)


@blueprint.errorhandler(ModelSearchError)
def _search_error(error: ModelSearchError):
    return _request_error(MLRequestError(400, error.field, error.reason))


def _suitability(hit: dict, use_case) -> dict:
    concept = (hit.get("parent") or {}).get("id") or hit["id"]
    weight = current_app.config["MLMODELS_SUITABILITY_METRIC_WEIGHT"]
    return suitability(hit.get("custom_fields") or {}, use_case, rating_summary(concept), weight)


@blueprint.route("/models", methods=["GET"])
def models():
    """Model records, filtered by task/keywords (q), metric threshold and use case."""
    found = search_models(
        g.identity, request.args.to_dict(), current_mlmodels.use_cases, _suitability
    )
    return jsonify(found)


def _concept(model_id: str) -> tuple[dict, str]:
    """The model record (read permission checked) and its concept id."""
    item = current_rdm_records_service.read(g.identity, model_id).to_dict()
    if (item["metadata"].get("resource_type") or {}).get("id") != MODEL_RESOURCE_TYPE:
        raise MLRequestError(404, None, f"Record {model_id} is not a model.")
    return item, item["parent"]["id"]


@blueprint.route("/models/<model_id>/rating", methods=["PUT"])
def put_rating(model_id: str):
    """Rate the model (1–5, optional comment); one rating per user, replaced on each PUT."""
    user_id = _user_id()
    _, concept = _concept(model_id)
    body = request.get_json(silent=True) or {}
    try:
        rate(concept, user_id, body.get("value"), body.get("comment"))
    except RatingError as error:
        raise MLRequestError(400, error.field, error.reason) from None
    return jsonify({"model": model_id, "concept": concept, **rating_summary(concept)})


@blueprint.route("/models/<model_id>/rating", methods=["DELETE"])
def delete_rating(model_id: str):
    """Withdraw the caller's rating."""
    user_id = _user_id()
    _, concept = _concept(model_id)
    if not unrate(concept, user_id):
        raise MLRequestError(404, None, "You have not rated this model.")
    return "", 204


@blueprint.route("/models/<model_id>/ratings", methods=["GET"])
def get_ratings(model_id: str):
    """The model's ratings, their summary and its suitability for each of its use cases."""
    item, concept = _concept(model_id)
    scores = model_scores(
        item, current_mlmodels.use_cases, current_app.config["MLMODELS_SUITABILITY_METRIC_WEIGHT"]
    )
    return jsonify(
        {
            "model": model_id,
            "concept": concept,
            "summary": scores["rating"],
            "ratings": ratings_of(concept),
            "suitability": scores["suitability"],
        }
    )


@blueprint.route("/models/<model_id>/predict", methods=["POST"])
# A prediction changes nothing and stores nothing: a forged cross-site request gains nothing, and
# clients without a session or token (scripts, notebooks) can call it.
@csrf.exempt
def predict_view(model_id: str):
    """Predictions on the posted image; nothing is stored."""
    upload = request.files.get("file")
    data = upload.read() if upload else request.get_data()
    if not data:
        raise MLRequestError(400, "file", "send the image as the body or as multipart 'file'")
    filename = (upload.filename if upload else None) or request.args.get("filename", "image")
    fmt = request.args.get("format", "w3c")
    try:
        threshold = float(request.args.get("threshold", 0.5))
    except ValueError:
        threshold = -1.0
    if not 0 < threshold < 1:
        raise MLRequestError(400, "threshold", "a number between 0 and 1")
    return jsonify(predict(g.identity, model_id, data, filename, fmt, threshold))


@blueprint.route("/models/<model_id>/analysed-records", methods=["GET"])
def analysed_records(model_id: str):
    """Records with annotations by this model, as far as the caller may see them."""
    query = f'creator.type:model AND creator.model.record:"{model_id}"'
    found = select_annotations(g.identity, {"q": query})
    by_record: dict[str, set[str]] = {}
    for annotation in found:
        version = (annotation.get("creator") or {}).get("model", {}).get("version")
        by_record.setdefault(annotation["target"]["record"], set()).add(version)
    records = [
        {"record": recid, "model_versions": sorted(v for v in versions if v)}
        for recid, versions in sorted(by_record.items())
    ]
    return jsonify({"model": model_id, "total": len(records), "records": records})


@blueprint.route("/similar", methods=["GET"])
def similar_records():
    """Records whose images are nearest to a record's image."""
    recid = request.args.get("record")
    if not recid:
        raise MLRequestError(400, "record", "the id of the record to compare with")
    args = request.args
    return jsonify(
        similar_to_record(
            g.identity, recid, args.get("model"), args.get("file"), args.get("size", 20)
        )
    )


@blueprint.route("/similar", methods=["POST"])
# A search by example stores nothing (as predict).
@csrf.exempt
def similar_to_upload():
    """Records whose images are nearest to the posted image; the image is not stored."""
    upload = request.files.get("file")
    data = upload.read() if upload else request.get_data()
    if not data:
        raise MLRequestError(400, "file", "send the image as the body or as multipart 'file'")
    args = request.args
    return jsonify(similar_to_image(g.identity, data, args.get("model"), args.get("size", 20)))


@blueprint.route("/ml/pipelines", methods=["GET"])
def pipelines():
    """The registered pipelines."""
    registry = current_mlmodels.registry.pipelines()
    return jsonify(
        {
            "pipelines": [
                {
                    "name": p.name,
                    "model": {
                        "record": p.model_record,
                        "latest_of": p.model_latest_of,
                        "builtin": p.model_builtin,
                    },
                    "applies_to": {
                        "resource_types": list(p.resource_types),
                        "community": p.community,
                        "query": p.query,
                    },
                    "writes": p.writes,
                    "on_publish": p.on_publish,
                }
                for p in registry.values()
            ]
        }
    )


def _training_request(body: dict) -> dict:
    task = body.get("task")
    if task not in TRAINABLE_TASKS:
        raise MLRequestError(400, "task", f"training supports {', '.join(TRAINABLE_TASKS)}")
    if task in MIN_CATEGORIES:
        categories, least = body.get("categories"), MIN_CATEGORIES[task]
        if (
            not isinstance(categories, list)
            or len(set(categories)) < least
            or not all(isinstance(name, str) and name for name in categories)
            or len(set(categories)) != len(categories)
        ):
            what = "two or more different" if least == 2 else "one or more different"
            raise MLRequestError(
                400, "categories", f"a {task} training needs {what} annotation categories (a list)"
            )
    elif not body.get("category"):
        raise MLRequestError(400, "category", "name the annotation category to learn")
    if bool(body.get("dataset")) == bool(body.get("annotations")):
        raise MLRequestError(
            400, "dataset", "give either a dataset record id or an annotations query"
        )
    if "base_model" in body:
        if not isinstance(body["base_model"], str) or not body["base_model"]:
            raise MLRequestError(400, "base_model", "the id of a published model record")
        try:
            base = check_base_model(g.identity, body["base_model"], task)
        except TrainingDataError as error:
            raise MLRequestError(400, error.field, error.reason) from None
        base_architecture = (base.get("custom_fields") or {}).get("ml:architecture")
        wanted = (body.get("hyperparameters") or {}).get("architecture", base_architecture)
        if task in DETECTION_TASKS and wanted != base_architecture:
            raise MLRequestError(
                400,
                "base_model",
                f"a {base_architecture} model cannot start a {wanted} training",
            )
    hyperparameters = body.get("hyperparameters") or {}
    config_class = CONFIG_OF_TASK[task]
    known = set(config_class.__dataclass_fields__) - {"device"}
    unknown = sorted(set(hyperparameters) - known)
    if unknown:
        raise MLRequestError(
            400, "hyperparameters", f"unknown {unknown}; known: {', '.join(sorted(known))}"
        )
    try:
        config_class(**hyperparameters)
    except (TypeError, ValueError) as error:
        raise MLRequestError(400, "hyperparameters", str(error)) from None
    architecture = hyperparameters.get("architecture")
    if task in DETECTION_TASKS and architecture in DETECTORS and DETECTORS[architecture][0] != task:
        raise MLRequestError(
            400, "hyperparameters", f"architecture {architecture} is not a {task} model"
        )
    if body.get("device", "auto") not in ("auto", "cpu", "cuda"):
        raise MLRequestError(400, "device", "one of auto, cpu, cuda")
    allowed = {
        "task",
        "category",
        "categories",
        "base_model",
        "category_set",
        "dataset",
        "annotations",
        "hyperparameters",
        "title",
        "license",
        "creators",
        "use_cases",
        "intended_use",
        "new_version_of",
        "device",
    }
    return {key: value for key, value in body.items() if key in allowed}


@blueprint.route("/ml/jobs", methods=["POST"])
def create_job():
    """Start a pipeline job (administrators) or a training job."""
    user_id = _user_id()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise MLRequestError(400, None, "send a JSON object")
    kind = body.get("type")
    if kind == "pipeline":
        if not _is_admin():
            raise MLRequestError(403, None, "Only administrators start pipeline jobs.")
        pipeline = current_mlmodels.registry.get(body.get("pipeline") or "")
        if pipeline is None:
            raise MLRequestError(400, "pipeline", f"'{body.get('pipeline')}' is not registered")
        target = {"record": body["record"]} if body.get("record") else {"q": body.get("q", "")}
        run = schedule_pipeline_job(pipeline, target, user_id)
    elif kind == "training":
        run = schedule_training_job(_training_request(body), user_id)
    else:
        raise MLRequestError(400, "type", "one of pipeline, training")
    return jsonify(ml_jobs.job_json(run)), 202


def _run(job_id: str) -> Run:
    user_id = _user_id()
    try:
        run = db.session.get(Run, uuid.UUID(job_id))
    except ValueError:
        run = None
    kinds = (ml_jobs.PIPELINE_JOB, ml_jobs.TRAINING_JOB)
    if run is None or run.job is None or run.job.task not in kinds:
        raise MLRequestError(404, None, f"No ML job with id {job_id!r}.")
    if run.started_by_id != user_id and not _is_admin():
        raise MLRequestError(404, None, f"No ML job with id {job_id!r}.")
    return run


@blueprint.route("/ml/jobs", methods=["GET"])
def list_jobs():
    """ML jobs, newest first: on one record, of one pipeline."""
    user_id = _user_id()
    try:
        size = int(request.args.get("size", 50))
    except ValueError:
        size = 0
    if not 1 <= size <= 500:
        raise MLRequestError(400, "size", "a whole number from 1 to 500")
    query = Run.query.join(Run.job).filter(
        Job.task.in_((ml_jobs.PIPELINE_JOB, ml_jobs.TRAINING_JOB))
    )
    if not _is_admin():
        query = query.filter(Run.started_by_id == user_id)
    for name in ("record", "pipeline"):
        if request.args.get(name):
            value = func.jsonb_extract_path_text(Run.args, "request", name)
            query = query.filter(value == request.args[name])
    runs = query.order_by(Run.created.desc()).limit(size).all()
    return jsonify({"total": len(runs), "hits": [ml_jobs.job_json(run) for run in runs]})


@blueprint.route("/ml/jobs/<job_id>", methods=["GET"])
def read_job(job_id: str):
    """The job's state, counts, progress, errors and result."""
    return jsonify(ml_jobs.job_json(_run(job_id)))


@blueprint.route("/ml/jobs/<job_id>/cancel", methods=["POST"])
def cancel_job(job_id: str):
    """Ask the job to stop (a queued job stops before it starts, a running one between items)."""
    run = _run(job_id)
    if run.finished_at is None:
        run.status = RunStatusEnum.CANCELLING
        db.session.commit()
    return jsonify(ml_jobs.job_json(run)), 202


def create_blueprint(app):
    """The blueprint, registered under /api through `invenio_base.api_blueprints`."""
    return blueprint
