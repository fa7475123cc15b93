"""Layer pixels as the engine host's byte planes, with bytes operations only (no numpy).

Editors hand over interleaved pixels (e.g. RGBA, 1 byte a channel); slicing picks a channel
(`data[offset::pixel_size]`, a C-speed copy) and `bytes.translate` maps values through a table.
"""

from __future__ import annotations

from collections.abc import Sequence

from .limits import MARK_THRESHOLD

_STROKE_TABLE = bytes(0 if value < MARK_THRESHOLD else 255 for value in range(256))


def channel(pixels: bytes, pixel_size: int, offset: int) -> bytes:
    """One byte a pixel: the byte at `offset` of each `pixel_size`-byte pixel."""
    return pixels[offset::pixel_size]


def stroke_plane(alpha: bytes) -> bytes:
    """255 where a scribble layer's alpha is painted (at least MARK_THRESHOLD), else 0."""
    return alpha.translate(_STROKE_TABLE)


def interleave(planes: Sequence[bytes]) -> bytes:
    """Planes of equal length -> one pixel of len(planes) bytes each (e.g. R, G, B -> RGB)."""
    count = len(planes)
    pixels = bytearray(len(planes[0]) * count)
    for index, plane in enumerate(planes):
        pixels[index::count] = plane
    return bytes(pixels)


def has_marks(plane: bytes) -> bool:
    """Whether a stroke or mask plane marks a pixel: a byte of at least MARK_THRESHOLD (the
    engine's 0.5 fraction, options.SELECTED_FRACTION)."""
    return plane.translate(_STROKE_TABLE).count(0) != len(plane)


def is_uniform(plane: bytes) -> bool:
    """Whether every pixel of a plane has the same value (it marks nothing out)."""
    return not plane or plane.count(plane[0]) == len(plane)


def place(plane: bytes, width: int, height: int, canvas_width: int, canvas_height: int,
          x: int, y: int) -> bytes:
    """A canvas-sized plane holding `plane` (width x height) at offset (x, y), clipped to the
    canvas, 0 elsewhere: e.g. a layer's mask as an image-wide selection."""
    canvas = bytearray(canvas_width * canvas_height)
    left, right = max(x, 0), min(x + width, canvas_width)
    if left >= right:
        return bytes(canvas)
    source = memoryview(plane)
    for row in range(max(y, 0), min(y + height, canvas_height)):
        start = (row - y) * width + left - x
        canvas[row * canvas_width + left:row * canvas_width + right] = \
            source[start:start + right - left]
    return bytes(canvas)
