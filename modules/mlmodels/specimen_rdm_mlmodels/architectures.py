"""Named architectures, so that a model record can hold a PyTorch state dict instead of a
TorchScript archive (`ml:weight_format: state-dict` + `ml:architecture`).

A state dict is only tensors: it is loaded with `torch.load(weights_only=True)` (no pickled code
runs) and poured into a network built here. The network's sizes (width, number of classes) are
read from the tensors' shapes, so the record does not have to repeat them.
"""

import io
from collections.abc import Callable

import torch
from torch import nn

from .classification_net import TinyCNN
from .segmentation_net import TinyUNet
from .torchvision_detectors import DETECTORS


class ArchitectureError(Exception):
    """The architecture is unknown, or the state dict does not fit it."""


def _shape(state: dict, key: str, architecture: str) -> torch.Size:
    tensor = state.get(key)
    if not isinstance(tensor, torch.Tensor):
        raise ArchitectureError(f"state dict has no tensor '{key}', so it is not a {architecture}")
    return tensor.shape


def _tiny_unet(state: dict) -> nn.Module:
    width, channels = _shape(state, "down1.0.weight", "tiny-unet")[:2]
    classes = _shape(state, "head.weight", "tiny-unet")[0]
    return TinyUNet(in_channels=channels, classes=classes, width=width)


def _tiny_cnn(state: dict) -> nn.Module:
    width, channels = _shape(state, "features.0.0.weight", "tiny-cnn")[:2]
    classes = _shape(state, "head.weight", "tiny-cnn")[0]
    return TinyCNN(classes=classes, in_channels=channels, width=width)


ARCHITECTURES: dict[str, tuple[str, Callable[[dict], nn.Module]]] = {
    "tiny-unet": ("semantic-segmentation", _tiny_unet),
    "tiny-cnn": ("image-classification", _tiny_cnn),
    **DETECTORS,
}
"""Architecture name → (the task it serves, builder from a state dict); torchvision's
detectors (`torchvision_detectors.py`) among them."""


def task_of(architecture: str | None) -> str | None:
    """The task a named architecture serves (None when unknown)."""
    entry = ARCHITECTURES.get(architecture or "")
    return entry[0] if entry else None


def fit_state_dict(module: nn.Module, state: dict) -> None:
    """Load `state` into `module`, strictly except for BatchNorm's `num_batches_tracked`.

    torchvision trains on pretrained backbones with frozen batch norms, which have no such
    counter; built here without pretrained weights, the same network has ordinary batch norms
    that do. The counter plays no part in evaluation. Any other missing or unexpected key, or a
    tensor of the wrong shape, is a RuntimeError.
    """
    missing, unexpected = module.load_state_dict(state, strict=False)
    missing = [key for key in missing if not key.endswith("num_batches_tracked")]
    if missing or unexpected:
        problems = []
        if missing:
            problems.append(f"missing {', '.join(missing[:3])}")
        if unexpected:
            problems.append(f"unexpected {', '.join(unexpected[:3])}")
        raise RuntimeError("; ".join(problems))


def load_state_dict(data: bytes, architecture: str | None) -> nn.Module:
    """The network `architecture` with the weights of the state dict in `data`, in eval mode."""
    if architecture not in ARCHITECTURES:
        known = ", ".join(sorted(ARCHITECTURES))
        raise ArchitectureError(f"architecture '{architecture}' is not one of {known}")
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as error:  # zip, pickle and torch errors
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ArchitectureError(f"not a PyTorch state dict ({reason})") from None
    if not isinstance(state, dict):
        raise ArchitectureError(f"not a PyTorch state dict (a {type(state).__name__})")
    try:
        module = ARCHITECTURES[architecture][1](state)
    except KeyError as error:
        raise ArchitectureError(
            f"state dict has no tensor {error}, so it is not a {architecture}"
        ) from None
    try:
        fit_state_dict(module, state)
    except RuntimeError as error:
        first = str(error).splitlines()[0]
        raise ArchitectureError(f"state dict does not fit {architecture}: {first}") from None
    return module.eval()


def state_dict_bytes(module: nn.Module) -> bytes:
    """The module's state dict as `torch.save` writes it (what a state-dict record holds)."""
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    return buffer.getvalue()
