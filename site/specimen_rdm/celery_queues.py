"""Celery queues of the instance and the routes that send tasks to them.

`celery` takes interactive work, `indexing` the bulk indexer, `low` housekeeping, `bulk` the
bulk-deposit jobs (own workers, so a 10,000-record batch never delays interactive tasks),
`bulk-followup` what follows the publication of bulk-deposited records (DOI registration, IIIF
tiles, on-publish pipelines; a worker at lower CPU priority), and the
two `pipelines-*` queues the ML work: GPU nodes consume `pipelines-gpu`, every node
`pipelines-cpu`.
"""

from kombu import Exchange, Queue

QUEUE_NAMES = (
    "celery",
    "indexing",
    "low",
    "bulk",
    "bulk-followup",
    "pipelines-cpu",
    "pipelines-gpu",
)

CELERY_TASK_QUEUES = tuple(
    Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUE_NAMES
)

CELERY_TASK_ROUTES = {
    "invenio_indexer.tasks.process_bulk_queue": {"queue": "indexing"},
    "invenio_indexer.tasks.index_record": {"queue": "indexing"},
    "invenio_indexer.tasks.delete_record": {"queue": "indexing"},
    "invenio_records_resources.tasks.send_change_notifications": {"queue": "low"},
    "invenio_files_rest.tasks.verify_checksum": {"queue": "low"},
    "invenio_files_rest.tasks.schedule_checksum_verification": {"queue": "low"},
    "invenio_files_rest.tasks.remove_expired_multipartobjects": {"queue": "low"},
    "invenio_files_rest.tasks.clear_orphaned_files": {"queue": "low"},
    "invenio_stats.tasks.process_events": {"queue": "low"},
    "invenio_stats.tasks.aggregate_events": {"queue": "low"},
    "invenio_accounts.tasks.clean_session_table": {"queue": "low"},
    "invenio_accounts.tasks.delete_ips": {"queue": "low"},
    "specimen_rdm.bulk.tasks.process_bulk_job": {"queue": "bulk"},
    "specimen_rdm.bulk.tasks.resume_bulk_jobs": {"queue": "low"},
}
"""Task name → queue. Tasks not listed go to `celery`."""
