"""Export of annotations (of a record, an annotation query or a record query) in a format.

Only annotations the identity may see are exported; rejected ones are left out. Images are
emitted with IIIF URLs so that a COCO export is a training dataset that fetches its own pixels.
"""

import json
from dataclasses import dataclass

from flask import current_app
from invenio_rdm_records.proxies import current_rdm_records_service
from invenio_records_resources.services.errors import PermissionDeniedError
from invenio_search.engine import dsl

from .coco import write_coco
from .formats import MEDIA_TYPES
from .inselect import write_inselect
from .interchange import ExportImage
from .masks import write_instance_masks, write_semantic_masks, zip_bytes
from .proxies import current_annotations
from .services.components import field_error
from .target_access import resolve_target
from .target_files import image_files
from .voc import write_voc_zip
from .w3c import write_annotation_page
from .yolo import write_yolo

TERMS_CHUNK = 10_000
TERMS = "https://specimen-rdm.org/terms/"


@dataclass
class Exported:
    """An export ready to send: bytes, media type, download file name."""

    content: bytes
    mimetype: str
    filename: str


def iiif_image_url(recid: str, key: str) -> str:
    """Full-size image through InvenioRDM's IIIF Image API."""
    return f"{current_app.config['SITE_API_URL']}/iiif/record:{recid}:{key}/full/full/0/default.jpg"


def annotation_url(annotation_id: str) -> str:
    """The annotation's REST URL, used as its W3C id."""
    return f"{current_app.config['SITE_API_URL']}/annotations/{annotation_id}"


def _scan(identity, extra_filter, permission_action="read", include_rejected=False):
    service = current_annotations.service
    if not include_rejected:
        extra_filter = extra_filter & ~dsl.Q("term", **{"status.state": "rejected"})
    search = service.create_search(
        identity,
        service.record_cls,
        service.config.search,
        permission_action=permission_action,
        extra_filter=extra_filter,
        versioning=False,
    )
    for hit in search.params(preserve_order=True).sort("created", "_doc").scan():
        source = hit.to_dict()
        source["target"].pop("access", None)
        yield source


def _record_ids(identity, records_q: str, limit: int) -> list[str]:
    found = current_rdm_records_service.scan(identity, params={"q": records_q})
    ids = []
    for hit in found.hits:
        ids.append(hit["id"])
        if len(ids) > limit:
            break
    return ids


def select_annotations(identity, args: dict, include_rejected: bool = False) -> list[dict]:
    """The annotations an export covers, in creation order, permission-filtered."""
    service = current_annotations.service
    limit = current_app.config["ANNOTATIONS_EXPORT_MAX_ANNOTATIONS"]
    if args.get("record"):
        recid = args["record"]
        if not service.can_read_annotations_of(identity, recid):
            raise PermissionDeniedError("read")
        only_record = dsl.Q("term", **{"target.record": recid})
        scans = [_scan(identity, only_record, None, include_rejected)]
    elif args.get("q"):
        scans = [_scan(identity, dsl.Q("query_string", query=args["q"]))]
    elif args.get("records_q"):
        ids = _record_ids(identity, args["records_q"], limit)
        scans = [
            _scan(identity, dsl.Q("terms", **{"target.record": ids[i : i + TERMS_CHUNK]}))
            for i in range(0, len(ids), TERMS_CHUNK)
        ]
    else:
        raise field_error("record", "give a record id, an annotation query q or records_q")
    selected = []
    for scan in scans:
        for annotation in scan:
            selected.append(annotation)
            if len(selected) > limit:
                raise field_error(
                    "q", f"more than {limit} annotations match; narrow the query or page it"
                )
    return selected


def export_images(annotations: list[dict]) -> list[ExportImage]:
    """One ExportImage per targeted (record, file), numbered 1.. in order of appearance."""
    images: dict[tuple[str, str], ExportImage] = {}
    for annotation in annotations:
        target = annotation["target"]
        key = (target["record"], target["file"])
        if key not in images:
            images[key] = ExportImage(
                id=len(images) + 1,
                record=target["record"],
                file=target["file"],
                width=target["width"],
                height=target["height"],
                url=iiif_image_url(*key),
            )
    return list(images.values())


def _category_set(annotations: list[dict], requested: str | None):
    sets = current_annotations.category_sets
    names = {a["body"].get("category_set") for a in annotations if a["body"].get("category")}
    name = requested or (names.pop() if len(names) == 1 else None)
    if name is None and names:
        raise field_error("category_set", f"annotations use several sets ({sorted(names)})")
    name = name or current_app.config["ANNOTATIONS_DEFAULT_CATEGORY_SET"]
    if name not in sets:
        raise field_error("category_set", f"unknown category set '{name}'")
    return name, sorted(sets[name].values(), key=lambda c: c.id)


def _with_images(coco: dict, images: list[ExportImage], identity) -> bytes:
    """COCO JSON plus the image files (`images/<record>/<key>`), read through RDM's files
    service, which checks the identity's right to each record's files."""
    files = {}
    paths = {image.id: f"images/{image.record}/{image.file}" for image in images}
    for image in images:
        content = current_rdm_records_service.files.get_file_content(
            identity, image.record, image.file
        )
        with content.get_stream("rb") as stream:
            files[paths[image.id]] = stream.read()
    for entry in coco["images"]:
        entry["file_name"] = paths[entry["id"]]
    files["annotations.json"] = json.dumps(coco).encode()
    return zip_bytes(files)


def export(identity, args: dict) -> Exported:
    """Select, convert and package annotations as `args["format"]` asks."""
    fmt = args["format"]
    annotations = select_annotations(identity, args)
    images = export_images(annotations)
    set_name, categories = _category_set(annotations, args.get("category_set"))
    stem = f"annotations-{args.get('record') or 'query'}"
    if fmt in ("coco", "coco-results"):
        coco = write_coco(images, annotations, categories, results=fmt == "coco-results")
        if fmt == "coco" and args.get("include_images"):
            return Exported(_with_images(coco, images, identity), MEDIA_TYPES["zip"], f"{stem}.zip")
        return Exported(json.dumps(coco).encode(), MEDIA_TYPES["coco"], f"{stem}.json")
    if fmt == "voc":
        return Exported(write_voc_zip(images, annotations), MEDIA_TYPES["zip"], f"{stem}-voc.zip")
    if fmt == "yolo":
        content = write_yolo(
            images, annotations, categories, task=args.get("yolo_task") or "detect"
        )
        return Exported(content, MEDIA_TYPES["zip"], f"{stem}-yolo.zip")
    if fmt == "masks":
        if args.get("masks") == "semantic":
            values = {c.name: c.id for c in categories}
            content = write_semantic_masks(images, annotations, values)
        else:
            content = write_instance_masks(images, annotations)
        return Exported(content, MEDIA_TYPES["zip"], f"{stem}-masks.zip")
    pages = {}
    for image in images:
        on_image = [
            (a["id"], a)
            for a in annotations
            if (a["target"]["record"], a["target"]["file"]) == (image.record, image.file)
        ]
        if fmt == "inselect":
            pages[f"{image.file.rsplit('.', 1)[0]}.inselect"] = write_inselect(
                image, [a for _, a in on_image]
            )
        else:
            page = write_annotation_page(image, on_image, page_url(image), annotation_url)
            pages[f"{image.record}-{image.file}.jsonld"] = json.dumps(page).encode()
    if len(pages) == 1:
        name, content = next(iter(pages.items()))
        mimetype = MEDIA_TYPES["w3c"] if fmt == "w3c" else "application/json"
        return Exported(content, mimetype, name)
    return Exported(zip_bytes(pages), MEDIA_TYPES["zip"], f"{stem}-{fmt}.zip")


def page_url(image: ExportImage) -> str:
    """URL of the W3C AnnotationPage of one image (linked from the IIIF manifest)."""
    return f"{current_app.config['SITE_API_URL']}/annotations/pages/{image.record}/{image.file}"


def annotation_page(identity, recid: str, key: str) -> dict:
    """W3C AnnotationPage of the annotations on one image of a record."""
    # Rejected annotations stay on the page (marked so) for curators to revisit.
    annotations = select_annotations(identity, {"record": recid}, include_rejected=True)
    on_image = [a for a in annotations if a["target"]["file"] == key]
    if on_image:
        image = export_images(on_image)[0]
    else:
        record = resolve_target(recid)
        target = image_files(record).get(key) if record is not None else None
        if target is None:
            raise field_error("file", f"record '{recid}' has no image file '{key}'")
        image = ExportImage(1, recid, key, target.width, target.height, iiif_image_url(recid, key))
    page = write_annotation_page(
        image, [(a["id"], a) for a in on_image], page_url(image), annotation_url
    )
    # The viewer scales overlays from full-size pixels to the displayed (IIIF-scaled) image.
    page[f"{TERMS}width"], page[f"{TERMS}height"] = image.width, image.height
    return page
