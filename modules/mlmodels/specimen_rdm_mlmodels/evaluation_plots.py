"""Evaluation plots of a training run as PNG bytes (matplotlib, no pyplot global state)."""

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def loss_curve_png(history: list[dict]) -> bytes:
    """Training loss and validation IoU per epoch."""
    figure = Figure(figsize=(6, 3.5))
    loss_axis = figure.add_subplot()
    epochs = [entry["epoch"] for entry in history]
    loss_axis.plot(epochs, [entry["loss"] for entry in history], color="tab:red", label="loss")
    loss_axis.set_xlabel("epoch")
    loss_axis.set_ylabel("training loss", color="tab:red")
    iou_axis = loss_axis.twinx()
    iou_axis.plot(epochs, [entry["validation_iou"] for entry in history], color="tab:blue")
    iou_axis.set_ylabel("validation IoU", color="tab:blue")
    iou_axis.set_ylim(0, 1)
    figure.suptitle("Training loss and validation IoU")
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
