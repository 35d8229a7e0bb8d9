"""What record search knows about a record's annotations: categories, transcribed text, tags.

A search-dumper extension on InvenioRDM's published records writes `annotations` into each
record's index document (never into the record itself), so that record search can facet on
"annotated with" and answer `annotated:color_card AND annotated:ruler` or
`annotation_text:Nepal`. Rejected annotations do not count. The annotation service reindexes
a record whenever one of its annotations changes.
"""

from invenio_db import db
from invenio_i18n import lazy_gettext as _
from invenio_rdm_records.records.api import RDMRecord
from invenio_records.dumpers import SearchDumperExt
from invenio_records_resources.services.records.facets import TermsFacet
from sqlalchemy import text

SUMMARY_MAPPING = {
    "annotations": {
        "properties": {
            "count": {"type": "integer"},
            "categories": {"type": "keyword"},
            "tags": {"type": "keyword"},
            "traits": {"type": "keyword"},
            "text": {"type": "text"},
        }
    }
}
"""Properties added to the RDM records index by `invenio annotations setup`."""

ANNOTATION_FACETS = {
    "annotated_with": {
        "facet": TermsFacet(field="annotations.categories", label=_("Annotated with")),
        "ui": {"field": "annotations.categories"},
    }
}
"""`RDM_FACETS` entry: records by the categories of their annotations."""

ANNOTATION_FIELD_ALIASES = {
    "annotated": "annotations.categories",
    "annotation_text": "annotations.text",
    "annotation_tag": "annotations.tags",
    "trait": "annotations.traits",
}
"""Record-search names: `annotated:ruler`, `annotation_text:Nepal`, `trait:leaf_length`."""

_SUMMARY_SQL = text(
    """
    SELECT json -> 'body' ->> 'category', json -> 'body' -> 'text' ->> 'value',
           json -> 'body' -> 'tags', json -> 'body' -> 'trait' ->> 'name'
    FROM annotation_metadata
    WHERE (json -> 'target' ->> 'record') = :recid
      AND json IS NOT NULL
      AND coalesce(json -> 'status' ->> 'state', '') <> 'rejected'
    """
)


def annotation_summary(recid: str) -> dict:
    """Count, categories, tags, trait names and transcribed texts of a record's annotations."""
    categories, tags, traits, texts, count = set(), set(), set(), [], 0
    for category, value, row_tags, trait in db.session.execute(_SUMMARY_SQL, {"recid": recid}):
        count += 1
        if category:
            categories.add(category)
        if value:
            texts.append(value)
        tags.update(row_tags or [])
        if trait:
            traits.add(trait)
    return {
        "count": count,
        "categories": sorted(categories),
        "tags": sorted(tags),
        "traits": sorted(traits),
        "text": texts,
    }


class AnnotationSummaryDumperExt(SearchDumperExt):
    """Adds `annotations` to published records' index documents (drafts have none)."""

    def dump(self, record, data):
        """Summarise the record's annotations."""
        if getattr(record, "is_draft", True) or not data.get("id"):
            return
        data["annotations"] = annotation_summary(data["id"])

    def load(self, data, record_cls):
        """The summary lives only in the index."""
        data.pop("annotations", None)


def install_summary_dumper() -> None:
    """Append the extension to InvenioRDM's record dumper once per process.

    InvenioRDM offers no setting for extra dumper extensions; its dumper is a class attribute
    shared by records and drafts, which is why `dump` skips drafts.
    """
    extensions = RDMRecord.dumper._extensions
    if not any(isinstance(e, AnnotationSummaryDumperExt) for e in extensions):
        extensions.append(AnnotationSummaryDumperExt())
