"""PNG masks: the herbarium plant masks come back pixel-exact through RLE."""

import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image
from shared_data import SHEETS, targeted

from specimen_rdm_annotations.masks import read_masks, write_instance_masks, write_semantic_masks

SHEET_IDS = sorted(p.stem for p in (SHEETS / "plant_masks").glob("*.png"))


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _pngs(archive: bytes) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        return {
            n: np.array(Image.open(io.BytesIO(opened.read(n))))
            for n in opened.namelist()
            if n.endswith(".png")
        }


@pytest.mark.parametrize("sheet", SHEET_IDS)
def test_semantic_plant_masks_are_pixel_exact_both_ways(sheet):
    content = (SHEETS / "plant_masks" / f"{sheet}.png").read_bytes()
    original = np.array(Image.open(io.BytesIO(content)))
    parsed = read_masks(_zip({f"{sheet}.png": content}), {255: "plant"})
    assert parsed.problems == []
    (annotation,) = parsed.annotations
    assert annotation.data["target"]["selector"]["area"] == np.count_nonzero(original)
    images, annotations = targeted(parsed, "herbarium")
    (instance,) = _pngs(write_instance_masks(images, annotations)).values()
    assert np.array_equal(instance, original)
    semantic = _pngs(write_semantic_masks(images, annotations, {"plant": 255}))
    assert np.array_equal(semantic[f"{sheet}.png"], original)


def test_instance_masks_of_split_plants_are_pixel_exact():
    files = {
        p.name: p.read_bytes() for p in sorted((SHEETS / "plant_masks_split").glob("*.png"))[:6]
    }
    parsed = read_masks(_zip(files))
    assert len(parsed.annotations) == len(files) and parsed.problems == []
    images, annotations = targeted(parsed, "herbarium")
    written = _pngs(write_instance_masks(images, annotations))
    for name, content in files.items():
        original = np.array(Image.open(io.BytesIO(content)))
        stem, _, k = name[:-4].rpartition("_plant_")
        matches = [m for n, m in written.items() if n.startswith(f"{stem}_plant_")]
        assert any(np.array_equal(m != 0, original != 0) for m in matches), name


def test_label_map_from_the_zip_and_values_outside_it():
    mask = np.zeros((4, 6), dtype=np.uint8)
    mask[1:3, 1:3] = 1
    mask[0, 5] = 7
    buffer = io.BytesIO()
    Image.fromarray(mask, mode="L").save(buffer, format="PNG")
    parsed = read_masks(
        _zip({"s.png": buffer.getvalue(), "labelmap.json": json.dumps({"1": "label"}).encode()})
    )
    assert parsed.annotations == []
    assert "[7]" in parsed.problems[0].reason
    ok = read_masks(
        _zip(
            {
                "s.png": buffer.getvalue(),
                "labelmap.json": json.dumps({"1": "label", "7": "stamp"}).encode(),
            }
        )
    )
    assert sorted(a.data["body"]["category"] for a in ok.annotations) == ["label", "stamp"]


def test_rgb_png_is_rejected():
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="PNG")
    parsed = read_masks(_zip({"s.png": buffer.getvalue()}), {255: "plant"})
    assert parsed.annotations == [] and "single-channel" in parsed.problems[0].reason
