"""Resumable, checksum-verified uploads in parts.

A file is declared by its SHA-256 and size (`declare`), then sent in parts of `part_size` bytes
(`receive_part`, each with its own SHA-256, in any order, any number of times), then assembled
(`complete`), which checks the whole file's size and SHA-256. Parts live as files under
`SPECIMEN_BULK_DIR/<owner>/<sha256>/`; the database remembers which parts arrived intact, so a
client that was interrupted asks which are missing and sends only those.

InvenioRDM's own multipart transfer hands parts to the storage backend (S3's multipart API);
the local file storage used here has no such API, so parts are kept and joined here instead.
Each file is stored once per owner, whatever the number of jobs that name it.
"""

import hashlib
import os
import shutil
import uuid
from pathlib import Path

from flask import current_app
from invenio_db import db
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from .errors import BulkError, ChecksumMismatch, Conflict, NotFound
from .models import BulkFile, BulkFilePart
from .submission import SHA256

COPY_CHUNK = 1024 * 1024


def bulk_dir() -> Path:
    """Where parts and assembled files live."""
    configured = current_app.config.get("SPECIMEN_BULK_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "bulk"


def file_dir(owner_id: int, sha256: str) -> Path:
    """The folder of one upload."""
    return bulk_dir() / str(owner_id) / sha256[:2] / sha256


def assembled_path(owner_id: int, sha256: str) -> Path:
    """The complete, verified file."""
    return file_dir(owner_id, sha256) / "data"


def _check_digest(sha256: str) -> str:
    if not SHA256.match(sha256 or ""):
        raise BulkError(
            "sha256 must be 64 lower-case hexadecimal digits.",
            errors=[{"field": "sha256", "messages": ["not a SHA-256 hex digest"]}],
        )
    return sha256


def status(upload: BulkFile) -> dict:
    """What the client needs to resume: size, part size, the parts already received."""
    received = db.session.scalars(
        select(BulkFilePart.number)
        .where(BulkFilePart.owner_id == upload.owner_id, BulkFilePart.sha256 == upload.sha256)
        .order_by(BulkFilePart.number)
    ).all()
    return {
        "sha256": upload.sha256,
        "size": upload.size,
        "part_size": upload.part_size,
        "parts_total": upload.parts_total,
        "parts_received": [] if upload.complete else list(received),
        "complete": upload.complete,
    }


def get_upload(owner_id: int, sha256: str) -> BulkFile:
    """The declared upload; NotFound otherwise."""
    upload = db.session.get(BulkFile, (owner_id, _check_digest(sha256)))
    if upload is None:
        raise NotFound(f"No upload with sha256 {sha256} was declared.")
    return upload


def declare(owner_id: int, sha256: str, size, part_size=None) -> BulkFile:
    """Declare an upload (idempotent: the same declaration returns the existing one)."""
    config = current_app.config
    _check_digest(sha256)
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise BulkError("size must be a whole number of bytes.", errors=[_field("size")])
    if size > config["SPECIMEN_BULK_MAX_FILE_BYTES"]:
        raise BulkError(
            f"size: {size} bytes is more than {config['SPECIMEN_BULK_MAX_FILE_BYTES']}.",
            errors=[_field("size", "too large")],
            status=413,
        )
    part_size = config["SPECIMEN_BULK_PART_SIZE"] if part_size is None else part_size
    low, high = config["SPECIMEN_BULK_MIN_PART_SIZE"], config["SPECIMEN_BULK_MAX_PART_SIZE"]
    if not isinstance(part_size, int) or not low <= part_size <= high:
        raise BulkError(
            f"part_size must be between {low} and {high} bytes.",
            errors=[_field("part_size", f"between {low} and {high}")],
        )
    existing = db.session.get(BulkFile, (owner_id, sha256))
    if existing is not None:
        if existing.size != size:
            raise Conflict(
                f"sha256 {sha256} was declared with size {existing.size}, not {size}.",
                errors=[_field("size", f"declared earlier as {existing.size}")],
            )
        return existing
    db.session.execute(
        pg_insert(BulkFile.__table__)
        .values(owner_id=owner_id, sha256=sha256, size=size, part_size=part_size, complete=False)
        .on_conflict_do_nothing()
    )
    db.session.commit()
    return db.session.get(BulkFile, (owner_id, sha256))


def _field(name: str, reason: str = "invalid") -> dict:
    return {"field": name, "messages": [reason]}


def expected_part_size(upload: BulkFile, number: int) -> int:
    """Bytes part `number` (1-based) must have: `part_size`, the rest for the last part."""
    if not 1 <= number <= upload.parts_total:
        raise BulkError(
            f"part number must be between 1 and {upload.parts_total}.",
            errors=[_field("part", f"1..{upload.parts_total}")],
        )
    if number < upload.parts_total:
        return upload.part_size
    return upload.size - upload.part_size * (upload.parts_total - 1)


def receive_part(upload: BulkFile, number: int, stream, part_sha256: str) -> dict:
    """Store one part if its size and SHA-256 are right; the upload's status.

    The part is written to a temporary name and renamed once verified, so a connection that
    drops half-way leaves nothing that counts as received.
    """
    if upload.complete:
        return status(upload)
    expected = expected_part_size(upload, number)
    part_sha256 = (part_sha256 or "").strip().lower()
    if not SHA256.match(part_sha256):
        raise BulkError(
            "Send the part's SHA-256 in the X-Part-SHA256 header.",
            errors=[_field("X-Part-SHA256", "missing or not 64 hex digits")],
        )
    folder = file_dir(upload.owner_id, upload.sha256)
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f"part-{number}.{uuid.uuid4().hex}.tmp"
    digest, received = hashlib.sha256(), 0
    try:
        with temporary.open("wb") as out:
            while chunk := stream.read(COPY_CHUNK):
                received += len(chunk)
                if received > expected:
                    break
                digest.update(chunk)
                out.write(chunk)
        if received != expected:
            raise BulkError(
                f"part {number} must have {expected} bytes, received "
                f"{'more' if received > expected else received}.",
                errors=[_field("part", "wrong size")],
            )
        if digest.hexdigest() != part_sha256:
            raise ChecksumMismatch(
                f"part {number}: the bytes received have SHA-256 {digest.hexdigest()}, "
                f"not {part_sha256}; send the part again.",
                errors=[_field("X-Part-SHA256", "does not match the bytes received")],
            )
        temporary.replace(folder / f"part-{number}")
    finally:
        temporary.unlink(missing_ok=True)
    db.session.execute(
        pg_insert(BulkFilePart.__table__)
        .values(
            owner_id=upload.owner_id,
            sha256=upload.sha256,
            number=number,
            size=expected,
            part_sha256=part_sha256,
        )
        .on_conflict_do_update(
            index_elements=["owner_id", "sha256", "number"],
            set_={"size": expected, "part_sha256": part_sha256},
        )
    )
    db.session.commit()
    return status(upload)


def complete(upload: BulkFile) -> dict:
    """Join the parts, check the whole file's size and SHA-256; the status.

    A mismatch throws the parts away (422): they cannot be told apart, so the file is sent again.
    """
    upload = db.session.get(BulkFile, (upload.owner_id, upload.sha256), with_for_update=True)
    if upload.complete:
        db.session.commit()
        return status(upload)
    current = status(upload)
    missing = sorted(set(range(1, upload.parts_total + 1)) - set(current["parts_received"]))
    if missing:
        db.session.commit()
        raise Conflict(
            f"{len(missing)} part(s) missing: {missing[:20]}.",
            errors=[_field("parts", f"missing {missing[:20]}")],
        )
    folder = file_dir(upload.owner_id, upload.sha256)
    temporary = folder / f"data.{uuid.uuid4().hex}.tmp"
    sha256, md5, size = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
    with temporary.open("wb") as out:
        for number in range(1, upload.parts_total + 1):
            with (folder / f"part-{number}").open("rb") as part:
                while chunk := part.read(COPY_CHUNK):
                    sha256.update(chunk)
                    md5.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    if size != upload.size or sha256.hexdigest() != upload.sha256:
        temporary.unlink(missing_ok=True)
        _drop_parts(upload)
        db.session.commit()
        raise ChecksumMismatch(
            f"The parts join to {size} bytes with SHA-256 {sha256.hexdigest()}, not "
            f"{upload.size} bytes with {upload.sha256}; the parts were discarded, upload the "
            "file again.",
            errors=[_field("sha256", "does not match the bytes received")],
        )
    temporary.replace(folder / "data")
    upload.complete = True
    upload.md5 = md5.hexdigest()
    _drop_parts(upload)
    db.session.commit()
    return status(upload)


def receive_whole(owner_id: int, sha256: str, size: int | None, stream) -> BulkFile:
    """A file sent in one request (up to the largest part size): declare, store, verify.

    Three requests become one for the many small images of a bulk deposit. A file declared
    earlier in parts is refused (409): send its parts.
    """
    if size is None:
        raise BulkError("Send the file with a Content-Length.", errors=[_field("Content-Length")])
    high = current_app.config["SPECIMEN_BULK_MAX_PART_SIZE"]
    if size > high:
        raise BulkError(
            f"Files larger than {high} bytes are sent in parts (POST /bulk/files).",
            errors=[_field("Content-Length", "too large for one request")],
            status=413,
        )
    part_size = max(size, current_app.config["SPECIMEN_BULK_MIN_PART_SIZE"])
    upload = db.session.get(BulkFile, (owner_id, _check_digest(sha256)))
    if upload is None:
        upload = declare(owner_id, sha256, size, part_size)
    elif upload.complete:
        return upload
    elif upload.size != size or upload.parts_total != 1:
        raise Conflict(
            f"sha256 {sha256} was declared as {upload.size} bytes in "
            f"{upload.parts_total} parts: send the parts.",
            errors=[_field("size", f"declared earlier as {upload.size}")],
        )
    _store_whole(upload, stream)
    return upload


def _store_whole(upload: BulkFile, stream) -> None:
    """Write a file sent in one request straight to its final name: one pass computes SHA-256
    and MD5; the bytes count only once both check out."""
    folder = file_dir(upload.owner_id, upload.sha256)
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f"data.{uuid.uuid4().hex}.tmp"
    sha256, md5, received = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
    try:
        with temporary.open("wb") as out:
            while chunk := stream.read(COPY_CHUNK):
                received += len(chunk)
                if received > upload.size:
                    break
                sha256.update(chunk)
                md5.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if received != upload.size:
            raise BulkError(
                f"the file must have {upload.size} bytes (Content-Length), received "
                f"{'more' if received > upload.size else received}.",
                errors=[_field("Content-Length", "wrong size")],
            )
        if sha256.hexdigest() != upload.sha256:
            raise ChecksumMismatch(
                f"the bytes received have SHA-256 {sha256.hexdigest()}, not {upload.sha256}; "
                "send the file again.",
                errors=[_field("sha256", "does not match the bytes received")],
            )
        temporary.replace(folder / "data")
    finally:
        temporary.unlink(missing_ok=True)
    upload.complete = True
    upload.md5 = md5.hexdigest()
    db.session.commit()


def _drop_parts(upload: BulkFile) -> None:
    db.session.execute(
        delete(BulkFilePart).where(
            BulkFilePart.owner_id == upload.owner_id, BulkFilePart.sha256 == upload.sha256
        )
    )
    for part in file_dir(upload.owner_id, upload.sha256).glob("part-*"):
        part.unlink(missing_ok=True)


def release(owner_id: int, sha256s: list[str]) -> None:
    """Forget these uploads (one statement) and delete their bytes (records keep their own
    hard link or copy)."""
    if not sha256s:
        return
    db.session.execute(
        delete(BulkFile).where(BulkFile.owner_id == owner_id, BulkFile.sha256.in_(sha256s))
    )
    for sha256 in sha256s:
        shutil.rmtree(file_dir(owner_id, sha256), ignore_errors=True)
