"""Driver run inside Krita by the harness: one Segment from Scribbles on the example photo, as a
user whose engine may not be installed yet (tests/test_krita_first_run.py).

Reads SCRIBBLESEG_FIRST_RUN_CASE (case.json: the photo, the strokes as raw BGRA files, the output
folder). Batch mode, output "selection"; SCRIBBLESEG_AUTO_INSTALL=1 (set by the test) answers the
install offer. Writes results.json (the run's message, seconds, the install's seconds) and the
selection as raw bytes.
"""

import json
import os
import time
from pathlib import Path

from krita import Krita
from PyQt5.QtCore import QCoreApplication

RUN_TIMEOUT_S = 900


def pump(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QCoreApplication.processEvents()
        time.sleep(0.01)


def trigger(extension, action_id: str) -> str:
    """Trigger a plug-in action and wait for its run to end; "" on success, else the message."""
    messages = []
    extension.run_finished.connect(messages.append)
    Krita.instance().action(action_id).trigger()
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while not messages and time.monotonic() < deadline:
        pump(0.05)
    extension.run_finished.disconnect(messages.append)
    return messages[0] if messages else "timeout"


def find(document, name: str):
    return next(node for node in document.topLevelNodes() if node.name() == name)


def main() -> int:
    import scribbleseg_krita
    from scribbleseg_krita.scribbleseg_editor.settings import RunOptions, save_last_options

    case = json.loads(Path(os.environ["SCRIBBLESEG_FIRST_RUN_CASE"]).read_text())
    out = Path(case["out"])
    app = Krita.instance()
    app.setBatchmode(True)
    extension = scribbleseg_krita.EXTENSION
    actions = {key: spec["krita_action"] for key, spec in extension.manifest["actions"].items()}
    document = app.openDocument(case["image"])
    document.setBatchmode(True)
    app.activeWindow().addView(document)
    pump(0.5)
    width, height = document.width(), document.height()
    app.action(actions["add_layers"]).trigger()
    pump(0.3)
    for role in ("positive", "negative"):
        layer = find(document, extension.manifest["layers"][role])
        layer.setPixelData(Path(case[role]).read_bytes(), 0, 0, width, height)
    document.waitForDone()

    save_last_options(RunOptions(output="selection"))
    started = time.monotonic()
    message = trigger(extension, actions["segment"])
    seconds = time.monotonic() - started
    selection = document.selection()
    if selection is not None:
        (out / "selection.raw").write_bytes(bytes(selection.pixelData(0, 0, width, height)))
    results = {"message": message, "seconds": seconds, "size": [width, height],
               "install_seconds": extension.engine_setup.last_install_seconds,
               "timings": dict(extension.last_timings)}
    (out / "results.json").write_text(json.dumps(results, indent=1))
    return 0
