"""The contrast-sensitive smoothness term: cutting between similar colours costs much.

Edges join each pixel to its 8 neighbours; a weight is `strength / distance * exp(-beta *
colour difference^2)`, with beta set from the image's mean squared difference so that the
term adapts to its contrast (Boykov & Jolly 2001, Rother et al. 2004).
"""

from __future__ import annotations

import numpy as np

# The four "forward" neighbours; the other four are the same edges seen from the other side.
NEIGHBOUR_OFFSETS: tuple[tuple[int, int], ...] = ((0, 1), (1, 0), (1, 1), (1, -1))
STRENGTH = 50.0

EdgeWeights = list[tuple[tuple[int, int], np.ndarray]]


def contrast_edge_weights(image: np.ndarray, strength: float = STRENGTH) -> EdgeWeights:
    """HxWx3 float image -> [(offset, HxW weights)], weight of the edge from p to p + offset."""
    height, width = image.shape[:2]
    squared = []
    for dy, dx in NEIGHBOUR_OFFSETS:
        target = _shifted_region(height, width, dy, dx)
        source = _shifted_region(height, width, -dy, -dx)
        difference = image[target] - image[source]
        squared.append(np.einsum("ijk,ijk->ij", difference, difference))
    mean_squared = np.mean(np.concatenate([s.ravel() for s in squared]))
    beta = 1.0 / (2.0 * mean_squared) if mean_squared > 0 else 0.0
    edges = []
    for (dy, dx), diff2 in zip(NEIGHBOUR_OFFSETS, squared, strict=True):
        weights = np.zeros((height, width), np.float32)
        distance = np.hypot(dy, dx)
        weights[_shifted_region(height, width, -dy, -dx)] = (
            strength / distance * np.exp(-beta * diff2)
        )
        edges.append(((dy, dx), weights))
    return edges


def _shifted_region(height: int, width: int, dy: int, dx: int) -> tuple[slice, slice]:
    """The region of pixels p whose p - (dy, dx) is inside the image."""
    rows = slice(dy, height) if dy >= 0 else slice(0, height + dy)
    cols = slice(dx, width) if dx >= 0 else slice(0, width + dx)
    return rows, cols
