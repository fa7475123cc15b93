"""Krita's raw pixel formats read and written right (checked against numpy, outside Krita)."""

import importlib
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "plugin" / "krita" / "pykrita" / "scribbleseg_krita"
# The package without its __init__ (which registers the Krita extension and needs Krita).
_package = importlib.util.module_from_spec(importlib.util.spec_from_file_location(
    "scribbleseg_krita", PACKAGE / "__init__.py", submodule_search_locations=[str(PACKAGE)]))
sys.modules.setdefault("scribbleseg_krita", _package)
pixels = importlib.import_module("scribbleseg_krita.pixels")
# The plug-in's own copy of the core (a subpackage), so its own error class.
ScribbleSegError = importlib.import_module("scribbleseg_krita.scribbleseg_editor.errors") \
    .ScribbleSegError

RNG = np.random.default_rng(5)
RGB = RNG.integers(0, 256, (6, 7, 3), dtype=np.uint8)
ALPHA = RNG.integers(0, 256, (6, 7), dtype=np.uint8)
MASK = RNG.integers(0, 256, (6, 7), dtype=np.uint8)


def krita_bytes(model: str, depth: str, rgb: np.ndarray, alpha: np.ndarray) -> bytes:
    """What Node.pixelData returns for these 8-bit values in the given format."""
    colour = rgb[..., :1] if model == "GRAYA" else rgb
    if depth in ("U8", "U16"):
        colour = colour[..., ::-1]  # B, G, R
    channels = np.concatenate([colour, alpha[..., None]], axis=-1)
    if depth == "U8":
        return channels.astype(np.uint8).tobytes()
    if depth == "U16":
        return (channels.astype(np.uint16) * 257).astype("<u2").tobytes()
    return (channels / 255.0).astype("<f2" if depth == "F16" else "<f4").tobytes()


@pytest.mark.parametrize("depth", ["U8", "U16", "F16", "F32"])
@pytest.mark.parametrize("model", ["RGBA", "GRAYA"])
def test_colours_read_in_rgb_order_at_every_depth(model, depth):
    fmt = pixels.pixel_format(model, depth)
    data = krita_bytes(model, depth, RGB, ALPHA)
    rgb = np.frombuffer(pixels.rgb_plane(data, fmt), np.uint8).reshape(RGB.shape)
    expected = np.repeat(RGB[..., :1], 3, axis=-1) if model == "GRAYA" else RGB
    # bfloat16 truncation of F32 costs at most one level
    assert np.abs(rgb.astype(int) - expected).max() <= (1 if depth == "F32" else 0)


def test_linear_float_pixels_are_srgb_encoded():
    fmt = pixels.pixel_format("RGBA", "F32")
    data = np.array([[0.0, 0.2140, 1.0, 1.0]], "<f4").tobytes()  # linear 0.214 ~ sRGB 128
    assert abs(pixels.rgb_plane(data, fmt, linear=True)[1] - 128) <= 1


@pytest.mark.parametrize("depth", ["U8", "U16", "F16", "F32"])
def test_alpha_reads_at_every_depth(depth):
    fmt = pixels.pixel_format("RGBA", depth)
    alpha = pixels.alpha_plane(krita_bytes("RGBA", depth, RGB, ALPHA), fmt)
    read = np.frombuffer(alpha, np.uint8).reshape(ALPHA.shape)
    assert np.abs(read.astype(int) - ALPHA).max() <= (1 if depth == "F32" else 0)


@pytest.mark.parametrize("depth", ["U8", "U16", "F16", "F32"])
def test_cut_out_multiplies_alpha_and_keeps_colours(depth):
    fmt = pixels.pixel_format("RGBA", depth)
    data = krita_bytes("RGBA", depth, RGB, ALPHA)
    result = pixels.with_alpha(data, fmt, MASK.tobytes())
    expected = krita_bytes("RGBA", depth, RGB, np.zeros_like(ALPHA))
    assert pixels.rgb_plane(result, fmt) == pixels.rgb_plane(expected, fmt)
    dtype = {"U8": np.uint8, "U16": "<u2", "F16": "<f2", "F32": "<f4"}[depth]
    alpha = np.frombuffer(result, dtype).reshape(6, 7, 4)[..., 3].astype(float)
    full = {"U8": 255, "U16": 65535}.get(depth, 1.0)
    assert np.allclose(alpha / full, ALPHA / 255 * MASK / 255, atol=1 / 255 + 1e-3)


def test_other_colour_models_are_refused_with_advice():
    with pytest.raises(ScribbleSegError, match="Convert Image Color Space") as raised:
        pixels.pixel_format("CMYKA", "U8")
    assert raised.value.code == "UnsupportedDocument"
