"""Write a run's alpha into the document as new nodes, never into the user's own layers: a
transparency mask on the target, a cut-out layer above it, or the selection.

Krita's scripting API cannot group undo steps, and its pixel and selection writes make none. So
a result that replaces an earlier one (a refining run) goes through Krita's own undoable
actions: the earlier node carries the new pixels while Krita's Convert copies it into a new
node, then gets its own pixels back, so one Edit > Undo restores it exactly. Those actions
work on the active node; where Krita does not let the plug-in activate it, the result still
replaces the earlier one, in two undo steps.
"""

from __future__ import annotations

from pathlib import Path

from krita import Krita, Selection
from PyQt5.QtWidgets import QApplication

from .document import (
    TRANSPARENCY_MASK,
    RunInputs,
    cut_out_name,
    cut_out_of,
    node_id,
    transparency_mask_of,
)
from .scribbleseg_editor.errors import ScribbleSegError

OUTPUT_LAYER_MASK = "layer_mask"
OUTPUT_NEW_LAYER = "new_layer"
OUTPUT_SELECTION = "selection"
CUT_OUT_OUTPUTS = (OUTPUT_NEW_LAYER, OUTPUT_SELECTION)  # the worker builds their cut-out
# Krita 5.1 has no createTransparencyMask; its own "Add Transparency Mask" action adds one to
# the active layer, undoably (opaque when there is no selection).
ADD_TRANSPARENCY_MASK_ACTION = "add_new_transparency_mask"
ACTIVATION_EVENT_ROUNDS = 5  # event loop turns for setActiveNode to take effect
SELECT_OPAQUE_ACTION = "selectopaque"  # the active layer's alpha as the selection, undoable
ADD_PAINT_LAYER_ACTION = "add_new_paint_layer"  # above the active node, undoable
# Each replaces the active node by a new node of that kind copied from it, in one undo step.
CONVERT_TO_TRANSPARENCY_MASK_ACTION = "convert_to_transparency_mask"
CONVERT_TO_PAINT_LAYER_ACTION = "convert_to_paint_layer"


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


def selection_from(alpha: bytes, inputs: RunInputs) -> Selection:
    """The alpha as a selection over the target's frame (image coordinates)."""
    selection = Selection()
    selection.setPixelData(alpha, *inputs.box)
    return selection


def replace_selection(document, inputs: RunInputs, alpha: bytes, cut_out: bytes) -> None:
    """The result as the selection, in one undo step. Krita's scripting sets the selection with
    no undo step, but Krita's own Select Opaque makes one: the target carries its cut-out (the
    result as its alpha) for that moment, then gets its own pixels back."""
    if not _through_action(document, inputs.target, cut_out, inputs.box, SELECT_OPAQUE_ACTION):
        document.setSelection(selection_from(alpha, inputs))  # no undo step


def add_cut_out_layer(document, inputs: RunInputs, pixels: bytes, name: str, product: str) -> None:
    """A paint layer holding the cut-out's pixels: in place of the target's newest cut-out
    (which it refines), else right above the target, through Krita's Insert Paint Layer so
    that Krita may make it the active layer, which a later Convert needs."""
    box = inputs.box
    previous = cut_out_of(document, inputs.target, product)
    if previous is not None:
        if not _converted(document, previous, pixels, box, CONVERT_TO_PAINT_LAYER_ACTION):
            _add_layer(document, inputs.target, pixels, box, name, above=previous)
            _remove(document, previous)
        return
    before = _node_ids(document)
    if _activate(document, inputs.target):
        Krita.instance().action(ADD_PAINT_LAYER_ACTION).trigger()
        document.waitForDone()
        added = next(iter(_new_nodes(document, before)), None)
        if added is not None:  # undoing the addition removes the layer with its pixels
            added.setPixelData(pixels, *box)
            added.setName(name)
            document.waitForDone()
            return
    _add_layer(document, inputs.target, pixels, box, name, above=inputs.target)


def _add_layer(document, target, pixels: bytes, box: tuple, name: str, above) -> None:
    layer = document.createNode(name, "paintlayer")
    layer.setPixelData(pixels, *box)
    target.parentNode().addChildNode(layer, above)


def replace_transparency_mask(document, inputs: RunInputs, alpha: bytes, name: str) -> None:
    """A new transparency mask on the target in place of the one sent as the current mask."""
    if not hasattr(document, "createTransparencyMask"):
        _check_in_front(document)
    if inputs.current_mask is not None:
        if _converted(document, inputs.current_mask, alpha, inputs.box,
                      CONVERT_TO_TRANSPARENCY_MASK_ACTION):
            transparency_mask_of(inputs.target).setName(name)
            return
        _remove(document, inputs.current_mask)
    if hasattr(document, "createTransparencyMask"):  # Krita 5.2 and later
        mask = document.createTransparencyMask(name)
        mask.setSelection(selection_from(alpha, inputs))
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
    """Krita 5.1: "Add Transparency Mask" with no selection (so that undoing it brings no
    selection back), the result written into the new mask, moved onto the target if Krita's
    active layer was another one; the user's selection restored."""
    previous = document.selection()
    before = _node_ids(document)
    # The action sometimes adds nothing while the mask of the last run is active (an
    # allowAsChild assertion in Krita's log); where activation fails the mask is moved below.
    _activate(document, inputs.target)
    document.setSelection(None)  # neither this nor the restore below makes an undo step
    Krita.instance().action(ADD_TRANSPARENCY_MASK_ACTION).trigger()
    document.waitForDone()
    created = [node for node in _new_nodes(document, before) if node.type() == TRANSPARENCY_MASK]
    document.setSelection(previous)
    if not created:
        raise ScribbleSegError("OutputFailed", "Krita did not add the transparency mask. "
                               "Select a paint layer and run again.")
    mask = created[0]
    if node_id(mask.parentNode()) != node_id(inputs.target):
        _remove(document, mask)
        inputs.target.addChildNode(mask, None)
    mask.setPixelData(alpha, *inputs.box)  # undoing the addition removes the mask whole
    document.waitForDone()
    return mask


def _through_action(document, carrier, pixels: bytes, box: tuple, action: str) -> bool:
    """Trigger Krita's `action` on `carrier` while it holds `pixels` over `box`, then give
    `carrier` its own pixels back (it may have left the document: Convert keeps it for undo).
    False, with nothing changed, when `carrier` cannot be the active node of the front image."""
    if not _activate(document, carrier):
        return False
    saved = bytes(carrier.pixelData(*box))
    carrier.setPixelData(pixels, *box)
    try:
        Krita.instance().action(action).trigger()
        document.waitForDone()
    finally:
        carrier.setPixelData(saved, *box)
        document.waitForDone()
    return True


def _converted(document, node, pixels: bytes, box: tuple, action: str) -> bool:
    """Whether Krita's Convert `action` replaced `node` by a copy holding `pixels`."""
    return (_through_action(document, node, pixels, box, action)
            and node_id(node) not in _node_ids(document))


def _activate(document, node) -> bool:
    """Make `node` the active node; whether it is. Krita applies setActiveNode once its event
    loop has turned, and only in the image in front."""
    if _is_active(document, node):
        return True
    document.setActiveNode(node)
    for _ in range(ACTIVATION_EVENT_ROUNDS):
        QApplication.processEvents()
    return _is_active(document, node)


def _is_active(document, node) -> bool:
    active = document.activeNode()
    return (Krita.instance().activeDocument() == document and active is not None
            and node_id(active) == node_id(node))


def _node_ids(document) -> set[str]:
    return {node_id(node) for node in _all_nodes(document)}


def _new_nodes(document, before: set[str]) -> list:
    """The nodes an action just added: those whose ids are not among `before`."""
    return [node for node in _all_nodes(document) if node_id(node) not in before]



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
