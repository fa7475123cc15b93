"""The scribble robot: given the ground truth and the current result, the next stroke.

Interaction 1 draws a positive stroke along the skeleton of the eroded object and a negative one
along the skeleton of the eroded background ring around it; every later interaction draws one
stroke in the largest connected error region. Strokes are 3 px wide and never leave the region
they were drawn for, so a positive stroke lies on object pixels and a negative one on background
(a `tap`, a round dab, may reach past the edge of a thin object, as a person's does).
Everything here is deterministic: the same truth and result give the same stroke.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.morphology import skeletonize

from scribbleseg.bench.cases import BACKGROUND, OBJECT

EIGHT_NEIGHBOURS = np.ones((3, 3), dtype=bool)  # connectivity, and the 3 px brush
RING_EXTRA_WIDTH = 8  # the ring is 2 r + this wide, so its eroded skeleton sits r + 4 px out
DASH_SHARE = 0.3  # of a stroke's pixels, for `dash`
TAP_RADIUS = 4.5  # px, for `tap`: the dab of a 9 px round brush


@dataclass(frozen=True)
class Stroke:
    pixels: np.ndarray  # HxW bool
    positive: bool


def erosion_radius(area: int) -> float:
    """r = min(16, 0.15 * sqrt(area) / 2), the protocol's erosion before taking a skeleton."""
    return min(16.0, 0.15 * math.sqrt(area) / 2)


def largest_component(region: np.ndarray) -> np.ndarray:
    """The largest 8-connected part of a bool mask (the first one found on a tie)."""
    labels, count = ndimage.label(region, structure=EIGHT_NEIGHBOURS)
    if count <= 1:
        return labels > 0
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    return labels == int(np.argmax(sizes))


def bounding_box(region: np.ndarray, margin: int = 0) -> tuple[slice, slice]:
    """The rows and columns holding the region's pixels, widened by a margin inside the image."""
    rows, columns = np.nonzero(region.any(axis=1))[0], np.nonzero(region.any(axis=0))[0]
    return (
        slice(max(rows[0] - margin, 0), rows[-1] + 1 + margin),
        slice(max(columns[0] - margin, 0), columns[-1] + 1 + margin),
    )


def distance_inside(region: np.ndarray) -> np.ndarray:
    """Distance of each region pixel to the nearest one outside it; the frame counts as outside."""
    padded = np.pad(region, 1, constant_values=False)
    return ndimage.distance_transform_edt(padded)[1:-1, 1:-1]


def centre_pixel(distance: np.ndarray) -> tuple[int, int]:
    """The pixel farthest from the outside; on a tie (a thin strip), the one nearest the middle
    of the tied pixels."""
    rows, columns = np.nonzero(distance == distance.max())
    nearest = np.argmin(np.hypot(rows - rows.mean(), columns - columns.mean()))
    return int(rows[nearest]), int(columns[nearest])


def stroke_along_skeleton(region: np.ndarray, radius: float) -> np.ndarray:
    """A 3 px stroke along the skeleton of the region's largest part after eroding it by
    `radius`, or on its centre pixel (farthest from the outside) when erosion empties it."""
    stroke = np.zeros_like(region)
    if not region.any():
        return stroke
    box = bounding_box(region)  # work on the region's box only: large images stay fast
    inside = region[box]
    distance = distance_inside(inside)
    eroded = distance > radius
    if eroded.any():
        line = skeletonize(largest_component(eroded))
    else:
        line = np.zeros_like(inside)
        line[centre_pixel(distance)] = True
    stroke[box] = ndimage.binary_dilation(line, structure=EIGHT_NEIGHBOURS) & inside
    return stroke


def background_ring(truth: np.ndarray, width: float) -> np.ndarray:
    """Background pixels at most `width` px from the object or its uncertain band."""
    ring = np.zeros(truth.shape, dtype=bool)
    box = bounding_box(truth != BACKGROUND, margin=math.ceil(width) + 1)
    background = truth[box] == BACKGROUND
    ring[box] = background & (ndimage.distance_transform_edt(background) <= width)
    return ring


def first_strokes(truth: np.ndarray) -> tuple[Stroke, Stroke]:
    """Interaction 1: (positive stroke inside the object, negative stroke in the ring around it)."""
    target = truth == OBJECT
    radius = erosion_radius(np.count_nonzero(target))
    ring = background_ring(truth, 2 * radius + RING_EXTRA_WIDTH)
    return (
        Stroke(stroke_along_skeleton(target, radius), positive=True),
        Stroke(stroke_along_skeleton(ring, radius), positive=False),
    )


def dash(stroke: Stroke, share: float = DASH_SHARE) -> Stroke:
    """The `share` of the stroke's pixels nearest its most central pixel (the one nearest its
    mean): a short dash where the stroke had its middle, as people who only tap the object
    draw."""
    rows, columns = np.nonzero(stroke.pixels)
    if len(rows) == 0:
        return stroke
    middle = _most_central(rows, columns)
    distance = np.hypot(rows - rows[middle], columns - columns[middle])
    kept = distance <= np.quantile(distance, share)
    pixels = np.zeros_like(stroke.pixels)
    pixels[rows[kept], columns[kept]] = True
    return Stroke(pixels, stroke.positive)


def tap(stroke: Stroke, radius: float = TAP_RADIUS) -> Stroke:
    """A round dab of `radius` at the stroke's most central pixel: one click of a round brush,
    as people who click rather than draw make."""
    rows, columns = np.nonzero(stroke.pixels)
    if len(rows) == 0:
        return stroke
    middle = _most_central(rows, columns)
    grid_rows, grid_columns = np.ogrid[: stroke.pixels.shape[0], : stroke.pixels.shape[1]]
    distance = np.hypot(grid_rows - rows[middle], grid_columns - columns[middle])
    return Stroke(distance <= radius, stroke.positive)


def _most_central(rows: np.ndarray, columns: np.ndarray) -> int:
    """Index of the pixel nearest the mean of them all."""
    return int(np.argmin(np.hypot(rows - rows.mean(), columns - columns.mean())))


# How interaction 1's strokes are drawn: WHOLE (as the protocol draws them), or only a dash or
# a tap of each.
WHOLE = "whole"
FIRST_STROKE_SHAPES: dict[str, Callable[[Stroke], Stroke]] = {
    WHOLE: lambda stroke: stroke,
    "dash": dash,
    "tap": tap,
}


def next_stroke(truth: np.ndarray, result: np.ndarray) -> Stroke | None:
    """Interaction k > 1: one stroke in the largest connected error region of the bool result,
    positive where the object was missed, negative where background was taken; None when the
    result has no error left. Uncertain pixels are never an error."""
    missed = largest_component((truth == OBJECT) & ~result)
    wrong = largest_component((truth == BACKGROUND) & result)
    missed_area, wrong_area = np.count_nonzero(missed), np.count_nonzero(wrong)
    if missed_area == 0 and wrong_area == 0:
        return None
    positive = missed_area >= wrong_area
    region, area = (missed, missed_area) if positive else (wrong, wrong_area)
    return Stroke(stroke_along_skeleton(region, erosion_radius(area)), positive=positive)

