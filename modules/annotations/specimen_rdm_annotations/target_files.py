"""The image files of an RDM record that annotations can target, with their pixel sizes."""

import mimetypes
from dataclasses import dataclass

from PIL import Image

from specimen_rdm_specimens.image_checksums import sha256_of_stream


@dataclass
class TargetFile:
    """One image file of a record: key, pixel size and (computed on demand) SHA-256."""

    key: str
    width: int
    height: int
    file_record: object

    def sha256(self) -> str:
        """Hex SHA-256 of the file's bytes (read from storage)."""
        with self.file_record.open_stream("rb") as stream:
            return sha256_of_stream(stream)


def _pixel_size(file_record) -> tuple[int, int] | None:
    metadata = file_record.metadata or {}
    if metadata.get("width") and metadata.get("height"):
        return int(metadata["width"]), int(metadata["height"])
    # Not every upload path runs InvenioRDM's image metadata extractor: read the image header
    # (Pillow decodes no pixels for `.size`).
    try:
        with file_record.open_stream("rb") as stream, Image.open(stream) as image:
            return image.size
    except Exception:
        return None


def image_files(record) -> dict[str, TargetFile]:
    """`{file key: TargetFile}` of the record's image files whose size can be read."""
    if not record.files.enabled:
        return {}
    found = {}
    for key, file_record in record.files.items():
        if file_record.object_version is None:
            continue
        if not (mimetypes.guess_type(key)[0] or "").startswith("image/"):
            continue
        size = _pixel_size(file_record)
        if size is not None:
            found[key] = TargetFile(key, size[0], size[1], file_record)
    return found
