"""Add the transparent scribble layers that are missing above the photo's layer, ready to paint."""

from __future__ import annotations

import gi

gi.require_version("Gimp", "3.0")
from gi.repository import Gimp  # noqa: E402
from gimp_document import GimpDocument  # noqa: E402

from scribbleseg_editor import layers, settings  # noqa: E402

COLOR_TAGS = {"positive": Gimp.ColorTag.GREEN, "negative": Gimp.ColorTag.RED}


def add_scribble_layers(image: Gimp.Image, drawables: list, manifest: dict) -> None:
    """Create the missing scribble layers (canvas-sized) above the target and select the
    positive one."""
    names = settings.scribble_layer_names(manifest)
    document = GimpDocument(image, drawables, add_layers_menu="")
    stack = document.layers()
    scribbles = layers.find_scribble_layers(stack, names)
    target = layers.choose_target(stack, document.active_layer_id(), scribbles)
    target_item = document.item(target) if target is not None else None
    parent = target_item.get_parent() if target_item is not None else None
    position = image.get_item_position(target_item) if target_item is not None else 0
    layer_type = (Gimp.ImageType.GRAYA_IMAGE if image.get_base_type() == Gimp.ImageBaseType.GRAY
                  else Gimp.ImageType.RGBA_IMAGE)
    added = {}
    image.undo_group_start()
    try:
        for role, name in layers.layers_to_add(stack, names):
            layer = Gimp.Layer.new(image, name, image.get_width(), image.get_height(),
                                   layer_type, 100.0, Gimp.LayerMode.NORMAL)
            layer.set_color_tag(COLOR_TAGS[role])
            image.insert_layer(layer, parent, position)  # on top of the last: Positive uppermost
            added[role] = layer
    finally:
        image.undo_group_end()
    image.set_selected_layers([added.get("positive") or document.item(scribbles["positive"])])
    Gimp.displays_flush()
