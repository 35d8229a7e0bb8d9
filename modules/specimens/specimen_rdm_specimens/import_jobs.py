"""Asynchronous specimen imports as invenio-jobs runs.

An upload is stored under `SPECIMEN_IMPORTS_DIR/<run id>/` (a folder every web and worker node
shares in production), an invenio-jobs `Run` of the "Specimen import" job tracks its state and
counters (visible in the administration panel with the other jobs), and a Celery task imports
the rows, appending one JSON line per row to `report.jsonl` and rewriting `summary.json` with
the counts as it goes.
"""

import json
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

from celery import shared_task
from flask import current_app
from invenio_accounts.models import User
from invenio_db import db
from invenio_jobs.jobs import JobType
from invenio_jobs.models import Job, Run, RunStatusEnum

from .archive_import import ImportCounts, SpecimenImporter, depositor_identity
from .darwin_core_archive import ArchiveError

JOB_TYPE_ID = "specimen_import"
PROGRESS_EVERY = 25
"""Rows between two updates of the counters."""

STATES = {
    RunStatusEnum.QUEUED: "queued",
    RunStatusEnum.RUNNING: "running",
    RunStatusEnum.SUCCESS: "finished",
    RunStatusEnum.PARTIAL_SUCCESS: "finished",
    RunStatusEnum.FAILED: "failed",
    RunStatusEnum.CANCELLED: "cancelled",
    RunStatusEnum.CANCELLING: "cancelling",
    RunStatusEnum.WARNING: "finished",
}


def imports_dir() -> Path:
    """Where uploads and reports live."""
    configured = current_app.config.get("SPECIMEN_IMPORTS_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "imports"


def run_dir(run_id) -> Path:
    """The folder of one import."""
    return imports_dir() / str(run_id)


def job_row(task: str, title: str, description: str, queue: str) -> Job:
    """The invenio-jobs Job that runs of `task` belong to (created, inactive, the first time):
    runs are started by uploads and submissions, never by the scheduler."""
    job = Job.query.filter_by(task=task).one_or_none()
    if job is None:
        job = Job(
            id=uuid.uuid4(),
            title=title,
            description=description,
            task=task,
            default_queue=queue,
            active=False,
        )
        db.session.add(job)
    return job


def _job() -> Job:
    return job_row(
        JOB_TYPE_ID,
        "Specimen import",
        "Darwin Core Archive / CSV import of specimen records",
        "celery",
    )


def start_import(upload: Path, filename: str, user_id: int, *, community=None, dry_run=False):
    """Move an uploaded file into a new import's folder, queue the import; the Run."""
    run_id = uuid.uuid4()
    folder = run_dir(run_id)
    folder.mkdir(parents=True)
    source = folder / Path(filename).name
    shutil.move(str(upload), source)
    args = {"source": str(source), "community": community, "dry_run": dry_run}
    run = Run(
        id=run_id,
        job=_job(),
        started_by_id=user_id,
        status=RunStatusEnum.QUEUED,
        title=f"Import of {source.name}",
        args=args,
        queue="celery",
    )
    db.session.add(run)
    db.session.commit()
    import_specimens.delay(str(run_id))
    return run


def summary(run: Run) -> dict:
    """State, counts and progress of an import."""
    path = run_dir(run.id) / "summary.json"
    counts = json.loads(path.read_text()) if path.exists() else asdict_counts(ImportCounts())
    total = counts.get("total") or 0
    return {
        "id": str(run.id),
        "state": STATES.get(run.status, run.status.name.lower()),
        "source": Path(run.args.get("source", "")).name,
        "dry_run": bool(run.args.get("dry_run")),
        "community": run.args.get("community"),
        "created": run.created.isoformat() if run.created else None,
        "started": run.started_at.isoformat() if run.started_at else None,
        "finished": run.finished_at.isoformat() if run.finished_at else None,
        "counts": counts,
        "progress": round(counts.get("processed", 0) / total, 4) if total else 0.0,
        "message": run.message,
    }


def asdict_counts(counts: ImportCounts) -> dict:
    """The counters as JSON."""
    return dict(counts.__dict__)


def report_rows(run: Run):
    """The per-row report lines of an import."""
    path = run_dir(run.id) / "report.jsonl"
    if not path.exists():
        return
    with path.open() as lines:
        for line in lines:
            yield json.loads(line)


def _write_summary(folder: Path, counts: ImportCounts) -> None:
    temporary = folder / "summary.json.tmp"
    temporary.write_text(json.dumps(asdict_counts(counts)))
    temporary.replace(folder / "summary.json")


def _set_run(run_id, **values) -> None:
    run = db.session.get(Run, run_id)
    for key, value in values.items():
        setattr(run, key, value)
    db.session.commit()


@shared_task(ignore_result=True)
def import_specimens(run_id: str) -> None:
    """Import the source of a queued run, as the user who uploaded it."""
    run = db.session.get(Run, uuid.UUID(run_id))
    # Plain values only from here on: the importer empties the session after every row.
    run_id, args, user_id = run.id, dict(run.args), run.started_by_id
    folder = run_dir(run_id)
    identity = depositor_identity(db.session.get(User, user_id))
    importer = SpecimenImporter(
        identity, community=args.get("community"), dry_run=bool(args.get("dry_run"))
    )
    counts = ImportCounts()
    _set_run(run_id, status=RunStatusEnum.RUNNING, started_at=datetime.now(UTC))
    _write_summary(folder, counts)
    try:
        with (folder / "report.jsonl").open("w") as report:
            rows = importer.rows(Path(args["source"]), counts, media_beside_csv=False)
            for row in rows:
                report.write(json.dumps(row.to_json()) + "\n")
                if counts.processed % PROGRESS_EVERY == 0:
                    report.flush()
                    _write_summary(folder, counts)
                    _set_run(run_id, **_counters(counts))
    except ArchiveError as error:
        _write_summary(folder, counts)
        _set_run(
            run_id,
            status=RunStatusEnum.FAILED,
            finished_at=datetime.now(UTC),
            message=str(error),
        )
        return
    except Exception as error:
        db.session.rollback()
        _write_summary(folder, counts)
        _set_run(
            run_id,
            status=RunStatusEnum.FAILED,
            finished_at=datetime.now(UTC),
            message=f"import stopped at row {counts.processed + 1}: {error}",
        )
        raise
    _write_summary(folder, counts)
    _set_run(
        run_id,
        status=RunStatusEnum.PARTIAL_SUCCESS if counts.rejected else RunStatusEnum.SUCCESS,
        finished_at=datetime.now(UTC),
        message=(f"{counts.rejected} of {counts.total} rows rejected" if counts.rejected else None),
        **_counters(counts),
    )


def _counters(counts: ImportCounts) -> dict:
    """The run's counters: inserted = created, updated = duplicates, errored = rejected."""
    return {
        "total_entries": counts.total,
        "inserted_entries": counts.created,
        "updated_entries": counts.duplicate,
        "errored_entries": counts.rejected,
    }


SpecimenImportJob = JobType.create(
    arguments_schema=None,
    job_cls_name="SpecimenImportJob",
    id_=JOB_TYPE_ID,
    task=import_specimens,
    description="Darwin Core Archive / CSV import of specimen records",
    title="Specimen import",
)
"""The job type, registered through the `invenio_jobs.jobs` entry point."""
