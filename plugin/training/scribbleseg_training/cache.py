"""The frozen encoder run once over the training cases; features kept as float16 .npy files."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from scribbleseg.engine.scribble_model import (
    FEATURE_CHANNELS,
    FEATURE_NAMES,
    FEATURE_STRIDES,
    GRID,
    SIDE,
    image_tensor,
)
from scribbleseg_training.encoder import check_feature_shapes, pretrained_encoder
from scribbleseg_training.samples import make_case, pair_names

BATCH = 8


@dataclass(frozen=True)
class FeatureCache:
    """Memory-mapped arrays, one row per case."""

    features: tuple[np.ndarray, ...]  # N x C x S x S float16, in FEATURE_NAMES order
    targets: np.ndarray  # N x GRID x GRID float16

    def __len__(self) -> int:
        return len(self.targets)


def build_cache(data_dir: Path, cache_dir: Path, cases: int, seed: int) -> FeatureCache:
    """Encode `cases` cases into cache_dir (reused when it holds the same cases already)."""
    key = {"data_dir": str(data_dir.resolve()), "cases": cases, "seed": seed, "side": SIDE}
    done = cache_dir / "done.json"
    if done.is_file() and json.loads(done.read_text()) == key:
        return open_cache(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    names = pair_names(data_dir)
    arrays = _create_arrays(cache_dir, cases)
    encoder = pretrained_encoder()
    started = time.perf_counter()
    for first in range(0, cases, BATCH):
        indices = range(first, min(first + BATCH, cases))
        batch = [make_case(data_dir, names, index, seed) for index in indices]
        with torch.no_grad():
            tensor = torch.from_numpy(np.concatenate([image_tensor(c.image) for c in batch]))
            features = encoder(tensor)
        check_feature_shapes(features)
        for array, feature in zip(arrays[:-1], features, strict=True):
            array[first : first + len(batch)] = feature.numpy().astype(np.float16)
        arrays[-1][first : first + len(batch)] = np.stack([c.target for c in batch])
        if first % (BATCH * 50) == 0:
            print(f"cache {first + len(batch)}/{cases} {time.perf_counter() - started:.0f} s",
                  flush=True)
    for array in arrays:
        array.flush()
    done.write_text(json.dumps(key))
    return open_cache(cache_dir)


def _create_arrays(cache_dir: Path, cases: int) -> list[np.ndarray]:
    shapes = [
        (cases, channels, SIDE // stride, SIDE // stride)
        for channels, stride in zip(FEATURE_CHANNELS, FEATURE_STRIDES, strict=True)
    ]
    names = [*FEATURE_NAMES, "targets"]
    shapes.append((cases, GRID, GRID))
    return [
        np.lib.format.open_memmap(cache_dir / f"{name}.npy", "w+", np.float16, shape)
        for name, shape in zip(names, shapes, strict=True)
    ]


def open_cache(cache_dir: Path) -> FeatureCache:
    load = lambda name: np.load(cache_dir / f"{name}.npy", mmap_mode="r")  # noqa: E731
    return FeatureCache(tuple(load(name) for name in FEATURE_NAMES), load("targets"))
