"""DataCite metadata of specimen records: what was collected, where and when.

Extends InvenioRDM's DataCite 4.5 schema, the version InvenioRDM 14 registers DOIs with and
serves as `application/vnd.datacite.datacite+json|xml` and in OAI-PMH. Specimen records (those
with `dwc:` values) additionally carry, after whatever InvenioRDM already sends:

- `subjects`: the scientific name, then kingdom, phylum, class, order, family and genus, each
  with `subjectScheme` "Darwin Core: <term>" and `schemeUri` the term's URI
  (`http://rs.tdwg.org/dwc/terms/scientificName`, `.../family`, ...);
- `geoLocations`: one location, `geoLocationPlace` "locality, stateProvince, country" and
  `geoLocationPoint` the collecting point;
- `dates`: the collecting date or interval (`1931-06-27/1931-07-02`) as `Collected`;
- `alternateIdentifiers`: an HTTP occurrenceID (the CETAF stable identifier) as `URL`.
  InvenioRDM already sends it from `metadata.identifiers`, where specimen deposits put it; it is
  added here only for records whose depositor left it out there.

Records without Darwin Core values serialise exactly as InvenioRDM serialises them.

The functions reading a specimen's taxon, place and date are shared with the Dublin Core,
Simple Darwin Core and schema.org exports. They prefer the server's interpretation
(`specimen:quality`) and fall back to the deposited values only for records never interpreted.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from datacite import schema45
from flask_resources import BaseListSchema, MarshmallowSerializer, ResponseHandler
from flask_resources.serializers import JSONSerializer, SimpleSerializer
from invenio_rdm_records.contrib.journal.processors import JournalDataciteDumper
from invenio_rdm_records.oai import oai_datacite_etree as upstream_oai_datacite_etree
from invenio_rdm_records.resources.serializers.datacite.schema import DataCite45Schema
from invenio_records_resources.resources.records.headers import etag_headers
from lxml import etree
from marshmallow import post_dump

from .custom_fields import QUALITY_FIELD
from .darwin_core_dates import date_range
from .darwin_core_terms import DWC_NAMESPACE
from .malformed_value import MalformedValue
from .taxon_names import HIGHER_RANKS

DWC_PREFIX = "dwc:"
SUBJECT_SCHEME = "Darwin Core: {term}"
"""`subjectScheme` of a taxon subject; `{term}` is the Darwin Core term it comes from."""

DATACITE_JSON = "application/vnd.datacite.datacite+json"
DATACITE_XML = "application/vnd.datacite.datacite+xml"
OAI_DATACITE_NAMESPACE = "http://schema.datacite.org/oai/oai-1.1/"


# --- what a specimen record says --------------------------------------------------------------


def _text(value: Any) -> str | None:
    """A stored value as text; index documents hold dates as `{"date": ..., "date_range": ...}`."""
    if isinstance(value, dict):
        value = value.get("date")
    if value is None or isinstance(value, (list, dict)):
        return None
    return str(value).strip() or None


def specimen_fields(record: Mapping) -> dict[str, Any]:
    """The record's non-empty Darwin Core values (`dwc:` custom fields); empty for others."""
    custom_fields = record.get("custom_fields") or {}
    return {
        term: value
        for term, value in custom_fields.items()
        if term.startswith(DWC_PREFIX) and value not in (None, "", [], {})
    }


def interpreted_values(record: Mapping) -> dict[str, Any]:
    """What the server interpreted from the Darwin Core values; empty if never interpreted."""
    quality = (record.get("custom_fields") or {}).get(QUALITY_FIELD) or {}
    return quality.get("interpreted") or {}


def collecting_point(record: Mapping) -> tuple[float, float] | None:
    """The collecting point as (latitude, longitude), or None.

    The interpreted point where there is one (swapped or negated coordinates already corrected).
    Where the interpretation found no usable point, none is made up from the raw values; records
    never interpreted use dwc:decimalLatitude/Longitude when both lie in range. 0°, 0° (GBIF's
    ZERO_COORDINATE, nearly always a missing value) is never given as a place.
    """
    interpreted = interpreted_values(record)
    if "hasCoordinates" in interpreted:
        if not interpreted["hasCoordinates"]:
            return None
        lat, lon = interpreted.get("decimalLatitude"), interpreted.get("decimalLongitude")
    else:
        fields = specimen_fields(record)
        lat, lon = fields.get("dwc:decimalLatitude"), fields.get("dwc:decimalLongitude")
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lat, lon))
    if not numbers or not (-90 <= lat <= 90 and -180 <= lon <= 180) or lat == lon == 0:
        return None
    return float(lat), float(lon)


def collecting_place(record: Mapping) -> str | None:
    """The collecting place as "locality, stateProvince, country" (the parts given), or None.

    The country is dwc:country as deposited, else the interpreted country (named from
    dwc:countryCode or from the point).
    """
    fields = specimen_fields(record)
    country = _text(fields.get("dwc:country")) or _text(interpreted_values(record).get("country"))
    parts = [_text(fields.get("dwc:locality")), _text(fields.get("dwc:stateProvince")), country]
    unique = [part for i, part in enumerate(parts) if part and part not in parts[:i]]
    return ", ".join(unique) or None


def collecting_date(record: Mapping) -> str | None:
    """The collecting date or interval in ISO 8601 (`1931-06-27/1931-07-02`), or None.

    The interpreted eventDate (also derived from year/month/day or verbatimEventDate); for
    records never interpreted, dwc:eventDate as the days it covers.
    """
    interpreted = interpreted_values(record)
    if interpreted:
        return _text(interpreted.get("eventDate"))
    text = _text(specimen_fields(record).get("dwc:eventDate"))
    if not text:
        return None
    try:
        first, last = date_range("dwc:eventDate", text)
    except MalformedValue:
        return None
    return first.isoformat() if first == last else f"{first.isoformat()}/{last.isoformat()}"


def scientific_name(record: Mapping) -> str | None:
    """dwc:scientificName as deposited, else the name interpreted from genus and epithets."""
    taxon = interpreted_values(record).get("taxon") or {}
    return _text(specimen_fields(record).get("dwc:scientificName")) or _text(
        taxon.get("scientificName")
    )


def taxon_rank(record: Mapping) -> str | None:
    """Rank of the scientific name in lower case (`species`): interpreted, else dwc:taxonRank."""
    taxon = interpreted_values(record).get("taxon") or {}
    rank = _text(taxon.get("rank")) or _text(specimen_fields(record).get("dwc:taxonRank"))
    return rank.lower() if rank else None


def higher_taxa(record: Mapping) -> dict[str, str]:
    """Kingdom down to genus → name: the matched classification, else the deposited ranks."""
    taxon = interpreted_values(record).get("taxon") or {}
    fields = specimen_fields(record)
    ranks = {
        rank: _text(taxon.get(rank)) or _text(fields.get(f"dwc:{rank}")) for rank in HIGHER_RANKS
    }
    return {rank: name for rank, name in ranks.items() if name}


def http_occurrence_id(record: Mapping) -> str | None:
    """dwc:occurrenceID when it is an HTTP(S) URI (a CETAF stable identifier), else None."""
    value = _text(specimen_fields(record).get("dwc:occurrenceID"))
    return value if value and value.lower().startswith(("http://", "https://")) else None


# --- DataCite ---------------------------------------------------------------------------------


def _subject(term: str, name: str) -> dict[str, str]:
    return {
        "subject": name,
        "subjectScheme": SUBJECT_SCHEME.format(term=term),
        "schemeUri": f"{DWC_NAMESPACE}{term}",
    }


def taxon_subjects(record: Mapping) -> list[dict[str, str]]:
    """DataCite subjects for the scientific name and each higher rank."""
    name = scientific_name(record)
    subjects = [_subject("scientificName", name)] if name else []
    return subjects + [_subject(rank, taxon) for rank, taxon in higher_taxa(record).items()]


def geo_locations(record: Mapping) -> list[dict]:
    """The collecting place and point as one DataCite geoLocation (none if neither is known)."""
    location: dict[str, Any] = {}
    place = collecting_place(record)
    if place:
        location["geoLocationPlace"] = place
    point = collecting_point(record)
    if point:
        location["geoLocationPoint"] = {"pointLatitude": point[0], "pointLongitude": point[1]}
    return [location] if location else []


def collected_dates(record: Mapping) -> list[dict[str, str]]:
    """The collecting date as a DataCite date of type `Collected`."""
    date = collecting_date(record)
    return [{"date": date, "dateType": "Collected"}] if date else []


def occurrence_identifiers(record: Mapping) -> list[dict[str, str]]:
    """The HTTP occurrenceID as a DataCite alternate identifier of type `URL`."""
    url = http_occurrence_id(record)
    return [{"alternateIdentifier": url, "alternateIdentifierType": "URL"}] if url else []


def extend_unique(data: dict, key: str, items: Iterable) -> None:
    """Append to `data[key]` the items it lacks, each once (upstream values stay first)."""
    merged = list(data.get(key) or [])
    for item in items:
        if item not in merged:
            merged.append(item)
    if merged:
        data[key] = merged


class SpecimenDataCite45Schema(DataCite45Schema):
    """InvenioRDM's DataCite 4.5 schema plus the taxon, place and date of a specimen."""

    @post_dump(pass_original=True)
    def add_specimen_metadata(self, data: dict, original: Mapping, **kwargs) -> dict:
        """Merge the specimen's subjects, geoLocation, date and CETAF identifier into `data`."""
        if not specimen_fields(original):
            return data
        extend_unique(data, "subjects", taxon_subjects(original))
        extend_unique(data, "geoLocations", geo_locations(original))
        extend_unique(data, "dates", collected_dates(original))
        extend_unique(data, "alternateIdentifiers", occurrence_identifiers(original))
        return data


class SpecimenDataCite45JSONSerializer(MarshmallowSerializer):
    """DataCite 4.5 JSON of records, with specimen metadata (InvenioRDM's, wired the same way)."""

    def __init__(self, is_parent: bool = False, **options) -> None:
        """Serialise a record, or with `is_parent` its concept (parent) DOI's metadata."""
        super().__init__(
            format_serializer_cls=JSONSerializer,
            object_schema_cls=SpecimenDataCite45Schema,
            list_schema_cls=BaseListSchema,
            schema_kwargs={"dumpers": [JournalDataciteDumper()], "is_parent": is_parent},
            **options,
        )


class SpecimenDataCite45XMLSerializer(MarshmallowSerializer):
    """DataCite 4.5 XML of records, with specimen metadata (InvenioRDM's, wired the same way)."""

    def __init__(self, **options) -> None:
        """Serialise with `schema45.tostring` unless another `encoder` is given."""
        super().__init__(
            format_serializer_cls=SimpleSerializer,
            object_schema_cls=SpecimenDataCite45Schema,
            list_schema_cls=BaseListSchema,
            schema_kwargs={"dumpers": [JournalDataciteDumper()]},
            encoder=options.get("encoder", schema45.tostring),
        )


SPECIMEN_DATACITE_SERIALIZERS = {
    DATACITE_JSON: ResponseHandler(SpecimenDataCite45JSONSerializer(), headers=etag_headers),
    DATACITE_XML: ResponseHandler(SpecimenDataCite45XMLSerializer(), headers=etag_headers),
}
"""`RDM_RECORDS_SERIALIZERS` entries replacing InvenioRDM's DataCite ones."""


def datacite_etree(pid, record: Mapping) -> etree._Element:
    """OAI-PMH `datacite`: DataCite 4.5 XML of a search hit, with specimen metadata."""
    return schema45.dump_etree(SpecimenDataCite45XMLSerializer().dump_obj(record["_source"]))


def oai_datacite_etree(pid, record: Mapping) -> etree._Element:
    """OAI-PMH `oai_datacite`: InvenioRDM's envelope around our `datacite_etree` resource."""
    envelope = upstream_oai_datacite_etree(pid, record)
    payload = envelope.find("payload")  # unqualified until written out under the default xmlns
    payload[0] = datacite_etree(pid, record)
    return envelope


_DATACITE_FORMAT = {
    "serializer": "specimen_rdm_specimens.specimen_datacite:datacite_etree",
    "schema": "http://schema.datacite.org/meta/kernel-4.5/metadata.xsd",
    "namespace": "http://datacite.org/schema/kernel-4",
}
_OAI_DATACITE_FORMAT = {
    "serializer": "specimen_rdm_specimens.specimen_datacite:oai_datacite_etree",
    "schema": "http://schema.datacite.org/oai/oai-1.1/oai.xsd",
    "namespace": OAI_DATACITE_NAMESPACE,
}
OAI_DATACITE_FORMATS = {
    "datacite": _DATACITE_FORMAT,
    "datacite4": _DATACITE_FORMAT,
    "oai_datacite": _OAI_DATACITE_FORMAT,
    "oai_datacite4": _OAI_DATACITE_FORMAT,
}
"""`OAISERVER_METADATA_FORMATS` entries replacing InvenioRDM's DataCite formats (same keys)."""
