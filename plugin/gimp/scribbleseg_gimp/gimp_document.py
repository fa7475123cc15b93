"""A GIMP image as the editor core's EditorDocument: its layers, pixels and current masks, and
the marks that tie a cut-out layer to the layer it was cut from."""

from __future__ import annotations

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp  # noqa: E402

from scribbleseg_editor.layers import CUTOUT, GROUP, PAINT, Frame, Layer  # noqa: E402
from scribbleseg_editor.run import CUTOUT_ALPHA, LAYER_MASK, SELECTION  # noqa: E402

# babl formats: GIMP converts any precision and colour model to these on reading and writing.
RGB_FORMAT = "R'G'B' u8"
ALPHA_FORMAT = "A u8"
MASK_FORMAT = "Y u8"  # layer masks and the selection are linear coverage: no primes
# Marks a cut-out layer with the tattoo of the layer it was cut from (kept in XCF files).
CUTOUT_PARASITE = "scribbleseg-cutout-of"


def all_layers(image: Gimp.Image) -> list:
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


def is_cutout(layer: Gimp.Layer) -> bool:
    return layer.get_parasite(CUTOUT_PARASITE) is not None


def cutout_of(image: Gimp.Image, target: Gimp.Layer) -> Gimp.Layer | None:
    """The cut-out layer an earlier run made from `target`, if it is still there."""
    source = str(target.get_tattoo()).encode()
    for layer in all_layers(image):
        parasite = layer.get_parasite(CUTOUT_PARASITE)
        if parasite is not None and bytes(parasite.get_data()) == source:
            return layer
    return None


def mark_cutout(cutout: Gimp.Layer, source: Gimp.Layer) -> None:
    flags = Gimp.PARASITE_PERSISTENT | Gimp.PARASITE_UNDOABLE
    cutout.attach_parasite(Gimp.Parasite.new(CUTOUT_PARASITE, flags,
                                             list(str(source.get_tattoo()).encode())))


class GimpDocument:
    """Each layer in its own frame (size and offsets), as GIMP keeps it."""

    def __init__(self, image: Gimp.Image, drawables: list, add_layers_menu: str) -> None:
        self.image = image
        self.drawables = drawables
        self.add_layers_menu = add_layers_menu
        self._items: dict[str, Gimp.Layer] = {}

    def item(self, layer: Layer) -> Gimp.Layer:
        """The GIMP layer a core Layer describes."""
        return self._items[layer.id]

    def layers(self) -> list[Layer]:
        return [self._describe(item) for item in self.image.get_layers()]

    def active_layer_id(self) -> str | None:
        active = active_layer(self.drawables)
        return None if active is None else str(active.get_id())

    def read_alpha(self, layer: Layer, frame: Frame) -> bytes:
        return _read(self.item(layer), layer.frame, frame, ALPHA_FORMAT)

    def read_rgb(self, layer: Layer, frame: Frame) -> bytes:
        return _read(self.item(layer), layer.frame, frame, RGB_FORMAT)

    def read_mask(self, source: str, target: Layer) -> bytes | None:
        item, frame = self.item(target), target.frame
        if source == LAYER_MASK:
            mask = item.get_mask()  # in its layer's frame
            return None if mask is None else _read(mask, frame, frame, MASK_FORMAT)
        if source == SELECTION:
            if Gimp.Selection.is_empty(self.image):
                return None
            canvas = Frame(0, 0, self.image.get_width(), self.image.get_height())
            return _read(self.image.get_selection(), canvas, frame, MASK_FORMAT)
        if source == CUTOUT_ALPHA:
            cutout = cutout_of(self.image, item)
            return None if cutout is None else _read(cutout, frame_of(cutout), frame,
                                                     ALPHA_FORMAT)
        raise ValueError(f"unknown mask source {source!r}")

    def _describe(self, item: Gimp.Layer) -> Layer:
        self._items[str(item.get_id())] = item
        if item.is_group():
            kind = GROUP
            children = tuple(self._describe(child) for child in item.get_children())
        else:
            kind, children = (CUTOUT if is_cutout(item) else PAINT), ()
        return Layer(str(item.get_id()), item.get_name(), kind, frame_of(item), item.has_alpha(),
                     children)


def _read(drawable: Gimp.Drawable, bounds: Frame, frame: Frame, babl_format: str) -> bytes:
    """The pixels of a drawable whose bounds are `bounds` (image coordinates) in `frame`."""
    return read_pixels(drawable, frame.x - bounds.x, frame.y - bounds.y, frame.width,
                       frame.height, babl_format)


def frame_of(drawable: Gimp.Drawable) -> Frame:
    _, x, y = drawable.get_offsets()
    return Frame(x, y, drawable.get_width(), drawable.get_height())
