"""Training cases from DUTS-TR: the photos with their own objects, and synthetic clutter.

Every case is an image stretched to SIDE x SIDE (as the engine stretches the working image) and
one target object as its cover fraction on the GRID x GRID grid. The first pass over the photos
uses them as they are; later passes (more cases than twice the photos) crop and flip them. A
pasted case puts the largest object of one photo, at another scale and place, onto another
photo; its target is the pasted object or, sometimes, what stays visible of the photo's own
object (so the model learns to follow the strokes rather than saliency). Everything is drawn
from a seeded generator per case.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from scribbleseg.engine.scribble_model import SIDE, grid_fraction

PASTE_AREA = (0.003, 0.15)  # pasted object's area, fraction of the image (log-uniform)
OCCLUDED_TARGET = 0.25  # chance that a pasted case asks for the photo's own object
WHOLE_MASK_TARGET = 0.5  # chance that a photo's case asks for all its objects, not the largest
MIN_TARGET_AREA = 0.002
CROP_SIDE = (0.55, 1.0)  # an augmented photo's crop, fraction of each side


@dataclass(frozen=True)
class Case:
    image: np.ndarray  # SIDE x SIDE x 3 uint8
    target: np.ndarray  # GRID x GRID float32 cover fraction


def pair_names(data_dir: Path) -> list[str]:
    """Names (without suffix) that have both an image and a mask, sorted."""
    masks = {path.stem for path in (data_dir / "masks").glob("*.png")}
    return sorted(path.stem for path in (data_dir / "images").glob("*.jpg") if path.stem in masks)


def load_pair(data_dir: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(HxWx3 uint8 RGB, HxW float32 alpha in [0, 1])."""
    image = np.asarray(Image.open(data_dir / "images" / f"{name}.jpg").convert("RGB"))
    mask = np.asarray(Image.open(data_dir / "masks" / f"{name}.png").convert("L"), np.float32)
    return image, mask / 255.0


def square(array: np.ndarray) -> np.ndarray:
    """Stretch uint8 HxWx3 or float HxW to SIDE x SIDE."""
    resample = Image.Resampling.BILINEAR
    return np.asarray(Image.fromarray(array).resize((SIDE, SIDE), resample))


def largest_object(alpha: np.ndarray) -> np.ndarray:
    """The alpha of the largest 8-connected object (binarised at 0.5), soft edges kept."""
    labels, count = ndimage.label(alpha >= 0.5, structure=np.ones((3, 3)))
    if count <= 1:
        return alpha
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    grown = ndimage.binary_dilation(labels == int(np.argmax(sizes)), iterations=2)
    return alpha * grown


def photo_case(image: np.ndarray, alpha: np.ndarray, rng: np.random.Generator) -> Case:
    """The photo itself, asking for all its objects or the largest."""
    target = alpha if rng.random() < WHOLE_MASK_TARGET else largest_object(alpha)
    return Case(square(image), grid_fraction(square(target.astype(np.float32))))


def pasted_case(
    background: tuple[np.ndarray, np.ndarray],
    source: tuple[np.ndarray, np.ndarray],
    rng: np.random.Generator,
) -> Case | None:
    """source's largest object pasted onto background at a random scale and place; None when
    the target would be (nearly) empty."""
    canvas = square(background[0]).astype(np.float32)
    own = square(background[1].astype(np.float32))
    cut, cut_alpha = _crop_object(*source)
    if cut is None:
        return None
    fraction = math.exp(rng.uniform(*map(math.log, PASTE_AREA)))
    scale = math.sqrt(fraction * SIDE * SIDE / max(cut_alpha.sum(), 1.0))
    height = max(2, min(SIDE, round(cut.shape[0] * scale)))
    width = max(2, min(SIDE, round(cut.shape[1] * scale)))
    piece = np.asarray(Image.fromarray(cut).resize((width, height), Image.Resampling.BILINEAR))
    piece_alpha = np.asarray(
        Image.fromarray(cut_alpha).resize((width, height), Image.Resampling.BILINEAR)
    )
    top, left = rng.integers(0, SIDE - height + 1), rng.integers(0, SIDE - width + 1)
    pasted = np.zeros((SIDE, SIDE), np.float32)
    pasted[top : top + height, left : left + width] = np.clip(piece_alpha, 0.0, 1.0)
    region = canvas[top : top + height, left : left + width]
    a = pasted[top : top + height, left : left + width, None]
    canvas[top : top + height, left : left + width] = a * piece + (1.0 - a) * region
    target = pasted
    if rng.random() < OCCLUDED_TARGET:
        target = largest_object(own * (1.0 - pasted))
    if target.mean() < MIN_TARGET_AREA:
        return None
    image = np.clip(canvas + 0.5, 0, 255).astype(np.uint8)
    return Case(image, grid_fraction(target))


def _crop_object(
    image: np.ndarray, alpha: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The bounding box of the largest object: its pixels and its alpha."""
    obj = largest_object(alpha)
    rows, columns = np.nonzero(obj >= 0.5)
    if rows.size < 16:
        return None, None
    box = slice(rows.min(), rows.max() + 1), slice(columns.min(), columns.max() + 1)
    return np.ascontiguousarray(image[box]), np.ascontiguousarray(obj[box].astype(np.float32))


def augmented(
    pair: tuple[np.ndarray, np.ndarray], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A random crop of the photo and its mask, mirrored half of the time."""
    image, alpha = pair
    height, width = alpha.shape
    crop_height = max(8, round(height * rng.uniform(*CROP_SIDE)))
    crop_width = max(8, round(width * rng.uniform(*CROP_SIDE)))
    top = int(rng.integers(0, height - crop_height + 1))
    left = int(rng.integers(0, width - crop_width + 1))
    box = slice(top, top + crop_height), slice(left, left + crop_width)
    image, alpha = image[box], alpha[box]
    if rng.random() < 0.5:
        image, alpha = image[:, ::-1], alpha[:, ::-1]
    return np.ascontiguousarray(image), np.ascontiguousarray(alpha)


def make_case(data_dir: Path, names: list[str], index: int, seed: int) -> Case:
    """Case `index`: even indices are photos, odd ones pastes (a photo again if a paste fails);
    from index 2 * len(names) on, the photos are cropped and flipped."""
    rng = np.random.default_rng([seed, index])
    own = load_pair(data_dir, names[(index // 2) % len(names)])
    if index >= 2 * len(names):
        cropped = augmented(own, rng)
        own = cropped if cropped[1].mean() >= MIN_TARGET_AREA else own  # the object was cut off
    if index % 2 == 1:
        source = load_pair(data_dir, names[int(rng.integers(len(names)))])
        case = pasted_case(own, source, rng)
        if case is not None:
            return case
    return photo_case(*own, rng)
