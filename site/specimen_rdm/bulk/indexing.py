"""Search indexing of the records a bulk job published: one bulk request per chunk, and search
documents built with a fixed number of queries per chunk.

InvenioRDM's search dump of a record resolves each of its vocabulary relations (two queries
each), loads its parent, versions state, file records (files and media files, with their
object versions and buckets), asks whether it has a draft, and fetches its view and download
statistics from the statistics indices. For a chunk of new records this module does the same
with one query per kind for the whole chunk:

* parents and versions states (`prefetch_parents`);
* file records with object versions and file instances, and the buckets (`prefetch_files`);
* which records have a draft (`IndexedRecord.has_draft` answers from the prefetched set);
* vocabulary relations resolved once per chunk (`SharedRelationCache`);
* zero statistics, fetched once (`NewRecordStatistics`).

The documents are the ones the records service indexes; `tests/test_bulk_writer.py` compares
them for a specimen published both ways.
"""

import copy
from collections import defaultdict

from invenio_db import db
from invenio_files_rest.models import Bucket, ObjectVersion
from invenio_pidstore.models import PersistentIdentifier
from invenio_rdm_records.proxies import current_rdm_records_service
from invenio_rdm_records.records.api import RDMDraft, RDMRecord
from invenio_rdm_records.records.dumpers.statistics import StatisticsDumperExt
from invenio_rdm_records.records.stats import Statistics
from invenio_rdm_records.records.systemfields.has_draftcheck import HasDraftCheckField
from invenio_records.dictutils import dict_lookup
from invenio_search import current_search_client
from opensearchpy import helpers as bulk_helpers
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from .models import BulkItem, ItemState


class NewRecordStatistics(StatisticsDumperExt):
    """The view and download statistics of records this job just created: none yet. Fetched
    once per chunk (zero values, in the shape invenio-stats answers) instead of with two search
    queries per record."""

    def __init__(self, original: StatisticsDumperExt):
        """Dump where the original extension dumps."""
        super().__init__(".".join(original.keys))
        self.zero = None

    def dump(self, record, data):
        """Zero statistics."""
        if self.zero is None:
            self.zero = Statistics.get_record_stats(recid="", parent_recid="")
        dict_lookup(data, self.keys, parent=True)[self.key] = copy.deepcopy(self.zero)


def new_record_dumper(dumper):
    """A copy of a record class's search dumper with `NewRecordStatistics`."""
    fast = copy.copy(dumper)
    fast._extensions = [
        NewRecordStatistics(e) if isinstance(e, StatisticsDumperExt) else e
        for e in dumper._extensions
    ]
    return fast


class PrefetchedHasDraft(HasDraftCheckField):
    """`has_draft` from a value set on the record by `prefetch_drafts`, else queried."""

    def __get__(self, record, owner=None):
        """Whether the record has a (not deleted) draft."""
        if record is None:
            return self
        known = getattr(record, "_bulk_has_draft", None)
        return super().__get__(record, owner) if known is None else known


class IndexedRecord(RDMRecord):
    """A published RDM record as the bulk indexer loads it: the same record class, with a
    `has_draft` that can be answered for a whole chunk in one query."""

    has_draft = PrefetchedHasDraft(RDMDraft)


class SharedRelationCache:
    """One cache of resolved relations (vocabulary entries: resource types, licences,
    languages, ...) for every record of a chunk, instead of one per record.

    invenio-records keeps a relation cache per record: the relations mapping of a record
    injects a fresh dict into the record class's relation fields when it is created.
    `attach(record)` creates that mapping, then points the fields at this cache.
    """

    def __init__(self, record_cls=RDMRecord):
        """An empty cache for `record_cls`'s relation fields."""
        self.cache: dict = {}
        self.fields = record_cls.relations._fields

    def attach(self, record) -> None:
        """Make the record's relation lookups use this cache (until another record's
        relations mapping is created)."""
        _ = record.relations  # creates the mapping, which injects its own cache
        for name, relation in self.fields.items():
            relation.inject_cache(self.cache, name)


def prefetch_parents(records: list[RDMRecord]) -> None:
    """Load the parents and versions states of these records with two queries, instead of the
    two the search dump would make per record (`parent` and `versions` system fields)."""
    parent_ids = {record.model.parent_id for record in records if record.model.parent_id}
    if not parent_ids:
        return
    parents = {parent.id: parent for parent in RDMRecord.parent_record_cls.get_records(parent_ids)}
    states = {
        state.parent_id: state
        for state in RDMRecord.versions_model_cls.query.filter(
            RDMRecord.versions_model_cls.parent_id.in_(parent_ids)
        )
    }
    parent_field = RDMRecord.parent.field
    for record in records:
        parent_id = record.model.parent_id
        if parent_id in parents:
            # Into the field's cache: assigning `record.parent` would set the model's parent_id
            # again, and SQLAlchemy would write the record row (a new revision) on commit.
            parent_field._set_cache(record, parents[parent_id])
        if parent_id in states:
            record.versions._state = states[parent_id]


def prefetch_files(records: list[RDMRecord]) -> None:
    """Load the file records (files and media files, with their object versions and file
    instances) and the buckets of these records with one query each, and hand each record's
    file managers their entries."""
    ids = [record.id for record in records]
    bucket_ids = {
        bucket_id
        for record in records
        for bucket_id in (record.model.bucket_id, record.model.media_bucket_id)
        if bucket_id
    }
    buckets = {}
    if bucket_ids:
        buckets = {b.id: b for b in Bucket.query.filter(Bucket.id.in_(bucket_ids))}
    for record in records:
        # The file managers find the buckets in the session's identity map, which holds its
        # objects weakly: the record holds them while it lives.
        record._bulk_buckets = [
            buckets.get(record.model.bucket_id),
            buckets.get(record.model.media_bucket_id),
        ]
    for attr in ("files", "media_files"):
        file_cls = getattr(RDMRecord, attr).file_cls
        model = file_cls.model_cls
        rows = (
            model.query.filter(model.record_id.in_(ids), model.is_deleted != True)  # noqa: E712
            .options(joinedload(model.object_version).joinedload(ObjectVersion.file))
            .all()
        )
        entries = defaultdict(dict)
        for row in rows:
            entries[row.record_id][row.key] = file_cls(row.data, model=row)
        for record in records:
            manager = getattr(record, attr)
            if manager is not None and manager._entries is None:
                manager._entries = entries.get(record.id, {})


def prefetch_drafts(records: list[IndexedRecord]) -> None:
    """Which of these records have a draft (an edit in progress), with one query."""
    ids = [record.id for record in records]
    model = RDMDraft.model_cls
    with_draft = set(
        db.session.scalars(
            select(model.id).where(model.id.in_(ids), model.is_deleted != True)  # noqa: E712
        )
    )
    for record in records:
        record._bulk_has_draft = record.id in with_draft


def index_new_records(records: list[RDMRecord]) -> int:
    """Index records a job just created (nobody has viewed or downloaded them yet) with one
    bulk request; how many were indexed."""
    indexer = current_rdm_records_service.indexer
    actions = []
    dumper = new_record_dumper(RDMRecord.dumper)
    relations = SharedRelationCache()
    for record in records:
        record.dumper = dumper
        relations.attach(record)
        index = indexer.record_to_index(record)
        actions.append(
            {
                "_op_type": "index",
                "_index": indexer._prepare_index(index),
                "_id": str(record.id),
                "version": record.revision_id,
                "version_type": "external_gte",
                "_source": indexer._prepare_record(record, index),
            }
        )
    if not actions:
        return 0
    count, _ = bulk_helpers.bulk(current_search_client, actions, refresh=False)
    return count


def load_for_indexing(record_ids) -> list[IndexedRecord]:
    """The published records with these ids, with everything their search dump reads loaded
    in a fixed number of queries."""
    records = IndexedRecord.get_records(list(record_ids))
    prefetch_parents(records)
    prefetch_drafts(records)
    prefetch_files(records)
    return records


def index_unindexed(job_id, limit: int = 500) -> int:
    """Index the job's published records that are not indexed yet, in one bulk request."""
    items = (
        BulkItem.query.filter_by(job_id=job_id, state=ItemState.PUBLISHED.value, indexed=False)
        .filter(BulkItem.original_id.is_(None))
        .limit(limit)
        .all()
    )
    if not items:
        return 0
    uuids = db.session.scalars(
        select(PersistentIdentifier.object_uuid).where(
            PersistentIdentifier.pid_type == "recid",
            PersistentIdentifier.pid_value.in_([item.record_id for item in items]),
        )
    ).all()
    count = index_new_records(load_for_indexing(uuids))
    mark_indexed([item.id for item in items])
    return count


def mark_indexed(item_ids: list[int]) -> None:
    """Remember that these items' records are in the search index."""
    if item_ids:
        db.session.execute(update(BulkItem).where(BulkItem.id.in_(item_ids)).values(indexed=True))
    db.session.commit()
