"""The edge band at full resolution: the tiles a working-size edge passes through.

Refinement runs tile by tile on these only, so its cost grows with the length of the edge,
not with the area of the image.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

TILE = 128


@dataclass(frozen=True)
class Tile:
    inner: tuple[slice, slice]  # the pixels this tile writes
    outer: tuple[slice, slice]  # inner plus the margin its filters read
    offset: tuple[slice, slice]  # where inner lies inside outer


def edge_tiles(
    labels: np.ndarray, shape: tuple[int, int], reach: int, margin: int, tile: int = TILE
) -> Iterator[Tile]:
    """Tiles of a full-size image (shape) within `reach` pixels of the edge of the working-size
    `labels`, each with `margin` pixels of context."""
    height, width = shape
    scale_y, scale_x = height / labels.shape[0], width / labels.shape[1]
    cross = np.ones((3, 3), bool)
    edge = ndimage.binary_dilation(labels, cross) & ~ndimage.binary_erosion(
        labels, cross, border_value=1
    )
    rows, cols = np.nonzero(edge)
    grid = np.zeros((-(-height // tile), -(-width // tile)), bool)
    spread_y, spread_x = scale_y / 2 + reach, scale_x / 2 + reach
    for sign_y in (-1, 1):
        for sign_x in (-1, 1):
            y = np.clip((rows + 0.5) * scale_y + sign_y * spread_y, 0, height - 1)
            x = np.clip((cols + 0.5) * scale_x + sign_x * spread_x, 0, width - 1)
            grid[(y // tile).astype(int), (x // tile).astype(int)] = True
    for ty, tx in zip(*np.nonzero(grid), strict=True):
        inner_y = slice(ty * tile, min(height, (ty + 1) * tile))
        inner_x = slice(tx * tile, min(width, (tx + 1) * tile))
        outer_y = slice(max(0, inner_y.start - margin), min(height, inner_y.stop + margin))
        outer_x = slice(max(0, inner_x.start - margin), min(width, inner_x.stop + margin))
        yield Tile(
            inner=(inner_y, inner_x),
            outer=(outer_y, outer_x),
            offset=(
                slice(inner_y.start - outer_y.start, inner_y.stop - outer_y.start),
                slice(inner_x.start - outer_x.start, inner_x.stop - outer_x.start),
            ),
        )
