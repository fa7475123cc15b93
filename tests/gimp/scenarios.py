"""Inputs and expected answers for the GIMP tests, computed outside GIMP with numpy."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

import scribbleseg
import scribbleseg.engine.pipeline  # noqa: F401  (load the engine now, when the host does)
from scribbleseg.bench.cases import Case
from scribbleseg_editor.planes import STROKE_MIN_ALPHA

BENCHMARKS = Path(__file__).resolve().parents[3] / "shared" / "benchmarks"
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


def write_plane(path: Path, plane: np.ndarray) -> str:
    """A bool plane as the raw 0/255 bytes the driver paints."""
    path.write_bytes((plane.astype(np.uint8) * 255).tobytes())
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


def painted_strokes(out: Path, step: dict) -> dict[str, np.ndarray]:
    """What the plug-in reads as strokes: scribble layer alpha >= STROKE_MIN_ALPHA, in the
    target layer's frame."""
    width, height = step["canvas"]
    return {role: crop(read_plane(out, name, width, height) >= STROKE_MIN_ALPHA,
                       *step["before"]["target"])
            for role, name in step["painted"].items()}


def current_mask(out: Path, state: dict, output: str) -> np.ndarray | None:
    """The mask the plug-in sends: what the output writes to first, then the layer mask, then
    the selection; uniform planes carry nothing."""
    _, _, width, height = state["target"]
    kinds = {"layer_mask": "layer_mask", "new_layer": "cutout", "selection": "selection"}
    for kind in dict.fromkeys([kinds[output], "layer_mask", "selection"]):
        if kind in state:
            plane = read_plane(out, state[kind], width, height)
            if plane.min() != plane.max():
                return plane
    return None


class Engine:
    """scribbleseg.segment with answers kept by input, so equal runs are computed once."""

    def __init__(self) -> None:
        self.answers: dict[str, np.ndarray] = {}

    def segment(self, rgb: np.ndarray, positive: np.ndarray, negative: np.ndarray,
                mask: np.ndarray | None) -> np.ndarray:
        key = hashlib.sha1(b"".join(np.ascontiguousarray(a).tobytes() for a in
                                    (rgb, positive, negative) + ((mask,) if mask is not None
                                                                 else ()))).hexdigest()
        if key not in self.answers:
            self.answers[key] = scribbleseg.segment(rgb, positive, negative, mask)
        return self.answers[key]
