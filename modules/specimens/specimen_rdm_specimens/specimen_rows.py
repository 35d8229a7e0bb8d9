"""Turning a Darwin Core row into the RDM record a specimen deposit creates.

The row's Darwin Core / Audubon Core values become custom fields as they are (lists split on
`|`); the record's title, creator and resource type are derived from them, and an HTTP(S)
occurrenceID (the CETAF stable identifier) becomes an alternate identifier, which InvenioRDM
sends to DataCite as `alternateIdentifier`.
"""

import datetime

from .custom_fields import INTEGER_TERMS, LIST_TERMS, SPECIMEN_FIELD_NAMES
from .resource_types import SPECIMEN_RESOURCE_TYPE

LIST_FIELDS = {f"dwc:{term}" for term in LIST_TERMS}
INTEGER_FIELDS = {f"dwc:{term}" for term in INTEGER_TERMS}


def _list_value(value: str) -> list[str]:
    return [part.strip() for part in value.split("|") if part.strip()]


def custom_fields_from_row(values: dict[str, str]) -> tuple[dict, list[str]]:
    """The row's values as custom fields, and the terms that specimen records do not store."""
    custom_fields, ignored = {}, []
    for term, value in values.items():
        if term not in SPECIMEN_FIELD_NAMES or term == "specimen:quality":
            ignored.append(term)
            continue
        if term in LIST_FIELDS:
            value = _list_value(value)
        elif term in INTEGER_FIELDS and value.strip().lstrip("+-").isdigit():
            value = int(value)  # the integer field refuses numeric text; other text stays as is
        custom_fields[term] = value
    return custom_fields, sorted(ignored)


def title_of(custom_fields: dict) -> str:
    """`Quercus robur L. — B 10 0012345` (name, then the specimen's catalogue number)."""
    name = custom_fields.get("dwc:scientificName") or "Unidentified specimen"
    number = " ".join(
        custom_fields[f"dwc:{term}"]
        for term in ("institutionCode", "collectionCode", "catalogNumber")
        if custom_fields.get(f"dwc:{term}")
    )
    return f"{name} — {number}" if number else name


def _is_http(value: str | None) -> bool:
    return bool(value) and value.lower().startswith(("http://", "https://"))


def record_from_row(
    values: dict[str, str],
    *,
    with_files: bool,
    publisher: str,
    media_links: list[str] | None = None,
    today: datetime.date | None = None,
) -> tuple[dict, list[str]]:
    """RDM record data for a Darwin Core row, and the terms left out.

    `media_links` are the row's multimedia links that are not files in the archive (image URLs
    of the Audubon Core / GBIF Multimedia extension): they become `dwc:associatedMedia` when the
    row has none, so they are not lost.
    """
    custom_fields, ignored = custom_fields_from_row(values)
    if media_links and not custom_fields.get("dwc:associatedMedia"):
        custom_fields["dwc:associatedMedia"] = list(media_links)
    creator = (
        custom_fields.get("dwc:institutionCode")
        or values.get("dwc:datasetName")
        or values.get("dwc:institutionID")
        or publisher
    )
    metadata = {
        "resource_type": {"id": SPECIMEN_RESOURCE_TYPE},
        "title": title_of(custom_fields),
        "publication_date": (today or datetime.date.today()).isoformat(),
        "publisher": publisher,
        "creators": [{"person_or_org": {"type": "organizational", "name": creator}}],
    }
    occurrence_id = custom_fields.get("dwc:occurrenceID")
    if _is_http(occurrence_id):
        metadata["identifiers"] = [{"identifier": occurrence_id, "scheme": "url"}]
    record = {
        "metadata": metadata,
        "custom_fields": custom_fields,
        "access": {"record": "public", "files": "public"},
        "files": {"enabled": with_files},
    }
    return record, ignored
