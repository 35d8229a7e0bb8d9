"""Search facets and query aliases for specimen records.

Facets read the interpreted values (`specimen:quality.interpreted`), as GBIF facets its
interpreted occurrences: a record with only `country: Türkiye` still counts under `TR`, and a
`typeStatus` of "holotype of Abies alba Mill." under `Holotype`. Taxon ranks fall back to the
depositor's values when the name did not match the shipped name list.
"""

from invenio_i18n import lazy_gettext as _
from invenio_records_resources.services.records.facets import TermsFacet

from .custom_fields import DARWIN_CORE_TERMS, QUALITY_FIELD

INTERPRETED = f"custom_fields.{QUALITY_FIELD}.interpreted"

_FACETS = {
    "kingdom": (f"{INTERPRETED}.taxon.kingdom", _("Kingdom")),
    "family": (f"{INTERPRETED}.taxon.family", _("Family")),
    "genus": (f"{INTERPRETED}.taxon.genus", _("Genus")),
    "country": (f"{INTERPRETED}.countryCode", _("Country")),
    "basis_of_record": (f"{INTERPRETED}.basisOfRecord", _("Basis of record")),
    "type_status": (f"{INTERPRETED}.typeStatus", _("Type status")),
    "institution": ("custom_fields.dwc:institutionCode", _("Institution")),
    "year": (f"{INTERPRETED}.year", _("Year collected")),
    "has_coordinates": (f"{INTERPRETED}.hasCoordinates", _("Has coordinates")),
    "quality_flag": (f"custom_fields.{QUALITY_FIELD}.flags", _("Quality flag")),
}

SPECIMEN_FACETS = {
    name: {"facet": TermsFacet(field=field, label=label), "ui": {"field": field}}
    for name, (field, label) in _FACETS.items()
}
"""`RDM_FACETS` entries for specimen records."""

SPECIMEN_FACET_NAMES = list(_FACETS)

_ALIASES = {
    **{term: f"custom_fields.dwc:{term}" for term in DARWIN_CORE_TERMS},
    "flags": f"custom_fields.{QUALITY_FIELD}.flags",
    "year": f"{INTERPRETED}.year",
    "family": f"{INTERPRETED}.taxon.family",
    "genus": f"{INTERPRETED}.taxon.genus",
    "kingdom": f"{INTERPRETED}.taxon.kingdom",
    "countryCode": f"{INTERPRETED}.countryCode",
    "typeStatus": f"{INTERPRETED}.typeStatus",
    "basisOfRecord": f"{INTERPRETED}.basisOfRecord",
    "hasCoordinates": f"{INTERPRETED}.hasCoordinates",
}

SPECIMEN_FIELD_ALIASES = {name: field.replace(":", "\\:") for name, field in _ALIASES.items()}
"""Query names for every Darwin Core term (`family:Fagaceae`, `catalogNumber:B100012345`) and for
quality flags (`flags:ZERO_COORDINATE`); facet-backed terms search the interpreted value. The
colon of `dwc:` is escaped: the aliases are written back into an OpenSearch query string."""
