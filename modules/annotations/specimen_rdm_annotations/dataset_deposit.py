"""Deposit an annotation export as a training dataset: a draft RDM record linked to its images.

The draft (resource type `dataset`) holds `annotations.json`, a COCO file whose images carry
IIIF URLs, and a related identifier `isderivedfrom` for every image record it uses. The
depositor completes the metadata (creators, licence) and publishes it as usual.
"""

import io
import json
from datetime import date

from flask import current_app
from invenio_rdm_records.proxies import current_rdm_records_service

from .annotation_export import export_images, select_annotations
from .coco import write_coco
from .proxies import current_annotations
from .services.components import field_error

FILE_KEY = "annotations.json"


def _related(recid: str) -> dict:
    return {
        "identifier": f"{current_app.config['SITE_UI_URL']}/records/{recid}",
        "scheme": "url",
        "relation_type": {"id": "isderivedfrom"},
        "resource_type": {"id": "image"},
    }


def deposit_dataset(identity, args: dict, title: str | None) -> dict:
    """Create the draft dataset record of the selected annotations; its JSON."""
    annotations = select_annotations(identity, args)
    if not annotations:
        raise field_error("q", "no annotations match: nothing to deposit")
    images = export_images(annotations)
    set_name = args.get("category_set") or annotations[0]["body"].get("category_set")
    categories = current_annotations.category_sets.get(set_name)
    if categories is None:
        raise field_error("category_set", f"unknown category set '{set_name}'")
    coco = write_coco(images, annotations, sorted(categories.values(), key=lambda c: c.id))
    records = sorted({image.record for image in images})
    draft = current_rdm_records_service.create(
        identity,
        {
            "access": {"record": "public", "files": "public"},
            "files": {"enabled": True},
            "metadata": {
                "resource_type": {"id": "dataset"},
                "title": title
                or f"Annotations of {len(images)} images ({len(annotations)} regions)",
                "publication_date": date.today().isoformat(),
                "description": (
                    f"COCO annotations ({set_name} categories) of {len(images)} images in "
                    f"{len(records)} records, exported from Specimen RDM; images are referenced "
                    "by IIIF URLs."
                ),
                "related_identifiers": [_related(recid) for recid in records],
            },
        },
    )
    files = current_rdm_records_service.draft_files
    files.init_files(identity, draft.id, [{"key": FILE_KEY}])
    content = json.dumps(coco).encode()
    files.set_file_content(
        identity, draft.id, FILE_KEY, io.BytesIO(content), content_length=len(content)
    )
    files.commit_file(identity, draft.id, FILE_KEY)
    return current_rdm_records_service.read_draft(identity, draft.id).to_dict()
