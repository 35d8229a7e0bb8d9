"""Small image classifiers: a CNN trained from scratch, and a linear head on a feature extractor.

Both answer logits N×classes for images N×3×H×W and are scriptable with `torch.jit.script`,
so trained weights are stored as TorchScript and run without this code (a plain CNN can also be
stored as a state dict of the named architecture `tiny-cnn`).
"""

import torch
from torch import nn


def _stage(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


class TinyCNN(nn.Module):
    """Four conv stages (`width` channels, doubled per stage), global average pool, linear."""

    def __init__(self, classes: int, in_channels: int = 3, width: int = 16) -> None:
        """A classifier into `classes` classes."""
        super().__init__()
        self.features = nn.Sequential(
            _stage(in_channels, width),
            _stage(width, width * 2),
            _stage(width * 2, width * 4),
            _stage(width * 4, width * 8),
        )
        self.head = nn.Linear(width * 8, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits."""
        return self.head(self.features(x).mean(dim=(2, 3)))


class LinearHead(nn.Module):
    """Standardised features (BatchNorm, learned statistics) into a linear layer."""

    def __init__(self, dimensions: int, classes: int) -> None:
        """A head mapping `dimensions` features to `classes` logits."""
        super().__init__()
        self.norm = nn.BatchNorm1d(dimensions)
        self.linear = nn.Linear(dimensions, classes)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Class logits of N×D features."""
        return self.linear(self.norm(features))


class FeatureClassifier(nn.Module):
    """A linear head on a feature extractor (N×3×H×W → N×D): transfer learning.

    The extractor is usually a TorchScript module of another model record (e.g. the built-in
    EfficientNet-Lite0 features); it is kept frozen unless training says otherwise.
    """

    def __init__(self, backbone: nn.Module, dimensions: int, classes: int) -> None:
        """A head mapping the backbone's `dimensions` features to `classes` logits."""
        super().__init__()
        self.backbone = backbone
        self.head = LinearHead(dimensions, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits."""
        return self.head(self.backbone(x))
