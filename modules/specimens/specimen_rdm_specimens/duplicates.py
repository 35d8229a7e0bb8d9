"""Finding the published specimen record that a new deposit duplicates.

A specimen is the same specimen when it has the same `dwc:occurrenceID`, or the same
`institutionCode` + `collectionCode` + `catalogNumber`, or an image whose SHA-256 equals an image
of a published record. The lookups read PostgreSQL (not the search index, which lags behind
writes), through the expression indexes that `invenio specimens db-indexes` creates.
"""

import json
from dataclasses import dataclass

from flask import current_app
from invenio_db import db
from invenio_rdm_records.records.models import RDMRecordMetadata
from invenio_rdm_records.records.systemfields.deletion_status import RecordDeletionStatusEnum
from sqlalchemy import text

from .custom_fields import QUALITY_FIELD

SPECIMEN_DB_INDEXES = {
    "ix_rdm_records_dwc_occurrence_id": (
        "rdm_records_metadata ((json->'custom_fields'->>'dwc:occurrenceID'))"
    ),
    "ix_rdm_records_dwc_catalog_number": (
        "rdm_records_metadata ((json->'custom_fields'->>'dwc:catalogNumber'))"
    ),
    "ix_rdm_records_image_sha256": (
        f"rdm_records_metadata USING gin ((json->'custom_fields'->'{QUALITY_FIELD}'"
        "->'image_sha256'))"
    ),
}
"""Expression indexes that keep duplicate lookups fast with hundreds of thousands of records."""


@dataclass(frozen=True)
class Duplicate:
    """A published record that a deposit duplicates, and why."""

    record_id: str
    field: str
    reason: str


class DuplicateSpecimenError(Exception):
    """The deposit describes a specimen that a published record already holds."""

    def __init__(self, duplicate: Duplicate) -> None:
        """Keep the existing record so the API can answer with it."""
        super().__init__(duplicate.reason)
        self.duplicate = duplicate

    @property
    def record_id(self) -> str:
        """The existing record's id."""
        return self.duplicate.record_id

    def to_json(self) -> dict:
        """The 409 body: InvenioRDM's error shape plus the existing record and its links."""
        site = current_app.config.get("SITE_UI_URL", "")
        api = current_app.config.get("SITE_API_URL", "")
        record_id = self.duplicate.record_id
        # The deposit form shows `messages` at the field: the link lets the depositor open it.
        message = f"{self.duplicate.reason} See {site}/records/{record_id}"
        return {
            "status": 409,
            "message": message,
            "errors": [{"field": self.duplicate.field, "messages": [message]}],
            "existing_record": {
                "id": record_id,
                "links": {
                    "self": f"{api}/records/{record_id}",
                    "self_html": f"{site}/records/{record_id}",
                },
            },
        }


def create_indexes() -> list[str]:
    """Create the lookup indexes if missing; the names of the indexes."""
    for name, target in SPECIMEN_DB_INDEXES.items():
        db.session.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON {target}"))
    db.session.commit()
    return list(SPECIMEN_DB_INDEXES)


_OCCURRENCE_ID = "json->'custom_fields'->>'dwc:occurrenceID'"
_CATALOG_NUMBER = "json->'custom_fields'->>'dwc:catalogNumber'"
_INSTITUTION_CODE = "json->'custom_fields'->>'dwc:institutionCode'"
_COLLECTION_CODE = "json->'custom_fields'->>'dwc:collectionCode'"
_IMAGE_SHA256 = f"json->'custom_fields'->'{QUALITY_FIELD}'->'image_sha256'"
# The same expressions as SPECIMEN_DB_INDEXES, written out so that PostgreSQL uses the indexes.


def _first_published(condition: str, exclude_parent_id=None, **values) -> str | None:
    """The id of a published, not deleted record matching `condition`, if any."""
    query = (
        db.session.query(text("json->>'id'"))
        .select_from(RDMRecordMetadata)
        .filter(
            RDMRecordMetadata.is_deleted.is_(False),
            RDMRecordMetadata.deletion_status == RecordDeletionStatusEnum.PUBLISHED.value,
            text(condition).bindparams(**values),
        )
    )
    if exclude_parent_id is not None:
        query = query.filter(RDMRecordMetadata.parent_id != exclude_parent_id)
    found = query.first()
    return found[0] if found else None


def find_by_terms(custom_fields: dict, exclude_parent_id=None) -> Duplicate | None:
    """The published record with the same occurrenceID or catalogue number triple."""
    occurrence_id = custom_fields.get("dwc:occurrenceID")
    if occurrence_id:
        found = _first_published(
            f"{_OCCURRENCE_ID} = :occurrence_id", exclude_parent_id, occurrence_id=occurrence_id
        )
        if found:
            return Duplicate(
                found,
                "custom_fields.dwc:occurrenceID",
                f"occurrenceID {occurrence_id!r} is already published as record {found}.",
            )
    institution = custom_fields.get("dwc:institutionCode")
    collection = custom_fields.get("dwc:collectionCode")
    catalog_number = custom_fields.get("dwc:catalogNumber")
    if institution and collection and catalog_number:
        found = _first_published(
            f"{_CATALOG_NUMBER} = :catalog_number AND {_INSTITUTION_CODE} = :institution "
            f"AND {_COLLECTION_CODE} = :collection",
            exclude_parent_id,
            catalog_number=catalog_number,
            institution=institution,
            collection=collection,
        )
        if found:
            return Duplicate(
                found,
                "custom_fields.dwc:catalogNumber",
                f"{institution} {collection} {catalog_number} (institutionCode, collectionCode, "
                f"catalogNumber) is already published as record {found}.",
            )
    return None


def find_by_image(sha256_digests: list[str], exclude_parent_id=None) -> Duplicate | None:
    """The published record holding an image with one of these SHA-256 digests."""
    for digest in sha256_digests:
        found = _first_published(
            f"{_IMAGE_SHA256} @> CAST(:digests AS jsonb)",
            exclude_parent_id,
            digests=json.dumps([digest]),
        )
        if found:
            return Duplicate(
                found,
                "files",
                f"an image with SHA-256 {digest} is already published as record {found}.",
            )
    return None
