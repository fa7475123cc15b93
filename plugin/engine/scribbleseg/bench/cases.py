"""Benchmark folders and their cases: image, ground truth and (grabcut) human scribbles."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

# Ground-truth values (masks/NAME.png, 8-bit gray).
BACKGROUND = 0
UNCERTAIN = 128  # band around the edge: scored as neither object nor background
OBJECT = 255

# Index values of scribbles/NAME.png (palette image).
POSITIVE_INDEX = 1
NEGATIVE_INDEX = 2

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


@dataclass(frozen=True)
class Case:
    """One benchmark case; the pixels are read when asked for, so a list of cases stays small."""

    dataset: str
    name: str
    image_path: Path
    truth_path: Path
    scribbles_path: Path | None

    def image(self) -> np.ndarray:
        """HxWx3 uint8 RGB."""
        with Image.open(self.image_path) as image:
            return np.asarray(image.convert("RGB"))

    def truth(self) -> np.ndarray:
        """HxW uint8 with BACKGROUND, UNCERTAIN and OBJECT values."""
        with Image.open(self.truth_path) as mask:
            return np.asarray(mask.convert("L"))

    def scribbles(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(positive, negative) HxW bool from the human scribbles, or None when there are none."""
        if self.scribbles_path is None:
            return None
        with Image.open(self.scribbles_path) as scribbles:
            indices = np.asarray(scribbles)  # palette indices, not colours
        return indices == POSITIVE_INDEX, indices == NEGATIVE_INDEX


def is_dataset(folder: Path) -> bool:
    return (folder / "images").is_dir() and (folder / "masks").is_dir()


def find_datasets(data_dir: Path) -> list[Path]:
    """The benchmark folder itself, or every benchmark folder inside it (sorted by name)."""
    if is_dataset(data_dir):
        return [data_dir]
    found = sorted(child for child in data_dir.iterdir() if child.is_dir() and is_dataset(child))
    if not found:
        raise FileNotFoundError(
            f"{data_dir} is not a benchmark folder (images/ and masks/) and holds none"
        )
    return found


def load_cases(dataset: Path, limit: int | None = None) -> list[Case]:
    """The cases of one benchmark folder, sorted by name.

    With a limit, take that many cases spread evenly over the sorted list, so a short run still
    sees every class (80 of coco_mval's 400 cases give one instance of each of its 80 classes).
    """
    images = sorted(
        path for path in (dataset / "images").iterdir() if path.suffix.lower() in IMAGE_SUFFIXES
    )
    scribbles_dir = dataset / "scribbles"
    cases = []
    for image_path in images:
        scribbles_path = scribbles_dir / f"{image_path.stem}.png"
        cases.append(
            Case(
                dataset=dataset.name,
                name=image_path.stem,
                image_path=image_path,
                truth_path=dataset / "masks" / f"{image_path.stem}.png",
                scribbles_path=scribbles_path if scribbles_path.is_file() else None,
            )
        )
    if limit is None or limit >= len(cases):
        return cases
    return [cases[i * len(cases) // limit] for i in range(limit)]
