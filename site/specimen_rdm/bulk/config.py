"""Settings of bulk deposit (every one can be overridden in invenio.cfg or INVENIO_* variables)."""

SPECIMEN_BULK_MAX_RECORDS = 10_000
"""Records per submitted batch."""

SPECIMEN_BULK_MAX_BATCH_BYTES = 200 * 1024 * 1024
"""Size of one submitted JSON-lines batch, and of one request of several files (a tar)."""

SPECIMEN_BULK_MAX_FILES_PER_REQUEST = 100
"""Files one request of several files (`POST /bulk/files`, a tar stream) may carry."""

SPECIMEN_BULK_MAX_FILE_BYTES = 2 * 1024**3
"""Size of one uploaded file."""

SPECIMEN_BULK_PART_SIZE = 8 * 1024 * 1024
"""Default part size of uploads; clients may choose between the minimum and the maximum."""

SPECIMEN_BULK_MIN_PART_SIZE = 64 * 1024
SPECIMEN_BULK_MAX_PART_SIZE = 64 * 1024 * 1024

SPECIMEN_BULK_DIR = None
"""Folder of upload parts and assembled files (shared by all nodes); default
`<instance>/bulk`. Must be on the same file system as the default file location, so that a
finished upload becomes a record's file by a hard link instead of a copy."""

SPECIMEN_BULK_CHUNK = 200
"""Items one task processes before it hands the queue to the next job (fair queueing)."""

SPECIMEN_BULK_JOB_PARALLELISM = 2
"""Chunk tasks (chains) a submission starts for its job: with as many bulk worker processes,
one job uses them all."""

SPECIMEN_BULK_CLAIM_TIMEOUT = 60
"""Seconds without a heartbeat after which an item claimed by a worker that died is processed
again (a working chain renews its claims after every record)."""

SPECIMEN_BULK_WAIT_FOR_FILES = 2
"""Seconds a job waits before looking again for items whose files arrived."""

SPECIMEN_BULK_FILES_DEADLINE = 7 * 24 * 3600
"""Seconds an open job waits for its files; then the items still missing files are rejected."""

SPECIMEN_BULK_RATE_LIMIT = (1200, 60)
"""Requests per token (or per address, unauthenticated) and window in seconds; 429 beyond."""

SPECIMEN_BULK_FOLLOWUP_QUEUE = "bulk-followup"
"""Celery queue of the tasks that follow the publication of bulk-written records (DOI and OAI
registration, IIIF tiles, on-publish pipelines). Its worker runs at a lower CPU priority
(`make run`: `nice`), so that this work fills idle CPU instead of slowing deposits down; None:
each task's default queue, as for any publish."""

SPECIMEN_BULK_QUEUE = "bulk"
"""Celery queue of bulk jobs: its own workers, so bulk work never delays interactive tasks."""
