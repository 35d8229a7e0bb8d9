"""Segmentation metrics of boolean masks (numpy), as the model card reports them.

IoU = |P ∩ T| / |P ∪ T| and Dice = 2|P ∩ T| / (|P| + |T|), per image; when prediction and truth
are both empty the image counts as perfect (1.0). Pixel accuracy is the share of pixels where
prediction and truth agree. Any nonzero value counts as foreground (so 0/255 masks work), and a
prediction must have its truth's shape. `summarise` averages over images (each image weighs the
same, whatever its size).
"""

from collections.abc import Sequence

import numpy as np


def _as_masks(prediction: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both masks as bool arrays; ValueError when their shapes differ (numpy would broadcast)."""
    prediction, truth = np.asarray(prediction, dtype=bool), np.asarray(truth, dtype=bool)
    if prediction.shape != truth.shape:
        raise ValueError(f"prediction shape {prediction.shape} differs from truth {truth.shape}")
    return prediction, truth


def iou(prediction: np.ndarray, truth: np.ndarray) -> float:
    """Intersection over union of two masks of one shape."""
    prediction, truth = _as_masks(prediction, truth)
    union = np.logical_or(prediction, truth).sum()
    if union == 0:
        return 1.0
    return float(np.logical_and(prediction, truth).sum() / union)


def dice(prediction: np.ndarray, truth: np.ndarray) -> float:
    """Dice coefficient (F1 of the pixels) of two masks of one shape."""
    prediction, truth = _as_masks(prediction, truth)
    total = prediction.sum() + truth.sum()
    if total == 0:
        return 1.0
    return float(2 * np.logical_and(prediction, truth).sum() / total)


def pixel_accuracy(prediction: np.ndarray, truth: np.ndarray) -> float:
    """Share of pixels classified right."""
    prediction, truth = _as_masks(prediction, truth)
    return float((prediction == truth).mean())


def summarise(predictions: Sequence[np.ndarray], truths: Sequence[np.ndarray]) -> dict:
    """Mean IoU, mean Dice and mean pixel accuracy over pairs of masks ({} for no pairs)."""
    pairs = list(zip(predictions, truths, strict=True))
    if not pairs:
        return {}
    return {
        "iou": float(np.mean([iou(p, t) for p, t in pairs])),
        "dice": float(np.mean([dice(p, t) for p, t in pairs])),
        "pixel_accuracy": float(np.mean([pixel_accuracy(p, t) for p, t in pairs])),
    }
