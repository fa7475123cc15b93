"""Simulated users on the decoder's grid: the benchmark robot's strokes and people's.

The robot draws one thin stroke along the skeleton of the eroded region (the protocol of
../shared/benchmarks/README.md); people draw a few curved strokes of varying width and length,
not centred, some of them near the object's edge. Both draw corrections in the largest error
region of the current result. All strokes stay inside the region they were drawn for.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage
from skimage.morphology import skeletonize

EIGHT = np.ones((3, 3), bool)
ROBOT_SHARE = 0.3  # chance that a case is drawn by the robot rather than by a person
# Chance that a person starts with positive strokes only (the DAVIS benchmark's first scribble;
# with 0.15 the engine scored COCO-MVal mIoU@1 0.69 on such strokes against 0.85 with negatives).
NO_NEGATIVE_SHARE = 0.35
# A person's stroke runs this many times sqrt(region cells): from a short dash to a long scribble.
STROKE_LENGTH = (0.1, 1.5)
# Chance that a person's stroke is a tap (1-3 cells across), as people who click draw; what
# taps in training changed: README, "The scribble model".
TAP_SHARE = 0.15
NEAR_RING = 6  # cells: a person's negative strokes often lie this close to the object


def largest_part(region: np.ndarray) -> np.ndarray:
    labels, count = ndimage.label(region, structure=EIGHT)
    if count <= 1:
        return region
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    return labels == int(np.argmax(sizes))


def robot_stroke(region: np.ndarray) -> np.ndarray:
    """Along the skeleton of the region's largest part after the protocol's erosion (scaled to
    the grid), or its innermost cell when erosion empties it; one cell wide."""
    stroke = np.zeros_like(region)
    if not region.any():
        return stroke
    distance = ndimage.distance_transform_edt(np.pad(region, 1))[1:-1, 1:-1]
    radius = min(3.0, 0.15 * math.sqrt(np.count_nonzero(region)) / 2)
    eroded = distance > radius
    if eroded.any():
        return skeletonize(largest_part(eroded)) & region
    stroke[np.unravel_index(int(np.argmax(distance)), region.shape)] = True
    return stroke


def human_stroke(region: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A curved stroke of random length and width (1-3 cells) wandering inside the region, or
    a tap (TAP_SHARE)."""
    stroke = np.zeros_like(region)
    inside = _comfortably_inside(region, rng)
    cells = np.argwhere(inside)
    if len(cells) == 0:
        return stroke
    position = cells[rng.integers(len(cells))].astype(float)
    heading = rng.uniform(0, 2 * math.pi)
    length = int(rng.uniform(*STROKE_LENGTH) * math.sqrt(len(cells))) + 1
    if rng.random() < TAP_SHARE:
        length = 0  # drawn after the length: the committed model's run drew in this order
    bend = rng.uniform(0.05, 0.4)
    path = [position.copy()]
    for _ in range(length):
        for turn in (0.0, *rng.choice([-1, 1]) * np.array([0.6, 1.2, 2.0])):
            step = position + [math.sin(heading + turn), math.cos(heading + turn)]
            row, column = np.round(step).astype(int)
            if 0 <= row < region.shape[0] and 0 <= column < region.shape[1] and inside[row, column]:
                heading += turn + rng.normal(0, bend)
                position = step
                path.append(position.copy())
                break
        else:
            break
    rows, columns = np.round(np.array(path)).astype(int).T
    stroke[rows, columns] = True
    width = int(rng.integers(1, 4))
    if width > 1:
        stroke = ndimage.binary_dilation(stroke, iterations=width - 1)
    return stroke & region


def _comfortably_inside(region: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The region eroded by 0-2 cells, as far as that leaves something."""
    for depth in range(int(rng.integers(0, 3)), 0, -1):
        eroded = ndimage.binary_erosion(region, iterations=depth)
        if eroded.any():
            return eroded
    return region


def first_strokes(
    target: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Interaction 1 on a GRIDxGRID target (cover fraction): (positive, negative) bool."""
    obj, background = object_and_background(target)
    if rng.random() < ROBOT_SHARE:
        radius = max(1.0, 0.15 * math.sqrt(np.count_nonzero(obj)) / 2)
        ring = background & (ndimage.distance_transform_edt(~obj) <= 2 * radius + 2)
        return robot_stroke(obj), robot_stroke(ring)
    positive = np.zeros_like(obj)
    for _ in range(int(rng.integers(1, 4))):
        positive |= human_stroke(obj, rng)
    negative = np.zeros_like(obj)
    if rng.random() >= NO_NEGATIVE_SHARE:
        near = background & (ndimage.distance_transform_edt(~obj) <= NEAR_RING)
        for _ in range(int(rng.integers(1, 4))):
            where = near if near.any() and rng.random() < 0.6 else background
            negative |= human_stroke(where, rng)
    return positive, negative


def object_and_background(target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cells surely object (at least its best-covered cell) and surely background."""
    obj = target >= 0.5
    if not obj.any():
        obj = target >= target.max()
    return obj, (target <= 0.05) & ~obj


def corrective_stroke(
    target: np.ndarray, result: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, bool] | None:
    """One stroke in the largest error region of a bool result, and whether it is positive;
    None when there is no error."""
    obj, background = object_and_background(target)
    missed = largest_part(obj & ~result)
    wrong = largest_part(background & result)
    if not (missed.any() or wrong.any()):
        return None
    positive = np.count_nonzero(missed) >= np.count_nonzero(wrong)
    region = missed if positive else wrong
    if rng.random() < ROBOT_SHARE:
        return robot_stroke(region), positive
    return human_stroke(region, rng), positive
