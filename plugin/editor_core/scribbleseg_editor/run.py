"""What one run decides before the engine is asked, whatever the editor: the scribble layers, the
target, the refusals and their messages, the size check, and the current mask.

An editor adapter implements `EditorDocument` (list its layers, read pixels in a frame, read
the current mask sources); `plan_run` applies the rules and reads only what the run sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from . import planes
from .errors import ScribbleSegError
from .layers import Frame, Layer, choose_target, find_scribble_layers
from .limits import check_size
from .options import NOTHING_TO_SELECT

# Where a current mask can come from, and the source each output writes to.
LAYER_MASK, SELECTION, CUTOUT_ALPHA = "layer_mask", "selection", "cutout"
OUTPUT_SOURCE = {"layer_mask": LAYER_MASK, "selection": SELECTION, "new_layer": CUTOUT_ALPHA}


class EditorDocument(Protocol):
    """What the core needs from an editor's open document."""

    add_layers_menu: str  # where the user finds Add Scribble Layers, e.g. "Select > Add ..."

    def layers(self) -> list[Layer]:
        """The top-level layers, top to bottom; groups carry their children."""

    def active_layer_id(self) -> str | None:
        """The selected layer (a selected mask stands for its layer), or None."""

    def read_alpha(self, layer: Layer, frame: Frame) -> bytes:
        """The layer's alpha in `frame`, one byte a pixel; 0 outside the layer."""

    def read_rgb(self, layer: Layer, frame: Frame) -> bytes:
        """The layer's colours in `frame`, R, G, B a pixel, 8 bits a channel."""

    def read_mask(self, source: str, target: Layer) -> bytes | None:
        """The soft 0..255 plane of a current mask source in the target's frame, or None when
        the document has none (LAYER_MASK: the target's mask; SELECTION; CUTOUT_ALPHA: the
        alpha of the cut-out an earlier run made from the target)."""


@dataclass(frozen=True)
class RunPlan:
    """The inputs of one run, in the target's frame."""

    target: Layer
    rgb: bytes
    planes: dict[str, bytes]  # "positive", "negative" (those found) and "mask" when sent
    mask_source: str | None   # where the "mask" plane came from

    @property
    def frame(self) -> Frame:
        return self.target.frame


def plan_run(document: EditorDocument, names: dict[str, list[str]], output: str) -> RunPlan:
    """Apply the rules; every refusal is a ScribbleSegError raised before the image changes
    (and the size refusal before any pixel is read)."""
    stack = document.layers()
    scribbles = find_scribble_layers(stack, names)
    found = {role: layer for role, layer in scribbles.items() if layer is not None}
    if not found:
        raise ScribbleSegError("NoScribbleLayers", f"No layer named {_first_names(names)}. "
                               f"Use {document.add_layers_menu}, paint strokes on the new "
                               "layers and run again.")
    target = choose_target(stack, document.active_layer_id(), scribbles)
    if target is None:
        raise ScribbleSegError("NoTargetLayer", "There is no layer to segment besides the "
                               "scribble layers. Select the photo's layer and run again.")
    check_size(target.frame.width, target.frame.height, f"layer {target.name!r}")
    strokes = {role: _strokes(document, layer, target.frame) for role, layer in found.items()}
    mask_source, mask = current_mask(document, target, output)
    if not (planes.has_marks(strokes.get("positive", b"")) or planes.has_marks(mask or b"")):
        # The engine's rule (options.NOTHING_TO_SELECT), checked before anything is sent.
        raise ScribbleSegError("NoStrokes", f"{NOTHING_TO_SELECT} Paint the object's strokes "
                               f"on the layer {names['positive'][0]!r}, the background's on "
                               f"{names['negative'][0]!r}.")
    if mask is not None:
        strokes["mask"] = mask
    return RunPlan(target, document.read_rgb(target, target.frame), strokes, mask_source)


def current_mask(document: EditorDocument, target: Layer,
                 output: str) -> tuple[str | None, bytes | None]:
    """(source, plane) of the result so far, sent soft so that a run refines the last: what the
    output writes to, else the layer mask, else the selection. A uniform plane (an empty
    selection, an all-white mask) says nothing and is left out."""
    for source in dict.fromkeys([OUTPUT_SOURCE[output], LAYER_MASK, SELECTION]):
        plane = document.read_mask(source, target)
        if plane is not None and not planes.is_uniform(plane):
            return source, plane
    return None, None


def _strokes(document: EditorDocument, layer: Layer, frame: Frame) -> bytes:
    if not layer.has_alpha:
        raise ScribbleSegError("ScribbleLayerOpaque", f"The layer {layer.name!r} has no "
                               "transparency, so every pixel counts as a stroke. Add an alpha "
                               "channel to it, clear it, and paint the strokes.")
    return planes.stroke_plane(document.read_alpha(layer, frame))


def _first_names(names: dict[str, list[str]]) -> str:
    return " or ".join(repr(role_names[0]) for role_names in names.values())
