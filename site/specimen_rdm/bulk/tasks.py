"""Celery tasks of bulk deposit, on the `bulk` queue.

`process_bulk_job` works through one chunk of a job and queues itself again at the end of the
queue, so jobs of several clients take turns (fair queueing) and a 10,000-record batch never
blocks a 10-record one behind it. A submission starts `SPECIMEN_BULK_JOB_PARALLELISM` such
chains; they never process the same item (claims use `SKIP LOCKED`). Tasks are acknowledged
late, so the chunk of a worker that died is delivered again to the next worker, and
`resume_bulk_jobs` (Celery beat, every minute) restarts any unfinished job nobody worked on for
`STALE_AFTER` seconds.
"""

import uuid
from datetime import UTC, datetime, timedelta

from celery import shared_task
from flask import current_app
from invenio_db import db
from invenio_jobs.jobs import JobType

from .indexing import index_unindexed
from .job_runs import JOB_TYPE_ID
from .models import BulkJob, JobState
from .processing import (
    JobProcessor,
    finish_if_done,
    reclaim_stale,
    reject_missing_files,
)

STALE_AFTER = 120


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def queue_job(job_id, countdown: float | None = None, chains: int = 1) -> None:
    """Queue `chains` chunk tasks of a job on the bulk queue."""
    for _ in range(chains):
        process_bulk_job.apply_async(
            args=[str(job_id)],
            queue=current_app.config["SPECIMEN_BULK_QUEUE"],
            countdown=countdown,
        )


@shared_task(ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def process_bulk_job(job_id: str) -> None:
    """Process one chunk of a job, then queue the next chunk."""
    job_id = uuid.UUID(job_id)
    job = db.session.get(BulkJob, job_id)
    if job is None or job.state in (JobState.FINISHED.value, JobState.CANCELLED.value):
        return
    more = _process_chunk(job)
    job = db.session.get(BulkJob, job_id)
    if more is None or finish_if_done(job):
        return
    wait = None if more else current_app.config["SPECIMEN_BULK_WAIT_FOR_FILES"]
    queue_job(job_id, countdown=wait)


def _process_chunk(job: BulkJob) -> bool | None:
    """Work on one chunk; True if items were processed, False if none was ready, None if the
    job should not be queued again."""
    config = current_app.config
    reclaim_stale(job.id)
    index_unindexed(job.id)
    deadline = job.last_progress + timedelta(seconds=config["SPECIMEN_BULK_FILES_DEADLINE"])
    if job.state == JobState.OPEN.value and _now() > deadline:
        job.state = JobState.CLOSED.value
        db.session.commit()
    if job.state == JobState.CLOSED.value:
        reject_missing_files(job.id)
    processor = JobProcessor(job)
    job_id = job.id
    claimed = processor.claim(config["SPECIMEN_BULK_CHUNK"])
    processor.process_chunk(claimed)
    index_unindexed(job_id)
    job = db.session.get(BulkJob, job_id)
    if job.state == JobState.CANCELLED.value:
        return None
    job.updated = _now()  # the heartbeat resume_bulk_jobs looks at
    if claimed:
        job.last_progress = job.updated
    db.session.commit()
    return bool(claimed)


@shared_task(ignore_result=True)
def resume_bulk_jobs() -> int:
    """Queue unfinished jobs that no chain has touched for a while; how many."""
    stale = _now() - timedelta(seconds=STALE_AFTER)
    jobs = BulkJob.query.filter(
        BulkJob.state.in_([JobState.OPEN.value, JobState.CLOSED.value]),
        BulkJob.updated < stale,
    ).all()
    for job in jobs:
        job.updated = _now()
        queue_job(job.id)
    db.session.commit()
    return len(jobs)


BulkDepositJob = JobType.create(
    arguments_schema=None,
    job_cls_name="BulkDepositJob",
    id_=JOB_TYPE_ID,
    task=process_bulk_job,
    description="Batches of specimen records submitted to /api/bulk/jobs",
    title="Bulk deposit",
)
"""The job type, registered through the `invenio_jobs.jobs` entry point."""
