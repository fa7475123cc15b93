"""Inputs and expected answers for the GIMP tests, computed outside GIMP (numpy, the CLI)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
from benchmark_data import BENCHMARKS
from PIL import Image

from scribbleseg.bench.cases import Case
from scribbleseg.bench.metrics import binarise
from scribbleseg.bench.robot import next_stroke

GRABCUT = BENCHMARKS / "grabcut"


def load_case(name: str) -> Case:
    image_path = next(GRABCUT.glob(f"images/{name}.*"))
    return Case("grabcut", name, image_path, GRABCUT / "masks" / f"{name}.png",
                GRABCUT / "scribbles" / f"{name}.png")


def crop(plane: np.ndarray, x: int, y: int, width: int, height: int) -> np.ndarray:
    """The width x height window at (x, y) of a plane; 0 where it leaves the plane."""
    window = np.zeros((height, width), plane.dtype)
    left, top = max(x, 0), max(y, 0)
    right, bottom = min(x + width, plane.shape[1]), min(y + height, plane.shape[0])
    if left < right and top < bottom:
        window[top - y:bottom - y, left - x:right - x] = plane[top:bottom, left:right]
    return window


def alpha_plane(plane: np.ndarray) -> np.ndarray:
    """A bool plane as 0/255 alpha, what a painted scribble layer holds."""
    return plane.astype(np.uint8) * 255


def write_plane(path: Path, plane: np.ndarray) -> str:
    """A bool plane as the raw 0/255 bytes the driver paints."""
    path.write_bytes(alpha_plane(plane).tobytes())
    return str(path)


def row_runs(stroke: np.ndarray) -> list[list[float]]:
    """A stroke's pixels as horizontal line segments [x0, y0, x1, y1] for the paintbrush."""
    segments = []
    for y in np.unique(np.nonzero(stroke)[0]):
        row = np.concatenate([[0], stroke[y].astype(np.int8), [0]])
        edges = np.nonzero(np.diff(row))[0]
        for start, end in zip(edges[0::2], edges[1::2], strict=True):
            segments.append([start + 0.5, y + 0.5, end - 0.5, y + 0.5])
    return segments


def read_plane(out: Path, name: str, width: int, height: int) -> np.ndarray:
    return np.fromfile(out / name, np.uint8).reshape(height, width)


def painted_alpha(out: Path, step: dict) -> dict[str, np.ndarray]:
    """Each scribble layer's alpha as painted, in the target layer's frame."""
    width, height = step["canvas"]
    return {role: crop(read_plane(out, name, width, height), *step["before"]["target"])
            for role, name in step["painted"].items()}


class Cli:
    """`scribbleseg segment` on PNG files of the same inputs, the user's other way in; answers
    kept by input, so equal runs are computed once."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.answers: dict[str, np.ndarray] = {}

    def segment(self, rgb: np.ndarray, alpha: dict[str, np.ndarray],
                mask: np.ndarray | None) -> np.ndarray:
        """The mask for a photo, the scribble layers' alpha (a stroke file each) and the
        previous result, soft, as the current mask (or none)."""
        inputs = {"photo": rgb, **alpha, **({"mask": mask} if mask is not None else {})}
        key = hashlib.sha1(b"".join(name.encode() + np.ascontiguousarray(plane).tobytes()
                                    for name, plane in inputs.items())).hexdigest()
        if key not in self.answers:
            folder = self.work / f"cli-{key[:12]}"
            folder.mkdir()
            for name, plane in inputs.items():
                Image.fromarray(plane).save(folder / f"{name}.png")
            command = [sys.executable, "-m", "scribbleseg", "segment", str(folder / "photo.png"),
                       "--return-form", "only_alpha", "-o", str(folder / "result.png")]
            for name in inputs.keys() - {"photo"}:
                command += [f"--{name}", str(folder / f"{name}.png")]
            subprocess.run(command, check=True, capture_output=True, timeout=600)
            with Image.open(folder / "result.png") as result:
                self.answers[key] = np.asarray(result.convert("L"))
        return self.answers[key]


def paint_job(work: Path) -> tuple[dict, dict]:
    """The photo and its strokes: (planes for the first run, the stroke a user adds next). The
    added stroke is the robot's correction of the first result's largest error (the result
    computed by the CLI), so the refining run has something to change."""
    case = load_case("banana1")
    Image.fromarray(case.image()).save(work / "photo.png")
    positive, negative = case.scribbles()
    planes = {"positive": write_plane(work / "positive.raw", positive),
              "negative": write_plane(work / "negative.raw", negative)}
    alpha = {"positive": alpha_plane(positive), "negative": alpha_plane(negative)}
    first = Cli(work).segment(case.image(), alpha, None)
    correction = next_stroke(case.truth(), binarise(first))
    assert correction is not None, "the first result has no error left to correct"
    role = "positive" if correction.positive else "negative"
    return planes, {role: row_runs(correction.pixels)}
