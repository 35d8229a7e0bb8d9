"""A small U-Net for binary or semantic segmentation of sheet images.

Three levels (input size divisible by 8), BatchNorm, bilinear upsampling; `width` channels at
the first level, doubled per level. Scriptable with `torch.jit.script`, so trained weights are
stored as TorchScript and run without this code.
"""

import torch
from torch import nn


def _block(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class TinyUNet(nn.Module):
    """Logits N×classes×H×W for images N×in_channels×H×W."""

    def __init__(self, in_channels: int = 3, classes: int = 1, width: int = 16) -> None:
        """A network with `width` channels at full resolution."""
        super().__init__()
        self.down1 = _block(in_channels, width)
        self.down2 = _block(width, width * 2)
        self.down3 = _block(width * 2, width * 4)
        self.bottom = _block(width * 4, width * 8)
        self.up3 = _block(width * 8 + width * 4, width * 4)
        self.up2 = _block(width * 4 + width * 2, width * 2)
        self.up1 = _block(width * 2 + width, width)
        self.head = nn.Conv2d(width, classes, 1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Segmentation logits at the input's resolution."""
        d1 = self.down1(x)
        d2 = self.down2(self.pool(d1))
        d3 = self.down3(self.pool(d2))
        b = self.bottom(self.pool(d3))
        u3 = self.up3(torch.cat([_up(b, d3), d3], dim=1))
        u2 = self.up2(torch.cat([_up(u3, d2), d2], dim=1))
        u1 = self.up1(torch.cat([_up(u2, d1), d1], dim=1))
        return self.head(u1)


def _up(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return nn.functional.interpolate(
        x, size=[like.shape[2], like.shape[3]], mode="bilinear", align_corners=False
    )
