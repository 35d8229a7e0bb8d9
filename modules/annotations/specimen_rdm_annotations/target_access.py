"""Who may see an annotation: the access of the RDM record it targets, summarised for search.

Annotations follow their record: a record (or its files) restricted means its annotations are
restricted too. The summary is copied into each annotation's index document so that searches
filter without resolving every record; `reindex_annotations_of` refreshes it when a record's
access changes.
"""

from flask import g, has_app_context
from invenio_pidstore.errors import PIDDeletedError, PIDDoesNotExistError, PIDUnregistered
from invenio_rdm_records.records.api import RDMRecord


def _record_access(record: RDMRecord) -> dict:
    access = record.access
    public = access.protection.record == "public" and access.protection.files == "public"
    owner = record.parent.access.owned_by
    return {
        "visibility": "public" if public else "restricted",
        "owners": [str(owner.owner_id)] if owner and owner.owner_id is not None else [],
        "communities": [str(c) for c in (record.parent.communities.ids or [])],
    }


def resolve_target(recid: str) -> RDMRecord | None:
    """The published, not deleted RDM record with this id, or None."""
    try:
        record = RDMRecord.pid.resolve(recid)
    except (PIDDoesNotExistError, PIDDeletedError, PIDUnregistered):
        return None
    if record.deletion_status.is_deleted:
        return None
    return record


def target_access(recid: str) -> dict:
    """Access summary of record `recid`, cached for the current request or task.

    A record that no longer resolves is summarised as restricted with no owners: its
    annotations are then visible only to administrators.
    """
    cache = g.setdefault("annotation_target_access", {}) if has_app_context() else {}
    if recid not in cache:
        record = resolve_target(recid)
        cache[recid] = (
            _record_access(record)
            if record is not None
            else {"visibility": "restricted", "owners": [], "communities": []}
        )
    return cache[recid]


def forget_target_access(recid: str) -> None:
    """Drop the cached summary of `recid` (after its access changed in this request)."""
    if has_app_context():
        g.setdefault("annotation_target_access", {}).pop(recid, None)
