"""The shipped category set covers the real herbarium dataset and rejects broken files."""

import json
from pathlib import Path

import pytest

from specimen_rdm_annotations.categories import (
    CategorySetError,
    load_category_set,
    load_category_sets,
)

ROOT = Path(__file__).resolve().parents[3]
HERBARIUM = ROOT.parent / "shared" / "data" / "herbarium" / "sheets"


def test_shipped_set_covers_the_herbarium_segmentation_categories():
    categories = load_category_set(ROOT / "app_data" / "annotation_categories" / "herbarium.yaml")
    panoptic = json.loads((HERBARIUM / "panoptic_herbaria_categories.json").read_text())
    for source in panoptic:
        ours = categories[source["name"]]
        assert ours.id == source["id"]
        assert ours.isthing == bool(source["isthing"])


@pytest.mark.parametrize(
    "content, message",
    [
        ("- {id: 0, name: plant}\n", "id: 0 is not"),
        ("- {id: 1, name: plant}\n- {id: 1, name: ruler}\n", "used twice"),
        ("- {id: 1, name: plant}\n- {id: 2, name: plant}\n", "'plant' is used twice"),
    ],
)
def test_broken_sets_are_rejected_with_the_field(tmp_path, content, message):
    path = tmp_path / "categories.yaml"
    path.write_text(content)
    with pytest.raises(CategorySetError, match=message):
        load_category_set(path)


def test_category_sets_are_read_by_file_stem_and_keep_coco_ids():
    sets = load_category_sets(ROOT / "app_data" / "annotation_categories")
    assert {"herbarium", "coco"} <= set(sets)
    assert sets["coco"]["toothbrush"].id == 90
    assert sets["coco"]["person"].supercategory == "person"
    assert sets["herbarium"]["color_card"].id == 7
