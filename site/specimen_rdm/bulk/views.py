"""REST API of bulk deposit, under `/api/bulk` (token or session authentication).

- `POST /bulk/jobs` (body: JSON lines; `?community=`, `?dry_run=true`; header
  `Idempotency-Key`): 202 with the job; the same Idempotency-Key again returns the same job (200).
- `GET /bulk/jobs/<id>`: state, counts, progress.
- `POST /bulk/jobs/<id>/close`: every file was sent; items still missing one are rejected.
- `POST /bulk/jobs/<id>/cancel`: pending items are rejected as cancelled; published stay.
- `GET /bulk/jobs/<id>/records` (`?state=`, `?page=`, `?size=`, `?format=csv|json`): every
  submitted key with its outcome, paginated, or the whole list as a CSV or JSON download.
- `PUT /bulk/files/<sha256>` sends a small file (≤ the largest part size) in one request;
- `POST /bulk/files` `{sha256, size, part_size?}` declares an upload (idempotent);
  `GET /bulk/files/<sha256>` says which parts arrived; `PUT /bulk/files/<sha256>/parts/<n>`
  (header `X-Part-SHA256`) stores a part; `POST /bulk/files/<sha256>/complete` verifies and
  joins them; `POST /bulk/files` with a tar body (`Content-Type: application/x-tar`, members
  named by their SHA-256) sends several small files in one request, with one outcome each.

Every endpoint counts against the caller's rate limit (429 with `Retry-After`).
"""

import csv
import io
import uuid

from flask import Blueprint, Response, current_app, g, jsonify, request, url_for
from invenio_db import db

from . import batch_uploads, reconciliation, uploads
from .dry_run import dry_run
from .errors import BulkError, NotFound
from .job_runs import update_run
from .models import BulkItem, BulkJob, ItemState, JobState
from .rate_limit import hit
from .submission import create_job, job_by_token, parse_batch
from .tasks import queue_job

blueprint = Blueprint("specimen_bulk", __name__, url_prefix="/bulk")

MAX_PAGE_SIZE = 10_000
STATES = ("pending", "published", "rejected", "duplicate")


def _user_id() -> int:
    user_id = getattr(getattr(g, "identity", None), "id", None)
    if not isinstance(user_id, int):
        raise BulkError(
            "Send an API token (Authorization: Bearer ...) to use bulk deposit.", status=401
        )
    return user_id


@blueprint.before_request
def _rate_limit():
    identity_id = getattr(getattr(g, "identity", None), "id", None)
    caller = f"user:{identity_id}" if isinstance(identity_id, int) else f"ip:{request.remote_addr}"
    wait = hit(caller)
    if wait is not None:
        response = jsonify(
            {
                "status": 429,
                "message": f"Too many bulk requests; try again in {wait} s.",
            }
        )
        response.status_code = 429
        response.headers["Retry-After"] = str(wait)
        return response
    return None


@blueprint.errorhandler(BulkError)
def _bulk_error(error: BulkError):
    db.session.rollback()
    return jsonify(error.to_json()), error.status


def _job(job_id: str) -> BulkJob:
    try:
        job = db.session.get(BulkJob, uuid.UUID(job_id))
    except ValueError:
        job = None
    if job is None or job.owner_id != _user_id():
        raise NotFound(f"No bulk job with id {job_id!r} for this user.")
    return job


def job_json(job: BulkJob) -> dict:
    """State, counts, progress and links of a job."""
    counts = reconciliation.counts(db.session, job)
    done = counts["total"] - counts["pending"]
    return {
        "id": str(job.id),
        "state": job.state,
        "community": job.community,
        "created": job.created.isoformat(),
        "updated": job.updated.isoformat(),
        "finished": job.finished.isoformat() if job.finished else None,
        "counts": counts,
        "progress": round(done / counts["total"], 4) if counts["total"] else 1.0,
        "links": {
            "self": url_for("specimen_bulk.read_job", job_id=job.id, _external=True),
            "records": url_for("specimen_bulk.job_records", job_id=job.id, _external=True),
            "close": url_for("specimen_bulk.close_job", job_id=job.id, _external=True),
            "files": url_for("specimen_bulk.declare_file", _external=True),
        },
    }


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


@blueprint.route("/jobs", methods=["POST"])
def submit_job():
    """Submit a batch (JSON lines); 202 with the job."""
    owner_id = _user_id()
    token = request.headers.get("Idempotency-Key") or None
    if token and len(token) > 255:
        raise BulkError("Idempotency-Key is longer than 255 characters.")
    existing = job_by_token(owner_id, token)
    if existing is not None:
        return jsonify(job_json(existing)), 200
    records = parse_batch(request.get_data(cache=False))
    community = request.args.get("community") or None
    if _truthy(request.args.get("dry_run")):
        return jsonify(dry_run(owner_id, records, community)), 200
    job = create_job(owner_id, records, community, token)
    parallel = current_app.config["SPECIMEN_BULK_JOB_PARALLELISM"]
    queue_job(job.id, chains=parallel)
    return jsonify(job_json(job)), 202


@blueprint.route("/jobs/<job_id>", methods=["GET"])
def read_job(job_id):
    """State and counts of a job."""
    return jsonify(job_json(_job(job_id)))


@blueprint.route("/jobs/<job_id>/close", methods=["POST"])
def close_job(job_id):
    """Every file was sent: the job finishes once the items with files are processed."""
    job = _job(job_id)
    if job.state == JobState.OPEN.value:
        job.state = JobState.CLOSED.value
        db.session.commit()
        queue_job(job.id)
    return jsonify(job_json(job))


@blueprint.route("/jobs/<job_id>/cancel", methods=["POST"])
def cancel_job(job_id):
    """Stop a job: its pending items are rejected; published records stay published."""
    job = _job(job_id)
    if job.state in (JobState.OPEN.value, JobState.CLOSED.value):
        job.state = JobState.CANCELLED.value
        BulkItem.query.filter_by(job_id=job.id, state=ItemState.PENDING.value).filter(
            BulkItem.original_id.is_(None)
        ).update({"state": ItemState.REJECTED.value, "reasons": ["the job was cancelled"]})
        update_run(job, reconciliation.counts(db.session, job))
        db.session.commit()
    return jsonify(job_json(job))


def _page_args() -> tuple[int, int, str | None]:
    try:
        page = int(request.args.get("page", 1))
        size = int(request.args.get("size", 1000))
    except ValueError as error:
        raise BulkError("page and size must be whole numbers.") from error
    if page < 1 or not 1 <= size <= MAX_PAGE_SIZE:
        raise BulkError(f"page must be ≥ 1 and size between 1 and {MAX_PAGE_SIZE}.")
    state = request.args.get("state") or None
    if state and state not in STATES:
        raise BulkError(f"state must be one of {', '.join(STATES)}.")
    return page, size, state


def _download_format() -> str | None:
    """`csv` or `json` for a whole-list download (`?format=`, or `Accept: text/csv`), else None
    for a page of JSON."""
    fmt = request.args.get("format")
    if fmt and fmt not in ("csv", "json"):
        raise BulkError("format must be csv or json.")
    if fmt:
        return fmt
    best = request.accept_mimetypes.best_match(["application/json", "text/csv"])
    return "csv" if best == "text/csv" else None


@blueprint.route("/jobs/<job_id>/records", methods=["GET"])
def job_records(job_id):
    """Every submitted key with its outcome (paginated JSON, or the whole list as a download)."""
    job = _job(job_id)
    page, size, state = _page_args()
    fmt = _download_format()
    if fmt:
        everything = reconciliation.rows(db.session, job, state)
        if fmt == "json":
            response = jsonify({"job": str(job.id), "records": everything})
            response.headers["Content-Disposition"] = f"attachment; filename=bulk-{job.id}.json"
            return response
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=reconciliation.COLUMNS)
        writer.writeheader()
        for row in everything:
            writer.writerow(
                {**row, "flags": "|".join(row["flags"]), "reasons": " | ".join(row["reasons"])}
            )
        return Response(
            out.getvalue(),
            mimetype="text/csv",
            headers={"Content-Disposition": f"attachment; filename=bulk-{job.id}.csv"},
        )
    hits = reconciliation.rows(db.session, job, state, offset=(page - 1) * size, limit=size)
    counts = reconciliation.counts(db.session, job)
    total = counts[state] if state else counts["total"]
    links = {}
    if page * size < total:
        links["next"] = url_for(
            "specimen_bulk.job_records", job_id=job.id, page=page + 1, size=size,
            _external=True, **({"state": state} if state else {}),
        )  # fmt: skip
    return jsonify({"hits": {"total": total, "hits": hits}, "links": links})


@blueprint.route("/files", methods=["POST"])
def declare_file():
    """Declare an upload by SHA-256 and size; its status (which parts arrived). With a tar
    body: store several whole files, each named by its SHA-256; the outcome of each."""
    owner_id = _user_id()
    if request.mimetype in batch_uploads.TAR_TYPES:
        results = batch_uploads.receive_tar(owner_id, request.stream, request.content_length)
        return jsonify({"files": results}), 200
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BulkError("Send a JSON object {sha256, size, part_size?}.")
    upload = uploads.declare(owner_id, body.get("sha256"), body.get("size"), body.get("part_size"))
    return jsonify(_file_json(upload)), 200


def _file_json(upload) -> dict:
    value = uploads.status(upload)
    value["links"] = {
        "self": url_for("specimen_bulk.read_file", sha256=upload.sha256, _external=True),
        "complete": url_for("specimen_bulk.complete_file", sha256=upload.sha256, _external=True),
    }
    return value


@blueprint.route("/files/<sha256>", methods=["GET"])
def read_file(sha256):
    """Which parts of an upload arrived."""
    return jsonify(_file_json(uploads.get_upload(_user_id(), sha256)))


@blueprint.route("/files/<sha256>", methods=["PUT"])
def put_file(sha256):
    """A whole (small) file in one request: declared, stored and verified."""
    upload = uploads.receive_whole(_user_id(), sha256, request.content_length, request.stream)
    return jsonify(_file_json(upload))


@blueprint.route("/files/<sha256>/parts/<int:number>", methods=["PUT"])
def put_part(sha256, number):
    """Store one part (checked against X-Part-SHA256 and the expected size)."""
    upload = uploads.get_upload(_user_id(), sha256)
    value = uploads.receive_part(
        upload, number, request.stream, request.headers.get("X-Part-SHA256")
    )
    return jsonify(value)


@blueprint.route("/files/<sha256>/complete", methods=["POST"])
def complete_file(sha256):
    """Join the parts and verify the whole file."""
    upload = uploads.get_upload(_user_id(), sha256)
    uploads.complete(upload)
    return jsonify(_file_json(upload))


def create_blueprint(app):
    """The bulk API blueprint (registered through `invenio_base.api_blueprints`)."""
    return blueprint
