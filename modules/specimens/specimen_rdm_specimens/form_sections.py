"""Deposit-form sections for the Darwin Core fields (`RDM_CUSTOM_FIELDS_UI`).

The form groups the terms as Record / Taxon / Event / Location / Identification, the way GBIF's
data validator and Darwin Core's own quick reference group them, plus the image's Audubon Core
terms. Each section is a collapsible accordion, so depositors open only the groups they fill.
"""

import re

from invenio_i18n import lazy_gettext as _

SECTIONS = (
    (
        _("Specimen: record"),
        (
            "occurrenceID",
            "catalogNumber",
            "institutionCode",
            "collectionCode",
            "basisOfRecord",
            "recordNumber",
            "otherCatalogNumbers",
            "preparations",
            "sex",
            "lifeStage",
            "associatedSequences",
            "associatedMedia",
        ),
    ),
    (
        _("Specimen: taxon"),
        (
            "scientificName",
            "scientificNameAuthorship",
            "taxonRank",
            "kingdom",
            "phylum",
            "class",
            "order",
            "family",
            "genus",
            "specificEpithet",
            "infraspecificEpithet",
            "vernacularName",
        ),
    ),
    (
        _("Specimen: event"),
        ("recordedBy", "eventDate", "verbatimEventDate", "habitat", "fieldNumber"),
    ),
    (
        _("Specimen: location"),
        (
            "country",
            "countryCode",
            "stateProvince",
            "county",
            "locality",
            "decimalLatitude",
            "decimalLongitude",
            "geodeticDatum",
            "coordinateUncertaintyInMeters",
            "minimumElevationInMeters",
            "maximumElevationInMeters",
        ),
    ),
    (
        _("Specimen: identification"),
        ("typeStatus", "identifiedBy", "dateIdentified", "identificationQualifier"),
    ),
)
AUDUBON_SECTION = (
    _("Specimen image (Audubon Core)"),
    ("subjectPart", "subjectOrientation", "captureDevice", "resourceCreationTechnique"),
)

_HINTS = {
    "occurrenceID": _("Globally unique; the CETAF stable identifier if the specimen has one."),
    "basisOfRecord": _("e.g. PreservedSpecimen, FossilSpecimen, LivingSpecimen."),
    "scientificName": _("Full name with authorship, e.g. Quercus robur L."),
    "eventDate": _("ISO 8601: 1931-06-27, 1931-06 or an interval 1931-06-27/1931-07-02."),
    "dateIdentified": _("ISO 8601 date, e.g. 1998-04-12."),
    "countryCode": _("ISO 3166-1 alpha-2, e.g. TR."),
    "decimalLatitude": _("Decimal degrees, -90 to 90 (WGS84 unless a datum is given)."),
    "decimalLongitude": _("Decimal degrees, -180 to 180."),
    "typeStatus": _("e.g. Holotype of Abies alba Mill."),
    "recordedBy": _("Collectors, separated by ' | '."),
    "otherCatalogNumbers": _("One identifier per entry."),
    "associatedSequences": _("GenBank accessions or sequence URLs, one per entry."),
    "associatedMedia": _("Image URLs, one per entry."),
}
_RANGES = {
    "decimalLatitude": (-90, 90),
    "decimalLongitude": (-180, 180),
    "coordinateUncertaintyInMeters": (0, None),
}
_NUMBERS = (
    "decimalLatitude",
    "decimalLongitude",
    "coordinateUncertaintyInMeters",
    "minimumElevationInMeters",
    "maximumElevationInMeters",
)
_LISTS = ("otherCatalogNumbers", "associatedSequences", "associatedMedia")


def _label(term: str) -> str:
    """`decimalLatitude` → `Decimal latitude`, `occurrenceID` → `Occurrence ID`."""
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", term).split(" ")
    text = " ".join([words[0].capitalize(), *(w if w.isupper() else w.lower() for w in words[1:])])
    return text


def _field(prefix: str, term: str) -> dict:
    props = {"label": _label(term), "placeholder": "", "description": _HINTS.get(term, "")}
    widget = "Input"
    if term in _NUMBERS:
        widget = "NumberInput"
        low, high = _RANGES.get(term, (None, None))
        if low is not None:
            props["min"] = low
        if high is not None:
            props["max"] = high
    elif term in _LISTS:
        widget = "MultiInput"
    return {"field": f"{prefix}:{term}", "ui_widget": widget, "props": props}


SPECIMEN_CUSTOM_FIELDS_UI = [
    *(
        {"section": title, "fields": [_field("dwc", term) for term in terms]}
        for title, terms in SECTIONS
    ),
    {"section": AUDUBON_SECTION[0], "fields": [_field("ac", t) for t in AUDUBON_SECTION[1]]},
]
"""`RDM_CUSTOM_FIELDS_UI` sections for specimen records."""
