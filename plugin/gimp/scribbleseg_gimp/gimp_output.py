"""Write the engine's alpha into the image: the target's layer mask, a cut-out layer or the
selection, as one undo step."""

from __future__ import annotations

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp  # noqa: E402
from gimp_document import MASK_FORMAT, cutout_of, mark_cutout  # noqa: E402

from scribbleseg_editor import planes  # noqa: E402


def write_result(image: Gimp.Image, target: Gimp.Layer, alpha: bytes, output: str) -> None:
    """Write the alpha as the target's layer mask, a cut-out layer or the selection: one undo
    step."""
    writers = {"layer_mask": replace_layer_mask, "new_layer": add_cutout_layer,
               "selection": replace_selection}
    image.undo_group_start()
    try:
        writers[output](image, target, alpha)
    finally:
        image.undo_group_end()
    Gimp.displays_flush()


def write_plane(drawable: Gimp.Drawable, plane: bytes) -> None:
    """Fill a whole mask or channel with a one-byte-a-pixel coverage plane."""
    width, height = drawable.get_width(), drawable.get_height()
    buffer = drawable.get_buffer()
    buffer.set(Gegl.Rectangle.new(0, 0, width, height), MASK_FORMAT, plane)
    buffer.flush()
    drawable.update(0, 0, width, height)


def replace_layer_mask(image: Gimp.Image, layer: Gimp.Layer, alpha: bytes) -> None:
    # A new mask, filled before it is attached: removing and adding masks is undoable, and
    # unlike merge_shadow() the write is not limited to the current selection.
    if layer.get_mask() is not None:
        layer.remove_mask(Gimp.MaskApplyMode.DISCARD)
    mask = layer.create_mask(Gimp.AddMaskType.WHITE)
    write_plane(mask, alpha)
    layer.add_mask(mask)


def add_cutout_layer(image: Gimp.Image, target: Gimp.Layer, alpha: bytes) -> None:
    """A copy of the target right above it, transparent where the alpha says background; it
    replaces the cut-out of an earlier run."""
    previous = cutout_of(image, target)
    if previous is not None:
        image.remove_layer(previous)
    cutout = target.copy()
    cutout.set_name(f"{target.get_name()} cut-out")
    mark_cutout(cutout, target)
    image.insert_layer(cutout, target.get_parent(), image.get_item_position(target))
    if not cutout.has_alpha():
        cutout.add_alpha()
    replace_layer_mask(image, cutout, alpha)
    cutout.remove_mask(Gimp.MaskApplyMode.APPLY)
    image.set_selected_layers([target])


def replace_selection(image: Gimp.Image, target: Gimp.Layer, alpha: bytes) -> None:
    width, height = image.get_width(), image.get_height()
    _, x, y = target.get_offsets()
    plane = planes.place(alpha, target.get_width(), target.get_height(), width, height, x, y)
    selection = image.get_selection()
    shadow = selection.get_shadow_buffer()
    shadow.set(Gegl.Rectangle.new(0, 0, width, height), MASK_FORMAT, plane)
    shadow.flush()
    selection.merge_shadow(True)
    selection.update(0, 0, width, height)
