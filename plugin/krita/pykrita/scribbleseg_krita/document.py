"""A Krita document as the editor core's EditorDocument, and what a run keeps to write back."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from .pixels import PixelFormat, alpha_plane, is_linear_profile, pixel_format, rgb_plane
from .scribbleseg_editor.layers import CUTOUT, GROUP, OTHER, PAINT, Frame, Layer
from .scribbleseg_editor.run import CUTOUT_ALPHA, LAYER_MASK, SELECTION, RunPlan

PAINT_LAYER = "paintlayer"
GROUP_LAYER = "grouplayer"
TRANSPARENCY_MASK = "transparencymask"


@dataclass
class RunInputs:
    """What writing a run's result needs, read on Krita's main thread with its plan."""

    plan: RunPlan
    target: object                  # krita.Node: the layer the result belongs to
    target_pixels: bytes            # its pixels in the document's format (for a cut-out)
    pixel_format: PixelFormat
    current_mask: object | None     # the target's transparency mask, replaced by the result

    @property
    def box(self) -> tuple[int, int, int, int]:
        """The target's frame as pixelData's x, y, width, height (image coordinates)."""
        frame = self.plan.frame
        return frame.x, frame.y, frame.width, frame.height


def cut_out_name(layer_name: str, product: str) -> str:
    """The name of a cut-out layer made from `layer_name` (it marks the layer as a result)."""
    return f"{layer_name} ({product} cut-out)"


def node_id(node) -> str:
    """A node's identity: wrappers of the same node are distinct Python objects."""
    return node.uniqueId().toString()


def cut_out_of(document, layer, product: str):
    """The newest cut-out made from `layer` (the uppermost of that name beside it), or None."""
    name = cut_out_name(layer.name(), product)
    siblings = layer.parentNode().childNodes() if layer.parentNode() else []
    return next((node for node in reversed(siblings) if node.name() == name), None)


def transparency_mask_of(layer):
    """The layer's first transparency mask, or None."""
    return next((child for child in layer.childNodes() if child.type() == TRANSPARENCY_MASK), None)


class KritaDocument:
    """Each layer in its own frame: the canvas's size at the layer's position (Krita's layers
    have no bounds of their own), so a layer moved partly off the canvas is segmented whole.
    pixelData takes image coordinates: strokes and results line up with the moved layer."""

    def __init__(self, document, product: str, add_layers_menu: str) -> None:
        self.document = document
        self.product = product
        self.add_layers_menu = add_layers_menu
        self.canvas = Frame(0, 0, document.width(), document.height())  # groups' frame
        self._nodes: dict[str, object] = {}
        self._pixels: dict[str, bytes] = {}  # each layer's pixels read by read_rgb

    @cached_property
    def pixel_format(self) -> PixelFormat:
        return pixel_format(self.document.colorModel(), self.document.colorDepth())

    def node(self, layer: Layer):
        return self._nodes[layer.id]

    def run_inputs(self, plan: RunPlan) -> RunInputs:
        target = self.node(plan.target)
        return RunInputs(plan, target, self._pixels[plan.target.id], self.pixel_format,
                         transparency_mask_of(target))

    # --- EditorDocument ---

    def layers(self) -> list[Layer]:
        return [self._describe(node) for node in reversed(self.document.topLevelNodes())
                if not node.type().endswith("mask")]

    def active_layer_id(self) -> str | None:
        active = self.document.activeNode()
        if active is not None and active.type().endswith("mask"):
            active = active.parentNode()
        return None if active is None else node_id(active)

    def read_alpha(self, layer: Layer, frame: Frame) -> bytes:
        return alpha_plane(self._read(self.node(layer), frame), self.pixel_format)

    def read_rgb(self, layer: Layer, frame: Frame) -> bytes:
        self._pixels[layer.id] = self._read(self.node(layer), frame)
        linear = is_linear_profile(self.document.colorProfile())
        return rgb_plane(self._pixels[layer.id], self.pixel_format, linear)

    def read_mask(self, source: str, target: Layer) -> bytes | None:
        if source == LAYER_MASK:
            mask = transparency_mask_of(self.node(target))
            return None if mask is None else self._read(mask, target.frame)
        if source == SELECTION:
            selection = self.document.selection()
            return None if selection is None else self._read(selection, target.frame)
        if source == CUTOUT_ALPHA:
            cut_out = cut_out_of(self.document, self.node(target), self.product)
            if cut_out is None:
                return None
            return alpha_plane(self._read(cut_out, target.frame), self.pixel_format)
        raise ValueError(f"unknown mask source {source!r}")

    def _describe(self, node) -> Layer:
        self._nodes[node_id(node)] = node
        kind, children = {PAINT_LAYER: PAINT, GROUP_LAYER: GROUP}.get(node.type(), OTHER), ()
        if kind == PAINT and node.name().endswith(cut_out_name("", self.product)):
            kind = CUTOUT
        if kind == GROUP:
            children = tuple(self._describe(child) for child in reversed(node.childNodes())
                             if not child.type().endswith("mask"))
        return Layer(node_id(node), node.name(), kind, self._frame(node, kind), True, children)

    def _frame(self, node, kind: str) -> Frame:
        if kind == GROUP:
            return self.canvas
        position = node.position()
        return Frame(position.x(), position.y(), self.canvas.width, self.canvas.height)

    @staticmethod
    def _read(source, frame: Frame) -> bytes:
        """Pixels of a node or a Selection in `frame` (masks and selections: 1 byte a pixel)."""
        return bytes(source.pixelData(frame.x, frame.y, frame.width, frame.height))
