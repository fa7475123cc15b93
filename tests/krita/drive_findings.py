"""Driver run inside Krita (tests/test_krita_findings.py): what a user does and sees around a run.

Reads SCRIBBLESEG_KRITA_CASE (case.json: the photo, stroke rounds as raw BGRA files, output
folder, the scenarios to run, in order) and runs each scenario on documents of its own:
  undo        for each output: run, one Edit > Undo, run again, more strokes, a run with
              last values, one Edit > Undo; a fingerprint of the document (every node's
              pixels, masks, the selection) before and after each step
  cut_out     cut-out, then a run with last values and only negative strokes: one cut-out,
              refined from the first
  binding     for each output: start a run on document A, switch to document B while the
              engine works; both fingerprints after
  repeats     runs with last values, several, with other documents open, the new mask active
  moved       the photo layer moved partly off the canvas, one run for two outputs
  engine      a missing, a broken and a hanging engine interpreter (progress texts, messages)
  oversized   a 4097 x 512 document: the run is refused and Krita still answers
results.json is rewritten before each run, so a crash or a hang leaves what came before.
Every wait is a `yield` of seconds, resumed from Krita's event loop (see the harness).
"""

import faulthandler
import hashlib
import json
import os
import time
import traceback
from collections.abc import Generator, Iterator
from pathlib import Path

from drive_segment import find, finished, trigger
from krita import Krita
from PyQt5.QtWidgets import QApplication, QMessageBox, QProgressDialog

CASE = json.loads(Path(os.environ["SCRIBBLESEG_KRITA_CASE"]).read_text())
OUT = Path(CASE["out"])
OUTPUTS = ("layer_mask", "new_layer", "selection")
APP = Krita.instance()
RESULTS = {}  # written to results.json after every run: a crash or a hang leaves what came before


def save() -> None:
    (OUT / "results.json").write_text(json.dumps(RESULTS, indent=1))


def run(key: str) -> Generator[float, None, str]:
    """Trigger a plug-in action ("segment", "repeat") and wait for its end: "" or the message."""
    save()
    return (yield from trigger(extension(), action(key)))


def extension():
    import scribbleseg_krita

    return scribbleseg_krita.EXTENSION


def action(key: str) -> str:
    return extension().manifest["actions"][key]["krita_action"]


def set_output(output: str, **options) -> None:
    from scribbleseg_krita.scribbleseg_editor.settings import RunOptions, save_last_options

    save_last_options(RunOptions(output=output, **options))


def digest(data) -> str:
    return hashlib.sha1(bytes(data)).hexdigest()


def fingerprint(document) -> dict:
    """What the user can see in the document: each node (name, type, visibility, opacity,
    position, extent, pixels over its extent) in stack order, and the selection."""
    document.waitForDone()

    def describe(node) -> list:
        bounds = node.bounds()
        box = [bounds.x(), bounds.y(), bounds.width(), bounds.height()]
        pixels = digest(node.pixelData(*box)) if box[2] and box[3] else ""
        return [node.name(), node.type(), node.visible(), node.opacity(),
                [node.position().x(), node.position().y()], box, pixels,
                [describe(child) for child in node.childNodes()]]

    selection = document.selection()
    if selection is not None:
        width, height = document.width(), document.height()
        selection = [selection.x(), selection.y(), selection.width(), selection.height(),
                     digest(selection.pixelData(0, 0, width, height))]
    return {"nodes": [describe(node) for node in document.topLevelNodes()],
            "selection": selection}


def open_photo(layers: bool = True) -> Generator[float, None, object]:
    """The photo in a new view, with the scribble layers added by the plug-in (Positive active)."""
    document = APP.openDocument(CASE["image"])
    document.setBatchmode(True)
    APP.activeWindow().addView(document)
    yield 0.3
    if layers:
        APP.action(action("add_layers")).trigger()
        yield 0.3
    return document


def activate(document) -> Iterator[float]:
    """Bring the document's view to the front, as clicking its tab does (Window.showView alone
    leaves the active document as it was)."""
    view = next(view for view in APP.activeWindow().views() if view.document() == document)
    view.setVisible()
    yield 0.2


def scribble(document, role: str):
    return find(document, extension().manifest["layers"][role])


def paint(document, round_index: int, x: int = 0, y: int = 0) -> None:
    """The round's strokes on the scribble layers (whole-image planes), placed at (x, y)."""
    width, height = document.width(), document.height()
    for role in ("positive", "negative"):
        layer = scribble(document, role)
        if layer is not None:  # an undo that went too far may have removed it
            data = Path(CASE["strokes"][round_index][role]).read_bytes()
            layer.setPixelData(data, x, y, width, height)
    document.waitForDone()


def undo(document) -> Iterator[float]:
    """Edit > Undo once, as Ctrl+Z does."""
    APP.action("edit_undo").trigger()
    document.waitForDone()
    yield 0.3
    save()


# Documents stay open: Document.close() hangs Krita 5.2 in batch mode after a run.


def photo_of(document):
    return document.topLevelNodes()[0]


def cut_outs(document) -> list:
    """The cut-out layers, top to bottom: [name, their index in the stack from the top]."""
    nodes = list(reversed(document.topLevelNodes()))
    return [[node.name(), index] for index, node in enumerate(nodes)
            if "cut-out" in node.name()]


def dump_alpha(name: str, node, box: tuple[int, int, int, int]) -> str:
    """A node's coverage over box: the alpha of a paint layer, the bytes of a mask (None:
    no node)."""
    if node is None:
        return None
    data = bytes(node.pixelData(*box))
    if node.type() == "paintlayer":
        data = data[3::4]
    (OUT / name).write_bytes(data)
    return name


def top_cut_out(document):
    for node in reversed(document.topLevelNodes()):
        if "cut-out" in node.name():
            return node
    return None


# --- scenarios ------------------------------------------------------------------------------

def scenario_undo(seen: dict) -> Iterator[float]:
    for output in OUTPUTS:
        document = yield from open_photo()
        paint(document, 0)
        set_output(output)
        seen[output] = steps = {"before_first": fingerprint(document)}
        steps["first_message"] = yield from run("segment")
        steps["after_first"] = fingerprint(document)
        yield from undo(document)
        steps["undone_first"] = fingerprint(document)
        steps["second_message"] = yield from run("segment")
        paint(document, 1)
        steps["before_again"] = fingerprint(document)
        steps["again_message"] = yield from run("repeat")
        steps["after_again"] = fingerprint(document)
        yield from undo(document)
        steps["undone_again"] = fingerprint(document)


def scenario_cut_out(seen: dict) -> Iterator[float]:
    """Cut-out, then a run with last values, the positive strokes erased, more negative ones:
    only the previous cut-out, as the current mask, leaves something to select."""
    document = yield from open_photo()
    size = (0, 0, document.width(), document.height())
    paint(document, 0)
    set_output("new_layer")
    seen["first_message"] = yield from run("segment")
    seen["first"] = dump_alpha("cut_out_1.raw", top_cut_out(document), size)
    paint(document, 2)
    seen["again_message"] = yield from run("repeat")
    seen["again"] = dump_alpha("cut_out_2.raw", top_cut_out(document), size)
    stack = [node.name() for node in reversed(document.topLevelNodes())]
    seen["stack"] = stack
    seen["cut_outs"] = cut_outs(document)
    seen["target_index"] = stack.index(photo_of(document).name())


def scenario_binding(seen: dict) -> Iterator[float]:
    for output in OUTPUTS:
        first = yield from open_photo()
        paint(first, 0)
        other = yield from open_photo()
        paint(other, 0)
        yield from activate(first)
        seen[output] = {"started_on_first": APP.activeDocument() == first}
        set_output(output)
        first_before, other_before = fingerprint(first), fingerprint(other)
        messages = []
        extension().run_finished.connect(messages.append)
        APP.action(action("segment")).trigger()
        yield from activate(other)  # the user looks at another image while the engine works
        seen[output]["switched"] = APP.activeDocument() == other
        switched_while_running = not messages
        message = yield from finished(extension(), messages)
        seen[output].update({
            "message": message,
            "switched_while_running": switched_while_running,
            "first_changed": fingerprint(first) != first_before,
            "first_has_result": has_result(first, output),
            "other_before": other_before, "other_after": fingerprint(other)})


def has_result(document, output: str) -> bool:
    if output == "layer_mask":
        return any(child.type() == "transparencymask"
                   for child in photo_of(document).childNodes())
    if output == "new_layer":
        return top_cut_out(document) is not None
    return document.selection() is not None


def scenario_repeats(seen: dict) -> Iterator[float]:
    for _ in range(2):
        yield from open_photo(layers=False)  # other documents open
    document = yield from open_photo()
    paint(document, 0)
    set_output("layer_mask")
    seen["messages"] = messages = [(yield from run("segment"))]
    paint(document, 1)
    for _ in range(CASE["repeats"]):
        messages.append((yield from run("repeat")))
    seen["photo_children"] = [child.name() for child in photo_of(document).childNodes()]


def scenario_moved(seen: dict) -> Iterator[float]:
    """The photo moved by `offset`, partly off the canvas; the strokes painted where the moved
    photo shows them. The result is read in the layer's own frame."""
    dx, dy = CASE["offset"]
    for output in ("layer_mask", "new_layer"):
        document = yield from open_photo()
        width, height = document.width(), document.height()
        photo = photo_of(document)
        photo.move(dx, dy)
        paint(document, 0, dx, dy)
        set_output(output)
        message = yield from run("segment")
        if output == "layer_mask":
            result = next((child for child in photo.childNodes()
                           if child.type() == "transparencymask"), None)
        else:
            result = top_cut_out(document)
        frame = (dx, dy, width, height)
        seen[output] = {"message": message, "position": [photo.position().x(),
                                                         photo.position().y()],
                        "result": dump_alpha(f"moved_{output}.raw", result, frame)}


def watch_messages(seen: dict):
    """Record progress texts (with the time seen) and accept message boxes (their text)."""
    started = time.monotonic()

    def look() -> None:
        for widget in QApplication.topLevelWidgets():
            if not widget.isVisible():
                continue
            if isinstance(widget, QProgressDialog):
                text = widget.labelText()
                if not seen["progress"] or seen["progress"][-1][1] != text:
                    seen["progress"].append([round(time.monotonic() - started, 2), text])
            elif isinstance(widget, QMessageBox):
                seen["boxes"].append(widget.text())
                widget.accept()
    return look


def scenario_engine(seen: dict) -> Iterator[float]:
    """Each broken engine on a fresh runtime folder (no host running there), out of batch
    mode, as a user sees it."""
    from PyQt5.QtCore import QTimer

    document = yield from open_photo()
    paint(document, 0)
    set_output("layer_mask")
    before = fingerprint(document)
    saved = {name: os.environ.get(name) for name in ("SCRIBBLESEG_PYTHON",
                                                     "SCRIBBLESEG_RUNTIME_DIR")}
    APP.setBatchmode(False)
    try:
        for name, python in CASE["engines"].items():
            os.environ["SCRIBBLESEG_PYTHON"] = python
            os.environ["SCRIBBLESEG_RUNTIME_DIR"] = str(OUT / f"run-{name}")
            seen[name] = record = {"progress": [], "boxes": []}
            timer = QTimer()
            timer.timeout.connect(watch_messages(record))
            timer.start(100)
            started = time.monotonic()
            record["message"] = yield from run("repeat")
            record["seconds"] = round(time.monotonic() - started, 2)
            yield 0.5
            timer.stop()
            record["unchanged"] = fingerprint(document) == before
    finally:
        APP.setBatchmode(True)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def scenario_oversized(seen: dict) -> Iterator[float]:
    width, height = CASE["oversized"]
    document = APP.createDocument(width, height, "oversized", "RGBA", "U8", "", 72.0)
    document.setBatchmode(True)
    APP.activeWindow().addView(document)
    yield 0.3
    APP.action(action("add_layers")).trigger()
    yield 0.3
    block = bytes([0, 255, 0, 255]) * (64 * 64)
    scribble(document, "positive").setPixelData(block, 100, 100, 64, 64)
    document.waitForDone()
    set_output("layer_mask")
    seen["message"] = yield from run("segment")
    yield 1.0
    seen["alive"] = APP.activeDocument() is not None


SCENARIOS = {"undo": scenario_undo, "cut_out": scenario_cut_out, "binding": scenario_binding,
             "repeats": scenario_repeats, "moved": scenario_moved, "engine": scenario_engine,
             "oversized": scenario_oversized}


def main() -> Generator[float, None, int]:
    faulthandler.dump_traceback_later(240, repeat=True)  # where a hung run waits, in the log
    APP.setBatchmode(True)
    RESULTS["krita_version"] = APP.version()
    document = yield from open_photo(layers=False)
    RESULTS["size"] = size = [document.width(), document.height()]
    (OUT / "photo.bgra").write_bytes(bytes(photo_of(document).pixelData(0, 0, *size)))
    for name in CASE["scenarios"]:
        print(f"driver: scenario {name}", flush=True)
        RESULTS[name] = {}
        try:
            yield from SCENARIOS[name](RESULTS[name])
        except Exception:  # the next scenarios still run; the test shows this one's error
            RESULTS[name]["error"] = traceback.format_exc()
            print(RESULTS[name]["error"], flush=True)
        save()
    return 0
