"""Checks on the engine's inputs: shapes, types, and that there is something to select."""

from __future__ import annotations

import numpy as np

from scribbleseg_editor.errors import ScribbleSegError

POSTPROCESS_OPTIONS = ("edgerefine", "maskrefine", None)


def check_image(image: np.ndarray) -> np.ndarray:
    """The image as HxWx3 uint8, or InvalidParameter saying what it is instead."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ScribbleSegError(
            "InvalidParameter",
            f"image must be an HxWx3 uint8 RGB array, got shape {image.shape} {image.dtype}",
        )
    return image


def check_marks(name: str, marks: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray | None:
    """An HxW mark array (bool, or nonzero = set) as bool; None stays None."""
    if marks is None:
        return None
    marks = np.asarray(marks)
    if marks.shape != shape:
        raise ScribbleSegError(
            "InvalidParameter",
            f"{name} must have the image's size {shape[0]}x{shape[1]} (HxW), "
            f"got shape {marks.shape}",
        )
    return marks if marks.dtype == bool else marks != 0


def check_something_to_select(positive: np.ndarray | None, mask: np.ndarray | None) -> None:
    """Refuse a request with neither positive strokes nor a current mask."""
    if (positive is None or not positive.any()) and (mask is None or not mask.any()):
        raise ScribbleSegError(
            "InvalidParameter",
            "nothing to select: give positive strokes (positive) or a current mask (mask) "
            "with at least one set pixel",
        )


def check_postprocess(postprocess: str | None) -> None:
    if postprocess not in POSTPROCESS_OPTIONS:
        raise ScribbleSegError(
            "InvalidParameter",
            f"postprocess must be 'edgerefine', 'maskrefine' or None, got {postprocess!r}",
        )
