"""Bulk deposit: batches of up to 10,000 specimen records, resumable uploads, reconciliation.

`models` holds the job, item and upload tables; `submission` turns a JSON-lines batch into a job;
`uploads` receives files in checksum-verified parts; `processing` creates and publishes records
on the `bulk` Celery queue (`tasks`); `reconciliation` lists what became of every submitted key;
`rate_limit` answers 429 per token; `views` is the REST API under `/api/bulk`.
"""
