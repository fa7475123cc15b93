"""Driver run inside Krita by measure_overhead.py: the plug-in's own time on a large document.

Opens the photo, paints the strokes, scales the document (strokes included) to the size in
case.json, runs each output mode and writes the plug-in's timings (reading the layers, the
engine host round trip, writing the result) to overhead.json. Waits are yields (see
the harness).
"""

import json
import os
import time
from collections.abc import Generator
from pathlib import Path

from drive_segment import trigger
from krita import Krita


def main() -> Generator[float, None, int]:
    import scribbleseg_krita
    from scribbleseg_krita.scribbleseg_editor.settings import RunOptions, save_last_options

    case = json.loads(Path(os.environ["SCRIBBLESEG_KRITA_CASE"]).read_text())
    app = Krita.instance()
    app.setBatchmode(True)
    extension = scribbleseg_krita.EXTENSION
    actions = {key: spec["krita_action"] for key, spec in extension.manifest["actions"].items()}
    document = app.openDocument(case["image"])
    document.setBatchmode(True)
    app.activeWindow().addView(document)
    yield 0.3
    width, height = document.width(), document.height()
    app.action(actions["add_layers"]).trigger()
    yield 0.3
    for role in ("positive", "negative"):
        name = extension.manifest["layers"][role]
        layer = next(node for node in document.topLevelNodes() if node.name() == name)
        layer.setPixelData(Path(case["strokes"][1][role]).read_bytes(), 0, 0, width, height)
    side = case["side"]
    document.scaleImage(side, side, int(document.xRes()), int(document.yRes()), "Bilinear")
    document.waitForDone()
    runs = []
    for output in ("layer_mask", "new_layer", "selection"):
        save_last_options(RunOptions(output=output))
        started = time.perf_counter()
        message = yield from trigger(extension, actions["segment"])
        runs.append({"output": output, "message": message,
                     "total": time.perf_counter() - started, **extension.last_timings})
    Path(case["out"], "overhead.json").write_text(json.dumps(
        {"size": [document.width(), document.height()], "runs": runs}, indent=1))
    return 0
