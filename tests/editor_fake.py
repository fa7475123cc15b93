"""A fake editor for the editor core's rules: an in-memory layer stack with pixels.

Each layer keeps its own pixels in its own frame, like GIMP's layers; reading another frame
places them there pixel by pixel (a second path, independent of scribbleseg_editor.planes).
It counts the pixels read, so a test can tell that a refusal came before any pixel was read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scribbleseg_editor.layers import PAINT, Frame, Layer


@dataclass
class FakeLayer:
    name: str
    width: int = 40
    height: int = 40
    x: int = 0
    y: int = 0
    kind: str = PAINT
    alpha: dict[tuple[int, int], int] = field(default_factory=dict)  # (x, y) in the layer
    colour: tuple[int, int, int] = (10, 20, 30)
    has_alpha: bool = True
    children: list[FakeLayer] = field(default_factory=list)
    mask: bytes | None = None  # a layer mask in the layer's frame


class FakeDocument:
    """The core's EditorDocument over FakeLayers (top to bottom)."""

    add_layers_menu = "Select > Add Scribble Layers"

    def __init__(self, stack: list[FakeLayer], active: str | None = None,
                 selection: bytes | None = None, cutout_alpha: bytes | None = None) -> None:
        self.stack = stack
        self.active = active
        self.selection = selection        # in the target's frame, for simplicity
        self.cutout_alpha = cutout_alpha  # likewise
        self.pixels_read = 0

    def by_name(self, name: str) -> FakeLayer:
        def walk(layers):
            for layer in layers:
                if layer.name == name:
                    return layer
                found = walk(layer.children)
                if found:
                    return found
            return None
        return walk(self.stack)

    # --- EditorDocument ---

    def layers(self) -> list[Layer]:
        def describe(layer: FakeLayer) -> Layer:
            return Layer(layer.name, layer.name, layer.kind,
                         Frame(layer.x, layer.y, layer.width, layer.height), layer.has_alpha,
                         tuple(describe(child) for child in layer.children))
        return [describe(layer) for layer in self.stack]

    def active_layer_id(self) -> str | None:
        return self.active

    def read_alpha(self, layer: Layer, frame: Frame) -> bytes:
        source = self.by_name(layer.id)
        self.pixels_read += frame.width * frame.height
        return bytes(source.alpha.get((fx + frame.x - source.x, fy + frame.y - source.y), 0)
                     for fy in range(frame.height) for fx in range(frame.width))

    def read_rgb(self, layer: Layer, frame: Frame) -> bytes:
        self.pixels_read += frame.width * frame.height
        return bytes(self.by_name(layer.id).colour) * (frame.width * frame.height)

    def read_mask(self, source: str, target: Layer) -> bytes | None:
        return {"layer_mask": self.by_name(target.id).mask, "selection": self.selection,
                "cutout": self.cutout_alpha}[source]


def painted(*points: tuple[int, int], value: int = 255) -> dict[tuple[int, int], int]:
    return {point: value for point in points}


def photo_with_scribbles(positive: dict | None = None, negative: dict | None = None,
                         **photo) -> list[FakeLayer]:
    """Positive and Negative above the photo, all 40x40 at (0, 0) unless told."""
    return [FakeLayer("Positive", alpha=positive or {}),
            FakeLayer("Negative", alpha=negative or {}), FakeLayer("Photo", **photo)]
