"""Which layers hold the strokes and which layer gets the result, whatever the editor.

The editors hand over their layers as a flat list from top to bottom (groups walked into) and a
function giving a layer's name; nothing here touches an editor API.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

Layer = TypeVar("Layer")


def is_named(name: str, names: Sequence[str]) -> bool:
    """Whether a layer name is one of `names`, ignoring case and surrounding spaces."""
    return name.strip().casefold() in {n.strip().casefold() for n in names}


def find_scribble_layers(layers: Sequence[Layer], name_of: Callable[[Layer], str],
                         names: dict[str, list[str]]) -> dict[str, Layer | None]:
    """{"positive": layer or None, "negative": layer or None}: the topmost layer of each name."""
    return {role: next((layer for layer in layers if is_named(name_of(layer), role_names)), None)
            for role, role_names in names.items()}


def choose_target(layers: Sequence[Layer], active: Layer | None,
                  is_scribble: Callable[[Layer], bool]) -> Layer | None:
    """The layer the strokes belong to: the active layer unless it is a scribble layer, else the
    first layer below the lowest scribble layer, else the topmost other layer."""
    if active is not None and not is_scribble(active):
        return active
    others = [layer for layer in layers if not is_scribble(layer)]
    scribble_positions = [i for i, layer in enumerate(layers) if is_scribble(layer)]
    if scribble_positions:
        below = [layer for layer in layers[scribble_positions[-1] + 1:] if not is_scribble(layer)]
        if below:
            return below[0]
    return others[0] if others else None
