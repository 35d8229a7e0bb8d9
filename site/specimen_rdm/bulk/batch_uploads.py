"""Several whole files in one request: a tar stream whose members are named by their SHA-256.

Each request to the API costs ~20 ms of one core before a byte is stored (token check, user
and identity, rate-limit counter, session), against well under a millisecond per 100 kB to
hash and write an image (measured with Flask's test client on this instance). A bulk deposit
of one image per specimen made that overhead the web server's main cost, so small files may go
up together: `POST /bulk/files` with `Content-Type: application/x-tar`.

Every member is stored exactly as `PUT /bulk/files/{sha256}` stores a file (`receive_whole`):
written to a temporary name, kept only if its bytes have the SHA-256 of its name and its size,
and recorded in its own commit. One bad member does not stop the others: the answer lists each
member with `complete: true`, or `complete: false` with the status and message that
`PUT /bulk/files/{sha256}` would have given (409: declared in parts, 413: too large,
422: checksum mismatch, 400: not a SHA-256 name, not a regular file). A body that stops being
a readable tar stream is a 400 naming how many members were read; those members stay stored.
"""

import tarfile

from flask import current_app
from invenio_db import db

from .errors import BulkError
from .uploads import receive_whole

TAR_TYPES = ("application/x-tar", "application/tar")


def _refused(name: str, error: BulkError) -> dict:
    return {"sha256": name, "complete": False, **error.to_json()}


def receive_tar(owner_id: int, stream, content_length: int | None) -> list[dict]:
    """Store the members of a tar stream as uploads of `owner_id`; one result per member."""
    config = current_app.config
    max_bytes = config["SPECIMEN_BULK_MAX_BATCH_BYTES"]
    max_files = config["SPECIMEN_BULK_MAX_FILES_PER_REQUEST"]
    if content_length is not None and content_length > max_bytes:
        raise BulkError(
            f"A request of files may have at most {max_bytes} bytes.",
            errors=[{"field": "Content-Length", "messages": ["too large"]}],
            status=413,
        )
    results = []
    try:
        with tarfile.open(fileobj=stream, mode="r|") as archive:
            for member in archive:
                if len(results) == max_files:
                    raise BulkError(
                        f"A request may carry at most {max_files} files; the first "
                        f"{max_files} were stored.",
                        errors=[{"field": f"body.{max_files}", "messages": ["too many files"]}],
                        status=413,
                    )
                name = member.name
                if not member.isfile():
                    error = BulkError(f"{name}: not a regular file.")
                    results.append(_refused(name, error))
                    continue
                try:
                    upload = receive_whole(owner_id, name, member.size, archive.extractfile(member))
                except BulkError as error:
                    db.session.rollback()
                    results.append(_refused(name, error))
                    continue
                results.append({"sha256": upload.sha256, "size": upload.size, "complete": True})
    except tarfile.TarError as error:
        db.session.rollback()
        raise BulkError(
            f"The body is not a readable tar stream after {len(results)} files ({error}); "
            f"the {sum(r['complete'] for r in results)} complete files before it are stored.",
            errors=[{"field": f"body.{len(results)}", "messages": [str(error) or "unreadable"]}],
        ) from error
    if not results:
        raise BulkError(
            "The tar stream has no files.", errors=[{"field": "body", "messages": ["empty"]}]
        )
    return results
