"""Full resolution: upscale the working-size labels, refine only the band around the edge.

Postprocess options, each a pure function on one tile (float image 0..1, alpha 0..1):
- "edgerefine": a guided filter (He et al. 2010) with the image as guide: the edge follows the
  image's edges, smooth and stable;
- "maskrefine": the guided edge, then in the uncertain band alpha from local object and
  background colours (the pixel's position between the two), which gives partial alpha to hair
  and fur;
- feather: a Gaussian blur whose radius is proportional to the image size.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from scribbleseg.engine import resolution
from scribbleseg.engine.band import edge_tiles

GUIDE_EPS = 1e-3  # guided filter regularisation (colours 0..1): lower follows weaker edges
CERTAIN = 0.02  # alpha this close to 0 or 1 counts as known when estimating local colours
SEPARATION = 0.01  # squared colour distance (0..1) at which local colours are half trusted
FEATHER_FRACTION = 0.001  # feather sigma, as a fraction of the longer image side


def full_resolution_alpha(
    image: np.ndarray, labels: np.ndarray, *, postprocess: str | None, feather: bool
) -> np.ndarray:
    """Working-size bool labels -> full-size uint8 alpha for `image` (HxWx3 uint8)."""
    shape = image.shape[:2]
    coarse = resolution.upscale_alpha(labels.astype(np.uint8) * 255, shape)
    hard = np.where(coarse >= 128, np.uint8(255), np.uint8(0))
    if postprocess is None and not feather:
        return hard
    scale = shape[0] / labels.shape[0]
    radius = max(2, math.ceil(scale))
    subsample = max(1, math.floor(scale / 2))
    sigma = max(0.5, FEATHER_FRACTION * max(shape)) if feather else 0.0
    margin = 4 * radius + math.ceil(3 * sigma)
    alpha = hard.copy()
    for tile in edge_tiles(labels, shape, reach=2 * radius + math.ceil(2 * sigma), margin=margin):
        patch = refine_patch(
            image[tile.outer].astype(np.float32) / 255.0,
            hard[tile.outer].astype(np.float32) / 255.0,
            postprocess=postprocess,
            radius=radius,
            subsample=subsample,
            sigma=sigma,
        )
        alpha[tile.inner] = np.clip(patch[tile.offset] * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return alpha


def refine_patch(
    image: np.ndarray,
    alpha: np.ndarray,
    *,
    postprocess: str | None,
    radius: int,
    subsample: int,
    sigma: float,
) -> np.ndarray:
    """One piece of the edge: HxWx3 image and HxW alpha (0..1 floats) -> refined alpha.
    sigma 0 means no feathering."""
    if postprocess is not None:
        alpha = guided_filter(image, alpha, radius, subsample=subsample)
    if postprocess == "maskrefine":
        alpha = local_colour_matte(image, alpha, 2 * radius, subsample)
    if sigma > 0:
        alpha = ndimage.gaussian_filter(alpha, sigma)
    return alpha


def guided_filter(
    guide: np.ndarray, source: np.ndarray, radius: int, eps: float = GUIDE_EPS, subsample: int = 1
) -> np.ndarray:
    """Colour-guided filter: HxWx3 guide, HxW source -> HxW, edges of the guide kept.

    With subsample > 1 the local linear models are fitted on every subsample-th pixel and
    interpolated back (the "fast guided filter", He & Sun 2015): the same edge for a fraction
    of the work when the radius is large.
    """
    small_guide = guide[::subsample, ::subsample]
    small_source = source[::subsample, ::subsample]
    small_radius = max(1, round(radius / subsample))
    mean_guide = _box(small_guide, small_radius)
    mean_source = _box(small_source, small_radius)
    covariance_with_source = (
        _box(small_guide * small_source[..., None], small_radius)
        - mean_guide * mean_source[..., None]
    )
    pairs = np.stack([small_guide[..., i] * small_guide[..., j] for i, j in _PAIRS], axis=-1)
    variance = _box(pairs, small_radius) - np.stack(
        [mean_guide[..., i] * mean_guide[..., j] for i, j in _PAIRS], axis=-1
    )
    variance[..., [0, 3, 5]] += eps
    slope = _solve_symmetric(variance, covariance_with_source)
    intercept = mean_source - np.einsum("...c,...c->...", slope, mean_guide)
    model = _box(np.concatenate([slope, intercept[..., None]], axis=-1), small_radius)
    if subsample > 1:
        model = _upsample(model, source.shape, subsample)
    result = np.einsum("...c,...c->...", model[..., :3], guide) + model[..., 3]
    return np.clip(result, 0.0, 1.0)


# The upper triangle of a symmetric 3x3 matrix: (0,0) (0,1) (0,2) (1,1) (1,2) (2,2).
_PAIRS = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))


def _solve_symmetric(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """Solve M x = v per pixel, M symmetric 3x3 given as its upper triangle (a b c d e f):
    x = adjugate(M) v / det(M), vectorised (much faster than a batched linalg.solve)."""
    a, b, c, d, e, f = np.moveaxis(matrix, -1, 0)
    adjugate = np.stack(
        [
            d * f - e * e, c * e - b * f, b * e - c * d,
            c * e - b * f, a * f - c * c, b * c - a * e,
            b * e - c * d, b * c - a * e, a * d - b * b,
        ],
        axis=-1,
    ).reshape(matrix.shape[:-1] + (3, 3))
    determinant = a * adjugate[..., 0, 0] + b * adjugate[..., 0, 1] + c * adjugate[..., 0, 2]
    return np.einsum("...ij,...j->...i", adjugate, vector) / determinant[..., None]


def _box(values: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2 radius + 1) square window, per channel for HxWxC arrays."""
    size = (2 * radius + 1, 2 * radius + 1) + (1,) * (values.ndim - 2)
    return ndimage.uniform_filter(values, size, mode="reflect")


def _upsample(values: np.ndarray, shape: tuple[int, int], subsample: int) -> np.ndarray:
    """HxWxC values sampled at every subsample-th pixel -> linear interpolation at `shape`."""
    for axis, size in enumerate(shape):
        position = np.minimum(np.arange(size) / subsample, values.shape[axis] - 1)
        before = position.astype(int)
        after = np.minimum(before + 1, values.shape[axis] - 1)
        weight = (position - before).astype(np.float32).reshape((-1,) + (1,) * (2 - axis))
        values = (
            np.take(values, before, axis) * (1 - weight) + np.take(values, after, axis) * weight
        )
    return values


def local_colour_matte(
    image: np.ndarray, alpha: np.ndarray, radius: int, subsample: int = 1
) -> np.ndarray:
    """Partial alpha in the uncertain band from the nearby known object and background colours:
    a pixel's alpha is its position on the line from the local background colour to the local
    object colour, trusted as far as the two colours differ. The local colours vary slowly, so
    they may be estimated on every subsample-th pixel."""
    known_object = (alpha >= 1.0 - CERTAIN).astype(np.float32)
    known_background = (alpha <= CERTAIN).astype(np.float32)
    uncertain = (known_object == 0) & (known_background == 0)
    if not uncertain.any():
        return alpha
    object_colour, background_colour = _local_means(
        image, (known_object, known_background), radius, subsample
    )
    direction = object_colour - background_colour
    separation = np.einsum("...c,...c->...", direction, direction)
    position = np.einsum("...c,...c->...", image - background_colour, direction) / (
        separation + 1e-6
    )
    trust = separation / (separation + SEPARATION)
    blended = trust * np.clip(position, 0.0, 1.0) + (1.0 - trust) * alpha
    return np.where(uncertain, blended, alpha)


def _local_means(
    image: np.ndarray, weights: tuple[np.ndarray, ...], radius: int, subsample: int
) -> list[np.ndarray]:
    """Weighted mean colour around each pixel, one per 0/1 weight map (0 where none is near)."""
    weighted = np.concatenate(
        [np.concatenate([image * w[..., None], w[..., None]], axis=-1) for w in weights], axis=-1
    )
    sums = _box(weighted[::subsample, ::subsample], max(1, round(radius / subsample)))
    if subsample > 1:
        sums = _upsample(sums, image.shape[:2], subsample)
    return [
        sums[..., i : i + 3] / (sums[..., i + 3 : i + 4] + 1e-6)
        for i in range(0, 4 * len(weights), 4)
    ]
