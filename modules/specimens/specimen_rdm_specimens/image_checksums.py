"""SHA-256 digests of a record's images (invenio-files-rest keeps only MD5)."""

import hashlib
import mimetypes

CHUNK_SIZE = 1024 * 1024


def sha256_of_stream(stream) -> str:
    """Hex SHA-256 of a binary stream, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    for chunk in iter(lambda: stream.read(CHUNK_SIZE), b""):
        digest.update(chunk)
    return digest.hexdigest()


def image_digests(files) -> dict[str, str]:
    """`{file key: sha256}` for the image files of a record's or draft's file manager."""
    digests = {}
    for key, file_record in files.items():
        if file_record.object_version is None:
            continue
        mimetype = mimetypes.guess_type(key)[0] or ""
        if not mimetype.startswith("image/"):
            continue
        with file_record.open_stream("rb") as stream:
            digests[key] = sha256_of_stream(stream)
    return digests
