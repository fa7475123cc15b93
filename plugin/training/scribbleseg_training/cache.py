"""The frozen encoder run once over the training cases; features kept as float16 .npy files.

The features come from the exported encoder file on ONNX Runtime, the very path the engine
takes (scribble_model.encoder_features), so the decoder trains on what it will see; ONNX
Runtime also runs this encoder about ten times faster than PyTorch on the CPU.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scribbleseg.engine.prior import onnx_session
from scribbleseg.engine.scribble_model import (
    FEATURE_CHANNELS,
    FEATURE_NAMES,
    FEATURE_STRIDES,
    GRID,
    SIDE,
    encoder_features,
)
from scribbleseg_training.export import sha256
from scribbleseg_training.samples import make_case, pair_names

REPORT_EVERY = 1000  # cases


@dataclass(frozen=True)
class FeatureCache:
    """Memory-mapped arrays, one row per case; the last `validation` rows are held out."""

    features: tuple[np.ndarray, ...]  # N x C x S x S float16, in FEATURE_NAMES order
    targets: np.ndarray  # N x GRID x GRID float16
    validation: int

    def __len__(self) -> int:
        return len(self.targets)

    @property
    def training(self) -> int:
        return len(self) - self.validation


def build_cache(
    data_dir: Path, cache_dir: Path, cases: int, validation: int, seed: int, encoder_file: Path
) -> FeatureCache:
    """`cases` training cases, then `validation` cases from photos the training never sees (one
    per two cases), encoded into cache_dir; reused when it holds the same cases already."""
    key = {"data_dir": str(data_dir.resolve()), "cases": cases, "validation": validation,
           "seed": seed, "side": SIDE, "encoder": sha256(encoder_file)}
    done = cache_dir / "done.json"
    if done.is_file() and json.loads(done.read_text()) == key:
        return open_cache(cache_dir, validation)
    cache_dir.mkdir(parents=True, exist_ok=True)
    names = pair_names(data_dir)
    held_out = max(1, validation // 2)
    plan = [(names[:-held_out], index) for index in range(cases)]
    plan += [(names[-held_out:], index) for index in range(validation)]
    arrays = _create_arrays(cache_dir, len(plan))
    encoder = onnx_session(encoder_file)
    started = time.perf_counter()
    for row, (subset, index) in enumerate(plan):
        case = make_case(data_dir, subset, index, seed)
        features = encoder_features(encoder, case.image)
        for array, name in zip(arrays[:-1], FEATURE_NAMES, strict=True):
            array[row] = features[name][0].astype(np.float16)
        arrays[-1][row] = case.target
        if (row + 1) % REPORT_EVERY == 0:
            print(f"cache {row + 1}/{len(plan)} {time.perf_counter() - started:.0f} s", flush=True)
    for array in arrays:
        array.flush()
    done.write_text(json.dumps(key))
    return open_cache(cache_dir, validation)


def _create_arrays(cache_dir: Path, rows: int) -> list[np.ndarray]:
    shapes = [
        (rows, channels, SIDE // stride, SIDE // stride)
        for channels, stride in zip(FEATURE_CHANNELS, FEATURE_STRIDES, strict=True)
    ]
    names = [*FEATURE_NAMES, "targets"]
    shapes.append((rows, GRID, GRID))
    return [
        np.lib.format.open_memmap(cache_dir / f"{name}.npy", "w+", np.float16, shape)
        for name, shape in zip(names, shapes, strict=True)
    ]


def open_cache(cache_dir: Path, validation: int) -> FeatureCache:
    load = lambda name: np.load(cache_dir / f"{name}.npy", mmap_mode="r")  # noqa: E731
    return FeatureCache(tuple(load(name) for name in FEATURE_NAMES), load("targets"), validation)
