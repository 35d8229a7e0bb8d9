"""The Celery tasks a publish queues, for the records the bulk writer created.

InvenioRDM's publish queues, after its commit: DOI registration of the record and of its
concept (parent), OAI identifier registration, IIIF tile generation for each image; our
components add the on-publish ML pipelines. The writer creates records without the service, so
it queues the same tasks itself, on `SPECIMEN_BULK_FOLLOWUP_QUEUE` (None: each task's default
queue), so that they can be served by workers that do not compete with interactive work.

Sending four or more task messages per record cost the bulk worker ~8% of its time (a py-spy
profile of a 3,000-record run). The writer sends one message per chunk instead
(`queue_followups`); the follow-up worker, which runs on CPU that deposits leave idle, turns it
into the per-record tasks (`fan_out_followups`), so each task still succeeds, fails and retries
on its own.
"""

from celery import shared_task
from flask import current_app
from invenio_rdm_records.services.iiif.tasks import generate_tiles
from invenio_rdm_records.services.pids.tasks import register_or_update_pid

from specimen_rdm_mlmodels.model_records import pipelines_run_on_publish


def _options() -> dict:
    queue = current_app.config.get("SPECIMEN_BULK_FOLLOWUP_QUEUE")
    return {"queue": queue} if queue else {}


def record_followups(recid: str, image_files: list[str], pipelines: bool) -> list[tuple]:
    """The `(task, args, kwargs)` a publish of this record queues."""
    calls = [
        (register_or_update_pid, (recid, "doi"), {}),
        (register_or_update_pid, (recid, "oai"), {}),
        (register_or_update_pid, (recid, "doi"), {"parent": True}),
        *(
            (generate_tiles, (), {"record_id": recid, "file_key": key, "file_type": "files"})
            for key in image_files
        ),
    ]
    if pipelines:
        from specimen_rdm_mlmodels.tasks import run_pipelines_on_publish  # imports torch

        calls.append((run_pipelines_on_publish, (recid,), {}))
    return calls


@shared_task(ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def fan_out_followups(records: list[list]) -> int:
    """Queue the follow-up tasks of `[recid, image file keys]` records; how many tasks."""
    options = _options()
    pipelines = bool(pipelines_run_on_publish())
    count = 0
    for recid, image_files in records:
        for task, args, kwargs in record_followups(recid, image_files, pipelines):
            task.apply_async(args=args, kwargs=kwargs, **options)
            count += 1
    return count


def queue_followups(written: list) -> int:
    """Queue the follow-up tasks of these records (`Written`) as one message; how many
    records it names."""
    if not written:
        return 0
    records = [[record.recid, list(record.image_files)] for record in written]
    fan_out_followups.apply_async(args=[records], **_options())
    return len(records)
