"""The engine's size limits, checked in the editor before any pixel is read or sent.

Same values as scribbleseg.imageio (and the cloud API): the editors cannot import the engine,
and a host that refuses a large body early may close the socket before its answer is read.
"""

from __future__ import annotations

from .host import HostError

MIN_SIDE = 32
MAX_SIDE = 4096


def check_size(width: int, height: int) -> None:
    """Raise HostError("InvalidImage.Resolution") for a layer the engine cannot take."""
    if MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE:
        return
    advice = ("Scale the image down (or crop it)" if max(width, height) > MAX_SIDE
              else "Use a larger layer")
    raise HostError("InvalidImage.Resolution",
                    f"The layer is {width}x{height} pixels; ScribbleSeg works on {MIN_SIDE} to "
                    f"{MAX_SIDE} pixels a side. {advice}, then run again.")
