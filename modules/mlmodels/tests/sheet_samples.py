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
    samples = []
    for path in sorted((SHEETS / "img").glob("*.jpg")):
        with (
            Image.open(path) as image,
            Image.open(SHEETS / "plant_masks" / path.name.replace(".jpg", ".png")) as mask,
        ):
            width = round(image.width * HEIGHT / image.height)
            pixels = np.asarray(image.convert("RGB").resize((width, HEIGHT)))
            truth = np.asarray(mask.resize((width, HEIGHT), Image.Resampling.NEAREST)) > 0
        samples.append(Sample(path.stem, pixels, truth))
    assert samples, f"no sheets in {SHEETS}"
    return tuple(samples)
