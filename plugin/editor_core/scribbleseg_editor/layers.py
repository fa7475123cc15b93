"""An editor's layer stack as the core sees it, and the rules on it: which layers hold the
strokes, which layer gets the result, and which scribble layers Add Scribble Layers creates.

The adapters describe their layers as `Layer` values, top to bottom, groups with their children;
nothing here touches an editor API.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

# What a layer is, as far as a run is concerned.
PAINT = "paint"    # pixels a run can read: a target or a scribble layer
GROUP = "group"    # walked into, never a target
CUTOUT = "cutout"  # the result of an earlier run: never a target, never a scribble layer
OTHER = "other"    # anything else the editor has (Krita's vector or filter layers): skipped
ROLES = ("positive", "negative")


@dataclass(frozen=True)
class Frame:
    """A rectangle in image coordinates: a layer's bounds, and the frame a run works in."""

    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class Layer:
    """One layer: `id` is the editor's identity for it (names repeat, wrappers differ)."""

    id: str
    name: str
    kind: str
    frame: Frame
    has_alpha: bool = True
    children: tuple[Layer, ...] = ()


def flat_layers(stack: Sequence[Layer]) -> list[Layer]:
    """The layers from top to bottom with groups walked into (groups themselves left out)."""
    def walk(layers: Sequence[Layer]) -> Iterator[Layer]:
        for layer in layers:
            if layer.kind == GROUP:
                yield from walk(layer.children)
            else:
                yield layer
    return list(walk(stack))


def is_named(name: str, names: Sequence[str]) -> bool:
    """Whether a layer name is one of `names`, ignoring case and surrounding spaces."""
    return name.strip().casefold() in {n.strip().casefold() for n in names}


def find_scribble_layers(stack: Sequence[Layer],
                         names: dict[str, list[str]]) -> dict[str, Layer | None]:
    """{"positive": layer or None, "negative": layer or None}: the topmost paint layer of each
    role's names."""
    paint = [layer for layer in flat_layers(stack) if layer.kind == PAINT]
    return {role: next((layer for layer in paint if is_named(layer.name, names[role])), None)
            for role in ROLES}


def choose_target(stack: Sequence[Layer], active_id: str | None,
                  scribbles: dict[str, Layer | None]) -> Layer | None:
    """The layer the strokes belong to: the active layer if it is a paint layer and no scribble
    layer, else the first such layer below the lowest scribble layer, else the topmost one."""
    layers = flat_layers(stack)
    scribble_ids = {layer.id for layer in scribbles.values() if layer is not None}
    candidates = [layer for layer in layers
                  if layer.kind == PAINT and layer.id not in scribble_ids]
    active = next((layer for layer in candidates if layer.id == active_id), None)
    if active is not None:
        return active
    positions = [index for index, layer in enumerate(layers) if layer.id in scribble_ids]
    if positions:
        below = [layer for layer in layers[positions[-1] + 1:] if layer in candidates]
        if below:
            return below[0]
    return candidates[0] if candidates else None


def layers_to_add(stack: Sequence[Layer], names: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(role, name) of each missing scribble layer, in the order to insert them, each on top of
    the last (so Positive ends uppermost). The name is the role's first configured name, the one
    Segment looks for first: a second Add finds both and adds nothing."""
    found = find_scribble_layers(stack, names)
    return [(role, names[role][0]) for role in reversed(ROLES) if found[role] is None]
