"""Paths of the shared sample data and helpers that give parsed annotations image targets."""

from pathlib import Path

from specimen_rdm_annotations.categories import load_category_set
from specimen_rdm_annotations.interchange import ExportImage, ParsedFile

ROOT = Path(__file__).resolve().parents[3]
SHARED = ROOT.parent / "shared" / "data"
COCO_DIR = SHARED / "coco_voc"
SHEETS = SHARED / "herbarium" / "sheets"
CATEGORY_SETS = ROOT / "app_data" / "annotation_categories"


def coco_categories():
    """The COCO category set shipped in app_data."""
    return load_category_set(CATEGORY_SETS / "coco.yaml")


def targeted(
    parsed: ParsedFile, category_set: str = "coco"
) -> tuple[list[ExportImage], list[dict]]:
    """Export images for the parsed file's images and its annotations with full targets."""
    images = {}
    for number, image in enumerate(parsed.images, start=1):
        images[image.ref] = ExportImage(
            number, "rec", image.file_name or image.ref, image.width, image.height
        )
    annotations = []
    for parsed_annotation in parsed.annotations:
        image = images[parsed_annotation.image]
        data = parsed_annotation.data
        annotations.append(
            {
                **data,
                "target": {
                    "record": "rec",
                    "file": image.file,
                    "width": image.width,
                    "height": image.height,
                    **data["target"],
                },
                "body": {**data["body"], "category_set": category_set},
            }
        )
    return list(images.values()), annotations
