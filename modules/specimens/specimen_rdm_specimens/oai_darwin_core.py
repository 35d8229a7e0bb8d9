"""OAI-PMH formats for specimen records: Simple Darwin Core (`dwc`) and Dublin Core (`oai_dc`).

`dwc` is one `dwr:SimpleDarwinRecord` in a `dwr:SimpleDarwinRecordSet` (the Simple Darwin Core
XML schema, tdwg_dwc_simple.xsd): the record-level terms `dcterms:modified`, `dcterms:license`,
`dcterms:bibliographicCitation` and `dcterms:references` (the landing page), then every stored
Darwin Core term as deposited, in the order of Darwin Core's quick reference guide, lists joined
with ` | `. Audubon Core values and the server's interpretation are not Simple Darwin Core and
are left out.

`oai_dc` is InvenioRDM's Dublin Core plus, for specimen records, `dc:coverage` (the collecting
place, the point as "lat, lon" and the collecting date) and `dc:subject` (scientific name,
family, genus).

Both take the record as InvenioRDM's OAI-PMH formats do: a search hit, turned into the record
the service would return (links, dereferenced vocabularies, custom fields as stored).
"""

from collections.abc import Mapping
from typing import Any

from dcxml import simpledc
from flask import g
from flask_resources import BaseListSchema, MarshmallowSerializer
from flask_resources.serializers import SimpleSerializer
from invenio_rdm_records.contrib.journal.processors import JournalDublinCoreDumper
from invenio_rdm_records.contrib.meeting.processors import MeetingDublinCoreDumper
from invenio_rdm_records.proxies import current_rdm_records_service
from invenio_rdm_records.resources.serializers.dublincore.schema import DublinCoreSchema
from lxml import etree
from marshmallow import post_dump

from .custom_fields import DARWIN_CORE_TERMS
from .darwin_core_terms import DC_TERMS_NAMESPACE, DWC_NAMESPACE
from .specimen_datacite import (
    collecting_date,
    collecting_place,
    collecting_point,
    extend_unique,
    higher_taxa,
    scientific_name,
    specimen_fields,
)

SIMPLE_DARWIN_CORE_NAMESPACE = "http://rs.tdwg.org/dwc/xsd/simpledarwincore/"
SIMPLE_DARWIN_CORE_SCHEMA = "http://rs.tdwg.org/dwc/xsd/tdwg_dwc_simple.xsd"
XSI_NAMESPACE = "http://www.w3.org/2001/XMLSchema-instance"
NAMESPACES = {
    "dwr": SIMPLE_DARWIN_CORE_NAMESPACE,
    "dwc": DWC_NAMESPACE,
    "dcterms": DC_TERMS_NAMESPACE,
    "xsi": XSI_NAMESPACE,
}
LIST_SEPARATOR = " | "

DARWIN_CORE_TERM_ORDER = (
    # record level
    "institutionID",
    "collectionID",
    "institutionCode",
    "collectionCode",
    "datasetName",
    "basisOfRecord",
    # occurrence
    "occurrenceID",
    "catalogNumber",
    "recordNumber",
    "recordedBy",
    "individualCount",
    "sex",
    "lifeStage",
    "reproductiveCondition",
    "preparations",
    "disposition",
    "associatedMedia",
    "associatedSequences",
    "otherCatalogNumbers",
    "occurrenceRemarks",
    # event
    "fieldNumber",
    "eventDate",
    "year",
    "month",
    "day",
    "verbatimEventDate",
    "habitat",
    "samplingProtocol",
    "eventRemarks",
    # location
    "higherGeography",
    "continent",
    "waterBody",
    "island",
    "country",
    "countryCode",
    "stateProvince",
    "county",
    "municipality",
    "locality",
    "verbatimLocality",
    "minimumElevationInMeters",
    "maximumElevationInMeters",
    "verbatimElevation",
    "decimalLatitude",
    "decimalLongitude",
    "geodeticDatum",
    "coordinateUncertaintyInMeters",
    "verbatimCoordinates",
    "verbatimLatitude",
    "verbatimLongitude",
    # identification
    "identificationQualifier",
    "typeStatus",
    "identifiedBy",
    "dateIdentified",
    "identificationRemarks",
    # taxon
    "scientificName",
    "kingdom",
    "phylum",
    "class",
    "order",
    "family",
    "genus",
    "subgenus",
    "specificEpithet",
    "infraspecificEpithet",
    "taxonRank",
    "scientificNameAuthorship",
    "vernacularName",
    "nomenclaturalCode",
)
"""The Darwin Core terms specimen records store, in the quick reference guide's order (the order
of tdwg_dwc_simple.xsd). Terms added to the custom fields later follow, alphabetically."""


def _term_order() -> tuple[str, ...]:
    later = sorted(set(DARWIN_CORE_TERMS) - set(DARWIN_CORE_TERM_ORDER))
    return DARWIN_CORE_TERM_ORDER + tuple(later)


def _term_text(value: Any) -> str:
    """A stored value as Darwin Core text: lists joined with ` | `, index dates as given."""
    if isinstance(value, list):
        return LIST_SEPARATOR.join(_term_text(item) for item in value)
    if isinstance(value, dict):
        return str(value.get("date", ""))
    return str(value)


def _license(record: Mapping) -> str | None:
    """URL of the record's first licence (vocabulary licences), else its link or title."""
    for right in (record.get("metadata") or {}).get("rights") or []:
        url = (right.get("props") or {}).get("url") or right.get("link")
        if url:
            return url
        title = right.get("title") or {}
        if title:
            return title.get("en") or next(iter(title.values()))
    return None


def _doi_url(record: Mapping) -> str | None:
    doi = ((record.get("pids") or {}).get("doi") or {}).get("identifier")
    return f"https://doi.org/{doi}" if doi else None


def _citation(record: Mapping) -> str | None:
    """DataCite's recommended form: Creators (Year). Title. Publisher. DOI (else landing page)."""
    metadata = record.get("metadata") or {}
    link = _doi_url(record) or (record.get("links") or {}).get("self_html")
    title = metadata.get("title")
    if not title or not link:
        return None
    names = [c.get("person_or_org", {}).get("name") for c in metadata.get("creators") or []]
    creators = "; ".join(name for name in names if name)
    year = (metadata.get("publication_date") or "")[:4]
    head = " ".join(part for part in (creators, f"({year})" if year else "") if part)
    citation = ""
    for part in (head, title, metadata.get("publisher"), link):
        if part:
            separator = "" if not citation else " " if citation.endswith(".") else ". "
            citation += separator + part
    return citation


def _record_level_terms(record: Mapping) -> list[tuple[str, str | None]]:
    links = record.get("links") or {}
    return [
        ("modified", record.get("updated")),
        ("license", _license(record)),
        ("bibliographicCitation", _citation(record)),
        ("references", links.get("self_html") or _doi_url(record)),
    ]


def simple_darwin_core(record: Mapping) -> etree._Element:
    """A record (as the records service returns it) as a Simple Darwin Core record set."""
    root = etree.Element(
        f"{{{SIMPLE_DARWIN_CORE_NAMESPACE}}}SimpleDarwinRecordSet",
        nsmap=NAMESPACES,
        attrib={
            f"{{{XSI_NAMESPACE}}}schemaLocation": (
                f"{SIMPLE_DARWIN_CORE_NAMESPACE} {SIMPLE_DARWIN_CORE_SCHEMA}"
            )
        },
    )
    occurrence = etree.SubElement(root, f"{{{SIMPLE_DARWIN_CORE_NAMESPACE}}}SimpleDarwinRecord")
    for term, value in _record_level_terms(record):
        if value:
            etree.SubElement(occurrence, f"{{{DC_TERMS_NAMESPACE}}}{term}").text = value
    fields = specimen_fields(record)
    for term in _term_order():
        if f"dwc:{term}" in fields:
            text = _term_text(fields[f"dwc:{term}"])
            etree.SubElement(occurrence, f"{{{DWC_NAMESPACE}}}{term}").text = text
    return root


def darwin_core_etree(pid, record: Mapping, **serializer_kwargs) -> etree._Element:
    """OAI-PMH `dwc`: a search hit as Simple Darwin Core (`serializer_kwargs` are not used)."""
    item = current_rdm_records_service.oai_result_item(g.identity, record["_source"])
    return simple_darwin_core(item.to_dict())


def specimen_coverage(record: Mapping) -> list[str]:
    """Dublin Core coverage: the collecting place, the point as "lat, lon", the date."""
    point = collecting_point(record)
    coordinates = f"{point[0]}, {point[1]}" if point else None
    values = (collecting_place(record), coordinates, collecting_date(record))
    return [value for value in values if value]


def specimen_subjects(record: Mapping) -> list[str]:
    """Dublin Core subjects: the scientific name, family and genus."""
    taxa = higher_taxa(record)
    values = (scientific_name(record), taxa.get("family"), taxa.get("genus"))
    return [value for value in values if value]


class SpecimenDublinCoreSchema(DublinCoreSchema):
    """InvenioRDM's Dublin Core schema plus the coverage and taxon subjects of a specimen."""

    @post_dump(pass_original=True)
    def add_specimen_metadata(self, data: dict, original: Mapping, **kwargs) -> dict:
        """Merge the specimen's coverage and subjects into `data`."""
        if not specimen_fields(original):
            return data
        extend_unique(data, "coverage", specimen_coverage(original))
        extend_unique(data, "subjects", specimen_subjects(original))
        return data


class SpecimenDublinCoreXMLSerializer(MarshmallowSerializer):
    """Dublin Core XML of records, with specimen metadata (InvenioRDM's, wired the same way)."""

    def __init__(self, **options) -> None:
        """Serialise with `simpledc.tostring`; `options` go to the format serializer."""
        super().__init__(
            format_serializer_cls=SimpleSerializer,
            object_schema_cls=SpecimenDublinCoreSchema,
            list_schema_cls=BaseListSchema,
            schema_kwargs={"dumpers": [JournalDublinCoreDumper(), MeetingDublinCoreDumper()]},
            encoder=simpledc.tostring,
            **options,
        )


def dublin_core_with_specimen_etree(pid, record: Mapping, **serializer_kwargs) -> etree._Element:
    """OAI-PMH `oai_dc`: InvenioRDM's Dublin Core of a search hit, with specimen metadata."""
    item = current_rdm_records_service.oai_result_item(g.identity, record["_source"])
    data = SpecimenDublinCoreXMLSerializer(**serializer_kwargs).dump_obj(item.to_dict())
    return simpledc.dump_etree(data)


OAI_DARWIN_CORE_FORMAT = {
    "serializer": "specimen_rdm_specimens.oai_darwin_core:darwin_core_etree",
    "schema": SIMPLE_DARWIN_CORE_SCHEMA,
    "namespace": SIMPLE_DARWIN_CORE_NAMESPACE,
}
"""`OAISERVER_METADATA_FORMATS["dwc"]`."""

OAI_DC_FORMAT = {
    "serializer": "specimen_rdm_specimens.oai_darwin_core:dublin_core_with_specimen_etree",
    "schema": "http://www.openarchives.org/OAI/2.0/oai_dc.xsd",
    "namespace": "http://www.openarchives.org/OAI/2.0/oai_dc/",
}
"""`OAISERVER_METADATA_FORMATS["oai_dc"]`, replacing InvenioRDM's."""
