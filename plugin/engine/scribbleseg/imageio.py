"""Bytes -> arrays: the image, masks and strokes, with the cloud API's limits.

Every input goes through the same checks, cheapest first, and each refusal names the input:
1. size of the file in bytes (image <= 10 MB, masks and strokes <= 5 MB; 1 MB = 2**20 bytes)
   -> InvalidFile.Size;
2. format, read from the content, not the name: JPG/JPEG (also MPO, the multi-picture JPEG of
   phone cameras), PNG, BMP, WEBP -> otherwise InvalidImage.Format;
3. resolution from the header, before any pixel is decoded: each side 32..4096
   -> InvalidImage.Resolution (Pillow's own decompression-bomb guard, left at its default, refuses
   absurd headers even earlier and is reported the same way);
4. decoding; truncated or corrupt data -> InvalidFile.Content.

Every file is read the way an image viewer shows it: its own EXIF orientation is applied (masks
exported by an editor carry none, so they are taken as drawn over the upright image); masks and
strokes must then have the upright image's size. Animated files give their first frame. 16-bit
files are scaled to 8 bits; palette, CMYK, grayscale and alpha images are converted to RGB (the
image's own alpha is ignored).

A pixel's painted value is its alpha if the file has an alpha channel and some pixel is
transparent (alpha < 128: a layer exported from an editor, or our own rgb_alpha cut-out),
otherwise its brightness max(R, G, B) (gray: a black-and-white mask). From it:
- a stroke pixel is *set* where the painted value is >= 128 (soft brush fringes do not widen the
  strokes);
- the current mask is soft: the painted value / 255 is the fraction of the pixel selected, so a
  feathered result fed back as the mask means what it showed.
The integrated mask reads each channel's value (R = mask, G = positive strokes, B = negative
strokes) the same way, and clears every channel where a transparent pixel is.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from scribbleseg_editor.errors import ScribbleSegError
from scribbleseg_editor.limits import (
    MARK_THRESHOLD,
    MAX_IMAGE_BYTES,
    MAX_MASK_BYTES,
    MAX_SIDE,
    MEGABYTE,
    check_size,
)

ACCEPTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "BMP", "WEBP"})

# How the accepted formats start, to tell "corrupt PNG" from "not an image at all".
_SIGNATURES = (b"\x89PNG", b"\xff\xd8", b"BM")
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError)


def decode_image(data: bytes, label: str = "image") -> np.ndarray:
    """The image file's bytes -> HxWx3 uint8 RGB, upright, C-contiguous (hashable as a buffer)."""
    rgb, _ = _to_rgb_and_alpha(open_upright(data, label, MAX_IMAGE_BYTES))
    return np.ascontiguousarray(rgb)


def decode_marks(data: bytes, label: str, shape: tuple[int, int]) -> np.ndarray:
    """A stroke file's bytes -> HxW bool, set where painted; `shape` is the image's HxW."""
    return _painted(data, label, shape) >= MARK_THRESHOLD


def decode_mask(data: bytes, shape: tuple[int, int], label: str = "mask") -> np.ndarray:
    """A current-mask file's bytes -> HxW float32 in [0, 1], the fraction of each pixel
    selected; `shape` is the image's HxW."""
    return _painted(data, label, shape).astype(np.float32) / 255.0


def decode_integrated(
    data: bytes, shape: tuple[int, int], label: str = "integrated mask"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An integrated mask's bytes -> (mask HxW float32 fraction, positive, negative HxW bool)."""
    rgb, alpha = _to_rgb_and_alpha(open_upright(data, label, MAX_MASK_BYTES))
    check_same_shape(rgb.shape[:2], shape, label)
    if _carries_transparency(alpha):
        rgb = np.where((alpha >= MARK_THRESHOLD)[:, :, None], rgb, np.uint8(0))
    strokes = rgb[:, :, 1:] >= MARK_THRESHOLD
    return rgb[:, :, 0].astype(np.float32) / 255.0, strokes[:, :, 0], strokes[:, :, 1]


def _painted(data: bytes, label: str, shape: tuple[int, int]) -> np.ndarray:
    """HxW uint8: alpha where the file carries transparency, else max(R, G, B)."""
    rgb, alpha = _to_rgb_and_alpha(open_upright(data, label, MAX_MASK_BYTES))
    check_same_shape(rgb.shape[:2], shape, label)
    if _carries_transparency(alpha):
        return alpha
    return rgb.max(axis=2)


def open_upright(data: bytes, label: str, max_bytes: int) -> Image.Image:
    """Check size, format and resolution, then decode and apply the EXIF orientation."""
    if not data:
        raise ScribbleSegError("InvalidFile.Content", f"The {label} file is empty (0 bytes).")
    if len(data) > max_bytes:
        raise ScribbleSegError(
            "InvalidFile.Size",
            f"The {label} file is {len(data):,} bytes; the limit is {max_bytes // MEGABYTE} MB "
            f"({max_bytes:,} bytes).",
        )
    try:
        picture = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as error:
        raise ScribbleSegError(
            "InvalidImage.Resolution",
            f"The {label} file is far larger than {MAX_SIDE}x{MAX_SIDE} pixels and was refused "
            f"before decoding ({error}).",
        ) from error
    except UnidentifiedImageError as error:
        raise _unreadable(data, label) from error
    except _DECODE_ERRORS as error:
        raise _corrupt(label, error) from error
    if picture.format not in ACCEPTED_FORMATS:
        raise ScribbleSegError(
            "InvalidImage.Format",
            f"The {label} file is a {picture.format} image; use JPG, JPEG, PNG, BMP or WEBP.",
        )
    check_size(*picture.size, label)
    try:
        picture.load()
        ImageOps.exif_transpose(picture, in_place=True)  # in place: no copy when already upright
    except _DECODE_ERRORS as error:
        raise _corrupt(label, error) from error
    return picture


def check_same_shape(shape: tuple[int, ...], image_shape: tuple[int, ...], label: str) -> None:
    """Refuse marks whose HxW differs from the image's with InvalidParameter."""
    if tuple(shape) != tuple(image_shape):
        raise ScribbleSegError(
            "InvalidParameter",
            f"The {label} ({shape[1]}x{shape[0]} pixels) must be the same size as the image "
            f"({image_shape[1]}x{image_shape[0]}).",
        )


def _to_rgb_and_alpha(picture: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Any decoded mode -> (HxWx3 uint8 RGB, HxW uint8 alpha or None when there is none)."""
    if picture.mode.startswith("I"):  # 16-bit gray ("I;16", or "I" from older Pillow)
        gray = _sixteen_to_eight_bits(np.asarray(picture))
        return np.repeat(gray[:, :, None], 3, axis=2), None
    mode = "RGBA" if picture.has_transparency_data else "RGB"
    pixels = np.asarray(picture if picture.mode == mode else picture.convert(mode))
    if mode == "RGBA":
        return pixels[:, :, :3], pixels[:, :, 3]
    return pixels, None


def _sixteen_to_eight_bits(values: np.ndarray) -> np.ndarray:
    """0..65535 -> 0..255, rounding (65535 / 257 = 255)."""
    clipped = np.clip(values, 0, 65535).astype(np.uint32)
    return ((clipped + 128) // 257).astype(np.uint8)


def _carries_transparency(alpha: np.ndarray | None) -> bool:
    return alpha is not None and bool((alpha < MARK_THRESHOLD).any())


def _unreadable(data: bytes, label: str) -> ScribbleSegError:
    looks_accepted = data.startswith(_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")
    if looks_accepted:
        return _corrupt(label, "its header cannot be read")
    return ScribbleSegError(
        "InvalidImage.Format",
        f"The {label} file is not a JPG, JPEG, PNG, BMP or WEBP image (its content is not a "
        f"known image format).",
    )


def _corrupt(label: str, reason: object) -> ScribbleSegError:
    return ScribbleSegError(
        "InvalidFile.Content", f"The {label} file is truncated or corrupt: {reason}."
    )
