"""Search dumper extension adding the target record's access summary to annotation documents."""

from invenio_records.dumpers import SearchDumperExt

from ..target_access import target_access


class TargetAccessDumperExt(SearchDumperExt):
    """Writes `target.access` (visibility, owners, communities) at index time only."""

    def dump(self, record, data):
        """Add the summary of the targeted record's access."""
        recid = (data.get("target") or {}).get("record")
        if recid:
            data["target"]["access"] = target_access(recid)

    def load(self, data, record_cls):
        """The summary is not part of the annotation itself."""
        (data.get("target") or {}).pop("access", None)
