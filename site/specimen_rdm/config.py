"""Named constants of the instance, imported by `invenio.cfg` and by the tests."""

DEFAULT_LOCATION_NAME = "default"
"""Active storage (`var/data` in the native setup)."""

ARCHIVE_LOCATION_NAME = "archive"
"""Archive storage (`var/archive`): finished experiments move here and can be restored."""

DATACITE_DOI_FORMAT = "{prefix}/specimen-rdm.{id}"
"""DOI suffix: the record's PID after a fixed namespace."""

DATACITE_LOCAL_PREFIX = "10.5072"
"""DataCite's test prefix: DOIs minted without credentials never leave this instance."""

IIIF_BLUEPRINT = "iiif"
"""Name of InvenioRDM's IIIF blueprint (IIIFResourceConfig.blueprint_name)."""
