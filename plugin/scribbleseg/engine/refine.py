"""Full resolution: upscale the working-size labels, refine only a band around the edge."""

from __future__ import annotations

import numpy as np

from scribbleseg.engine import resolution


def full_resolution_alpha(
    image: np.ndarray, labels: np.ndarray, *, postprocess: str | None, feather: bool
) -> np.ndarray:
    coarse = resolution.upscale_alpha(labels.astype(np.uint8) * 255, image.shape[:2])
    return np.where(coarse >= 128, 255, 0).astype(np.uint8)
