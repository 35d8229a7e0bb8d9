"""Annotation service: records-resources CRUD plus revisions, review and scoped search."""

from flask import current_app
from invenio_records_resources.services import RecordService
from invenio_records_resources.services.uow import RecordCommitOp, unit_of_work
from invenio_search.engine import dsl

from ..annotation_export import annotation_page, export
from ..annotation_import import ImportOptions, import_file
from ..dataset_deposit import deposit_dataset
from .components import now_iso, reindex_target, user_ref
from .schema import ReviewSchema


class AnnotationService(RecordService):
    """CRUD and search of annotations; read access follows the targeted record."""

    def can_read_annotations_of(self, identity, recid: str) -> bool:
        """Whether `identity` may see annotations of record `recid` (RDM's own rules)."""
        return self.check_permission(identity, "read", record={"target": {"record": recid}})

    def search(self, identity, params=None, search_preference=None, expand=False, **kwargs):
        """Search annotations; a search within one record checks that record directly.

        The general search filters on the access summary in the index (public, owned, own
        communities); a record-scoped search (`record=<id>`) also reaches records shared with
        the user by grant or link, because it asks RDM's policy about that one record.
        """
        params = params or {}
        recids = params.get("record")
        recids = [recids] if isinstance(recids, str) else list(recids or [])
        if len(recids) == 1 and self.can_read_annotations_of(identity, recids[0]):
            kwargs["permission_action"] = None
            kwargs["extra_filter"] = dsl.Q("term", **{"target.record": recids[0]})
        return super().search(identity, params, search_preference, expand=expand, **kwargs)

    def revisions(self, identity, id_) -> list[dict]:
        """Every stored revision of an annotation, oldest first, with its JSON."""
        record = self.record_cls.pid.resolve(id_)
        self.require_permission(identity, "read", record=record)
        return [
            {
                "revision_id": revision.revision_id,
                "updated": revision.updated.isoformat() if revision.updated else None,
                "annotation": {k: v for k, v in dict(revision).items() if k != "$schema"},
            }
            for revision in record.revisions
        ]

    @unit_of_work()
    def review(self, identity, id_, data, uow=None):
        """A curator accepts or rejects the annotation's current revision."""
        record = self.record_cls.pid.resolve(id_)
        self.require_permission(identity, "review", record=record)
        decision = ReviewSchema().load(data)
        record["status"] = {"state": decision["state"], "by": user_ref(identity), "at": now_iso()}
        uow.register(RecordCommitOp(record, self.indexer, index_refresh=True))
        reindex_target(uow, record["target"]["record"])
        return self.result_item(self, identity, record, links_tpl=self.links_item_tpl)

    def import_file(self, identity, recid: str, fmt: str, payload: bytes, options: dict) -> dict:
        """Import an annotation file onto record `recid`; returns the validation report."""
        return import_file(
            identity,
            recid,
            payload,
            ImportOptions(
                format=fmt,
                category_set=options.get("category_set")
                or current_app.config["ANNOTATIONS_DEFAULT_CATEGORY_SET"],
                category=options.get("category") or "insect",
                dry_run=bool(options.get("dry_run")),
            ),
        )

    def export(self, identity, args: dict):
        """Annotations selected by `args` in `args["format"]` (an `Exported`)."""
        return export(identity, args)

    def annotation_page(self, identity, recid: str, key: str) -> dict:
        """The W3C AnnotationPage of one image, as IIIF viewers load it."""
        return annotation_page(identity, recid, key)

    def deposit_dataset(self, identity, args: dict, title: str | None = None) -> dict:
        """A draft dataset record holding the COCO export of the selected annotations."""
        return deposit_dataset(identity, args, title)
