"""Evaluation plots of a training run as PNG bytes (matplotlib, no pyplot global state)."""

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def loss_curve_png(history: list[dict], metric: str, name: str) -> bytes:
    """Training loss and a validation metric (`metric` key of each entry, 0..1) per epoch."""
    figure = Figure(figsize=(6, 3.5))
    loss_axis = figure.add_subplot()
    epochs = [entry["epoch"] for entry in history]
    loss_axis.plot(epochs, [entry["loss"] for entry in history], color="tab:red", label="loss")
    loss_axis.set_xlabel("epoch")
    loss_axis.set_ylabel("training loss", color="tab:red")
    metric_axis = loss_axis.twinx()
    metric_axis.plot(epochs, [entry[metric] for entry in history], color="tab:blue")
    metric_axis.set_ylabel(name, color="tab:blue")
    metric_axis.set_ylim(0, 1)
    figure.suptitle(f"Training loss and {name}")
    return _png(figure)


def iou_bars_png(per_image: dict[str, float]) -> bytes:
    """IoU of each test image, one bar each."""
    figure = Figure(figsize=(6, 0.4 * max(len(per_image), 3) + 1))
    axis = figure.add_subplot()
    names = list(per_image)
    axis.barh(range(len(names)), [per_image[n] for n in names], color="tab:green")
    axis.set_yticks(range(len(names)), labels=names, fontsize=7)
    axis.set_xlim(0, 1)
    axis.set_xlabel("IoU")
    figure.suptitle("Test images: IoU of the predicted mask")
    return _png(figure)


def confusion_png(matrix, labels: list[str]) -> bytes:
    """Confusion matrix of the test split: rows true class, columns predicted, counts shown."""
    size = 1.2 + 0.6 * len(labels)
    figure = Figure(figsize=(size + 1, size))
    axis = figure.add_subplot()
    image = axis.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axis)
    ticks = range(len(labels))
    axis.set_xticks(ticks, labels=labels, rotation=45, ha="right", fontsize=8)
    axis.set_yticks(ticks, labels=labels, fontsize=8)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    for row in ticks:
        for column in ticks:
            axis.text(column, row, int(matrix[row][column]), ha="center", va="center", fontsize=8)
    figure.suptitle("Test split: confusion matrix")
    return _png(figure)
