"""Turning a JSON-lines batch into a bulk job, with idempotency keys.

Each line is one record:

    {"id": "B-10-0012345",                       # the client's idempotency key (required)
     "dwc": {"occurrenceID": "...", ...},         # Darwin Core terms (prefix optional)
     "metadata": {...}, "custom_fields": {...},   # RDM fields, merged over those derived from dwc
     "access": {"record": "public", "files": "public"},
     "files": [{"key": "sheet.jpg", "size": 1048576, "sha256": "<64 hex>"}]}

The batch is checked line by line before anything is written: a structural problem anywhere
(not JSON, no id, a file without checksum, an id twice in the batch, too many lines) answers 400
naming every line and field, and creates nothing. Record-level problems (a malformed date, an
unknown licence) are found when the record is created and reported for that key only.
"""

import hashlib
import json
import re
from dataclasses import dataclass

from flask import current_app
from invenio_db import db
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from .errors import BulkError
from .job_runs import create_run
from .models import BulkItem, BulkJob, ItemState, JobState

SHA256 = re.compile(r"^[0-9a-f]{64}$")
MAX_KEY_LENGTH = 512
MAX_REPORTED_ERRORS = 200
OBJECT_FIELDS = ("dwc", "metadata", "custom_fields", "access")


@dataclass
class SubmittedRecord:
    """One valid line of a batch."""

    line: int
    key: str
    data: dict
    data_hash: str

    @property
    def files(self) -> list[dict]:
        """The declared files: key, size, sha256."""
        return self.data.get("files") or []


def _problem(line: int, field: str, reason: str) -> dict:
    return {"line": line, "field": field, "messages": [reason]}


def _file_problems(line: int, files, max_size: int) -> list[dict]:
    if not isinstance(files, list):
        return [_problem(line, "files", "must be a list of {key, size, sha256}")]
    problems, keys = [], set()
    for n, entry in enumerate(files):
        where = f"files.{n}"
        if not isinstance(entry, dict):
            problems.append(_problem(line, where, "must be an object {key, size, sha256}"))
            continue
        key, size, digest = entry.get("key"), entry.get("size"), entry.get("sha256")
        if not isinstance(key, str) or not key.strip() or "/" in key or key in (".", ".."):
            problems.append(_problem(line, f"{where}.key", "must be a file name without '/'"))
        elif key in keys:
            problems.append(_problem(line, f"{where}.key", f"{key!r} appears twice"))
        keys.add(key)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            problems.append(_problem(line, f"{where}.size", "must be a whole number of bytes"))
        elif size > max_size:
            problems.append(
                _problem(line, f"{where}.size", f"{size} bytes is more than {max_size}")
            )
        if not isinstance(digest, str) or not SHA256.match(digest):
            problems.append(
                _problem(line, f"{where}.sha256", "must be 64 lower-case hexadecimal digits")
            )
    return problems


def _line_problems(line: int, value, max_size: int) -> list[dict]:
    if not isinstance(value, dict):
        return [_problem(line, "", "must be a JSON object")]
    problems = []
    key = value.get("id")
    if not isinstance(key, str) or not key.strip():
        problems.append(_problem(line, "id", "the idempotency key is required (a string)"))
    elif len(key) > MAX_KEY_LENGTH:
        problems.append(_problem(line, "id", f"longer than {MAX_KEY_LENGTH} characters"))
    for name in OBJECT_FIELDS:
        if name in value and not isinstance(value[name], dict):
            problems.append(_problem(line, name, "must be a JSON object"))
    if not value.get("dwc") and not value.get("metadata"):
        problems.append(_problem(line, "dwc", "give Darwin Core terms (dwc) or metadata"))
    unknown = sorted(set(value) - {"id", "files", *OBJECT_FIELDS})
    if unknown:
        problems.append(_problem(line, unknown[0], f"unknown field(s): {', '.join(unknown)}"))
    problems += _file_problems(line, value.get("files", []), max_size)
    return problems


def canonical_hash(value: dict) -> str:
    """SHA-256 of a record's canonical JSON: equal data, equal hash, whatever the key order."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def parse_batch(body: bytes) -> list[SubmittedRecord]:
    """The records of a JSON-lines batch; BulkError (400) listing every structural problem."""
    config = current_app.config
    if len(body) > config["SPECIMEN_BULK_MAX_BATCH_BYTES"]:
        raise BulkError(
            f"The batch is larger than {config['SPECIMEN_BULK_MAX_BATCH_BYTES']} bytes.",
            status=413,
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BulkError(f"The batch is not UTF-8 text: {error}") from error
    records, problems, seen = [], [], {}
    max_size = config["SPECIMEN_BULK_MAX_FILE_BYTES"]
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as error:
            problems.append(_problem(number, "", f"not valid JSON: {error.msg}"))
            continue
        line_problems = _line_problems(number, value, max_size)
        if not line_problems:
            key = value["id"].strip()
            if key in seen:
                line_problems.append(_problem(number, "id", f"{key!r} is also on line {seen[key]}"))
            seen[key] = number
        if line_problems:
            problems += line_problems
            continue
        data = {k: v for k, v in value.items() if k != "id"}
        records.append(SubmittedRecord(number, key, data, canonical_hash(data)))
    if problems:
        shown = problems[:MAX_REPORTED_ERRORS]
        more = len(problems) - len(shown)
        raise BulkError(
            f"The batch has {len(problems)} problem(s); nothing was created"
            + (f" (first {len(shown)} listed)." if more else "."),
            errors=shown,
        )
    if not records:
        raise BulkError("The batch holds no records (one JSON object per line).")
    limit = config["SPECIMEN_BULK_MAX_RECORDS"]
    if len(records) > limit:
        raise BulkError(f"The batch holds {len(records)} records; at most {limit} per job.")
    return records


def owning_items(owner_id: int, keys: list[str]) -> dict[str, tuple[int, str]]:
    """`{key: (item id, data hash)}` of the items that already own some of these keys."""
    found = {}
    for start in range(0, len(keys), 1000):
        rows = db.session.execute(
            select(BulkItem.key, BulkItem.id, BulkItem.data_hash).where(
                BulkItem.owner_id == owner_id,
                BulkItem.original_id.is_(None),
                BulkItem.key.in_(keys[start : start + 1000]),
            )
        )
        found.update({key: (item_id, digest) for key, item_id, digest in rows})
    return found


def job_by_token(owner_id: int, token: str | None) -> BulkJob | None:
    """The job an earlier submission with this `Idempotency-Key` created, if any."""
    if not token:
        return None
    return BulkJob.query.filter_by(owner_id=owner_id, client_token=token).one_or_none()


def create_job(
    owner_id: int, records: list[SubmittedRecord], community: str | None, token: str | None
) -> BulkJob:
    """Store a job and its items in one transaction; keys already owned become references.

    A concurrent submission of the same new key makes one of the two transactions fail on the
    unique index; it is retried once, and then sees the other's item as the owner.
    """
    for attempt in range(2):
        try:
            return _insert_job(owner_id, records, community, token)
        except IntegrityError:
            db.session.rollback()
            existing = job_by_token(owner_id, token)
            if existing is not None:
                return existing
            if attempt:
                raise
    raise AssertionError("unreachable")


def _insert_job(owner_id, records, community, token) -> BulkJob:
    owners = owning_items(owner_id, [r.key for r in records])
    job = BulkJob(owner_id=owner_id, community=community, client_token=token)
    job.state = JobState.OPEN.value
    db.session.add(job)
    db.session.flush()
    rows = []
    for record in records:
        owner = owners.get(record.key)
        rows.append(
            {
                "job_id": job.id,
                "owner_id": owner_id,
                "line": record.line,
                "key": record.key,
                "original_id": owner[0] if owner else None,
                "conflict": bool(owner) and owner[1] != record.data_hash,
                "state": ItemState.PENDING.value,
                # A reference keeps no data: the owning item's data is what was deposited.
                "data": None if owner else record.data,
                "data_hash": record.data_hash,
                "files": [] if owner else record.files,
                "attempts": 0,
                "indexed": False,
            }
        )
    for start in range(0, len(rows), 2000):
        db.session.execute(insert(BulkItem.__table__), rows[start : start + 2000])
    create_run(job, len(rows))
    db.session.commit()
    return job
