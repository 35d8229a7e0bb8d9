"""schema.org JSON-LD of specimen records (landing pages and `application/ld+json`).

Extends InvenioRDM's schema.org schema. Specimen records (those with `dwc:` values) also carry:

- `contentLocation`: a `Place` named "locality, stateProvince, country" with `GeoCoordinates`;
- `temporalCoverage`: the collecting date or interval (ISO 8601, `1931-06-27/1931-07-02`);
- `about`: the specimen's `Taxon` (Bioschemas Taxon profile: `name`, `taxonRank`) with its
  `parentTaxon` chain up to the kingdom;
- `identifier`: InvenioRDM's (the DOI as a URL) followed by the catalogue number as a
  `PropertyValue` and the occurrenceID (a URL when it is a CETAF stable identifier).

Records without Darwin Core values serialise exactly as InvenioRDM serialises them.
"""

from collections.abc import Mapping
from typing import Any

from flask_resources import BaseListSchema, MarshmallowSerializer, ResponseHandler
from flask_resources.serializers import JSONSerializer
from invenio_rdm_records.contrib.journal.processors import JournalSchemaorgDumper
from invenio_rdm_records.resources.serializers.schemaorg.schema import SchemaorgSchema
from marshmallow import post_dump

from .darwin_core_terms import DWC_NAMESPACE
from .specimen_datacite import (
    collecting_date,
    collecting_place,
    collecting_point,
    higher_taxa,
    http_occurrence_id,
    scientific_name,
    specimen_fields,
    taxon_rank,
)
from .taxon_names import HIGHER_RANKS

JSON_LD = "application/ld+json"


def content_location(record: Mapping) -> dict | None:
    """The collecting place as a schema.org `Place` with `GeoCoordinates`, or None."""
    place: dict[str, Any] = {"@type": "Place"}
    name = collecting_place(record)
    if name:
        place["name"] = name
    point = collecting_point(record)
    if point:
        place["geo"] = {"@type": "GeoCoordinates", "latitude": point[0], "longitude": point[1]}
    return place if len(place) > 1 else None


def _taxon(name: str, rank: str | None, parent: dict | None) -> dict:
    taxon = {"@type": "Taxon", "name": name}
    if rank:
        taxon["taxonRank"] = rank
    if parent:
        taxon["parentTaxon"] = parent
    return taxon


def taxon(record: Mapping) -> dict | None:
    """The specimen's `Taxon`, its `parentTaxon` the next higher rank, up to the kingdom."""
    name, rank = scientific_name(record), taxon_rank(record)
    ranks = higher_taxa(record)
    above = HIGHER_RANKS[: HIGHER_RANKS.index(rank)] if rank in HIGHER_RANKS else HIGHER_RANKS
    parent = None
    for higher_rank in above:  # kingdom first, so each taxon wraps the one above it
        if higher_rank in ranks:
            parent = _taxon(ranks[higher_rank], higher_rank, parent)
    if name:
        return _taxon(name, rank, parent)
    return parent


def specimen_identifiers(record: Mapping) -> list[str | dict]:
    """The catalogue number as a `PropertyValue`, then the occurrenceID."""
    fields = specimen_fields(record)
    identifiers: list[str | dict] = []
    for term in ("catalogNumber", "occurrenceID"):
        value = fields.get(f"dwc:{term}")
        if not value:
            continue
        if term == "occurrenceID" and http_occurrence_id(record):
            identifiers.append(str(value))
        else:
            identifiers.append(
                {"@type": "PropertyValue", "propertyID": f"{DWC_NAMESPACE}{term}", "value": value}
            )
    return identifiers


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


class SpecimenSchemaorgSchema(SchemaorgSchema):
    """InvenioRDM's schema.org schema plus the place, date, taxon and identifiers of a specimen."""

    @post_dump(pass_original=True)
    def add_specimen_metadata(self, data: dict, original: Mapping, **kwargs) -> dict:
        """Add contentLocation, temporalCoverage and about; extend identifier."""
        if not specimen_fields(original):
            return data
        location = content_location(original)
        if location:
            data["contentLocation"] = location
        date = collecting_date(original)
        if date:
            data["temporalCoverage"] = date
        about = taxon(original)
        if about:
            data["about"] = [*_as_list(data["about"]), about] if "about" in data else about
        added = specimen_identifiers(original)
        if added:
            present = _as_list(data.get("identifier"))
            data["identifier"] = present + [i for i in added if i not in present]
        return data


class SpecimenSchemaorgJSONLDSerializer(MarshmallowSerializer):
    """schema.org JSON-LD of records, with specimen metadata (InvenioRDM's, wired the same way)."""

    def __init__(self, **options) -> None:
        """`options` go to the JSON format serializer (e.g. `indent`)."""
        super().__init__(
            format_serializer_cls=JSONSerializer,
            object_schema_cls=SpecimenSchemaorgSchema,
            list_schema_cls=BaseListSchema,
            schema_kwargs={"dumpers": [JournalSchemaorgDumper()]},
            **options,
        )


SPECIMEN_SCHEMA_ORG_SERIALIZERS = {
    JSON_LD: ResponseHandler(SpecimenSchemaorgJSONLDSerializer()),
}
"""`RDM_RECORDS_SERIALIZERS` entry replacing InvenioRDM's `application/ld+json` (no headers,
as InvenioRDM's)."""
