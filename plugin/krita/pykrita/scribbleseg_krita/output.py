"""Write a run's alpha into the document as new nodes (one undo step each), never into the
user's own layers: a transparency mask on the target, a cut-out layer above it, or the selection.
"""

from __future__ import annotations

from krita import Krita, Selection

from .document import TRANSPARENCY_MASK, RunInputs, cut_out_name, node_id
from .scribbleseg_editor.errors import ScribbleSegError

OUTPUT_LAYER_MASK = "layer_mask"
OUTPUT_NEW_LAYER = "new_layer"
# Krita 5.1 has no createTransparencyMask; its own "Add Transparency Mask" action builds one
# from the global selection on the active layer.
ADD_TRANSPARENCY_MASK_ACTION = "add_new_transparency_mask"
DESELECT_ACTION = "deselect"


def write_result(document, inputs: RunInputs, alpha: bytes, output: str, product: str,
                 cut_out: bytes = b"") -> None:
    """Add the result as `output` ("layer_mask", "new_layer" with `cut_out`, the target's
    pixels with the result applied to their alpha, or "selection")."""
    if not any(node_id(node) == node_id(inputs.target) for node in _all_nodes(document)):
        raise ScribbleSegError("OutputFailed",
                               f"The layer {inputs.target.name()} was removed during the run.")
    if output == OUTPUT_LAYER_MASK:
        replace_transparency_mask(document, inputs, alpha, f"{product} mask")
    elif output == OUTPUT_NEW_LAYER:
        add_cut_out_layer(document, inputs, cut_out, cut_out_name(inputs.target.name(), product))
    else:
        document.setSelection(selection_from(alpha, inputs.width, inputs.height))
    document.refreshProjection()


def selection_from(alpha: bytes, width: int, height: int) -> Selection:
    selection = Selection()
    selection.setPixelData(alpha, 0, 0, width, height)
    return selection


def add_cut_out_layer(document, inputs: RunInputs, pixels: bytes, name: str) -> None:
    """A new paint layer above the target holding the cut-out's pixels."""
    layer = document.createNode(name, "paintlayer")
    layer.setPixelData(pixels, 0, 0, inputs.width, inputs.height)
    inputs.target.parentNode().addChildNode(layer, inputs.target)


def replace_transparency_mask(document, inputs: RunInputs, alpha: bytes, name: str) -> None:
    """A new transparency mask on the target in place of the one sent as the current mask."""
    if inputs.current_mask is not None:
        _remove(document, inputs.current_mask)
    if hasattr(document, "createTransparencyMask"):  # Krita 5.2 and later
        mask = document.createTransparencyMask(name)
        mask.setSelection(selection_from(alpha, inputs.width, inputs.height))
        inputs.target.addChildNode(mask, None)
        return
    try:
        _mask_through_action(document, inputs, alpha).setName(name)
    except ScribbleSegError:
        if inputs.current_mask is not None:
            inputs.target.addChildNode(inputs.current_mask, None)
        raise


def _mask_through_action(document, inputs: RunInputs, alpha: bytes):
    """Krita 5.1: run "Add Transparency Mask" on a selection holding the result, then move the
    new mask onto the target if Krita's active layer was another one; restore the selection."""
    previous = document.selection()
    before = {node_id(node) for node in _all_nodes(document)}
    document.setSelection(selection_from(alpha, inputs.width, inputs.height))
    Krita.instance().action(ADD_TRANSPARENCY_MASK_ACTION).trigger()
    document.waitForDone()
    created = [node for node in _all_nodes(document)
               if node_id(node) not in before and node.type() == TRANSPARENCY_MASK]
    if previous is not None:
        document.setSelection(previous)
    elif document.selection() is not None:
        Krita.instance().action(DESELECT_ACTION).trigger()
    if not created:
        raise ScribbleSegError("OutputFailed", "Krita did not add the transparency mask. "
                               "Select a paint layer and run again.")
    mask = created[0]
    if node_id(mask.parentNode()) != node_id(inputs.target):
        _remove(document, mask)
        inputs.target.addChildNode(mask, None)
    document.waitForDone()
    return mask


def _remove(document, node) -> None:
    """Remove a node and wait: Node.remove() only queues the removal."""
    node.remove()
    document.waitForDone()


def _all_nodes(document) -> list:
    found = []
    pending = list(document.topLevelNodes())
    while pending:
        node = pending.pop()
        found.append(node)
        pending.extend(node.childNodes())
    return found
