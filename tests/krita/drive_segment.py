"""Driver run inside Krita by the harness (see runner.py): the user's whole workflow.

Reads SCRIBBLESEG_KRITA_CASE (case.json: the photo, stroke layers as raw BGRA files, output
folder), then: opens the photo, adds the scribble layers with the plug-in's action, paints round 1,
runs Segment from Scribbles once for each output mode, paints round 2 (more strokes), runs
Segment with Last Values, tries a run that must fail, and saves .kra and .png. Everything the
test checks goes to results.json and raw files in the output folder. Every wait is a `yield` of
seconds, resumed from Krita's event loop (see the harness).
"""

import json
import os
import time
from collections.abc import Generator
from pathlib import Path

from krita import InfoObject, Krita
from PyQt5.QtCore import QTimer
from PyQt5.QtWidgets import QApplication, QComboBox, QDialog, QMessageBox, QProgressDialog

RUN_TIMEOUT_S = 400


def trigger(extension, action_id: str) -> Generator[float, None, str]:
    """Trigger a plug-in action and wait for its run to end; "" on success, else the message."""
    print(f"driver: trigger {action_id}", flush=True)
    messages = []
    extension.run_finished.connect(messages.append)
    Krita.instance().action(action_id).trigger()
    return (yield from finished(extension, messages))


def finished(extension, messages: list) -> Generator[float, None, str]:
    """Wait until the run reporting into `messages` (connected to run_finished) ends: "" or
    its message ("timeout")."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while not messages and time.monotonic() < deadline:
        yield 0.02
    extension.run_finished.disconnect(messages.append)
    return messages[0] if messages else "timeout"


def layer_tree(document) -> list:
    def describe(node):
        return {"name": node.name(), "type": node.type(), "visible": node.visible(),
                "children": [describe(child) for child in node.childNodes()]}
    return [describe(node) for node in document.topLevelNodes()]


def find(document, name: str, under=None):
    pending = list(under.childNodes() if under is not None else document.topLevelNodes())
    while pending:
        node = pending.pop()
        if node.name() == name:
            return node
        pending.extend(node.childNodes())
    return None


def undo_then_redo(app, document, name: str) -> Generator[float, None, dict]:
    """Whether one Edit > Undo removes the node `name` and Edit > Redo brings it back."""
    seen = {}
    for action in ("edit_undo", "edit_redo"):
        app.action(action).trigger()
        document.waitForDone()
        yield 0.2
        seen[action] = find(document, name) is not None
    return seen


def menu_texts(window) -> list[str]:
    """The texts of Tools > Scripts, as the user sees the menu."""
    for menu_action in window.qwindow().menuBar().actions():
        if menu_action.text().replace("&", "") == "Tools":
            for item in menu_action.menu().actions():
                if item.menu() and item.text().replace("&", "") == "Scripts":
                    return [entry.text().replace("&", "") for entry in item.menu().actions()]
    return []


def main() -> Generator[float, None, int]:
    import scribbleseg_krita
    from scribbleseg_krita.scribbleseg_editor.settings import RunOptions, save_last_options

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
    yield 0.5
    photo = document.topLevelNodes()[0]
    width, height = document.width(), document.height()
    (out / "photo.bgra").write_bytes(bytes(photo.pixelData(0, 0, width, height)))
    results["size"] = [width, height]

    trigger_add = app.action(actions["add_layers"])
    trigger_add.trigger()
    yield 0.3
    trigger_add.trigger()  # a second time adds nothing
    yield 0.3
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
        record(output, (yield from trigger(extension, actions["segment"])))
        if output == "layer_mask":
            mask = find(document, mask_name, under=photo)
            (out / "round1_layer_mask.raw").write_bytes(bytes(mask.pixelData(0, 0, width, height)))
        elif output == "new_layer":
            layer = find(document, cut_out_name)
            (out / "round1_new_layer.bgra").write_bytes(
                bytes(layer.pixelData(0, 0, width, height)))
            results["undo"] = yield from undo_then_redo(app, document, cut_out_name)
        else:
            (out / "round1_selection.raw").write_bytes(
                bytes(document.selection().pixelData(0, 0, width, height)))

    paint(1)
    save_last_options(RunOptions(output="layer_mask"))
    record("again", (yield from trigger(extension, actions["repeat"])))
    mask = find(document, mask_name, under=photo)
    (out / "round2_layer_mask.raw").write_bytes(bytes(mask.pixelData(0, 0, width, height)))

    # A run the engine host refuses (a cloud endpoint nobody listens on) must change nothing.
    before = layer_tree(document)
    save_last_options(RunOptions(output="new_layer", engine="cloud",
                                 endpoint="http://127.0.0.1:9/"))
    record("failing", (yield from trigger(extension, actions["repeat"])))
    results["failed_run_unchanged"] = layer_tree(document) == before

    for node in (positive, negative, find(document, cut_out_name)):
        node.setVisible(False)
    app.action("deselect").trigger()
    document.refreshProjection()
    document.waitForDone()
    results["saved_kra"] = document.saveAs(str(out / "result.kra"))
    results["saved_png"] = document.exportImage(str(out / "result.png"), InfoObject())

    # Negative strokes alone refine the current mask (the engine's rule, as in GIMP). Output
    # to the selection: Krita 5.1's transparency-mask route is flaky when runs repeat (issue 11).
    kept = bytes(positive.pixelData(0, 0, width, height))
    positive.setPixelData(bytes(len(kept)), 0, 0, width, height)
    document.waitForDone()
    save_last_options(RunOptions(output="selection"))
    record("negative_only", (yield from trigger(extension, actions["repeat"])))
    app.action("deselect").trigger()
    positive.setPixelData(kept, 0, 0, width, height)
    document.waitForDone()

    results["interactive"] = yield from run_interactively(app, extension, document)
    results["formats"] = []
    for wanted in FORMAT_CASES:
        results["formats"].append((yield from run_in_format(app, window, extension, case, out,
                                                           *wanted)))
    results["custom_names"] = yield from run_oversized_with_custom_names(app, window, extension)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    return 0


def run_oversized_with_custom_names(app, window, extension) -> Generator[float, None, dict]:
    """Scribble layer names from the settings file (none of them the manifest's): Add Scribble
    Layers twice, a stroke on the new positive layer, then Segment on a 4097 px wide image,
    which must be refused with a message (the driver going on shows Krita survived)."""
    from scribbleseg_krita.scribbleseg_editor import settings

    path = settings.settings_path()
    saved = json.loads(path.read_text())
    path.write_text(json.dumps(dict(saved, layers={"positive": ["Object", "Plus"],
                                                   "negative": "Background strokes"})))
    document = app.createDocument(4097, 64, "oversized", "RGBA", "U8", "", 72.0)
    document.setBatchmode(True)
    window.addView(document)
    yield 0.3
    add = app.action(extension.manifest["actions"]["add_layers"]["krita_action"])
    for _ in range(2):
        add.trigger()
        yield 0.3
    names = [node.name() for node in document.topLevelNodes()]
    find(document, "Object").setPixelData(bytes([0, 255, 0, 255]) * 4097 * 2, 0, 30, 4097, 2)
    document.waitForDone()
    message = yield from trigger(extension,
                                 extension.manifest["actions"]["segment"]["krita_action"])
    path.write_text(json.dumps(saved))
    return {"layers": names, "message": message}


# (colour model, depth, text in the profile's name, output): a linear float profile included.
FORMAT_CASES = [("RGBA", "U16", "sRGB-elle-V2-srgbtrc", "new_layer"),
                ("RGBA", "F32", "sRGB-elle-V2-g10", "layer_mask"),
                ("GRAYA", "U8", "Gray-D50-elle-V2-srgbtrc", "selection")]


def run_in_format(app, window, extension, case, out, model, depth, profile_text,
                  output) -> Generator[float, None, dict]:
    """The photo converted to another colour space, all strokes painted, the Positive layer
    moved by case["offset"] (its pixels pre-shifted back), one run; dumps the result."""
    from scribbleseg_krita.scribbleseg_editor.settings import RunOptions, save_last_options

    document = app.openDocument(case["image"])
    document.setBatchmode(True)
    window.addView(document)
    yield 0.3
    width, height = document.width(), document.height()
    app.action(extension.manifest["actions"]["add_layers"]["krita_action"]).trigger()
    yield 0.3
    positive = find(document, extension.manifest["layers"]["positive"])
    negative = find(document, extension.manifest["layers"]["negative"])
    positive.setPixelData(Path(case["shifted_positive"]).read_bytes(), 0, 0, width, height)
    negative.setPixelData(Path(case["strokes"][1]["negative"]).read_bytes(), 0, 0, width, height)
    positive.move(*case["offset"])
    profile = next(name for name in app.profiles(model, depth) if profile_text in name)
    document.setColorSpace(model, depth, profile)
    document.waitForDone()
    save_last_options(RunOptions(output=output))
    message = yield from trigger(extension,
                                 extension.manifest["actions"]["segment"]["krita_action"])
    photo = document.topLevelNodes()[0]
    name = f"{model}_{depth}"
    (out / f"{name}_photo.raw").write_bytes(bytes(photo.pixelData(0, 0, width, height)))
    if output == "new_layer":
        result = find(document, f"{photo.name()} ({extension.product} cut-out)")
    elif output == "layer_mask":
        result = find(document, f"{extension.product} mask", under=photo)
    else:
        result = document.selection()
    (out / f"{name}_result.raw").write_bytes(bytes(result.pixelData(0, 0, width, height)))
    return {"model": model, "depth": depth, "profile": profile, "output": output,
            "message": message, "document": [document.colorModel(), document.colorDepth()],
            "positive_position": [positive.position().x(), positive.position().y()]}


def run_interactively(app, extension, document) -> Generator[float, None, dict]:
    """Out of batch mode, as a user: the dialog opens (choose "Selection", OK), the run ends;
    then a run that fails shows its reason in a message box."""
    from scribbleseg_krita.scribbleseg_editor.settings import (
        RunOptions,
        last_options,
        save_last_options,
    )

    seen = {"dialog_choices": [], "message_boxes": [], "progress_shown": False}

    def answer() -> None:
        for widget in QApplication.topLevelWidgets():
            if not widget.isVisible():
                continue
            if isinstance(widget, QProgressDialog):
                seen["progress_shown"] = True
            elif isinstance(widget, QMessageBox):
                seen["message_boxes"].append(widget.text())
                widget.accept()
            elif isinstance(widget, QDialog) and widget.findChildren(QComboBox):
                output = widget.findChildren(QComboBox)[0]
                seen["dialog_choices"].append([output.itemData(i) for i in range(output.count())])
                output.setCurrentIndex(output.findData("selection"))
                widget.accept()

    timer = QTimer()
    timer.timeout.connect(answer)
    timer.start(100)
    app.setBatchmode(False)
    actions = {key: spec["krita_action"] for key, spec in extension.manifest["actions"].items()}
    save_last_options(RunOptions(output="layer_mask"))
    seen["dialog_run"] = yield from trigger(extension, actions["segment"])
    seen["saved_output"] = last_options(extension.manifest).output
    seen["has_selection"] = document.selection() is not None
    save_last_options(RunOptions(engine="cloud", endpoint="http://127.0.0.1:9/"))
    seen["failing_run"] = yield from trigger(extension, actions["repeat"])
    yield 0.5
    timer.stop()
    app.setBatchmode(True)
    app.action("deselect").trigger()
    return seen
