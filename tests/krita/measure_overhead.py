"""Measure the Krita plug-in's own overhead on a large document (not a test; run by hand).

    .venv/bin/python tests/krita/measure_overhead.py [SIDE]     (default 4096)

Krita runs on what `build.py install` installs into a temporary HOME (about a minute).
Prints, for each output mode, seconds spent reading the layers, in the engine host round trip
(transfer and engine), and writing the result into the document.
"""

import json
import sys
import tempfile
from pathlib import Path

import krita_session
import numpy as np
from PIL import Image

sys.path.insert(0, str(krita_session.ROOT / "tests"))
from conftest import install  # noqa: E402

BENCHMARKS = krita_session.ROOT.parent / "shared" / "benchmarks" / "grabcut"
CASE = "teddy"


def main() -> int:
    side = int(sys.argv[1]) if len(sys.argv) > 1 else 4096
    with tempfile.TemporaryDirectory(prefix="scribbleseg-krita-overhead-") as folder:
        return measure(Path(folder), side)


def measure(work: Path, side: int) -> int:
    scribbles = np.array(Image.open(BENCHMARKS / "scribbles" / f"{CASE}.png"))
    strokes = {}
    for role, index, bgr in (("positive", 1, (0, 255, 0)), ("negative", 2, (0, 0, 255))):
        pixels = np.zeros(scribbles.shape + (4,), np.uint8)
        pixels[scribbles == index] = (*bgr, 255)
        (work / f"{role}.bgra").write_bytes(pixels.tobytes())
        strokes[role] = str(work / f"{role}.bgra")
    image = next((BENCHMARKS / "images").glob(f"{CASE}.*"))
    (work / "case.json").write_text(json.dumps(
        {"image": str(image), "strokes": [strokes, strokes], "out": str(work), "side": side}))
    env = {"SCRIBBLESEG_KRITA_CASE": str(work / "case.json")}
    installed = install(work / "installed-home")
    display = krita_session.Display()
    try:
        krita_session.install_profile(work / "home", installed)
        code, log = krita_session.run_driver(display, work / "home",
                                             Path(__file__).with_name("drive_overhead.py"), env,
                                             timeout=1800)
    finally:
        display.close()
        krita_session.stop_host(work / "home")
    if code != 0:
        print(log[-3000:])
        return 1
    print((work / "overhead.json").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
