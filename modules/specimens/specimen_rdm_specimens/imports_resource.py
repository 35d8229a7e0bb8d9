"""REST API of specimen imports: `/api/specimens/imports`.

- `POST /specimens/imports` (multipart: `file`, optional `community`, `dry_run`): checks the
  archive's structure at once (a broken `meta.xml` is a 400 naming the file and the problem),
  then answers 202 with the queued import.
- `GET /specimens/imports/<id>`: state, counts and progress.
- `GET /specimens/imports/<id>/report`: one entry per row, as JSON or, with
  `Accept: text/csv`, as CSV.
"""

import csv
import io
import json
import tempfile
import uuid
from pathlib import Path

from flask import Blueprint, Response, current_app, g, jsonify, request, url_for
from flask_principal import Permission
from invenio_access.permissions import superuser_access
from invenio_db import db
from invenio_jobs.models import Run

from .darwin_core_archive import ArchiveError, open_source
from .import_jobs import JOB_TYPE_ID, imports_dir, report_rows, start_import, summary

ACCEPTED_SUFFIXES = (".zip", ".csv", ".tsv", ".txt")
REPORT_COLUMNS = (
    "file",
    "row",
    "core_id",
    "status",
    "record_id",
    "existing_record_id",
    "flags",
    "reasons",
)

blueprint = Blueprint("specimen_imports", __name__, url_prefix="/specimens/imports")


def _error(status: int, message: str, field: str | None = None):
    body = {"status": status, "message": message}
    if field:
        body["errors"] = [{"field": field, "messages": [message]}]
    return jsonify(body), status


def _links(run_id) -> dict:
    return {
        "self": url_for("specimen_imports.read", run_id=run_id, _external=True),
        "report": url_for("specimen_imports.report", run_id=run_id, _external=True),
    }


def _user_id() -> int | None:
    identity = getattr(g, "identity", None)
    user_id = getattr(identity, "id", None)
    return user_id if isinstance(user_id, int) else None


def _visible_run(run_id: str):
    """The run, or an error response when it does not exist or is not the caller's."""
    try:
        run = db.session.get(Run, uuid.UUID(run_id))
    except ValueError:
        run = None
    if run is None or run.job.task != JOB_TYPE_ID:
        return None, _error(404, f"No specimen import with id {run_id!r}.")
    user_id = _user_id()
    if user_id is None:
        return None, _error(401, "Log in or send an API token to read imports.")
    if run.started_by_id != user_id and not Permission(superuser_access).allows(g.identity):
        return None, _error(403, "This import belongs to another user.")
    return run, None


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


@blueprint.route("", methods=["POST"])
def create():
    """Queue an import of an uploaded Darwin Core Archive or CSV."""
    user_id = _user_id()
    if user_id is None:
        return _error(401, "Log in or send an API token to import specimens.")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _error(400, "Send the archive or CSV as the multipart field 'file'.", "file")
    if not upload.filename.lower().endswith(ACCEPTED_SUFFIXES):
        return _error(
            400,
            f"{upload.filename}: expected a Darwin Core Archive (.zip) or a CSV/TSV file.",
            "file",
        )
    staging = imports_dir() / "uploads"
    staging.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        dir=staging, suffix=Path(upload.filename).suffix, delete=False
    ) as stored:
        upload.save(stored)
    stored_path = Path(stored.name)
    limit = current_app.config["SPECIMEN_IMPORT_MAX_UNCOMPRESSED_BYTES"]
    try:
        with open_source(
            stored_path, max_uncompressed_bytes=limit, media_beside_csv=False
        ) as source:
            source.row_count()
    except ArchiveError as error:
        stored_path.unlink(missing_ok=True)
        return _error(400, f"{upload.filename}: {error}", "file")
    run = start_import(
        stored_path,
        upload.filename,
        user_id,
        community=request.form.get("community") or None,
        dry_run=_truthy(request.form.get("dry_run")),
    )
    body = {**summary(run), "links": _links(run.id)}
    current_app.logger.info("specimen import %s queued: %s", run.id, upload.filename)
    return jsonify(body), 202


@blueprint.route("/<run_id>", methods=["GET"])
def read(run_id: str):
    """State, counts and progress of an import."""
    run, error = _visible_run(run_id)
    if error:
        return error
    return jsonify({**summary(run), "links": _links(run.id)})


@blueprint.route("/<run_id>/report", methods=["GET"])
def report(run_id: str):
    """The per-row report, JSON or CSV."""
    run, error = _visible_run(run_id)
    if error:
        return error
    rows = list(report_rows(run))
    if request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv":
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=REPORT_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    **row,
                    "flags": " | ".join(row["flags"]),
                    "reasons": " | ".join(row["reasons"]),
                }
            )
        return Response(text.getvalue(), mimetype="text/csv")
    return Response(json.dumps({**summary(run), "rows": rows}), mimetype="application/json")


def create_blueprint(app) -> Blueprint:
    """The blueprint, for the `invenio_base.api_blueprints` entry point."""
    return blueprint
