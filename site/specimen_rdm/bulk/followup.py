"""The Celery tasks a publish queues, for the records the bulk writer created.

InvenioRDM's publish queues, after its commit: DOI registration of the record and of its
concept (parent), OAI identifier registration, IIIF tile generation for each image; our
components add the on-publish ML pipelines. The writer creates records without the service, so
it queues the same tasks itself, on `SPECIMEN_BULK_FOLLOWUP_QUEUE` (None: each task's default
queue), so that they can be served by workers that do not compete with interactive work.
"""

from flask import current_app
from invenio_rdm_records.services.iiif.tasks import generate_tiles
from invenio_rdm_records.services.pids.tasks import register_or_update_pid

from specimen_rdm_mlmodels.model_records import pipelines_run_on_publish


def queue_followups(written: list) -> int:
    """Queue the follow-up tasks of these records (`Written`); how many tasks."""
    queue = current_app.config.get("SPECIMEN_BULK_FOLLOWUP_QUEUE")
    options = {"queue": queue} if queue else {}
    pipelines = pipelines_run_on_publish()
    if pipelines:
        from specimen_rdm_mlmodels.tasks import run_pipelines_on_publish  # imports torch
    count = 0
    for record in written:
        calls = [
            (register_or_update_pid, (record.recid, "doi"), {}),
            (register_or_update_pid, (record.recid, "oai"), {}),
            (register_or_update_pid, (record.recid, "doi"), {"parent": True}),
            *(
                (
                    generate_tiles,
                    (),
                    {"record_id": record.recid, "file_key": key, "file_type": "files"},
                )
                for key in record.image_files
            ),
        ]
        if pipelines:
            calls.append((run_pipelines_on_publish, (record.recid,), {}))
        for task, args, kwargs in calls:
            task.apply_async(args=args, kwargs=kwargs, **options)
        count += len(calls)
    return count
