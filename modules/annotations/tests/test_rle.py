"""COCO RLE: the compressed-counts decoder agrees with numpy runs and with pycocotools."""

import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from shared_data import COCO_DIR

from specimen_rdm_annotations.rle import (
    decode_counts,
    mask_to_rle,
    rle_to_mask,
    run_lengths,
    selector_rle,
)


def _runs(mask: np.ndarray) -> list[int]:
    flat = mask.flatten(order="F")
    runs, current, count = [], 0, 0
    for value in flat:
        if value != current:
            runs.append(count)
            current, count = value, 0
        count += 1
    return [*runs, count]


@pytest.mark.parametrize("seed", range(20))
def test_decoded_counts_match_numpy_runs(seed):
    mask = (np.random.default_rng(seed).random((41, 29)) > 0.7).astype(np.uint8)
    assert decode_counts(mask_utils.encode(np.asfortranarray(mask))["counts"]) == _runs(mask)


def test_real_result_masks_sum_to_their_image_size():
    results = json.loads(
        (COCO_DIR / "cocoapi_results" / "instances_val2014_fakesegm100_results.json").read_text()
    )
    for result in results[:200]:
        height, width = result["segmentation"]["size"]
        assert sum(run_lengths(result["segmentation"])) == height * width


def test_malformed_counts_are_errors():
    with pytest.raises(ValueError):
        decode_counts("\x01\x02")
    with pytest.raises(ValueError):
        decode_counts("o")  # a continuation bit with nothing after it


def test_selector_rles_have_the_expected_areas():
    assert mask_utils.area(selector_rle({"type": "box", "box": [2, 3, 10, 5]}, 20, 30)) == 50
    square = {"type": "polygon", "polygon": [[0, 0, 10, 0, 10, 10, 0, 10]]}
    assert mask_utils.area(selector_rle(square, 20, 30)) == 100
    assert mask_utils.area(selector_rle({"type": "image"}, 20, 30)) == 600
    mask = np.zeros((20, 30), dtype=np.uint8)
    mask[4:9, 7:12] = 1
    stored = mask_to_rle(mask)
    assert np.array_equal(rle_to_mask(stored), mask)
    uncompressed = {"size": [20, 30], "counts": _runs(mask)}
    assert np.array_equal(rle_to_mask(uncompressed), mask)
