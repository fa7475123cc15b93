"""Add the transparent Positive and Negative layers above the photo's layer, ready to paint."""

from __future__ import annotations

import gi

gi.require_version("Gimp", "3.0")
from gi.repository import Gimp  # noqa: E402
from gimp_layers import active_layer, flat_layers  # noqa: E402

from scribbleseg_editor import layers, settings  # noqa: E402

COLOR_TAGS = {"positive": Gimp.ColorTag.GREEN, "negative": Gimp.ColorTag.RED}


def add_scribble_layers(image: Gimp.Image, drawables: list, manifest: dict) -> None:
    """Create the scribble layers that are missing (canvas-sized) and select the positive one."""
    names = settings.scribble_layer_names(manifest)
    all_layers = flat_layers(image)
    scribbles = layers.find_scribble_layers(all_layers, lambda layer: layer.get_name(), names)
    scribble_ids = {layer.get_id() for layer in scribbles.values() if layer is not None}
    target = layers.choose_target(all_layers, active_layer(drawables),
                                  lambda layer: layer.get_id() in scribble_ids)
    parent = target.get_parent() if target is not None else None
    position = image.get_item_position(target) if target is not None else 0
    layer_type = (Gimp.ImageType.GRAYA_IMAGE if image.get_base_type() == Gimp.ImageBaseType.GRAY
                  else Gimp.ImageType.RGBA_IMAGE)
    image.undo_group_start()
    try:
        for role in ("negative", "positive"):  # each inserted on top: positive ends uppermost
            if scribbles[role] is None:
                layer = Gimp.Layer.new(image, names[role][0], image.get_width(),
                                       image.get_height(), layer_type, 100.0,
                                       Gimp.LayerMode.NORMAL)
                layer.set_color_tag(COLOR_TAGS[role])
                image.insert_layer(layer, parent, position)
                scribbles[role] = layer
    finally:
        image.undo_group_end()
    image.set_selected_layers([scribbles["positive"]])
    Gimp.displays_flush()
