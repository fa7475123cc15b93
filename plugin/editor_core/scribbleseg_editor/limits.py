"""The input limits of the engine and the cloud API, in one place (standard library only).

The engine validates every request against these; the editors check the size before they read
or send a pixel, so a refused run costs nothing and no half-sent body meets a closed socket.
"""

from __future__ import annotations

from .errors import ScribbleSegError

MIN_SIDE = 32
MAX_SIDE = 4096
MEGABYTE = 1024 * 1024
MAX_IMAGE_BYTES = 10 * MEGABYTE
MAX_MASK_BYTES = 5 * MEGABYTE  # each mask, stroke or integrated-mask file
# A stroke pixel is set where it is at least half painted (alpha, or brightness for a
# black-and-white file): soft brush fringes do not widen the strokes.
MARK_THRESHOLD = 128


def check_size(width: int, height: int, label: str = "image") -> None:
    """Refuse a side outside MIN_SIDE..MAX_SIDE with InvalidImage.Resolution."""
    if MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE:
        return
    raise ScribbleSegError(
        "InvalidImage.Resolution",
        f"The {label} is {width}x{height} pixels; ScribbleSeg works on {MIN_SIDE} to "
        f"{MAX_SIDE} pixels a side.",
    )
