"""Bulk jobs as invenio-jobs runs: each bulk job has a `Run` of the "Bulk deposit" job type, so
it shows in the administration panel with the other jobs, with its state and counters
(inserted = published, updated = submitted again, errored = rejected or duplicate)."""

import uuid
from datetime import UTC, datetime

from invenio_db import db
from invenio_jobs.models import Job, Run, RunStatusEnum

from specimen_rdm_specimens.import_jobs import job_row

from .models import BulkJob, JobState

JOB_TYPE_ID = "specimen_bulk_deposit"
"""Also the id of the job type (`tasks.BulkDepositJob`)."""


def _job_row() -> Job:
    return job_row(
        JOB_TYPE_ID,
        "Bulk deposit",
        "Batches of specimen records submitted to /api/bulk/jobs",
        "bulk",
    )


def create_run(job: BulkJob, total: int) -> None:
    """Add the Run of a new bulk job (committed with the job)."""
    run = Run(
        id=uuid.uuid4(),
        job=_job_row(),
        started_by_id=job.owner_id,
        status=RunStatusEnum.QUEUED,
        title=f"Bulk deposit of {total} records",
        args={"bulk_job": str(job.id)},
        queue="bulk",
        total_entries=total,
    )
    db.session.add(run)
    job.run_id = run.id


def update_run(job: BulkJob, counts: dict) -> None:
    """Copy a job's state and counts onto its Run (committed by the caller)."""
    run = db.session.get(Run, job.run_id) if job.run_id else None
    if run is None:
        return
    now = datetime.now(UTC).replace(tzinfo=None)
    run.total_entries = counts["total"]
    run.inserted_entries = counts["published"]
    run.updated_entries = counts["existing"]
    run.errored_entries = counts["rejected"] + counts["duplicate"]
    if job.state == JobState.CANCELLED.value:
        run.status = RunStatusEnum.CANCELLED
    elif job.state == JobState.FINISHED.value:
        failed = counts["rejected"] + counts["duplicate"]
        run.status = RunStatusEnum.PARTIAL_SUCCESS if failed else RunStatusEnum.SUCCESS
        run.message = f"{failed} of {counts['total']} records not published" if failed else None
    else:
        run.status = RunStatusEnum.RUNNING
    if run.started_at is None and run.status != RunStatusEnum.QUEUED:
        run.started_at = now
    if job.state in (JobState.FINISHED.value, JobState.CANCELLED.value):
        run.finished_at = run.finished_at or now
