"""The decoder: encoder features + stroke channels -> object logits on the GRID x GRID grid.

A small top-down network: the strokes enter at every scale (cover fraction and presence), so
the coarse stages can tell which object the user means and the fine stage where its edge is.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional

from scribbleseg.engine.scribble_model import FEATURE_CHANNELS, STROKE_CHANNELS

POOLED = STROKE_CHANNELS + 2  # average of every channel, maximum of the two stroke channels
WIDTHS = (64, 64, 48, 16)  # channels at 1/32, 1/16, 1/8 and the grid (1/4)


def conv(inputs: int, outputs: int, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(inputs, outputs, 3, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(outputs),
        nn.ReLU(inplace=True),
    )


def pooled_strokes(strokes: torch.Tensor, factor: int) -> torch.Tensor:
    """The stroke channels reduced by `factor`: averages, and maxima of the two stroke maps."""
    if factor == 1:
        return torch.cat([strokes, strokes[:, :2]], 1)
    return torch.cat(
        [functional.avg_pool2d(strokes, factor), functional.max_pool2d(strokes[:, :2], factor)], 1
    )


def upsample(x: torch.Tensor) -> torch.Tensor:
    return functional.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


class Decoder(nn.Module):
    """(f8, f16, f32, strokes) -> 1 x GRID x GRID logits."""

    def __init__(self) -> None:
        super().__init__()
        c8, c16, c32 = FEATURE_CHANNELS
        w32, w16, w8, w4 = WIDTHS
        self.stage32 = nn.Sequential(conv(c32 + POOLED, w32), conv(w32, w32))
        self.stage16 = nn.Sequential(
            conv(c16 + w32 + POOLED, w16), conv(w16, w16, 2), conv(w16, w16, 4)
        )
        self.stage8 = nn.Sequential(conv(c8 + w16 + POOLED, w8), conv(w8, w8))
        self.stage4 = nn.Sequential(conv(w8 + POOLED, w4), conv(w4, w4))
        self.head = nn.Conv2d(w4, 1, 1)

    def forward(
        self, f8: torch.Tensor, f16: torch.Tensor, f32: torch.Tensor, strokes: torch.Tensor
    ) -> torch.Tensor:
        x = self.stage32(torch.cat([f32, pooled_strokes(strokes, 8)], 1))
        x = self.stage16(torch.cat([f16, upsample(x), pooled_strokes(strokes, 4)], 1))
        x = self.stage8(torch.cat([f8, upsample(x), pooled_strokes(strokes, 2)], 1))
        x = self.stage4(torch.cat([upsample(x), pooled_strokes(strokes, 1)], 1))
        return self.head(x)
