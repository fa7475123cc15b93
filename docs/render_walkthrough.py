"""Render docs/img/walkthrough.png from the example photo, its strokes and the engine's answer.

    .venv/bin/python docs/render_walkthrough.py

Three panels: the photo with positive (green) and negative (red) strokes, the mask, and the
cut-out over a checkerboard.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

import scribbleseg
from scribbleseg.request import decode_request

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
PICTURE = ROOT / "docs" / "img" / "walkthrough.png"
GREEN, RED = np.array([40, 220, 60]), np.array([230, 40, 40])


def main() -> None:
    request = decode_request(**{role: (EXAMPLES / name).read_bytes() for role, name in (
        ("image", "astronaut.png"), ("positive", "astronaut_positive.png"),
        ("negative", "astronaut_negative.png"))})
    photo, positive, negative = request.image, request.positive, request.negative
    alpha = scribbleseg.segment(photo, positive, negative)[:, :, None] / 255.0
    strokes = photo.astype(float)
    strokes[positive], strokes[negative] = GREEN, RED
    checks = ((np.indices(photo.shape[:2]) // 16).sum(axis=0) % 2)[:, :, None]
    board = np.where(checks, 200.0, 255.0)
    gap = np.full((photo.shape[0], 8, 3), 255.0)
    panels = [strokes, gap, np.repeat(alpha * 255, 3, axis=2), gap,
              photo * alpha + board * (1 - alpha)]
    picture = Image.fromarray(np.concatenate(panels, axis=1).round().astype(np.uint8))
    picture = picture.resize((picture.width // 2, picture.height // 2), Image.Resampling.LANCZOS)
    PICTURE.parent.mkdir(parents=True, exist_ok=True)
    picture.save(PICTURE, optimize=True)
    print(PICTURE)


if __name__ == "__main__":
    main()
