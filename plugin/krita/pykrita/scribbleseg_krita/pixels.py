"""Krita's raw pixel formats <-> the engine's byte planes (standard library only).

`Node.pixelData` returns a document's native pixels: RGBA U8 and U16 are B, G, R, A (U16 little
endian), RGBA F16 and F32 are R, G, B, A, GRAYA is gray, alpha. Krita's Python has no numpy, so
every conversion here is slicing, `bytes.translate` or a `map` over a 65536-entry lookup table:
a 4096x4096 layer converts in seconds, not minutes.
"""

from __future__ import annotations

import operator
import struct
from array import array
from dataclasses import dataclass
from functools import cache

from .scribbleseg_editor import planes
from .scribbleseg_editor.errors import ScribbleSegError

SAMPLE_SIZES = {"U8": 1, "U16": 2, "F16": 2, "F32": 4}  # bytes per channel of each colorDepth


@dataclass(frozen=True)
class PixelFormat:
    depth: str                          # "U8", "U16", "F16" or "F32"
    colour_offsets: tuple[int, ...]     # byte offsets of R, G, B (or of gray alone)
    alpha_offset: int
    pixel_size: int                     # bytes per pixel

    @property
    def sample_size(self) -> int:
        return SAMPLE_SIZES[self.depth]


def pixel_format(colour_model: str, colour_depth: str) -> PixelFormat:
    """The byte layout of one pixel for Krita's colorModel() and colorDepth() names."""
    if colour_depth not in SAMPLE_SIZES or colour_model not in ("RGBA", "GRAYA"):
        raise ScribbleSegError(
            "UnsupportedDocument", f"ScribbleSeg reads RGB and grayscale documents; this one "
            f"is {colour_model} {colour_depth}. Convert it with Image > Convert Image Color "
            "Space.")
    size = SAMPLE_SIZES[colour_depth]
    if colour_model == "GRAYA":
        return PixelFormat(colour_depth, (0,), size, 2 * size)
    # Integer RGBA is stored B, G, R, A; float RGBA is R, G, B, A.
    order = (2, 1, 0) if colour_depth in ("U8", "U16") else (0, 1, 2)
    return PixelFormat(colour_depth, tuple(i * size for i in order), 3 * size, 4 * size)


def is_linear_profile(profile_name: str) -> bool:
    """Whether a colour profile stores linear light (Krita's float default "...-g10.icc")."""
    name = profile_name.lower()
    return "g10" in name or "linear" in name


def rgb_plane(data: bytes, fmt: PixelFormat, linear: bool = False) -> bytes:
    """W*H*3 bytes RGB, 8 bits a channel. `linear`: float pixels are linear light (sRGB-encode)."""
    channels = [_sample_u8(data, fmt, offset, linear) for offset in fmt.colour_offsets]
    return planes.interleave(channels * 3 if len(channels) == 1 else channels)


def alpha_plane(data: bytes, fmt: PixelFormat) -> bytes:
    """W*H bytes: each pixel's alpha scaled to 0..255."""
    return _sample_u8(data, fmt, fmt.alpha_offset, linear=False)


def with_alpha(data: bytes, fmt: PixelFormat, alpha: bytes) -> bytes:
    """The pixels with each alpha multiplied by alpha/255 (a cut-out); colours untouched."""
    samples = _gather(data, fmt, fmt.alpha_offset)
    if fmt.depth == "U8":
        product = bytes(map(_product_u8().__getitem__, _pairs(alpha, samples)))
    elif fmt.depth == "U16":
        high = samples[1::2]
        product = array("H", map(_product_u16().__getitem__, _pairs(alpha, high))).tobytes()
    else:
        product = _scaled_floats(samples, fmt.depth, alpha)
    result = bytearray(data)
    for index in range(fmt.sample_size):
        result[fmt.alpha_offset + index::fmt.pixel_size] = product[index::fmt.sample_size]
    return bytes(result)


def _gather(data: bytes, fmt: PixelFormat, offset: int) -> bytes:
    """One channel's samples, contiguous (sample_size bytes each)."""
    return planes.interleave([planes.channel(data, fmt.pixel_size, offset + index)
                              for index in range(fmt.sample_size)])


def _pairs(low: bytes, high: bytes) -> array:
    """Two byte planes as one 16-bit index a pixel: high * 256 + low."""
    return array("H", planes.interleave([low, high]))


def _sample_u8(data: bytes, fmt: PixelFormat, offset: int, linear: bool) -> bytes:
    if fmt.depth == "U8":
        return data[offset::fmt.pixel_size]
    if fmt.depth == "U16":  # the high byte: at most one level below rounding, and C-speed
        return data[offset + 1::fmt.pixel_size]
    if fmt.depth == "F16":
        codes = array("H", _gather(data, fmt, offset))
    else:  # F32: its upper 16 bits (a bfloat16) keep 8 bits of precision, enough for 8-bit output
        codes = array("H", _gather(data, fmt, offset))[1::2]
    table = _float_to_u8(fmt.depth, linear)
    return bytes(map(table.__getitem__, codes))


def _scaled_floats(samples: bytes, depth: str, alpha: bytes) -> bytes:
    code = "e" if depth == "F16" else "f"
    size = struct.calcsize(code)
    scale = [value / 255 for value in range(256)]
    chunk = 1 << 20
    parts = []
    for start in range(0, len(alpha), chunk):
        piece = samples[start * size:(start + chunk) * size]
        count = len(piece) // size
        values = struct.unpack(f"<{count}{code}", piece)
        factors = map(scale.__getitem__, alpha[start:start + count])
        parts.append(struct.pack(f"<{count}{code}", *map(operator.mul, values, factors)))
    return b"".join(parts)


@cache
def _product_u8() -> bytes:
    """Index a * 256 + m -> round(a * m / 255)."""
    return bytes((a * m + 127) // 255 for a in range(256) for m in range(256))


@cache
def _product_u16() -> array:
    """Index a_high * 256 + m -> the 16-bit alpha a_high * 257 scaled by m / 255."""
    return array("H", ((a * 257 * m + 127) // 255 for a in range(256) for m in range(256)))


@cache
def _float_to_u8(depth: str, linear: bool) -> bytes:
    """Index: a half float's bits (F16) or a float's upper 16 bits (F32) -> 8-bit value."""
    def decode(code: int) -> float:
        if depth == "F16":
            return struct.unpack("<e", code.to_bytes(2, "little"))[0]
        return struct.unpack("<f", (code << 16).to_bytes(4, "little"))[0]

    return bytes(_to_u8(decode(code), linear) for code in range(65536))


def _to_u8(value: float, linear: bool) -> int:
    if not value > 0.0:  # negative, zero and NaN
        return 0
    value = min(value, 1.0)
    if linear:
        value = value * 12.92 if value <= 0.0031308 else 1.055 * value ** (1 / 2.4) - 0.055
    return round(value * 255)
