"""Write a run's alpha into the document as new nodes (one undo step each), never into the
user's own layers: a transparency mask on the target, a cut-out layer above it, or the selection.
"""

from __future__ import annotations

from pathlib import Path

from krita import Krita, Selection
from PyQt5.QtWidgets import QApplication

from .document import TRANSPARENCY_MASK, RunInputs, cut_out_name, cut_out_of, node_id
from .scribbleseg_editor.errors import ScribbleSegError

OUTPUT_LAYER_MASK = "layer_mask"
OUTPUT_NEW_LAYER = "new_layer"
OUTPUT_SELECTION = "selection"
CUT_OUT_OUTPUTS = (OUTPUT_NEW_LAYER, OUTPUT_SELECTION)  # the worker builds their cut-out
# Krita 5.1 has no createTransparencyMask; its own "Add Transparency Mask" action builds one
# from the global selection on the active layer.
ADD_TRANSPARENCY_MASK_ACTION = "add_new_transparency_mask"
DESELECT_ACTION = "deselect"
ACTIVATION_EVENT_ROUNDS = 5  # event loop turns for setActiveNode to take effect
SELECT_OPAQUE_ACTION = "selectopaque"  # the active layer's alpha as the selection, undoable


def write_result(document, inputs: RunInputs, alpha: bytes, output: str, product: str,
                 cut_out: bytes = b"") -> None:
    """Add the result as `output`: "layer_mask", "new_layer" or "selection" (both with
    `cut_out`, the target's pixels with the result applied to their alpha)."""
    if not any(node_id(node) == node_id(inputs.target) for node in _all_nodes(document)):
        raise ScribbleSegError("OutputFailed",
                               f"The layer {inputs.target.name()} was removed during the run.")
    if output == OUTPUT_LAYER_MASK:
        replace_transparency_mask(document, inputs, alpha, f"{product} mask")
    elif output == OUTPUT_NEW_LAYER:
        add_cut_out_layer(document, inputs, cut_out, cut_out_name(inputs.target.name(), product),
                          product)
    else:
        replace_selection(document, inputs, alpha, cut_out)
    document.refreshProjection()


def selection_from(alpha: bytes, width: int, height: int) -> Selection:
    selection = Selection()
    selection.setPixelData(alpha, 0, 0, width, height)
    return selection


def replace_selection(document, inputs: RunInputs, alpha: bytes, cut_out: bytes) -> None:
    """The result as the selection, in one undo step. Krita's scripting sets the selection with
    no undo step, but Krita's own Select Opaque makes one: the target carries its cut-out (the
    result as its alpha) for that moment, then gets its own pixels back."""
    carrier = inputs.target
    _activate(document, carrier)
    active = document.activeNode()
    if (Krita.instance().activeDocument() != document or active is None
            or node_id(active) != node_id(carrier)):
        document.setSelection(selection_from(alpha, inputs.width, inputs.height))  # no undo
        return
    frame = inputs.plan.frame
    box = (frame.x, frame.y, frame.width, frame.height)
    saved = bytes(carrier.pixelData(*box))
    carrier.setPixelData(cut_out, *box)
    try:
        Krita.instance().action(SELECT_OPAQUE_ACTION).trigger()
        document.waitForDone()
    finally:
        carrier.setPixelData(saved, *box)
        document.waitForDone()


def add_cut_out_layer(document, inputs: RunInputs, pixels: bytes, name: str, product: str) -> None:
    """A new paint layer holding the cut-out's pixels, above the target's newest cut-out (which
    it refines) or above the target."""
    layer = document.createNode(name, "paintlayer")
    frame = inputs.plan.frame
    layer.setPixelData(pixels, frame.x, frame.y, frame.width, frame.height)
    above = cut_out_of(document, inputs.target, product) or inputs.target
    inputs.target.parentNode().addChildNode(layer, above)


def replace_transparency_mask(document, inputs: RunInputs, alpha: bytes, name: str) -> None:
    """A new transparency mask on the target in place of the one sent as the current mask."""
    if not hasattr(document, "createTransparencyMask"):
        _check_in_front(document)
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


def _check_in_front(document) -> None:
    """Krita 5.1 adds a mask to the image in front only: a run whose image went to the back
    while the engine worked is cancelled rather than landing on another image."""
    if Krita.instance().activeDocument() != document:
        name = Path(document.fileName()).name or document.name()
        raise ScribbleSegError("OutputFailed", f"Cancelled: another image came to the front "
                               f"while ScribbleSeg worked. Bring {name} to the front and run "
                               "again.")


def _mask_through_action(document, inputs: RunInputs, alpha: bytes):
    """Krita 5.1: run "Add Transparency Mask" on a selection holding the result, then move the
    new mask onto the target if Krita's active layer was another one; restore the selection."""
    previous = document.selection()
    before = {node_id(node) for node in _all_nodes(document)}
    _activate(document, inputs.target)
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


def _activate(document, layer) -> None:
    """Make `layer` the active node: Krita 5.1's action sometimes adds nothing while the mask
    of the last run is active (an allowAsChild assertion in Krita's log). Krita applies
    setActiveNode once its event loop has turned."""
    if document.activeNode() is not None and node_id(document.activeNode()) == node_id(layer):
        return
    document.setActiveNode(layer)
    for _ in range(ACTIVATION_EVENT_ROUNDS):
        QApplication.processEvents()


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
