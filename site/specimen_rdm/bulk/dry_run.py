"""Checking a batch against the server's validation without creating anything.

Every record goes through the records service's schema, the Darwin Core interpretation (GBIF
quality flags) and the duplicate lookups, as it would when the job runs; keys that an earlier
job already owns are reported as `existing` (and `conflict` when the data differ).
"""

from flask import current_app
from invenio_accounts.models import User
from invenio_db import db
from invenio_rdm_records.proxies import current_rdm_records_service
from marshmallow import ValidationError

from specimen_rdm_specimens.archive_import import depositor_identity, validation_reasons
from specimen_rdm_specimens.duplicates import find_by_terms
from specimen_rdm_specimens.service_components import quality_of, specimen_values

from .processing import record_data
from .submission import SubmittedRecord, owning_items


def _check(identity, record: SubmittedRecord, publisher: str) -> dict:
    result = {"line": record.line, "key": record.key, "flags": [], "reasons": []}
    data, ignored = record_data(record.data, publisher)
    if ignored:
        result["reasons"].append(f"terms not stored: {', '.join(ignored)}")
    try:
        current_rdm_records_service.schema.load(
            data, context={"identity": identity}, raise_errors=True
        )
        custom_fields = data.get("custom_fields") or {}
        if specimen_values(custom_fields):
            result["flags"] = quality_of(custom_fields)["flags"]
            duplicate = find_by_terms(custom_fields)
            if duplicate:
                result.update(outcome="duplicate", record_id=duplicate.record_id)
                result["reasons"] = [duplicate.reason]
                return result
    except ValidationError as error:
        result.update(outcome="rejected", reasons=validation_reasons(error))
        return result
    result["outcome"] = "valid"
    return result


def dry_run(owner_id: int, records: list[SubmittedRecord], community: str | None) -> dict:
    """Per record: valid / rejected (reasons) / duplicate / existing; nothing is written."""
    identity = depositor_identity(db.session.get(User, owner_id))
    publisher = current_app.config.get("APP_RDM_DEPOSIT_FORM_DEFAULTS", {}).get(
        "publisher", "Specimen RDM"
    )
    owners = owning_items(owner_id, [r.key for r in records])
    results = []
    for record in records:
        owner = owners.get(record.key)
        if owner:
            results.append(
                {
                    "line": record.line,
                    "key": record.key,
                    "outcome": "existing",
                    "conflict": owner[1] != record.data_hash,
                    "flags": [],
                    "reasons": [],
                }
            )
            continue
        results.append(_check(identity, record, publisher))
    db.session.rollback()
    counts = {}
    for result in results:
        counts[result["outcome"]] = counts.get(result["outcome"], 0) + 1
    return {"dry_run": True, "community": community, "counts": counts, "records": results}
