"""Bulk writes and reads of annotations in the database and the search index.

Imports and pipelines create thousands of annotations at once: one transaction for the rows,
one OpenSearch bulk request per chunk for the documents (instead of a queue message each).
"""

from collections.abc import Iterable, Sequence

from invenio_db import db
from invenio_search import current_search_client
from invenio_search.utils import build_alias_name
from opensearchpy import helpers as bulk_helpers
from sqlalchemy import text

from .records.api import Annotation
from .records.models import AnnotationMetadata

INDEX_CHUNK = 2000


def existing_annotations(recid: str) -> list[dict]:
    """Live annotations of record `recid` (with their `id`), for duplicate checks."""
    return [dict(record) for record in annotations_of(recid)]


def create_annotations(annotations: Sequence[dict]) -> list[Annotation]:
    """Create annotation records (PIDs included) in the current transaction; no indexing."""
    created = []
    for data in annotations:
        created.append(Annotation.create(data))
    return created


def index_annotations(records: Iterable[Annotation], refresh: bool = True) -> int:
    """Index committed annotations with OpenSearch bulk requests; returns how many."""
    index = build_alias_name(Annotation.index.search_alias)
    actions = (
        {
            "_op_type": "index",
            "_index": index,
            "_id": str(record.id),
            "version": record.revision_id,
            "version_type": "external_gte",
            "_source": record.dumps(),
        }
        for record in records
    )
    count, _ = bulk_helpers.bulk(
        current_search_client, actions, chunk_size=INDEX_CHUNK, refresh=refresh
    )
    return count


def annotations_of(recid: str) -> list[Annotation]:
    """Live annotation records of record `recid`."""
    rows = (
        db.session.query(AnnotationMetadata)
        .filter(text("(annotation_metadata.json -> 'target' ->> 'record') = :recid"))
        .params(recid=recid)
        .filter(AnnotationMetadata.json.isnot(None))
        .all()
    )
    return [Annotation(row.data, model=row) for row in rows]
