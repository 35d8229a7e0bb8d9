"""The 10 real herbarium sheets with their plant masks, downscaled, as training samples."""

from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

from specimen_rdm_mlmodels.segmentation_training import Sample

SHEETS = Path(__file__).resolve().parents[4] / "shared" / "data" / "herbarium" / "sheets"
HEIGHT = 192


@cache
def sheet_samples() -> tuple[Sample, ...]:
    """One Sample per sheet, HEIGHT pixels tall (masks resized by nearest neighbour)."""
    samples = tuple(Sample(name, pixels, truth) for name, pixels, truth in _sheets(HEIGHT))
    assert samples, f"no sheets in {SHEETS}"
    return samples


def _sheets(height: int):
    """(name, RGB pixels, plant mask) per sheet, `height` pixels tall (the mask resized by
    nearest neighbour)."""
    for path in sorted((SHEETS / "img").glob("*.jpg")):
        with (
            Image.open(path) as image,
            Image.open(SHEETS / "plant_masks" / path.name.replace(".jpg", ".png")) as mask,
        ):
            width = round(image.width * height / image.height)
            pixels = np.asarray(image.convert("RGB").resize((width, height)))
            truth = np.asarray(mask.resize((width, height), Image.Resampling.NEAREST)) > 0
        yield path.stem, pixels, truth


@cache
def tile_samples(height: int = 384, tile: int = 64, per_class: int = 10) -> tuple:
    """Labelled square tiles of the sheets: "plant" where the plant mask covers over 25% of the
    tile, "other" (paper, labels, rulers) where it covers under 1%; at most `per_class` of each
    per sheet, taken in a fixed order, so the classes are balanced and the set is repeatable."""
    from specimen_rdm_mlmodels.classification_training import LabelledImage

    tiles = []
    for name, pixels, truth in _sheets(height):
        width = pixels.shape[1]
        taken = {"plant": 0, "other": 0}
        for top in range(0, height - tile + 1, tile // 2):
            for left in range(0, width - tile + 1, tile // 2):
                cover = truth[top : top + tile, left : left + tile].mean()
                label = "plant" if cover > 0.25 else "other" if cover < 0.01 else None
                if label is None or taken[label] >= per_class:
                    continue
                taken[label] += 1
                tiles.append(
                    LabelledImage(
                        key=f"{name}#{top},{left}",
                        group=name,
                        image=np.ascontiguousarray(pixels[top : top + tile, left : left + tile]),
                        label=label,
                    )
                )
    return tuple(tiles)


@cache
def instance_samples(height: int = 256) -> tuple:
    """One DetectionSample per sheet, `height` pixels tall: a "plant" box and mask per plant
    instance of the sheet (`plant_masks_split`, masks resized by nearest neighbour)."""
    from specimen_rdm_mlmodels.detection_training import DetectionSample

    samples = []
    for name, pixels, _ in _sheets(height):
        boxes, masks = [], []
        for path in sorted((SHEETS / "plant_masks_split").glob(f"{name}_plant_*.png")):
            with Image.open(path) as instance:
                size = (pixels.shape[1], pixels.shape[0])
                mask = np.asarray(instance.resize(size, Image.Resampling.NEAREST)) > 0
            ys, xs = np.nonzero(mask)
            if not len(xs):
                continue
            left, top = int(xs.min()), int(ys.min())
            boxes.append([left, top, int(xs.max()) + 1 - left, int(ys.max()) + 1 - top])
            masks.append(mask)
        samples.append(DetectionSample(name, pixels, boxes, ["plant"] * len(boxes), masks))
    return tuple(samples)
