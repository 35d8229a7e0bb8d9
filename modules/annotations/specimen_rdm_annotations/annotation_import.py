"""Import of an annotation file onto one record: read → match images → validate → write.

Nothing is written when the report holds an error; duplicates (same image, same category,
IoU ≥ ANNOTATIONS_DUPLICATE_IOU with a stored or an earlier annotation of the file) are
reported as warnings and skipped, so importing the same file twice creates nothing new.
"""

from dataclasses import dataclass
from pathlib import PurePosixPath

from flask import current_app
from invenio_db import db
from invenio_rdm_records.proxies import current_rdm_records_service
from invenio_records_resources.services.errors import PermissionDeniedError

from .annotation_store import create_annotations, existing_annotations, index_annotations
from .coco import read_coco
from .inselect import read_inselect
from .interchange import FormatError, ParsedFile, ParsedImage, Problem
from .masks import read_masks
from .proxies import current_annotations
from .services.components import field_error, now_iso, user_ref
from .target_access import resolve_target
from .target_files import TargetFile, image_files
from .validation import duplicate_indexes, validate_annotations
from .voc import read_voc, read_voc_zip
from .w3c import read_annotation_page
from .yolo import read_yolo


@dataclass
class ImportOptions:
    """What the caller chose: format, category set, Inselect's category, dry run."""

    format: str
    category_set: str
    category: str = "insect"
    dry_run: bool = False


def _stem(name: str) -> str:
    return PurePosixPath(name).stem


def read_upload(options: ImportOptions, payload: bytes, images: dict[str, TargetFile]):
    """The format's reader applied to the upload; sizes come from the record's images."""
    categories = current_annotations.category_sets.get(options.category_set) or {}
    by_id = {category.id: name for name, category in categories.items()}
    sizes = {_stem(key): (image.width, image.height) for key, image in images.items()}
    fmt = options.format
    if fmt == "coco":
        return read_coco(payload, by_id)
    if fmt == "voc":
        return read_voc_zip(payload) if payload[:2] == b"PK" else read_voc(payload)
    if fmt == "masks":
        return read_masks(payload)
    if fmt == "yolo":
        return read_yolo(payload, sizes)
    if fmt == "inselect":
        only = next(iter(images.values())) if len(images) == 1 else None
        size = (only.width, only.height) if only is not None else None
        return read_inselect(payload, "upload.inselect", size, category=options.category)
    return read_annotation_page(payload)


def match_images(
    parsed: ParsedFile, images: dict[str, TargetFile]
) -> tuple[dict[str, TargetFile], list[Problem]]:
    """Pair each image the file names with a record file: by file name, stem, or SHA-256.

    A file naming an image the record lacks is reported (warning; its annotations are skipped);
    a size that disagrees with the record's image is an error for that image.
    """
    by_name = {PurePosixPath(key).name: image for key, image in images.items()}
    by_stem = {_stem(key): image for key, image in images.items()}
    digests: dict[str, TargetFile] | None = None
    matched: dict[str, TargetFile] = {}
    problems: list[Problem] = []
    for parsed_image in parsed.images:
        image = _find(parsed_image, by_name, by_stem, len(images) == 1 and images)
        if image is None and parsed_image.sha256:
            if digests is None:
                digests = {image.sha256(): image for image in images.values()}
            image = digests.get(parsed_image.sha256.lower())
        label = parsed_image.file_name or parsed_image.ref
        if image is None:
            problems.append(
                Problem(
                    "warning",
                    None,
                    f"images[{parsed_image.ref}]",
                    f"image '{label}' is not a file of this record; its annotations are skipped",
                )
            )
            continue
        stated = (parsed_image.width, parsed_image.height)
        if None not in stated and stated != (image.width, image.height):
            problems.append(
                Problem(
                    "error",
                    None,
                    f"images[{parsed_image.ref}]",
                    f"image '{label}' is {stated[0]}×{stated[1]} px in the file but "
                    f"'{image.key}' is {image.width}×{image.height} px",
                )
            )
            continue
        matched[parsed_image.ref] = image
    return matched, problems


def _find(parsed_image: ParsedImage, by_name, by_stem, single) -> TargetFile | None:
    names = [parsed_image.file_name, parsed_image.ref]
    for name in filter(None, names):
        base = PurePosixPath(name).name
        if base in by_name:
            return by_name[base]
    for name in filter(None, names):
        if _stem(name) in by_stem:
            return by_stem[_stem(name)]
    # A W3C page or Inselect file about the record's only image needs no name match.
    if single and parsed_image.file_name is None:
        return next(iter(single.values()))
    return None


def _creator(identity, annotation: dict) -> dict:
    """The file's creator (e.g. a model in a W3C page), always with the importing user."""
    creator = dict(annotation.get("creator") or {"type": "person"})
    if creator.get("type") not in ("person", "model"):
        creator = {"type": "person"}
    creator["user"] = user_ref(identity)
    return creator


def import_file(identity, recid: str, payload: bytes, options: ImportOptions) -> dict:
    """Validate and (unless dry run or errors) write the annotations of `payload` on `recid`."""
    service = current_annotations.service
    if not service.check_permission(identity, "import", record={"target": {"record": recid}}):
        raise PermissionDeniedError("import")
    record = resolve_target(recid)
    if record is None:
        raise field_error("record", f"no published record with id '{recid}'")
    if options.category_set not in current_annotations.category_sets:
        known = ", ".join(sorted(current_annotations.category_sets))
        raise field_error("category_set", f"unknown category set (known: {known})")
    limit = current_app.config["ANNOTATIONS_IMPORT_MAX_BYTES"]
    if not payload:
        raise field_error("file", "the upload is empty")
    if len(payload) > limit:
        raise field_error("file", f"{len(payload)} bytes is more than the limit of {limit}")
    images = image_files(record)
    try:
        parsed = read_upload(options, payload, images)
    except FormatError as error:
        raise field_error(f"file.{error.field}".rstrip("."), error.reason) from None

    matched, problems = match_images(parsed, images)
    problems = [*parsed.problems, *problems]
    annotations, fields, indexes = [], [], []
    for parsed_annotation in parsed.annotations:
        image = matched.get(parsed_annotation.image)
        if image is None:
            continue
        data = parsed_annotation.data
        body = {**data.get("body", {}), "category_set": options.category_set}
        annotations.append(
            {
                **{k: v for k, v in data.items() if k not in ("target", "body")},
                "target": {
                    "record": recid,
                    "file": image.key,
                    "width": image.width,
                    "height": image.height,
                    "selector": data["target"]["selector"],
                },
                "body": body,
            }
        )
        fields.append(parsed_annotation.source_field or f"annotations[{parsed_annotation.index}]")
        indexes.append(parsed_annotation.index)
    most = current_app.config["ANNOTATIONS_IMPORT_MAX_ANNOTATIONS"]
    if len(annotations) > most:
        raise field_error("file", f"{len(annotations)} annotations is more than the limit {most}")

    config = current_app.config
    checked = validate_annotations(
        annotations,
        current_annotations.category_sets,
        existing=existing_annotations(recid),
        tolerance=config["ANNOTATIONS_EDGE_TOLERANCE"],
        duplicate_iou=config["ANNOTATIONS_DUPLICATE_IOU"],
        fields=fields,
    )
    duplicates = duplicate_indexes(checked)
    # Report positions as the file numbers its annotations, not as our list does.
    for problem in checked:
        if problem.index is not None:
            problem.index = indexes[problem.index]
    problems.extend(checked)
    errors = [p.to_dict() for p in problems if p.severity == "error"]
    if not annotations and not errors:
        errors.append(
            Problem(
                "error", None, "file", "no annotation of this file is on this record's images"
            ).to_dict()
        )
    report = {
        "record": recid,
        "format": options.format,
        "dry_run": options.dry_run,
        "images": {"matched": {ref: image.key for ref, image in matched.items()}},
        "counts": {
            "read": len(parsed.annotations),
            "on_record": len(annotations),
            "duplicates": len(duplicates),
            "created": 0,
        },
        "errors": errors,
        "warnings": [p.to_dict() for p in problems if p.severity == "warning"],
        "created": [],
    }
    if errors or options.dry_run:
        return report

    curator = service.check_permission(identity, "review", record={"target": {"record": recid}})
    status = {
        "state": "accepted" if curator and user_ref(identity) != "system" else "proposed",
        "by": user_ref(identity),
        "at": now_iso(),
    }
    to_write = [
        {**annotation, "status": status, "creator": _creator(identity, annotation)}
        for position, annotation in enumerate(annotations)
        if position not in duplicates
    ]
    records = create_annotations(to_write)
    db.session.commit()
    index_annotations(records)
    current_rdm_records_service.indexer.index(record)
    report["counts"]["created"] = len(records)
    report["created"] = [r.pid.pid_value for r in records]
    return report
