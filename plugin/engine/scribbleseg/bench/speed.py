"""Speed on upscaled copies of benchmark cases, and peak memory measured in a fresh process.

Peak memory: the engine replays one robot session in a new Python process (`python -m
scribbleseg.bench.memory`, Linux), which reports its peak resident set size during the engine
calls and how far that rose above the resident size just before the first call (interpreter,
numpy, the subject model and the inputs already loaded).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from scribbleseg.bench.sessions import EngineSettings, RobotSession


def upscale(image: np.ndarray, truth: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """The case stretched to side x side: bilinear image, nearest-neighbour truth."""
    size = (side, side)
    big_image = Image.fromarray(image).resize(size, Image.Resampling.BILINEAR)
    big_truth = Image.fromarray(truth).resize(size, Image.Resampling.NEAREST)
    return np.asarray(big_image), np.asarray(big_truth)


def write_replay(
    folder: Path, image: np.ndarray, session: RobotSession, settings: EngineSettings
) -> None:
    """Save what `scribbleseg.bench.memory` needs to repeat the session's engine calls."""
    added = {True: [], False: []}
    for strokes in session.strokes:
        for positive in (True, False):
            pixels = np.zeros(image.shape[:2], dtype=bool)
            for stroke in strokes:
                if stroke.positive == positive:
                    pixels |= stroke.pixels
            added[positive].append(np.packbits(pixels, axis=-1))
    np.savez(
        folder / "replay.npz",
        image=image,
        positive=np.stack(added[True]),
        negative=np.stack(added[False]),
    )
    options = {
        "prior": settings.prior_model is not None,
        "scribble_model": settings.scribble_model is not None,
        "postprocess": settings.postprocess,
        "feather": settings.feather,
    }
    (folder / "settings.json").write_text(json.dumps(options))


def peak_memory(image: np.ndarray, session: RobotSession, settings: EngineSettings) -> dict:
    """Replay the session's engine calls in a fresh process and return its memory report."""
    with tempfile.TemporaryDirectory(prefix="scribbleseg-bench-") as folder:
        write_replay(Path(folder), image, session, settings)
        completed = subprocess.run(
            [sys.executable, "-m", "scribbleseg.bench.memory", folder],
            capture_output=True,
            text=True,
            check=False,
        )
    if completed.returncode != 0:
        raise RuntimeError(f"the memory run failed:\n{completed.stderr.strip()}")
    return json.loads(completed.stdout)
