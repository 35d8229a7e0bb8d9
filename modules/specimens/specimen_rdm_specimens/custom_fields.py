"""Darwin Core (`dwc:`) and Audubon Core (`ac:`) custom fields of specimen records.

Types follow the terms: coordinates, uncertainty and elevations are numbers, dates are ISO 8601
dates, partial dates, datetimes or intervals (`1931-06-27/1931-07-02`, `1931-06`), counts are
integers, and every other term is text, single-valued as Darwin Core defines it. The few terms
that Darwin Core fills with ` | `-separated lists are lists here.

What the repository concluded from those values (interpreted coordinates, the matched taxon,
GBIF quality flags) lives beside them in `specimen:quality`, never in the `dwc:` fields, so the
depositor's values stay as they were received.
"""

from invenio_records_resources.services.custom_fields import (
    BaseCF,
    DoubleCF,
    IntegerCF,
    KeywordCF,
    TextCF,
)
from invenio_records_resources.services.custom_fields.mappings import EDTFMapping
from marshmallow import ValidationError, fields

from .darwin_core_dates import date_range
from .darwin_core_terms import SPECIMEN_NAMESPACES
from .malformed_value import MalformedValue

QUALITY_NAMESPACE = "https://specimen-rdm.org/terms/"
NAMESPACES = {**SPECIMEN_NAMESPACES, "specimen": QUALITY_NAMESPACE}
"""`RDM_NAMESPACES` entries for specimen records."""

QUALITY_FIELD = "specimen:quality"

KEYWORD_TERMS = (
    # record level
    "occurrenceID",
    "catalogNumber",
    "recordNumber",
    "institutionCode",
    "institutionID",
    "collectionCode",
    "collectionID",
    "basisOfRecord",
    "datasetName",
    # taxon
    "scientificNameAuthorship",
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
    "nomenclaturalCode",
    # identification
    "identificationQualifier",
    # event
    "verbatimEventDate",
    "fieldNumber",
    # location
    "continent",
    "country",
    "countryCode",
    "stateProvince",
    "county",
    "municipality",
    "geodeticDatum",
    "verbatimLatitude",
    "verbatimLongitude",
    "verbatimCoordinates",
    "verbatimElevation",
    # occurrence
    "sex",
    "lifeStage",
    "reproductiveCondition",
    "preparations",
    "disposition",
)
TEXT_TERMS = (
    "scientificName",
    "vernacularName",
    "typeStatus",
    "identifiedBy",
    "identificationRemarks",
    "recordedBy",
    "habitat",
    "samplingProtocol",
    "eventRemarks",
    "locality",
    "verbatimLocality",
    "higherGeography",
    "waterBody",
    "island",
    "occurrenceRemarks",
)
LIST_TERMS = ("otherCatalogNumbers", "associatedSequences", "associatedMedia")
NUMBER_TERMS = (
    "decimalLatitude",
    "decimalLongitude",
    "coordinateUncertaintyInMeters",
    "minimumElevationInMeters",
    "maximumElevationInMeters",
)
INTEGER_TERMS = ("year", "month", "day", "individualCount")
DATE_TERMS = ("eventDate", "dateIdentified")
AUDUBON_TERMS = ("subjectPart", "subjectOrientation", "captureDevice", "resourceCreationTechnique")
AUDUBON_DATE_TERMS = ("digitizationDate",)

DARWIN_CORE_TERMS = (
    KEYWORD_TERMS + TEXT_TERMS + LIST_TERMS + NUMBER_TERMS + INTEGER_TERMS + DATE_TERMS
)
"""Every Darwin Core term a specimen record stores (bare names)."""


class QualityCF(BaseCF):
    """What the repository interpreted from the Darwin Core values, and GBIF quality flags.

    Written by the service on every save (whatever a client sends here is replaced), so the
    marshmallow field accepts any object and the mapping indexes only the known keys.
    """

    @property
    def field(self) -> fields.Field:
        """Any object: the service component overwrites it."""
        return fields.Dict()

    @property
    def mapping(self) -> dict:
        """Flags and interpreted values, typed for facets, ranges and maps."""
        keyword = {"type": "keyword"}
        taxon_ranks = ("kingdom", "phylum", "class", "order", "family", "genus")
        return {
            "type": "object",
            "dynamic": False,
            "properties": {
                "flags": keyword,
                "issues": {
                    "type": "object",
                    "properties": {
                        "name": keyword,
                        "severity": keyword,
                        "terms": keyword,
                        "message": {"type": "text"},
                    },
                },
                "duplicate_of": keyword,
                "image_sha256": keyword,
                "interpreted": {
                    "type": "object",
                    "dynamic": False,
                    "properties": {
                        "decimalLatitude": {"type": "double"},
                        "decimalLongitude": {"type": "double"},
                        "location": {"type": "geo_point"},
                        "coordinateUncertaintyInMeters": {"type": "double"},
                        "hasCoordinates": {"type": "boolean"},
                        "countryCode": keyword,
                        "country": keyword,
                        "eventDate": keyword,
                        "year": {"type": "integer"},
                        "month": {"type": "integer"},
                        "day": {"type": "integer"},
                        "dateIdentified": keyword,
                        "basisOfRecord": keyword,
                        "typeStatus": keyword,
                        "taxon": {
                            "type": "object",
                            "dynamic": False,
                            "properties": {
                                "scientificName": keyword,
                                "canonicalName": keyword,
                                "authorship": keyword,
                                "rank": keyword,
                                "specificEpithet": keyword,
                                "matchType": keyword,
                                "matchedName": keyword,
                                **{rank: keyword for rank in taxon_ranks},
                            },
                        },
                    },
                },
            },
        }


class DarwinCoreDateCF(BaseCF):
    """An ISO 8601 date, partial date, datetime or interval, stored as given.

    Darwin Core dates are ISO 8601, which is wider than the EDTF that InvenioRDM's date fields
    take: `1999-07-12 00:00:00.0` (a database export) and `1931-06-27/07-02` (an abbreviated
    interval) are valid. The value is kept as given and indexed, like InvenioRDM's EDTF fields,
    as `{"date": value, "date_range": {"gte": first day, "lte": last day}}`.
    """

    @property
    def field(self) -> fields.Field:
        """Text that the Darwin Core date parser accepts."""
        name = self.name

        def validate(value: str) -> None:
            try:
                date_range(name, value)
            except MalformedValue as error:
                raise ValidationError(error.reason) from error

        return fields.String(validate=validate)

    @property
    def mapping(self) -> dict:
        """Keyword plus date range, as InvenioRDM maps EDTF dates."""
        return EDTFMapping().to_dict()

    def dump(self, data, cf_key="custom_fields"):
        """Index the value with the days it covers."""
        value = data.get(cf_key, {}).get(self.name)
        if isinstance(value, str):
            try:
                first, last = date_range(self.name, value)
            except MalformedValue:
                data[cf_key].pop(self.name)
                return
            data[cf_key][self.name] = {
                "date": value,
                "date_range": {"gte": first.isoformat(), "lte": last.isoformat()},
            }

    def load(self, record, cf_key="custom_fields"):
        """The value as given, from the index document."""
        value = record.get(cf_key, {}).get(self.name)
        if isinstance(value, dict):
            record[cf_key][self.name] = value["date"]


def _term_fields() -> list[BaseCF]:
    dwc = [KeywordCF(name=f"dwc:{term}") for term in KEYWORD_TERMS]
    dwc += [TextCF(name=f"dwc:{term}", use_as_filter=True) for term in TEXT_TERMS]
    dwc += [KeywordCF(name=f"dwc:{term}", multiple=True) for term in LIST_TERMS]
    dwc += [DoubleCF(name=f"dwc:{term}") for term in NUMBER_TERMS]
    dwc += [IntegerCF(name=f"dwc:{term}") for term in INTEGER_TERMS]
    dwc += [DarwinCoreDateCF(name=f"dwc:{term}") for term in DATE_TERMS]
    ac = [KeywordCF(name=f"ac:{term}") for term in AUDUBON_TERMS]
    ac += [DarwinCoreDateCF(name=f"ac:{term}") for term in AUDUBON_DATE_TERMS]
    return [*dwc, *ac, QualityCF(name=QUALITY_FIELD)]


SPECIMEN_CUSTOM_FIELDS = _term_fields()
"""`RDM_CUSTOM_FIELDS` entries for specimen records."""

SPECIMEN_FIELD_NAMES = frozenset(field.name for field in SPECIMEN_CUSTOM_FIELDS)
