"""Decoding images, masks and strokes: formats, limits, bit depths, orientation, pixel rules."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from scribbleseg.imageio import decode_image, decode_integrated, decode_marks
from scribbleseg_editor.errors import ScribbleSegError
from scribbleseg_editor.limits import MAX_IMAGE_BYTES, MAX_MASK_BYTES

ORIENTATION = 0x0112


def encode(picture: Image.Image | np.ndarray, fmt: str = "PNG", **options) -> bytes:
    if isinstance(picture, np.ndarray):
        picture = Image.fromarray(picture)
    buffer = io.BytesIO()
    picture.save(buffer, fmt, **options)
    return buffer.getvalue()


def raw_png(width: int, height: int, bit_depth: int, colour_type: int, rows: bytes) -> bytes:
    """A PNG written by hand, for what Pillow cannot write (48-bit) or would not (lying headers)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        checksum = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + checksum

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def quadrants() -> np.ndarray:
    """64 wide, 40 high, four flat colours: easy to follow through rotations and JPEG."""
    picture = np.zeros((40, 64, 3), np.uint8)
    picture[:20, :32] = (255, 0, 0)
    picture[:20, 32:] = (0, 255, 0)
    picture[20:, :32] = (0, 0, 255)
    picture[20:, 32:] = (255, 255, 0)
    return picture


def looks_like_quadrants(decoded: np.ndarray, tolerance: int) -> bool:
    """Each quadrant's median colour, away from edges where JPEG blurs colour, is right."""
    if decoded.shape != (40, 64, 3):
        return False
    for rows in (slice(4, 16), slice(24, 36)):
        for columns in (slice(4, 28), slice(36, 60)):
            median = np.median(decoded[rows, columns].reshape(-1, 3), axis=0)
            if np.abs(median - quadrants()[rows, columns][0, 0]).max() > tolerance:
                return False
    return True


def refusal(call, *args) -> ScribbleSegError:
    with pytest.raises(ScribbleSegError) as caught:
        call(*args)
    return caught.value


# --- formats -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("fmt", "options", "tolerance"),
    [("PNG", {}, 0), ("BMP", {}, 0), ("WEBP", {"lossless": True}, 0),
     ("JPEG", {"quality": 95}, 8), ("MPO", {"quality": 95}, 8)],
)
def test_accepted_formats_decode_to_rgb(fmt: str, options: dict, tolerance: int) -> None:
    decoded = decode_image(encode(quadrants(), fmt, **options))
    assert decoded.dtype == np.uint8
    assert looks_like_quadrants(decoded, tolerance)


@pytest.mark.parametrize("fmt", ["GIF", "TIFF", "ICO", "PPM"])
def test_other_formats_are_refused_by_name(fmt: str) -> None:
    error = refusal(decode_image, encode(quadrants(), fmt))
    assert error.code == "InvalidImage.Format"
    assert "image" in error.message and fmt in error.message


def test_format_is_read_from_content_for_masks_too() -> None:
    error = refusal(decode_marks, encode(quadrants(), "GIF"), "positive strokes", (40, 64))
    assert error.code == "InvalidImage.Format"
    assert "positive strokes" in error.message and "GIF" in error.message


def test_not_an_image() -> None:
    error = refusal(decode_image, b"<html>this is a web page, not a photo</html>")
    assert error.code == "InvalidImage.Format"
    assert "image" in error.message and "PNG" in error.message


def test_empty_file() -> None:
    error = refusal(decode_image, b"")
    assert error.code == "InvalidFile.Content" and "0 bytes" in error.message


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "BMP"])
def test_truncated_file(fmt: str) -> None:
    noise = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = encode(noise, fmt)
    error = refusal(decode_image, data[: len(data) // 2])
    assert error.code == "InvalidFile.Content"
    assert "image" in error.message and "truncated or corrupt" in error.message


def test_corrupt_png_header() -> None:
    data = bytearray(encode(quadrants()))
    data[16:24] = b"\xff" * 8  # width and height bytes, now failing the IHDR checksum
    error = refusal(decode_image, bytes(data))
    assert error.code == "InvalidFile.Content"


# --- limits ------------------------------------------------------------------------------

def test_image_over_10_mb_is_refused_before_decoding() -> None:
    error = refusal(decode_image, b"\x89PNG" + bytes(MAX_IMAGE_BYTES - 3))
    assert error.code == "InvalidFile.Size"
    assert "image" in error.message and "10 MB" in error.message
    assert f"{MAX_IMAGE_BYTES + 1:,}" in error.message


def test_image_just_under_10_mb_is_accepted() -> None:
    noise = np.random.default_rng(2).integers(0, 256, (1800, 1900, 3), dtype=np.uint8)
    data = encode(noise, compress_level=0)
    assert 9_000_000 < len(data) <= MAX_IMAGE_BYTES
    assert decode_image(data).shape == (1800, 1900, 3)


def test_mask_over_5_mb_is_refused() -> None:
    error = refusal(decode_marks, bytes(MAX_MASK_BYTES + 1), "mask", (40, 64))
    assert error.code == "InvalidFile.Size"
    assert "mask" in error.message and "5 MB" in error.message


@pytest.mark.parametrize(("width", "height"), [(31, 100), (100, 31), (4097, 32), (32, 4097)])
def test_resolution_outside_32_to_4096(width: int, height: int) -> None:
    error = refusal(decode_image, encode(np.zeros((height, width), np.uint8)))
    assert error.code == "InvalidImage.Resolution"
    assert f"{width}x{height}" in error.message and "4096" in error.message


@pytest.mark.parametrize(("width", "height"), [(32, 32), (4096, 32), (32, 4096)])
def test_resolution_limits_are_inclusive(width: int, height: int) -> None:
    decoded = decode_image(encode(np.zeros((height, width), np.uint8)))
    assert decoded.shape == (height, width, 3)


@pytest.mark.parametrize("side", [5000, 100_000])
def test_decompression_bomb_is_refused_from_the_header(side: int) -> None:
    # A tiny file whose header claims a huge image; its pixel data is not even valid, so
    # getting Resolution (not Content) shows no pixel was decoded.
    data = raw_png(side, side, 8, 2, b"\x00" * 16)
    assert len(data) < 100
    error = refusal(decode_image, data)
    assert error.code == "InvalidImage.Resolution"
    assert "image" in error.message and "4096" in error.message


# --- bit depths and modes ---------------------------------------------------------------

def test_16_bit_gray_png_is_scaled_not_clipped() -> None:
    levels = (np.arange(32 * 32, dtype=np.uint32) * 64 % 65536).astype(np.uint16).reshape(32, 32)
    decoded = decode_image(encode(Image.fromarray(levels)))
    expected = np.round(levels / 257).astype(np.uint8)
    assert np.abs(decoded[:, :, 0].astype(int) - expected).max() <= 1
    assert (decoded[:, :, 0] == decoded[:, :, 2]).all()


def test_48_bit_png_keeps_colours() -> None:
    upright = quadrants().astype(np.uint16) * 256 + 200  # high byte = the 8-bit colour
    rows = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in upright)
    decoded = decode_image(raw_png(64, 40, 16, 2, rows))
    assert np.abs(decoded.astype(int) - quadrants()).max() <= 1


def test_palette_image() -> None:
    palette = Image.fromarray(quadrants()).quantize(colors=4)
    assert palette.mode == "P"
    assert (decode_image(encode(palette)) == quadrants()).all()


def test_cmyk_jpeg_converts_to_the_right_colours() -> None:
    cmyk = Image.fromarray(quadrants()).convert("CMYK")
    assert looks_like_quadrants(decode_image(encode(cmyk, "JPEG", quality=95)), 8)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP"])
def test_grayscale_becomes_three_equal_channels(fmt: str) -> None:
    gray = np.tile(np.arange(0, 256, 4, dtype=np.uint8), (40, 1))
    decoded = decode_image(encode(gray, fmt))
    assert decoded.shape == (40, 64, 3)
    assert (decoded[:, :, 0] == decoded[:, :, 1]).all()
    assert np.abs(decoded[:, :, 0].astype(int) - gray).max() <= 3


def test_one_bit_bmp() -> None:
    bits = Image.fromarray(quadrants()[:, :, 0]).convert("1")
    assert set(np.unique(decode_image(encode(bits, "BMP")))) == {0, 255}


def test_image_alpha_is_dropped_keeping_colours() -> None:
    rgba = np.dstack([quadrants(), np.full((40, 64), 10, np.uint8)])
    decoded = decode_image(encode(rgba))
    assert (decoded == quadrants()).all() and decoded.flags.c_contiguous
    gray_alpha = Image.fromarray(quadrants()[:, :, 0]).convert("LA")
    assert (decode_image(encode(gray_alpha))[:, :, 1] == quadrants()[:, :, 0]).all()


@pytest.mark.parametrize(("fmt", "options"), [("PNG", {}), ("WEBP", {"lossless": True})])
def test_animated_file_gives_its_first_frame(fmt: str, options: dict) -> None:
    first = Image.fromarray(quadrants())
    second = Image.fromarray(255 - quadrants())
    data = encode(first, fmt, save_all=True, append_images=[second], **options)
    assert Image.open(io.BytesIO(data)).n_frames == 2
    assert (decode_image(data) == quadrants()).all()


# --- EXIF orientation ---------------------------------------------------------------------

def jpeg_stored_rotated(upright: np.ndarray) -> bytes:
    """A JPEG stored sideways whose EXIF orientation 6 says: turn 90 degrees clockwise to show."""
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    stored = Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90)
    return encode(stored, "JPEG", quality=95, exif=exif)


def test_exif_rotated_jpeg_is_decoded_upright() -> None:
    assert looks_like_quadrants(decode_image(jpeg_stored_rotated(quadrants())), 8)


def test_marks_rotate_with_their_own_exif() -> None:
    upright = np.zeros((40, 64, 3), np.uint8)
    upright[:20, :32] = 255  # the stroke covers the upper-left quadrant
    marks = decode_marks(jpeg_stored_rotated(upright), "mask", (40, 64))
    assert marks[:20, :32].all() and not marks[20:].any() and not marks[:, 32:].any()


def test_marks_drawn_over_the_stored_sideways_pixels_are_refused() -> None:
    image_shape = decode_image(jpeg_stored_rotated(quadrants())).shape[:2]
    sideways = encode(np.zeros((64, 40), np.uint8))
    error = refusal(decode_marks, sideways, "mask", image_shape)
    assert error.code == "InvalidParameter"
    assert "40x64" in error.message and "64x40" in error.message and "mask" in error.message


# --- which pixels count as set ---------------------------------------------------------------

def stroke_layer(colour: tuple[int, int, int]) -> np.ndarray:
    """A transparent 64x40 layer with one opaque horizontal line in `colour` (rows 10..12)."""
    layer = np.zeros((40, 64, 4), np.uint8)
    layer[10:13, 5:60] = (*colour, 255)
    return layer


@pytest.mark.parametrize("colour", [(0, 0, 0), (255, 255, 255), (200, 0, 0), (20, 20, 20)])
def test_transparent_layer_counts_opaque_pixels_whatever_their_colour(colour) -> None:
    marks = decode_marks(encode(stroke_layer(colour)), "positive strokes", (40, 64))
    expected = np.zeros((40, 64), bool)
    expected[10:13, 5:60] = True
    assert (marks == expected).all()


def test_half_transparent_pixels_count_from_alpha_128() -> None:
    layer = np.zeros((40, 64, 4), np.uint8)
    layer[:, :, 3] = np.tile(np.arange(64, dtype=np.uint8) * 4, (40, 1))  # 0..252 along x
    marks = decode_marks(encode(layer), "negative strokes", (40, 64))
    assert (marks[0] == (np.arange(64) * 4 >= 128)).all()


def test_empty_transparent_layer_sets_nothing() -> None:
    empty = np.zeros((40, 64, 4), np.uint8)
    empty[:, :, :3] = 255  # white but fully transparent: nothing painted
    assert not decode_marks(encode(empty), "positive strokes", (40, 64)).any()


@pytest.mark.parametrize("with_opaque_alpha", [False, True])
def test_opaque_mask_counts_bright_pixels(with_opaque_alpha: bool) -> None:
    mask = np.zeros((40, 64, 3), np.uint8)
    mask[:, 32:] = 255
    mask[5, 5] = (200, 0, 0)  # a red dot counts: bright is max(R, G, B) >= 128
    mask[6, 6] = (127, 127, 127)  # dark gray does not
    if with_opaque_alpha:
        mask = np.dstack([mask, np.full((40, 64), 255, np.uint8)])
    marks = decode_marks(encode(mask), "mask", (40, 64))
    assert marks[:, 32:].all() and marks[5, 5] and not marks[6, 6]
    assert marks[:, :32].sum() == 1


def test_jpeg_mask_with_compression_noise() -> None:
    mask = np.zeros((40, 64), np.uint8)
    mask[:, 32:] = 255
    marks = decode_marks(encode(mask, "JPEG", quality=60), "mask", (40, 64))
    assert marks[:, 34:].all() and not marks[:, :30].any()


def test_16_bit_mask() -> None:
    mask = np.zeros((40, 64), np.uint16)
    mask[:, 32:] = 65535
    mask[:, 20] = 30000  # below half of 65535: not set
    marks = decode_marks(encode(Image.fromarray(mask)), "mask", (40, 64))
    assert marks[:, 32:].all() and not marks[:, :32].any()


def test_palette_stroke_layer_with_transparency() -> None:
    palette = Image.fromarray(stroke_layer((0, 200, 0))).quantize(colors=2)
    assert palette.mode in ("P", "PA") or "transparency" in palette.info
    marks = decode_marks(encode(palette), "positive strokes", (40, 64))
    assert marks[10:13, 5:60].all() and marks.sum() == 3 * 55


def test_marks_must_match_the_image_size() -> None:
    error = refusal(decode_marks, encode(np.zeros((40, 65), np.uint8)), "negative strokes",
                    (40, 64))
    assert error.code == "InvalidParameter"
    assert "negative strokes" in error.message and "65x40" in error.message
    assert "64x40" in error.message


def test_integrated_mask_splits_channels() -> None:
    integrated = np.zeros((40, 64, 3), np.uint8)
    integrated[:, :32, 0] = 255
    integrated[10, :, 1] = 255
    integrated[30, :, 2] = 200
    mask, positive, negative = decode_integrated(encode(integrated), (40, 64))
    assert (mask[:, :32] == 1).all() and not mask[:, 32:].any()
    assert positive[10].all() and positive.sum() == 64
    assert negative[30].all() and negative.sum() == 64


def test_integrated_mask_transparent_pixels_set_nothing() -> None:
    integrated = np.full((40, 64, 4), 255, np.uint8)
    integrated[:, 32:, 3] = 0
    channels = decode_integrated(encode(integrated), (40, 64))
    for channel in channels:
        assert (channel[:, :32] == 1).all() and not channel[:, 32:].any()


def test_integrated_mask_errors_name_it() -> None:
    error = refusal(decode_integrated, encode(np.zeros((41, 64, 3), np.uint8)), (40, 64))
    assert error.code == "InvalidParameter" and "integrated mask" in error.message
