"""Read what a run needs from a Krita document: the target layer, the strokes, the current mask."""

from __future__ import annotations

from dataclasses import dataclass

from .pixels import PixelFormat, alpha_plane, is_linear_profile, pixel_format, rgb_plane
from .scribbleseg_editor import layers, planes

PAINT_LAYER = "paintlayer"
GROUP_LAYER = "grouplayer"
TRANSPARENCY_MASK = "transparencymask"


class RunRefused(Exception):
    """The document is not ready for a run; the message says what to do."""


@dataclass
class RunInputs:
    """Everything one run sends to the engine host, read on Krita's main thread."""

    target: object                  # krita.Node: the layer the result belongs to
    target_pixels: bytes            # its pixels in the document's format
    pixel_format: PixelFormat
    width: int
    height: int
    rgb: bytes
    planes: dict[str, bytes]        # "positive", "negative" and, when there is one, "mask"
    current_mask: object | None     # the target's transparency mask sent as "mask", if any


def cut_out_name(layer_name: str, product: str) -> str:
    """The name of a cut-out layer made from `layer_name` (it marks the layer as a result)."""
    return f"{layer_name} ({product} cut-out)"


def node_id(node) -> str:
    """A node's identity: wrappers of the same node are distinct Python objects."""
    return node.uniqueId().toString()


def paint_layers(document) -> list:
    """Paint layers from top to bottom, groups walked into (Krita lists children bottom-up)."""
    found = []

    def walk(nodes) -> None:
        for node in reversed(nodes):
            if node.type() == PAINT_LAYER:
                found.append(node)
            elif node.type() == GROUP_LAYER:
                walk(node.childNodes())

    walk(document.topLevelNodes())
    return found


def image_pixels(node, width: int, height: int) -> bytes:
    """A node's pixels over the whole image, in the document's format (masks: 1 byte a pixel).
    pixelData takes image coordinates, so a moved or smaller layer lines up with the image."""
    return bytes(node.pixelData(0, 0, width, height))


def transparency_mask_of(layer):
    """The layer's first transparency mask, or None."""
    return next((child for child in layer.childNodes() if child.type() == TRANSPARENCY_MASK), None)


def read_inputs(document, names: dict[str, list[str]], product: str) -> RunInputs:
    """Target layer pixels, stroke planes and current mask; RunRefused says what is missing.
    Neither the scribble layers nor earlier cut-outs are targets, even when active (Krita
    activates the cut-out it just added)."""
    fmt = pixel_format(document.colorModel(), document.colorDepth())
    width, height = document.width(), document.height()
    candidates = paint_layers(document)
    scribbles = layers.find_scribble_layers(candidates, lambda node: node.name(), names)
    if scribbles["positive"] is None:
        raise RunRefused(f"There is no {names['positive'][0]} layer. Use Tools > Scripts > "
                         "Add Scribble Layers, paint strokes on the object, then run again.")
    scribble_ids = {node_id(node) for node in scribbles.values() if node is not None}

    def is_not_target(node) -> bool:
        return node_id(node) in scribble_ids or node.name().endswith(cut_out_name("", product))

    target = layers.choose_target(candidates, _active_layer(document), is_not_target)
    if target is None:
        raise RunRefused("There is no layer to segment besides the scribble layers.")

    stroke_planes = {role: _strokes(node, fmt, width, height)
                     for role, node in scribbles.items() if node is not None}
    if planes.is_blank(stroke_planes["positive"]):
        raise RunRefused(f"The {scribbles['positive'].name()} layer is empty: paint at least "
                         "one stroke on the object.")
    mask_node = transparency_mask_of(target)
    mask = _current_mask(document, mask_node, width, height)
    if mask is not None:
        stroke_planes["mask"] = mask
    linear = is_linear_profile(document.colorProfile())
    target_pixels = image_pixels(target, width, height)
    rgb = rgb_plane(target_pixels, fmt, linear)
    return RunInputs(target, target_pixels, fmt, width, height, rgb, stroke_planes, mask_node)


def _active_layer(document):
    """The active paint layer, or the paint layer holding the active mask, or None."""
    active = document.activeNode()
    if active is not None and active.type().endswith("mask"):
        active = active.parentNode()
    return active if active is not None and active.type() == PAINT_LAYER else None


def _strokes(node, fmt: PixelFormat, width: int, height: int) -> bytes:
    alpha = alpha_plane(image_pixels(node, width, height), fmt)
    return planes.stroke_plane(alpha, 1, 0)


def _current_mask(document, mask_node, width: int, height: int) -> bytes | None:
    """The target's transparency mask, else the selection: one byte a pixel, or None."""
    if mask_node is not None:
        return image_pixels(mask_node, width, height)
    selection = document.selection()
    if selection is None:
        return None
    data = bytes(selection.pixelData(0, 0, width, height))
    return None if planes.is_blank(data) else data
