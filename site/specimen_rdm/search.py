"""Record search: InvenioRDM's configuration plus short field names users type."""

from invenio_access.permissions import system_permission
from invenio_rdm_records.config import RDM_SEARCH as _RDM_SEARCH
from invenio_rdm_records.services.queryparser import word_internal_notes
from invenio_records_resources.services.records.queryparser import QueryParser
from invenio_records_resources.services.records.queryparser.transformer import (
    RestrictedTerm,
    RestrictedTermValue,
    SearchFieldTransformer,
)

FIELD_ALIASES = {
    "doi": "pids.doi.identifier",
    "concept_doi": "parent.pids.doi.identifier",
}
"""`doi:"10.1234/abc"` instead of `pids.doi.identifier:"10.1234/abc"`."""

RDM_SEARCH = {
    **_RDM_SEARCH,
    "query_parser_cls": QueryParser.factory(
        mapping={
            **FIELD_ALIASES,
            "internal_notes.note": RestrictedTerm(system_permission),
            "internal_notes.id": RestrictedTerm(system_permission),
            "internal_notes.added_by": RestrictedTerm(system_permission),
            "internal_notes.timestamp": RestrictedTerm(system_permission),
            "_exists_": RestrictedTermValue(system_permission, word=word_internal_notes),
        },
        tree_transformer_cls=SearchFieldTransformer,
    ),
}
"""InvenioRDM's record search (facets, sorts, restricted internal-notes fields) with aliases."""
