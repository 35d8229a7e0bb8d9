"""Metrics of a classifier on a split: accuracy, macro-F1 and the confusion matrix.

Macro-F1 is the unweighted mean of the per-class F1 over the classes that occur in the split's
truth or predictions (a class never seen nor predicted does not count; one predicted but never
true counts with F1 0), as scikit-learn's `f1_score(average="macro")` on those labels.
"""

from collections.abc import Sequence

import numpy as np


def confusion(truth: Sequence[int], predicted: Sequence[int], classes: int) -> np.ndarray:
    """classes×classes counts: row = true class, column = predicted class."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    for t, p in zip(truth, predicted, strict=True):
        matrix[t, p] += 1
    return matrix


def summarise(truth: Sequence[int], predicted: Sequence[int], classes: int) -> dict[str, float]:
    """{"accuracy", "macro_f1"} of the predictions (both 0.0 for an empty split)."""
    if not len(truth):
        return {"accuracy": 0.0, "macro_f1": 0.0}
    matrix = confusion(truth, predicted, classes)
    true_positive = np.diag(matrix).astype(float)
    support = matrix.sum(axis=1)
    predicted_count = matrix.sum(axis=0)
    present = (support + predicted_count) > 0
    f1 = np.divide(
        2 * true_positive,
        support + predicted_count,
        out=np.zeros(classes),
        where=present,
    )
    return {
        "accuracy": float(true_positive.sum() / matrix.sum()),
        "macro_f1": float(f1[present].mean()),
    }
