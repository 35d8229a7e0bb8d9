"""Settings of specimen records (defaults; override in invenio.cfg or INVENIO_* variables)."""

from .darwin_core_archive import DEFAULT_MAX_UNCOMPRESSED_BYTES

SPECIMEN_IMPORTS_DIR = None
"""Folder for uploaded archives and import reports, shared by web and worker nodes
(default: `<instance path>/imports`)."""

SPECIMEN_IMPORT_MAX_UNCOMPRESSED_BYTES = DEFAULT_MAX_UNCOMPRESSED_BYTES
"""Largest total unpacked size of an uploaded archive (zip-bomb guard), in bytes."""
