"""Measure the GIMP plug-in's own overhead at 4096x4096 against the engine host's time.

    .venv/bin/python tests/gimp/measure_overhead.py      (as root, GIMP root built)

The plug-in and the engine are installed with `build.py install` into a temporary HOME first
(about a minute). GIMP opens a benchmark photo, the strokes are painted, the image is scaled to
4096x4096 and the procedure runs twice (the second time the host has the prepared image
cached). Then the same request goes to the same host straight from this Python, twice. Plug-in
overhead = GIMP's procedure time minus the direct request's time (reading layers through GEGL,
building planes, writing the layer mask, undo); the driver also times the pixel reads and the
mask write alone.
Prints one JSON object.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import install  # noqa: E402
from test_gimp_plugin import MANIFEST, PROCEDURES, gimp_env, prepare_work  # noqa: E402

from gimp import harness, scenarios  # noqa: E402
from scribbleseg_editor import host, settings  # noqa: E402
from scribbleseg_editor.limits import MARK_THRESHOLD  # noqa: E402

SIDE = 4096


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="scribbleseg-gimp-overhead-") as folder:
        work = Path(folder)
        installed = install(work / "home")
        prepare_work(work, installed)
        case = scenarios.load_case("banana1")
        Image.fromarray(case.image()).save(work / "photo.png")
        positive, negative = case.scribbles()
        planes = {"positive": scenarios.write_plane(work / "positive.raw", positive),
                  "negative": scenarios.write_plane(work / "negative.raw", negative)}
        step = {"procedure": PROCEDURES["segment"], "args": {"output": "layer_mask"}}
        job = {"out": str(work / "out"), "procedures": PROCEDURES,
               "layer_names": MANIFEST["layers"], "scenarios": [
                   {"name": "big", "image": str(work / "photo.png"), "save": False, "steps": [
                       dict(step, planes=planes, scale=[SIDE, SIDE], dump_rgb=True),
                       dict(step, time_io=True)]}]}
        (work / "job.json").write_text(json.dumps(job))
        with harness.engine_host(work / "run", installed.config_dir):
            completed = harness.run_gimp(work, gimp_env(work))
            if "DRIVER-DONE" not in completed.stdout:
                print(completed.stdout[-3000:])
                return 1
            steps = json.loads((work / "out" / "results.json").read_text())["big"]["steps"]
            direct = direct_requests(work / "out", steps[0])
    gimp_seconds = [step["run"]["seconds"] for step in steps]
    print(json.dumps({"side": SIDE, "gimp_procedure_s": gimp_seconds,
                      "direct_request_s": direct,
                      "plugin_overhead_s": gimp_seconds[1] - direct[-1],
                      "gimp_pixel_io_s": steps[1]["before"]["io_seconds"]}, indent=1))
    return 0


def direct_requests(out: Path, step: dict) -> list[float]:
    """The plug-in's request, sent from here: seconds for each of two tries."""
    rgb = scenarios.read_plane(out, step["before"]["rgb"], SIDE * 3, SIDE).tobytes()
    strokes = {role: (scenarios.read_plane(out, name, SIDE, SIDE) >= MARK_THRESHOLD)
               .astype(np.uint8).tobytes() for role, name in step["painted"].items()}
    connection = host.find_host()
    options = settings.default_options(MANIFEST).segment_options()
    seconds = []
    for _ in range(2):
        started = time.perf_counter()
        connection.segment(SIDE, SIDE, rgb, strokes, options)
        seconds.append(time.perf_counter() - started)
    return seconds


if __name__ == "__main__":
    sys.exit(main())
