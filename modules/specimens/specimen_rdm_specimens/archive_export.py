"""Darwin Core Archive export of specimen records (any search result).

Each record becomes one occurrence row with its Darwin Core values as deposited (lists joined
with ` | `, numbers written as JSON writes them), and one Audubon Core multimedia row per image
pointing at the image's download URL. Importing the export again finds every row a duplicate
of the record it came from, so export → import round-trips without creating records.
"""

import json
from collections.abc import Iterable, Iterator

from .custom_fields import QUALITY_FIELD
from .darwin_core_archive_writer import ExportRow

EXPORT_LIMIT = 100_000
"""Most records one export may hold; larger selections need narrower queries."""


def _text(value) -> str:
    if isinstance(value, list):
        return " | ".join(_text(v) for v in value)
    if isinstance(value, dict):  # EDTF dates in index dumps: {"date": ..., "date_range": ...}
        return str(value.get("date", json.dumps(value)))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def export_row(record: dict, api_url: str) -> ExportRow | None:
    """The archive row of one record (a search hit or a record read), or None if not a specimen."""
    fields = record.get("custom_fields") or {}
    values = {
        term: _text(value)
        for term, value in fields.items()
        if term.startswith(("dwc:", "ac:")) and term != QUALITY_FIELD and value not in ("", [])
    }
    if not values:
        return None
    media = []
    entries = (record.get("files") or {}).get("entries") or {}
    for entry in entries.values() if isinstance(entries, dict) else entries:
        mimetype = entry.get("mimetype") or ""
        if not mimetype.startswith("image/"):
            continue
        key = entry["key"]
        media.append(
            {
                "ac:accessURI": f"{api_url}/records/{record['id']}/files/{key}/content",
                "dcterms:identifier": key,
                "dcterms:format": mimetype,
                "dcterms:title": record.get("metadata", {}).get("title", key),
            }
        )
    return ExportRow(core_id=record["id"], values=values, media=media)


def export_rows(records: Iterable[dict], api_url: str) -> Iterator[ExportRow]:
    """Rows for the specimen records among `records`."""
    for record in records:
        row = export_row(record, api_url)
        if row is not None:
            yield row
