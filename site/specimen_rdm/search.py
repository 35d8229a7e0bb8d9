"""Record search: InvenioRDM's configuration plus short field names users type."""

from functools import partial

from invenio_rdm_records.config import RDM_FACETS as _RDM_FACETS
from invenio_rdm_records.config import RDM_SEARCH as _RDM_SEARCH

from specimen_rdm_annotations.record_summary import ANNOTATION_FACETS, ANNOTATION_FIELD_ALIASES
from specimen_rdm_mlmodels.model_search import (
    MODEL_FACET_NAMES,
    MODEL_FACETS,
    MODEL_FIELD_ALIASES,
)
from specimen_rdm_specimens.facets import (
    SPECIMEN_FACET_NAMES,
    SPECIMEN_FACETS,
    SPECIMEN_FIELD_ALIASES,
)

FIELD_ALIASES = {
    "doi": "pids.doi.identifier",
    "concept_doi": "parent.pids.doi.identifier",
    **SPECIMEN_FIELD_ALIASES,
    **ANNOTATION_FIELD_ALIASES,
    **MODEL_FIELD_ALIASES,
}
"""`doi:"10.1234/abc"` instead of `pids.doi.identifier:"10.1234/abc"`, `family:Fagaceae` instead
of `custom_fields.specimen\\:quality.interpreted.taxon.family:Fagaceae`."""


def _with_aliases(parser_factory: partial) -> partial:
    """InvenioRDM's query parser factory with FIELD_ALIASES added to its field mapping."""
    keywords = dict(parser_factory.keywords)
    extra = dict(keywords.get("extra_params", {}))
    extra["mapping"] = {**extra.get("mapping", {}), **FIELD_ALIASES}
    keywords["extra_params"] = extra
    return partial(parser_factory.func, *parser_factory.args, **keywords)


RDM_FACETS = {**_RDM_FACETS, **SPECIMEN_FACETS, **ANNOTATION_FACETS, **MODEL_FACETS}
"""InvenioRDM's facets plus the specimen facets (taxon, country, year, quality flags, ...),
"annotated with" and the model facets (task, framework, use case)."""

RDM_SEARCH = {
    **_RDM_SEARCH,
    "facets": [
        *_RDM_SEARCH["facets"],
        *SPECIMEN_FACET_NAMES,
        *ANNOTATION_FACETS,
        *MODEL_FACET_NAMES,
    ],
    "query_parser_cls": _with_aliases(_RDM_SEARCH["query_parser_cls"]),
}
"""InvenioRDM's record search (facets, sorts, restricted internal-notes fields) with specimen
facets and aliases."""
