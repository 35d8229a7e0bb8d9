"""Tables of bulk deposit: jobs, their items (one per submitted record) and uploads.

An item is the truth about one submitted idempotency key. The first item submitted for a key
(per owner) *owns* it: a partial unique index allows one owning item per (owner, key), so two
concurrent submissions can never both create a record. A later submission of the same key gets
an item that refers to the owner (`original_id`) and is reported with the owner's outcome.
The record is created and the owning item marked `published` in the same database transaction,
so a worker that dies half-way leaves either both or neither.
"""

import enum
import uuid
from datetime import UTC, datetime

from invenio_db import db
from sqlalchemy import Index, text
from sqlalchemy.dialects import postgresql
from sqlalchemy_utils.types import UUIDType


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


JSON = db.JSON().with_variant(postgresql.JSONB(), "postgresql")


class JobState(enum.StrEnum):
    """Life of a bulk job."""

    OPEN = "open"
    """Accepting files; items whose files are complete are processed already."""
    CLOSED = "closed"
    """The client sent every file; items still missing one are rejected."""
    FINISHED = "finished"
    CANCELLED = "cancelled"


class ItemState(enum.StrEnum):
    """Life of one submitted record."""

    PENDING = "pending"
    PROCESSING = "processing"
    PUBLISHED = "published"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    """Another published record holds this specimen (same occurrenceID, catalogue number or
    image); `record_id` names it."""

    @property
    def final(self) -> bool:
        """Whether nothing will change this item any more."""
        return self not in (ItemState.PENDING, ItemState.PROCESSING)


class BulkJob(db.Model):
    """One submitted batch."""

    __tablename__ = "specimen_bulk_job"

    id = db.Column(UUIDType, primary_key=True, default=uuid.uuid4)
    owner_id = db.Column(db.Integer, db.ForeignKey("accounts_user.id"), nullable=False)
    client_token = db.Column(db.String(255), nullable=True)
    """The client's `Idempotency-Key` of the submission: resubmitting returns this job."""
    state = db.Column(db.String(20), nullable=False, default=JobState.OPEN.value)
    community = db.Column(db.String(255), nullable=True)
    run_id = db.Column(UUIDType, nullable=True)
    """The invenio-jobs Run that shows this job in the administration panel."""
    created = db.Column(db.DateTime, nullable=False, default=_now)
    updated = db.Column(db.DateTime, nullable=False, default=_now, onupdate=_now)
    finished = db.Column(db.DateTime, nullable=True)
    last_progress = db.Column(db.DateTime, nullable=False, default=_now)

    __table_args__ = (
        Index(
            "uq_specimen_bulk_job_token",
            "owner_id",
            "client_token",
            unique=True,
            postgresql_where=text("client_token IS NOT NULL"),
        ),
    )


class BulkItem(db.Model):
    """One submitted record of a job."""

    __tablename__ = "specimen_bulk_item"

    id = db.Column(db.BigInteger, primary_key=True, autoincrement=True)
    job_id = db.Column(UUIDType, db.ForeignKey(BulkJob.id), nullable=False, index=True)
    owner_id = db.Column(db.Integer, nullable=False)
    line = db.Column(db.Integer, nullable=False)
    key = db.Column(db.String(512), nullable=False)
    original_id = db.Column(db.BigInteger, db.ForeignKey("specimen_bulk_item.id"), nullable=True)
    conflict = db.Column(db.Boolean, nullable=False, default=False)
    """A resubmission whose data differs from the owning item's (nothing was changed)."""
    state = db.Column(db.String(20), nullable=False, default=ItemState.PENDING.value)
    data = db.Column(JSON, nullable=True)
    data_hash = db.Column(db.String(64), nullable=False)
    files = db.Column(JSON, nullable=False, default=list)
    record_id = db.Column(db.String(64), nullable=True)
    doi = db.Column(db.String(255), nullable=True)
    flags = db.Column(JSON, nullable=True)
    reasons = db.Column(JSON, nullable=True)
    attempts = db.Column(db.Integer, nullable=False, default=0)
    claimed_at = db.Column(db.DateTime, nullable=True)
    retry_at = db.Column(db.DateTime, nullable=True)
    """After an unexpected error, the item is tried again from this time on (backoff)."""
    indexed = db.Column(db.Boolean, nullable=False, default=False)
    updated = db.Column(db.DateTime, nullable=False, default=_now, onupdate=_now)

    __table_args__ = (
        Index(
            "uq_specimen_bulk_item_owner_key",
            "owner_id",
            "key",
            unique=True,
            postgresql_where=text("original_id IS NULL"),
        ),
        Index("ix_specimen_bulk_item_job_state", "job_id", "state"),
        # The claim walks a job's pending items in line order and stops at its limit, instead
        # of checking the files of every pending item and sorting them (~80 ms a claim at
        # 7,000 pending items).
        Index(
            "ix_specimen_bulk_item_claimable",
            "job_id",
            "line",
            postgresql_where=text("state = 'pending' AND original_id IS NULL"),
        ),
    )


class BulkFile(db.Model):
    """A file uploaded for bulk deposit, by its owner and SHA-256 (each uploaded once)."""

    __tablename__ = "specimen_bulk_file"

    owner_id = db.Column(db.Integer, primary_key=True)
    sha256 = db.Column(db.String(64), primary_key=True)
    size = db.Column(db.BigInteger, nullable=False)
    part_size = db.Column(db.Integer, nullable=False)
    complete = db.Column(db.Boolean, nullable=False, default=False)
    md5 = db.Column(db.String(32), nullable=True)
    created = db.Column(db.DateTime, nullable=False, default=_now)

    @property
    def parts_total(self) -> int:
        """How many parts the file is cut into (at least one, for an empty file)."""
        return max(1, -(-self.size // self.part_size))


class BulkFilePart(db.Model):
    """A received, checksum-verified part of an upload."""

    __tablename__ = "specimen_bulk_file_part"

    owner_id = db.Column(db.Integer, primary_key=True)
    sha256 = db.Column(db.String(64), primary_key=True)
    number = db.Column(db.Integer, primary_key=True)
    size = db.Column(db.Integer, nullable=False)
    part_sha256 = db.Column(db.String(64), nullable=False)

    __table_args__ = (
        db.ForeignKeyConstraint(
            ["owner_id", "sha256"],
            [BulkFile.owner_id, BulkFile.sha256],
            ondelete="CASCADE",
        ),
    )


BULK_TABLES = [BulkJob.__table__, BulkItem.__table__, BulkFile.__table__, BulkFilePart.__table__]
