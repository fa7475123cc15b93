"""Driver run inside Krita by the harness (see runner.py): the user's whole workflow.

Reads SCRIBBLESEG_KRITA_CASE (case.json: the photo, stroke layers as raw BGRA files, output
folder), then: opens the photo, adds the scribble layers with the plug-in's action, paints round 1,
runs Segment from Scribbles once for each output mode, paints round 2 (more strokes), runs
Segment again, tries a run that must fail, and saves .kra and .png. Everything the test checks
goes to results.json and raw files in the output folder.
"""

import json
import os
import time
from pathlib import Path

from krita import InfoObject, Krita
from PyQt5.QtCore import QCoreApplication

RUN_TIMEOUT_S = 400


def pump(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QCoreApplication.processEvents()
        time.sleep(0.01)


def trigger(extension, action_id: str) -> str:
    """Trigger a plug-in action and wait for its run to end; "" on success, else the message."""
    print(f"driver: trigger {action_id}", flush=True)
    messages = []
    extension.run_finished.connect(messages.append)
    Krita.instance().action(action_id).trigger()
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while not messages and time.monotonic() < deadline:
        pump(0.02)
    extension.run_finished.disconnect(messages.append)
    return messages[0] if messages else "timeout"


def layer_tree(document) -> list:
    def describe(node):
        return {"name": node.name(), "type": node.type(), "visible": node.visible(),
                "children": [describe(child) for child in node.childNodes()]}
    return [describe(node) for node in document.topLevelNodes()]


def find(document, name: str):
    pending = list(document.topLevelNodes())
    while pending:
        node = pending.pop()
        if node.name() == name:
            return node
        pending.extend(node.childNodes())
    return None


def menu_texts(window) -> list[str]:
    """The texts of Tools > Scripts, as the user sees the menu."""
    for menu_action in window.qwindow().menuBar().actions():
        if menu_action.text().replace("&", "") == "Tools":
            for item in menu_action.menu().actions():
                if item.menu() and item.text().replace("&", "") == "Scripts":
                    return [entry.text().replace("&", "") for entry in item.menu().actions()]
    return []


def main() -> int:
    import scribbleseg_krita
    from scribbleseg_editor.settings import RunOptions, save_last_options

    case = json.loads(Path(os.environ["SCRIBBLESEG_KRITA_CASE"]).read_text())
    out = Path(case["out"])
    app = Krita.instance()
    app.setBatchmode(True)
    extension = scribbleseg_krita.EXTENSION
    manifest = extension.manifest
    actions = {key: spec["krita_action"] for key, spec in manifest["actions"].items()}
    window = app.activeWindow()
    results = {"krita_version": app.version(), "runs": [],
               "shortcuts": {key: app.action(action).shortcut().toString()
                             for key, action in actions.items()},
               "menu": menu_texts(window)}

    document = app.openDocument(case["image"])
    document.setBatchmode(True)
    window.addView(document)
    pump(0.5)
    photo = document.topLevelNodes()[0]
    width, height = document.width(), document.height()
    (out / "photo.bgra").write_bytes(bytes(photo.pixelData(0, 0, width, height)))
    results["size"] = [width, height]

    trigger_add = app.action(actions["add_layers"])
    trigger_add.trigger()
    pump(0.3)
    trigger_add.trigger()  # a second time adds nothing
    pump(0.3)
    results["after_add_layers"] = layer_tree(document)
    positive = find(document, manifest["layers"]["positive"])
    negative = find(document, manifest["layers"]["negative"])

    def paint(round_index: int) -> None:
        strokes = case["strokes"][round_index]
        positive.setPixelData(Path(strokes["positive"]).read_bytes(), 0, 0, width, height)
        negative.setPixelData(Path(strokes["negative"]).read_bytes(), 0, 0, width, height)
        document.waitForDone()

    def record(label: str, message: str) -> None:
        results["runs"].append({"label": label, "message": message,
                                "timings": dict(extension.last_timings),
                                "layers": layer_tree(document)})

    paint(0)
    mask_name = f"{extension.product} mask"
    cut_out_name = f"{photo.name()} ({extension.product} cut-out)"
    for output in ("layer_mask", "new_layer", "selection"):
        save_last_options(RunOptions(output=output))
        record(output, trigger(extension, actions["segment"]))
        if output == "layer_mask":
            mask = find(document, mask_name)
            (out / "round1_layer_mask.raw").write_bytes(bytes(mask.pixelData(0, 0, width, height)))
        elif output == "new_layer":
            layer = find(document, cut_out_name)
            (out / "round1_new_layer.bgra").write_bytes(
                bytes(layer.pixelData(0, 0, width, height)))
        else:
            (out / "round1_selection.raw").write_bytes(
                bytes(document.selection().pixelData(0, 0, width, height)))

    paint(1)
    save_last_options(RunOptions(output="layer_mask"))
    record("again", trigger(extension, actions["repeat"]))
    mask = find(document, mask_name)
    (out / "round2_layer_mask.raw").write_bytes(bytes(mask.pixelData(0, 0, width, height)))

    # A run the engine host refuses (a cloud endpoint nobody listens on) must change nothing.
    before = layer_tree(document)
    save_last_options(RunOptions(output="new_layer", engine="cloud",
                                 endpoint="http://127.0.0.1:9/"))
    record("failing", trigger(extension, actions["repeat"]))
    results["failed_run_unchanged"] = layer_tree(document) == before

    for node in (positive, negative, find(document, cut_out_name)):
        node.setVisible(False)
    app.action("deselect").trigger()
    document.refreshProjection()
    document.waitForDone()
    results["saved_kra"] = document.saveAs(str(out / "result.kra"))
    results["saved_png"] = document.exportImage(str(out / "result.png"), InfoObject())
    (out / "results.json").write_text(json.dumps(results, indent=1))
    return 0
