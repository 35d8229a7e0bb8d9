"""Pipeline and training jobs as invenio-jobs runs (state, counts, progress, per-item errors).

Each job is a `Run` of the job type "ML pipeline" or "ML training", so it is listed in the
administration panel with the other jobs. The run's `args` hold what the job was asked to do
(`request`) and what it reports (`progress`, `errors`, `result`). The states the API shows:

SCHEDULED  created, not yet handed to a queue      RUNNING    a worker is on it
QUEUED     waiting on its Celery queue              COMPLETED  done (per-item errors listed)
FAILED     stopped by an error (message)            CANCELLED  stopped on request
"""

import uuid
from datetime import UTC, datetime

from invenio_db import db
from invenio_jobs.models import Run, RunStatusEnum

from specimen_rdm_specimens.import_jobs import job_row

PIPELINE_JOB = "specimen_ml_pipeline"
TRAINING_JOB = "specimen_ml_training"
MAX_REPORTED_ERRORS = 1000

_JOB_ROWS = {
    PIPELINE_JOB: ("ML pipeline", "A registered model pipeline run on records"),
    TRAINING_JOB: ("ML training", "Training of a model from annotated images"),
}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def create_job(kind: str, title: str, request: dict, user_id: int | None, queue: str) -> Run:
    """A new SCHEDULED run of `kind` (added to the session; the caller commits)."""
    name, description = _JOB_ROWS[kind]
    run = Run(
        id=uuid.uuid4(),
        job=job_row(kind, name, description, queue),
        started_by_id=user_id,
        status=RunStatusEnum.QUEUED,
        title=title,
        args={"request": request, "progress": {}, "errors": [], "result": {}},
        queue=queue,
    )
    db.session.add(run)
    return run


def mark_queued(run: Run, task_id: str) -> None:
    """The run was handed to its queue as Celery task `task_id`."""
    run.task_id = uuid.UUID(task_id)


def update_args(run: Run, **parts) -> None:
    """Replace parts of the run's `args` (a JSON column: reassigned so the change is saved)."""
    args = dict(run.args or {})
    args.update(parts)
    run.args = args


def add_error(run: Run, item: str, reason: str) -> None:
    """Record a per-item error (the first MAX_REPORTED_ERRORS are kept; all are counted)."""
    errors = list((run.args or {}).get("errors") or [])
    if len(errors) < MAX_REPORTED_ERRORS:
        errors.append({"item": item, "reason": reason})
    update_args(run, errors=errors)
    run.errored_entries = (run.errored_entries or 0) + 1


def start(run: Run) -> None:
    """A worker took the run."""
    run.status = RunStatusEnum.RUNNING
    run.started_at = run.started_at or _now()


def finish(run: Run, status: RunStatusEnum, message: str | None = None) -> None:
    """The run ended with `status`."""
    run.status = status
    run.message = message
    run.finished_at = _now()


def cancel_requested(run: Run) -> bool:
    """Whether someone asked to cancel the run (re-read from the database)."""
    db.session.refresh(run, ["status"])
    return run.status in (RunStatusEnum.CANCELLING, RunStatusEnum.CANCELLED)


def state(run: Run) -> str:
    """The run's state in the API's words."""
    status = run.status
    if status == RunStatusEnum.QUEUED:
        return "QUEUED" if run.task_id else "SCHEDULED"
    if status in (RunStatusEnum.SUCCESS, RunStatusEnum.PARTIAL_SUCCESS, RunStatusEnum.WARNING):
        return "COMPLETED"
    return {
        RunStatusEnum.RUNNING: "RUNNING",
        RunStatusEnum.FAILED: "FAILED",
        RunStatusEnum.CANCELLING: "CANCELLING",
        RunStatusEnum.CANCELLED: "CANCELLED",
    }[status]


def job_json(run: Run) -> dict:
    """The job resource: state, counts, progress, errors and result."""
    args = run.args or {}
    kind = "training" if run.job and run.job.task == TRAINING_JOB else "pipeline"
    return {
        "id": str(run.id),
        "type": kind,
        "title": run.title,
        "state": state(run),
        "message": run.message,
        "request": args.get("request", {}),
        "counts": {
            "total": run.total_entries,
            "done": run.inserted_entries + run.updated_entries,
            "annotated": run.inserted_entries,
            "unchanged": run.updated_entries,
            "errors": run.errored_entries,
        },
        "progress": args.get("progress", {}),
        "errors": args.get("errors", []),
        "result": args.get("result", {}),
        "created": run.created.isoformat() if run.created else None,
        "started": run.started_at.isoformat() if run.started_at else None,
        "finished": run.finished_at.isoformat() if run.finished_at else None,
        "started_by": run.started_by_id,
    }
