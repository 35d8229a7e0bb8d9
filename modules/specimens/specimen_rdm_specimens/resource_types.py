"""The resource type of specimen records, added to InvenioRDM's resource-type vocabulary.

InvenioRDM's fixtures load its own list of resource types; `ensure_resource_types` adds ours to
it (idempotently) instead of replacing that list with a copy.
"""

from invenio_access.permissions import system_identity
from invenio_pidstore.errors import PIDDoesNotExistError
from invenio_vocabularies.proxies import current_service as vocabulary_service

SPECIMEN_RESOURCE_TYPE = "image-specimen"

RESOURCE_TYPES = [
    {
        "id": SPECIMEN_RESOURCE_TYPE,
        "type": "resourcetypes",
        "icon": "leaf",
        "props": {
            "csl": "graphic",
            "datacite_general": "Image",
            "datacite_type": "Specimen image",
            "openaire_resourceType": "0025",
            "openaire_type": "dataset",
            "eurepo": "info:eu-repo/semantics/other",
            "schema.org": "https://schema.org/Photograph",
            "subtype": SPECIMEN_RESOURCE_TYPE,
            "type": "image",
            "marc21_type": "image",
            "marc21_subtype": "specimen",
        },
        "title": {"en": "Specimen image", "de": "Belegbild", "fr": "Image de spécimen"},
        "tags": ["depositable", "linkable"],
    }
]
"""Resource-type vocabulary entries for specimen records (DataCite `Image`, schema.org
`Photograph`)."""


def ensure_resource_types() -> list[str]:
    """Create the specimen resource types that are missing; the ids created."""
    created = []
    for entry in RESOURCE_TYPES:
        try:
            vocabulary_service.read(system_identity, ("resourcetypes", entry["id"]))
        except PIDDoesNotExistError:
            vocabulary_service.create(system_identity, entry)
            created.append(entry["id"])
    return created
