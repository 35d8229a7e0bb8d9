"""Service components: resolve the target image, validate, set creator and review status."""

from datetime import UTC, datetime

from flask import current_app
from invenio_access.permissions import system_process
from invenio_rdm_records.proxies import current_rdm_records_service
from invenio_records_resources.services.errors import ValidationErrorGroup
from invenio_records_resources.services.records.components import ServiceComponent
from invenio_records_resources.services.uow import RecordIndexOp

from ..proxies import current_annotations
from ..rle import with_box
from ..target_access import resolve_target
from ..target_files import image_files
from ..validation import validate_annotations


def now_iso() -> str:
    """UTC timestamp for review statuses."""
    return datetime.now(UTC).isoformat()


def field_error(field: str, message: str) -> ValidationErrorGroup:
    """A 400 validation error on one field, in InvenioRDM's error shape."""
    return ValidationErrorGroup([{"field": field, "messages": [message]}])


def is_system(identity) -> bool:
    """Pipelines and imports run as the system identity."""
    return system_process in identity.provides


def user_ref(identity) -> str:
    """How statuses and creators name who acted: a user id, or `system`."""
    return "system" if is_system(identity) else str(identity.id)


def resolve_target_image(target: dict) -> dict:
    """The target with the image's pixel size filled in; 400 when the record or file is wrong."""
    recid = target["record"]
    record = resolve_target(recid)
    if record is None:
        raise field_error("target.record", f"no published record with id '{recid}'")
    files = image_files(record)
    image = files.get(target["file"])
    if image is None:
        known = ", ".join(sorted(files)) or "none"
        raise field_error(
            "target.file",
            f"record '{recid}' has no image file '{target['file']}' (image files: {known})",
        )
    for name, actual in (("width", image.width), ("height", image.height)):
        if target.get(name) not in (None, actual):
            raise field_error(
                f"target.{name}",
                f"{target[name]} does not match the image's {name} of {actual} px",
            )
    return {**target, "width": image.width, "height": image.height}


def raise_on_errors(annotation: dict) -> None:
    """Geometry, category and body rules of validation.py; errors become one 400."""
    config = current_app.config
    problems = validate_annotations(
        [annotation],
        current_annotations.category_sets,
        tolerance=config["ANNOTATIONS_EDGE_TOLERANCE"],
        duplicate_iou=config["ANNOTATIONS_DUPLICATE_IOU"],
        fields=[""],
    )
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ValidationErrorGroup(
            [{"field": p.field.lstrip("."), "messages": [p.reason]} for p in errors]
        )


def reindex_target(uow, recid: str) -> None:
    """Reindex the targeted RDM record after commit (its annotation summary changed)."""
    target = resolve_target(recid)
    if target is not None:
        uow.register(RecordIndexOp(target, indexer=current_rdm_records_service.indexer))


class AnnotationComponent(ServiceComponent):
    """Everything an annotation gets on create and update besides its schema-checked fields."""

    def _is_curator(self, identity, annotation: dict) -> bool:
        return self.service.check_permission(identity, "review", record=annotation)

    def _creator(self, identity, data: dict) -> dict:
        creator = dict(data.get("creator") or {"type": "person"})
        if creator["type"] == "person" and is_system(identity):
            raise field_error("creator", "a system process cannot create a person's annotation")
        if not is_system(identity):
            creator["user"] = str(identity.id)
        if creator["type"] == "model" and not (creator.get("model") or {}).get("record"):
            raise field_error("creator.model.record", "a machine annotation names its model")
        return creator

    def _fill(self, identity, data: dict, previous: dict | None) -> dict:
        body = dict(data["body"])
        body.setdefault("category_set", current_app.config["ANNOTATIONS_DEFAULT_CATEGORY_SET"])
        annotation = {
            **{k: v for k, v in data.items() if k in ("motivation", "score", "attributes")},
            "target": resolve_target_image(data["target"]),
            "body": body,
        }
        raise_on_errors(annotation)
        target = annotation["target"]
        target["selector"] = with_box(target["selector"], target["height"], target["width"])
        curator = self._is_curator(identity, annotation)
        accepted = curator and not is_system(identity)
        annotation["status"] = {
            "state": "accepted" if accepted else "proposed",
            "by": user_ref(identity),
            "at": now_iso(),
        }
        annotation["creator"] = (
            previous["creator"] if previous is not None else self._creator(identity, data)
        )
        return annotation

    def create(self, identity, data=None, record=None, errors=None, **kwargs):
        """Validate against the target image and store the annotation as proposed/accepted."""
        record.update(self._fill(identity, data, previous=None))
        reindex_target(self.uow, record["target"]["record"])

    def update(self, identity, data=None, record=None, **kwargs):
        """A new revision; an edit by someone who is not a curator becomes a proposal."""
        for name in ("record", "file"):
            if data["target"][name] != record["target"][name]:
                raise field_error(
                    f"target.{name}", "an annotation cannot move to another record or file"
                )
        filled = self._fill(identity, data, previous=dict(record))
        for optional in ("motivation", "score", "attributes"):
            record.pop(optional, None)
        record.update(filled)
        reindex_target(self.uow, record["target"]["record"])

    def delete(self, identity, record=None, **kwargs):
        """The record's annotation summary in search drops this annotation."""
        reindex_target(self.uow, record["target"]["record"])
