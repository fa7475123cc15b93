"""The working resolution: the solve runs on at most ~0.3 MP, results go back to full size."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

WORKING_PIXELS = 640 * 480


def working_shape(shape: tuple[int, int], max_pixels: int = WORKING_PIXELS) -> tuple[int, int]:
    """(height, width) to solve at: the native size when it is small enough."""
    height, width = shape
    if height * width <= max_pixels:
        return height, width
    scale = math.sqrt(max_pixels / (height * width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def downscale_image(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """HxWx3 uint8 -> working-size HxWx3 uint8, area-averaged."""
    if image.shape[:2] == shape:
        return image
    return np.asarray(Image.fromarray(image).resize((shape[1], shape[0]), Image.Resampling.BOX))


def downscale_marks(marks: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """HxW bool -> working-size bool, set where any pixel of its footprint is set
    (a thin stroke survives the reduction)."""
    if marks.shape == shape:
        return marks
    as_gray = Image.fromarray(marks.astype(np.uint8) * 255)
    return np.asarray(as_gray.resize((shape[1], shape[0]), Image.Resampling.BOX)) > 0


def downscale_fraction(fraction: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """HxW float32 fraction in [0, 1] -> working-size float32: the mean of each footprint."""
    if fraction.shape == shape:
        return fraction.astype(np.float32, copy=False)
    as_float = Image.fromarray(fraction.astype(np.float32, copy=False))
    return np.asarray(as_float.resize((shape[1], shape[0]), Image.Resampling.BOX), np.float32)


def upscale_alpha(alpha: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Working-size uint8 alpha -> full-size uint8 alpha, bilinear (a ramp across the edge)."""
    if alpha.shape == shape:
        return alpha.copy()
    resized = Image.fromarray(alpha).resize((shape[1], shape[0]), Image.Resampling.BILINEAR)
    return np.array(resized)
