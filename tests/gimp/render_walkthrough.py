"""Render docs/img/gimp-walkthrough.png from a GIMP test run's files (strokes, result PNG).

    .venv/bin/python -m pytest tests/test_gimp_plugin.py --basetemp=/tmp/gimp-run
    .venv/bin/python tests/gimp/render_walkthrough.py /tmp/gimp-run/gimp0/out

Three panels: the photo with the strokes painted on Positive (green) and Negative (red), the
layer mask GIMP wrote, and the cut-out over a checkerboard; at half size.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

DOCS_IMAGE = Path(__file__).resolve().parents[2] / "docs" / "img" / "gimp-walkthrough.png"
GREEN, RED = np.array([40, 220, 60]), np.array([230, 40, 40])


def main(out: Path) -> int:
    step = json.loads((out / "results.json").read_text())["layer_mask"]["steps"][-1]
    width, height = step["canvas"]
    photo = np.asarray(Image.open(out.parent / "photo.png").convert("RGB")).astype(float)

    def plane(name: str) -> np.ndarray:
        return np.fromfile(out / name, np.uint8).reshape(height, width)

    strokes = photo.copy()
    for role, colour in (("positive", GREEN), ("negative", RED)):
        strokes[plane(step["painted"][role]) >= 128] = colour
    alpha = plane(step["after"]["layer_mask"]).astype(float)[:, :, None] / 255
    checks = ((np.indices((height, width)) // 16).sum(axis=0) % 2)[:, :, None]
    board = np.where(checks, 200.0, 255.0)
    panels = [strokes, np.repeat(alpha * 255, 3, axis=2), photo * alpha + board * (1 - alpha)]
    gap = np.full((height, 8, 3), 255.0)
    picture = np.concatenate([panels[0], gap, panels[1], gap, panels[2]], axis=1)
    DOCS_IMAGE.parent.mkdir(parents=True, exist_ok=True)
    rendered = Image.fromarray(picture.round().astype(np.uint8))
    rendered = rendered.resize((rendered.width // 2, rendered.height // 2), Image.LANCZOS)
    rendered.save(DOCS_IMAGE, optimize=True)
    print(DOCS_IMAGE)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
