"""GIMP layers as the plug-in sees them: the flat stack, the selected layer, pixels as bytes,
and the marks that tie a cut-out layer to the layer it was cut from."""

from __future__ import annotations

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp  # noqa: E402

# babl formats: GIMP converts any precision and colour model to these on reading and writing.
RGB_FORMAT = "R'G'B' u8"
ALPHA_FORMAT = "A u8"
MASK_FORMAT = "Y u8"  # layer masks and the selection are linear coverage: no primes
# Marks a cut-out layer with the tattoo of the layer it was cut from (kept in XCF files).
CUTOUT_PARASITE = "scribbleseg-cutout-of"


def flat_layers(image: Gimp.Image) -> list:
    """The image's layers from top to bottom, walking into groups (groups themselves left out)."""
    def walk(items: list):
        for item in items:
            if item.is_group():
                yield from walk(item.get_children())
            else:
                yield item
    return list(walk(image.get_layers()))


def active_layer(drawables: list) -> Gimp.Layer | None:
    """The layer the user has selected (a selected layer mask stands for its layer)."""
    for drawable in drawables:
        if isinstance(drawable, Gimp.LayerMask):
            return Gimp.Layer.from_mask(drawable)
        if isinstance(drawable, Gimp.Layer):
            return drawable
    return None


def read_pixels(drawable: Gimp.Drawable, x: int, y: int, width: int, height: int,
                babl_format: str) -> bytes:
    """A rectangle in the drawable's own coordinates; outside the drawable reads as 0."""
    return drawable.get_buffer().get(Gegl.Rectangle.new(x, y, width, height), 1.0, babl_format,
                                     Gegl.AbyssPolicy.NONE)


def write_plane(drawable: Gimp.Drawable, plane: bytes) -> None:
    """Fill a whole mask or channel with a one-byte-a-pixel coverage plane."""
    width, height = drawable.get_width(), drawable.get_height()
    buffer = drawable.get_buffer()
    buffer.set(Gegl.Rectangle.new(0, 0, width, height), MASK_FORMAT, plane)
    buffer.flush()
    drawable.update(0, 0, width, height)


def is_cutout(layer: Gimp.Layer) -> bool:
    return layer.get_parasite(CUTOUT_PARASITE) is not None


def cutout_of(image: Gimp.Image, target: Gimp.Layer) -> Gimp.Layer | None:
    """The cut-out layer an earlier run made from `target`, if it is still there."""
    source = str(target.get_tattoo()).encode()
    for layer in flat_layers(image):
        parasite = layer.get_parasite(CUTOUT_PARASITE)
        if parasite is not None and bytes(parasite.get_data()) == source:
            return layer
    return None


def mark_cutout(cutout: Gimp.Layer, source: Gimp.Layer) -> None:
    flags = Gimp.PARASITE_PERSISTENT | Gimp.PARASITE_UNDOABLE
    cutout.attach_parasite(Gimp.Parasite.new(CUTOUT_PARASITE, flags,
                                             list(str(source.get_tattoo()).encode())))
