"""Bulk writes and reads of annotations in the database and the search index.

Imports and pipelines create thousands of annotations at once: one transaction for the rows,
one OpenSearch bulk request per chunk for the documents (instead of a queue message each).
"""

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from invenio_db import db
from invenio_pidstore.models import PersistentIdentifier, PIDStatus
from invenio_search import current_search_client
from invenio_search.utils import build_alias_name
from opensearchpy import helpers as bulk_helpers
from sqlalchemy import insert, text
from sqlalchemy_continuum import version_class

from .records.api import Annotation, AnnotationIdProvider
from .records.models import AnnotationMetadata

INDEX_CHUNK = 2000


def existing_annotations(recid: str) -> list[dict]:
    """Live annotations of record `recid` (with their `id`), for duplicate checks."""
    return [dict(record) for record in annotations_of(recid)]


def create_annotations(annotations: Sequence[dict]) -> list[Annotation]:
    """Create annotation records with PIDs and first revisions in the current transaction.

    Bulk inserts (PIDs, rows, SQLAlchemy-Continuum version rows under one transaction row)
    instead of `Annotation.create` per annotation: that one costs three savepoints each
    (~15 ms), this path a few statements per thousand. The data was validated before (the
    same rules as the REST API; the JSON schema is not re-checked here). No indexing.
    """
    if not annotations:
        return []
    session = db.session
    now = datetime.now(UTC)
    schema = Annotation.schema.value
    pid_table = PersistentIdentifier.__table__
    pid_rows = [
        {
            "pid_type": AnnotationIdProvider.pid_type,
            "pid_value": AnnotationIdProvider.generate_id(),
            "status": PIDStatus.REGISTERED.value,
            "object_type": "rec",
            "object_uuid": uuid.uuid4(),
            "created": now,
            "updated": now,
        }
        for _ in annotations
    ]
    keys = session.execute(
        insert(pid_table).returning(pid_table.c.id, sort_by_parameter_order=True), pid_rows
    ).scalars()
    rows = []
    for pk, pid, data in zip(keys, pid_rows, annotations, strict=True):
        document = {
            **data,
            "$schema": schema,
            "id": pid["pid_value"],
            "pid": {"pk": pk, "status": "R", "obj_type": "rec", "pid_type": pid["pid_type"]},
        }
        rows.append(
            {
                "id": pid["object_uuid"],
                "json": document,
                "version_id": 1,
                "created": now,
                "updated": now,
            }
        )
    session.execute(insert(AnnotationMetadata.__table__), rows)
    transaction_id = session.execute(text("SELECT nextval('transaction_id_seq')")).scalar()
    session.execute(
        text("INSERT INTO transaction (id, issued_at) VALUES (:id, :at)"),
        {"id": transaction_id, "at": now.replace(tzinfo=None)},
    )
    versions = [{**row, "transaction_id": transaction_id, "operation_type": 0} for row in rows]
    session.execute(insert(version_class(AnnotationMetadata).__table__), versions)
    return [Annotation(row["json"], model=AnnotationMetadata(**row)) for row in rows]


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
