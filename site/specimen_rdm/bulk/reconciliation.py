"""What became of every key of a job: read from the database, so it is the truth.

A key submitted again (in this or a later job) is reported with the outcome of the item that
owns it, `existing: true`, and `conflict: true` when the resubmitted data differ.
"""

from sqlalchemy import text

from .models import BulkJob

COLUMNS = ("line", "key", "state", "record_id", "doi", "existing", "conflict", "flags", "reasons")

_ROWS = """
    SELECT i.line, i.key, COALESCE(o.state, i.state) AS state,
           COALESCE(o.record_id, i.record_id) AS record_id, COALESCE(o.doi, i.doi) AS doi,
           i.original_id IS NOT NULL AS existing, i.conflict,
           COALESCE(o.flags, i.flags) AS flags, COALESCE(o.reasons, i.reasons) AS reasons
    FROM specimen_bulk_item i LEFT JOIN specimen_bulk_item o ON o.id = i.original_id
    WHERE i.job_id = :job {where}
    ORDER BY i.line
"""


def _display_state(state: str) -> str:
    # A claimed item is still pending for the client: nothing is final about it yet.
    return "pending" if state == "processing" else state


def _row(row) -> dict:
    value = dict(zip(COLUMNS, row, strict=True))
    value["state"] = _display_state(value["state"])
    value["flags"] = value["flags"] or []
    value["reasons"] = value["reasons"] or []
    return value


def rows(session, job: BulkJob, state: str | None = None, offset: int = 0, limit=None):
    """The job's keys in line order, with their final state, record id and DOI."""
    params = {"job": job.id}
    where = ""
    if state:
        where = "AND COALESCE(o.state, i.state) = ANY(:states)"
        params["states"] = ["pending", "processing"] if state == "pending" else [state]
    query = _ROWS.format(where=where)
    if limit is not None:
        query += " LIMIT :limit OFFSET :offset"
        params.update(limit=limit, offset=offset)
    return [_row(row) for row in session.execute(text(query), params)]


def counts(session, job: BulkJob) -> dict:
    """Keys per state, and in all; `existing` and `conflicts` count resubmitted keys."""
    result = session.execute(
        text(
            """
            SELECT COALESCE(o.state, i.state), count(*), count(i.original_id),
                   count(*) FILTER (WHERE i.conflict)
            FROM specimen_bulk_item i LEFT JOIN specimen_bulk_item o ON o.id = i.original_id
            WHERE i.job_id = :job GROUP BY 1
            """
        ),
        {"job": job.id},
    ).all()
    totals = {"total": 0, "pending": 0, "published": 0, "rejected": 0, "duplicate": 0}
    totals.update(existing=0, conflicts=0)
    for state, number, existing, conflicts in result:
        totals[_display_state(state)] += number
        totals["total"] += number
        totals["existing"] += existing
        totals["conflicts"] += conflicts
    return totals
