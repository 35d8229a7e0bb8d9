"""IoU, Dice and pixel accuracy on masks small enough to count by hand."""

import numpy as np
import pytest

from specimen_rdm_mlmodels.segmentation_metrics import dice, iou, pixel_accuracy, summarise

PREDICTION = np.array([[1, 1, 0], [0, 1, 0]], dtype=bool)  # 3 pixels
TRUTH = np.array([[1, 0, 0], [0, 1, 1]], dtype=bool)  # 3 pixels, 2 shared


def test_hand_counted():
    assert iou(PREDICTION, TRUTH) == pytest.approx(2 / 4)
    assert dice(PREDICTION, TRUTH) == pytest.approx(2 * 2 / 6)
    assert pixel_accuracy(PREDICTION, TRUTH) == pytest.approx(4 / 6)


def test_both_empty_is_perfect_and_one_empty_is_zero():
    empty = np.zeros((2, 3), dtype=bool)
    assert iou(empty, empty) == dice(empty, empty) == 1.0
    assert iou(empty, TRUTH) == dice(empty, TRUTH) == 0.0


def test_summary_averages_images():
    summary = summarise([PREDICTION, TRUTH], [TRUTH, TRUTH])
    assert summary["iou"] == pytest.approx((0.5 + 1.0) / 2)
    assert summary["pixel_accuracy"] == pytest.approx((4 / 6 + 1) / 2)
    assert summarise([], []) == {}


def test_nonzero_values_are_foreground():
    assert iou(PREDICTION.astype(np.uint8) * 255, TRUTH.astype(np.uint8) * 255) == pytest.approx(
        0.5
    )
    assert dice(PREDICTION.astype(np.uint8) * 255, TRUTH) == pytest.approx(2 * 2 / 6)


def test_masks_of_different_shapes_are_refused():
    with pytest.raises(ValueError, match=r"prediction shape \(1, 3\) differs from truth \(2, 3\)"):
        iou(PREDICTION[:1], TRUTH)
