"""Creating and publishing the records of a bulk job, a chunk at a time.

A worker *claims* up to `SPECIMEN_BULK_CHUNK` pending items whose files have all arrived
(`FOR UPDATE SKIP LOCKED`, so several workers share a job without overlap), then creates and
publishes each through InvenioRDM's records service (the same validation, quality flags,
duplicate checks, DOI and IIIF handling as any deposit), attaching the uploaded files by hard
link. The record and its item's final state are committed together. Search indexing is
deferred to one bulk request per chunk; the items remember whether it happened, so a worker
that dies between commit and indexing leaves work that the next chunk finishes.

An item claimed by a worker that died is claimed again after `SPECIMEN_BULK_CLAIM_TIMEOUT`; an
unexpected error is retried with backoff, up to `MAX_ATTEMPTS`, then reported with its reason.
"""

import contextlib
import logging
import os
import shutil
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

from flask import current_app
from invenio_accounts.models import User
from invenio_db import db
from invenio_db.uow import UnitOfWork
from invenio_drafts_resources.services.records.uow import ParentRecordCommitOp
from invenio_files_rest.models import FileInstance, Location, ObjectVersion
from invenio_rdm_records.proxies import current_rdm_records_service
from invenio_rdm_records.records.api import RDMRecord
from invenio_records_resources.services.errors import PermissionDeniedError
from invenio_records_resources.services.uow import RecordCommitOp, RecordDeleteOp
from marshmallow import ValidationError
from sqlalchemy import text, update

from specimen_rdm_specimens.archive_import import (
    depositor_identity,
    include_in_community,
    validation_reasons,
)
from specimen_rdm_specimens.custom_fields import QUALITY_FIELD
from specimen_rdm_specimens.darwin_core_terms import UnknownTermNamespace, canonical_term
from specimen_rdm_specimens.duplicates import DuplicateSpecimenError
from specimen_rdm_specimens.specimen_rows import record_from_row

from . import uploads
from .followup import queue_followups
from .job_runs import update_run
from .models import BulkItem, BulkJob, ItemState, JobState
from .reconciliation import counts
from .writer import (
    BulkRecordWriter,
    InChunkDuplicate,
    fast_path_ok,
    file_metadata,
    uploaded_file,
)

log = logging.getLogger(__name__)

MISSING_FILES = """
    FROM jsonb_array_elements(i.files) f
    LEFT JOIN specimen_bulk_file b
      ON b.owner_id = i.owner_id AND b.sha256 = f->>'sha256' AND b.complete
    WHERE b.sha256 IS NULL"""
"""SQL (after SELECT): the declared files of item `i` whose upload is not complete."""

FILES_COMPLETE = """
    (SELECT count(*) FROM specimen_bulk_file b
     WHERE b.owner_id = i.owner_id AND b.complete
       AND b.sha256 = ANY (ARRAY(SELECT f->>'sha256' FROM jsonb_array_elements(i.files) f)))
    = (SELECT count(DISTINCT f->>'sha256') FROM jsonb_array_elements(i.files) f)"""
"""SQL condition: every declared file of item `i` is uploaded. Written as a count of primary-key
lookups: PostgreSQL plans `NOT EXISTS (SELECT 1 {MISSING_FILES})` as a hash anti-join that
reads every upload of the owner once per item, which made each claim of a 3,000-item job take
about a second (and grow with the job)."""

RENEW_EVERY = 20
"""Records the bulk writer checks between two renewals of its chunk's claims."""

MAX_ATTEMPTS = 3
RETRY_BACKOFF = (10, 60, 300)
"""Seconds before the second, third, ... attempt after an unexpected error."""


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class DeferredIndexUnitOfWork(UnitOfWork):
    """A unit of work that commits RDM records and drafts but does not index them.

    The records service indexes every draft and record it touches, one request each; a bulk
    job indexes its published records in one bulk request per chunk instead, and never indexes
    the drafts that exist only for the moment between create and publish.
    """

    def register(self, op):
        """Strip the indexers off record operations."""
        if isinstance(op, ParentRecordCommitOp):
            op._indexer_context = None
        elif isinstance(op, (RecordCommitOp, RecordDeleteOp)):
            op._indexer = None
        super().register(op)


def _scalar_text(value) -> str:
    if isinstance(value, list):
        return "|".join(str(v) for v in value)
    return str(value)


def record_data(data: dict, publisher: str) -> tuple[dict, list[str]]:
    """The RDM record a submitted item describes, and the terms it does not store: derived from
    its Darwin Core terms (term URIs, `dwc:` names or bare names, pre-standard capitalised names
    included), with its own metadata, custom fields and access merged over."""
    files = data.get("files") or []
    dwc, ignored = {}, []
    for term, value in (data.get("dwc") or {}).items():
        if value is None or value == "":
            continue
        try:
            dwc[canonical_term(term)] = _scalar_text(value)
        except UnknownTermNamespace:
            ignored.append(term)  # not a Darwin Core / Audubon Core term, as in archive imports
    if dwc:
        record, not_stored = record_from_row(dwc, with_files=bool(files), publisher=publisher)
        ignored += not_stored
    else:
        record = {
            "metadata": {},
            "custom_fields": {},
            "access": {"record": "public", "files": "public"},
            "files": {"enabled": bool(files)},
        }
    record["metadata"] = {**record["metadata"], **(data.get("metadata") or {})}
    record["custom_fields"] = {**record["custom_fields"], **(data.get("custom_fields") or {})}
    record["access"] = {**record["access"], **(data.get("access") or {})}
    return record, sorted(ignored)


def _storage_uri() -> str:
    return Location.get_default().uri


def _local_path(uri: str) -> str | None:
    """The file-system path of a local storage URI (`file:///data/..`, a plain path), or None
    for object storage (S3)."""
    if uri.startswith("file://"):
        return urlparse(uri).path
    return None if "://" in uri else uri


def attach_files(draft, item: BulkItem, location_uri: str, linked: list[str]) -> None:
    """Make the item's uploaded files files of the draft: by hard link into local storage (a
    copy across file systems, or through the storage API for object storage)."""
    for entry in item.files:
        upload = uploaded_file(item.owner_id, entry)
        source = uploads.assembled_path(item.owner_id, entry["sha256"])
        instance = FileInstance.create()
        uri = instance.storage(default_location=location_uri).fileurl
        target = _local_path(uri)
        if target is None:  # object storage: the bytes are copied through the storage API
            with open(source, "rb") as stream:
                instance.set_contents(stream, default_location=location_uri)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            linked.append(target)  # removed again if the transaction does not commit
            try:
                os.link(source, target)
            except OSError:  # another file system: copy
                shutil.copyfile(source, target)
            instance.set_uri(uri, upload.size, f"md5:{upload.md5}", readable=True, writable=False)
        obj = ObjectVersion.create(draft.bucket, entry["key"], _file_id=instance.id)
        metadata = file_metadata(entry["key"], source)
        draft.files.create(entry["key"], obj=obj, data={"metadata": metadata} if metadata else None)


class ItemRejected(Exception):
    """The item cannot become a record; `reasons` say why."""

    def __init__(self, reasons: list[str]):
        """Keep the reasons."""
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def _draft_errors(errors: list) -> list[str]:
    return [f"{e.get('field')}: {' '.join(map(str, e.get('messages', [])))}" for e in errors]


class JobProcessor:
    """Processes the items of one job as the job's owner."""

    def __init__(self, job: BulkJob):
        """Prepare the owner's identity and the file location once per chunk."""
        self.job_id = job.id
        self.owner_id = job.owner_id
        self.community = job.community
        self.identity = depositor_identity(db.session.get(User, job.owner_id))
        self.publisher = current_app.config.get("APP_RDM_DEPOSIT_FORM_DEFAULTS", {}).get(
            "publisher", "Specimen RDM"
        )
        self.location_uri = _storage_uri()
        self.service = current_rdm_records_service
        self.linked: list[str] = []

    def claim(self, limit: int) -> list[int]:
        """Claim up to `limit` pending items whose files are complete; their ids."""
        rows = db.session.execute(
            text(
                f"""
                UPDATE specimen_bulk_item SET state = 'processing',
                       claimed_at = timezone('utc', now()),
                       attempts = attempts + 1
                WHERE id IN (
                    SELECT i.id FROM specimen_bulk_item i
                    WHERE i.job_id = :job AND i.state = 'pending' AND i.original_id IS NULL
                      AND (i.retry_at IS NULL OR i.retry_at <= timezone('utc', now()))
                      AND {FILES_COMPLETE}
                    ORDER BY i.line LIMIT :limit FOR UPDATE SKIP LOCKED)
                RETURNING id
                """
            ),
            {"job": self.job_id, "limit": limit},
        )
        ids = sorted(row[0] for row in rows)
        db.session.commit()
        return ids

    def renew_claims(self, item_ids: list[int]) -> None:
        """Keep the claims of the chunk's remaining items fresh (a heartbeat): only the items
        of a worker that stopped beating are claimed again."""
        if item_ids:
            db.session.execute(
                update(BulkItem)
                .where(BulkItem.id.in_(item_ids), BulkItem.state == ItemState.PROCESSING.value)
                .values(claimed_at=_now())
            )
            db.session.commit()

    def process_chunk(self, item_ids: list[int]) -> None:
        """Process claimed items: those the bulk writer takes in one transaction, the rest (and
        any the writer failed on) one at a time through the records service."""
        fast, slow = [], []
        for item in BulkItem.query.filter(BulkItem.id.in_(item_ids)).order_by(BulkItem.id):
            if item.state != ItemState.PROCESSING.value:
                continue
            data, ignored = record_data(item.data or {}, self.publisher)
            if fast_path_ok(data):
                fast.append((item.id, data, list(item.files), ignored))
            else:
                slow.append(item.id)
        slow = sorted(slow + self.write_fast(fast))
        for done, item_id in enumerate(slow, start=1):
            self.process(item_id)
            db.session.expunge_all()  # keeps SQLAlchemy-Continuum's flush checks per item cheap
            self.renew_claims(slow[done:])

    def write_fast(self, items: list[tuple]) -> list[int]:
        """Check and write `(item id, record data, files, ignored terms)` with the bulk writer,
        commit, queue the follow-up tasks; the ids it could not handle (for the service path)."""
        if not items:
            return []
        writer = BulkRecordWriter(self.identity, self.owner_id, Location.get_default())
        if not writer.supported():
            return [item_id for item_id, *_ in items]
        try:
            writer.check_permission()
        except PermissionDeniedError:
            for item_id, *_ in items:
                self._finish(item_id, ItemState.REJECTED, reasons=["permission denied"])
            return []
        prepared, fallback = [], []
        every_id = [item_id for item_id, *_ in items]
        writer.load_uploads(entry["sha256"] for _, _, files, _ in items for entry in files)
        for checked, (item_id, data, files, ignored) in enumerate(items):
            if checked and checked % RENEW_EVERY == 0:
                self.renew_claims(every_id)  # a heartbeat, as on the service path
            try:
                prepared.append(writer.prepare(item_id, data, files, ignored))
            except ValidationError as error:
                self._finish(item_id, ItemState.REJECTED, reasons=validation_reasons(error))
            except DuplicateSpecimenError as error:
                self._finish(
                    item_id, ItemState.DUPLICATE, reasons=[str(error)], record_id=error.record_id
                )
            except InChunkDuplicate:
                self._finish(item_id, ItemState.PENDING, attempts=BulkItem.attempts - 1)
            except Exception:  # the service path retries with backoff and reports the error
                log.exception("bulk item %s: the bulk writer could not check it", item_id)
                fallback.append(item_id)
        if not prepared:
            return fallback
        try:
            with DeferredIndexUnitOfWork() as uow:
                written = writer.write(prepared)
                ignored_of = {p.item_id: p.ignored for p in prepared}
                values = []
                for record in written:
                    ignored = ignored_of[record.item_id]
                    reasons = [f"terms not stored: {', '.join(ignored)}"] if ignored else []
                    if self.community:
                        reasons += include_in_community(
                            self.identity, record.recid, self.community, uow
                        )
                    values.append(
                        {
                            "id": record.item_id,
                            "state": ItemState.PUBLISHED.value,
                            "record_id": record.recid,
                            "doi": record.doi,
                            "flags": record.flags,
                            "reasons": reasons,
                            "claimed_at": None,
                            "indexed": False,
                            "updated": _now(),
                        }
                    )
                db.session.execute(update(BulkItem), values)
                uow.commit()
        except Exception:
            db.session.rollback()
            writer.unlink()
            log.exception(
                "bulk writer failed on %d items; using the records service", len(prepared)
            )
            return fallback + [p.item_id for p in prepared]
        queue_followups(written)
        return fallback

    def process(self, item_id: int) -> bool:
        """Create and publish one item's record; whether it was published."""
        item = db.session.get(BulkItem, item_id)
        if item is None or item.state != ItemState.PROCESSING.value:
            return False
        self.linked = []
        try:
            with DeferredIndexUnitOfWork() as uow:
                record, ignored = self._publish(item, uow)
                item.state = ItemState.PUBLISHED.value
                item.record_id = record.pid.pid_value
                item.doi = (record.get("pids") or {}).get("doi", {}).get("identifier")
                quality = (record.get("custom_fields") or {}).get(QUALITY_FIELD) or {}
                item.flags = quality.get("flags") or []
                item.reasons = [f"terms not stored: {', '.join(ignored)}"] if ignored else []
                if self.community:
                    item.reasons += include_in_community(
                        self.identity, item.record_id, self.community, uow
                    )
                item.claimed_at = None
                item.indexed = False
                uow.commit()
            return True
        except ItemRejected as rejected:
            self._finish(item_id, ItemState.REJECTED, reasons=rejected.reasons)
        except ValidationError as error:
            self._finish(item_id, ItemState.REJECTED, reasons=validation_reasons(error))
        except DuplicateSpecimenError as error:
            self._finish(
                item_id, ItemState.DUPLICATE, reasons=[str(error)], record_id=error.record_id
            )
        except PermissionDeniedError:
            self._finish(item_id, ItemState.REJECTED, reasons=["permission denied"])
        except Exception as error:  # retried: the database or search may be back next time
            db.session.rollback()
            log.exception("bulk item %s failed", item_id)
            self._retry_or_fail(item_id, error)
        return False

    def _publish(self, item: BulkItem, uow) -> tuple[RDMRecord, list[str]]:
        data, ignored = record_data(item.data or {}, self.publisher)
        draft = self.service.create(self.identity, data, uow=uow)
        if draft.errors:
            raise ItemRejected(_draft_errors(draft.errors))
        attach_files(draft._record, item, self.location_uri, self.linked)
        # The record itself, not the result's serialised `data` (a marshmallow dump per record).
        return self.service.publish(self.identity, draft.id, uow=uow)._record, ignored

    def _finish(self, item_id: int, state: ItemState, **values) -> None:
        db.session.rollback()
        for path in self.linked:  # the files of a record that was not created
            with contextlib.suppress(OSError):
                os.unlink(path)
        self.linked = []
        db.session.execute(
            update(BulkItem)
            .where(BulkItem.id == item_id)
            .values(state=state.value, claimed_at=None, **values)
        )
        db.session.commit()

    def _retry_or_fail(self, item_id: int, error: Exception) -> None:
        item = db.session.get(BulkItem, item_id)
        if item.attempts >= MAX_ATTEMPTS:
            self._finish(
                item_id,
                ItemState.REJECTED,
                reasons=[f"failed {item.attempts} times, last: {type(error).__name__}: {error}"],
            )
            return
        delay = RETRY_BACKOFF[min(item.attempts, len(RETRY_BACKOFF)) - 1]
        self._finish(item_id, ItemState.PENDING, retry_at=_now() + timedelta(seconds=delay))


def reclaim_stale(job_id) -> int:
    """Put items claimed by a worker that died back to pending; how many."""
    timeout = current_app.config["SPECIMEN_BULK_CLAIM_TIMEOUT"]
    result = db.session.execute(
        update(BulkItem)
        .where(
            BulkItem.job_id == job_id,
            BulkItem.state == ItemState.PROCESSING.value,
            BulkItem.claimed_at < _now() - timedelta(seconds=timeout),
        )
        .values(state=ItemState.PENDING.value, claimed_at=None)
    )
    db.session.commit()
    return result.rowcount


def reject_missing_files(job_id) -> int:
    """After the client closed the job: items whose files never arrived are rejected."""
    result = db.session.execute(
        text(
            f"""
            UPDATE specimen_bulk_item i SET state = 'rejected', reasons = (
                SELECT jsonb_agg('files.' || (f->>'key') || ': the file (sha256 '
                                 || (f->>'sha256') || ') was never uploaded') {MISSING_FILES})
            WHERE i.job_id = :job AND i.state = 'pending' AND i.original_id IS NULL
              AND NOT {FILES_COMPLETE}
            """
        ),
        {"job": job_id},
    )
    db.session.commit()
    return result.rowcount


def release_uploads(job: BulkJob) -> int:
    """Delete the uploads of a finished job that no pending item of the owner still needs."""
    rows = db.session.execute(
        text(
            """
            SELECT DISTINCT f->>'sha256' FROM specimen_bulk_item i,
                   jsonb_array_elements(i.files) f
            WHERE i.job_id = :job
              AND NOT EXISTS (
                SELECT 1 FROM specimen_bulk_item o, jsonb_array_elements(o.files) g
                WHERE o.owner_id = i.owner_id AND o.state IN ('pending', 'processing')
                  AND g->>'sha256' = f->>'sha256')
            """
        ),
        {"job": job.id},
    ).all()
    # One DELETE for the job: one per file took ~1.3 ms of PostgreSQL each (12 s in a
    # 3,000-record benchmark, pg_stat_statements).
    uploads.release(job.owner_id, [sha256 for (sha256,) in rows])
    db.session.commit()
    return len(rows)


def unfinished_items(job_id) -> int:
    """Owning items of the job that are not final yet."""
    return (
        BulkItem.query.filter_by(job_id=job_id)
        .filter(BulkItem.original_id.is_(None))
        .filter(BulkItem.state.in_([ItemState.PENDING.value, ItemState.PROCESSING.value]))
        .count()
    )


def finish_if_done(job: BulkJob) -> bool:
    """Mark the job finished when every item is final and indexed; whether it is. The job's
    invenio-jobs Run gets the current state and counts either way."""
    if job.state in (JobState.FINISHED.value, JobState.CANCELLED.value):
        return True
    done = not unfinished_items(job.id) and not (
        BulkItem.query.filter_by(job_id=job.id, state=ItemState.PUBLISHED.value, indexed=False)
        .filter(BulkItem.original_id.is_(None))
        .count()
    )
    if done:
        job.state = JobState.FINISHED.value
        job.finished = _now()
    update_run(job, counts(db.session, job))
    db.session.commit()
    if done:
        release_uploads(job)
    return done
