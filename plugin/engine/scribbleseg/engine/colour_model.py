"""Colour models: a Gaussian mixture per label, fitted on a subsample with k-means init.

Colours are RGB floats on the 0..255 scale. Fitting follows GrabCut: k-means clusters, then one
Gaussian (full covariance) per cluster. The model only has to rank pixels, so hard assignments
are enough and keep the fit fast and deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COMPONENTS = 5
MAX_SAMPLES = 4000
KMEANS_ROUNDS = 6
# Added to every covariance: keeps flat (e.g. JPEG-smoothed) clusters from collapsing.
COVARIANCE_FLOOR = 4.0
LOG_2PI = float(np.log(2.0 * np.pi))


@dataclass(frozen=True)
class ColourModel:
    """A mixture of K Gaussians over RGB."""

    means: np.ndarray  # K x 3
    whiteners: np.ndarray  # K x 3 x 3, inverse Cholesky factors of the covariances
    log_weights: np.ndarray  # K: log(weight) - 0.5 * log(det covariance) - 1.5 * log(2 pi)


def fit_colour_model(
    colours: np.ndarray, indices: np.ndarray, components: int = COMPONENTS, seed: int = 0
) -> ColourModel | None:
    """Fit a mixture to the colours (3 x N) at `indices`; None when too few to say anything."""
    if len(indices) < 2:
        return None
    rng = np.random.default_rng(seed)
    if len(indices) > MAX_SAMPLES:
        indices = rng.choice(indices, MAX_SAMPLES, replace=False)
    samples = colours[:, indices].T.astype(np.float64)
    samples = samples.astype(np.float64)
    components = max(1, min(components, len(samples) // 8))
    labels = _kmeans_labels(samples, components, rng)
    means, whiteners, log_weights = [], [], []
    for k in range(components):
        members = samples[labels == k]
        if len(members) < 2:
            continue
        covariance = np.cov(members, rowvar=False) + COVARIANCE_FLOOR * np.eye(3)
        cholesky = np.linalg.cholesky(covariance)
        means.append(members.mean(axis=0))
        whiteners.append(np.linalg.inv(cholesky))
        log_det = 2.0 * np.log(np.diag(cholesky)).sum()
        log_weights.append(np.log(len(members) / len(samples)) - 0.5 * log_det - 1.5 * LOG_2PI)
    return ColourModel(
        means=np.array(means, np.float32),
        whiteners=np.array(whiteners, np.float32),
        log_weights=np.array(log_weights, np.float32),
    )


def negative_log_likelihood(model: ColourModel, colours: np.ndarray) -> np.ndarray:
    """-log p(colour) for 3 x N float32 colours (channels first: fast reductions), as N float32."""
    components = len(model.means)
    # Whiten against every component at once: W (x - mean) = W x - W mean.
    offsets = np.einsum("kij,kj->ki", model.whiteners, model.means).reshape(-1, 1)
    whitened = model.whiteners.reshape(components * 3, 3) @ colours - offsets
    whitened *= whitened
    squared = whitened[0::3] + whitened[1::3] + whitened[2::3]
    log_density = model.log_weights[:, None] - 0.5 * squared
    peak = log_density.max(axis=0)
    log_density -= peak
    np.exp(log_density, out=log_density)
    return -(peak + np.log(log_density.sum(axis=0)))


def _kmeans_labels(samples: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Cluster index per sample: k-means++ seeding, then a few Lloyd rounds."""
    centres = [samples[rng.integers(len(samples))]]
    for _ in range(1, k):
        distances = np.min([((samples - c) ** 2).sum(axis=1) for c in centres], axis=0)
        total = distances.sum()
        if total == 0:
            break
        centres.append(samples[rng.choice(len(samples), p=distances / total)])
    centres = np.array(centres)
    for _ in range(KMEANS_ROUNDS):
        labels = ((samples[:, None, :] - centres[None]) ** 2).sum(axis=2).argmin(axis=1)
        for j in range(len(centres)):
            if np.any(labels == j):
                centres[j] = samples[labels == j].mean(axis=0)
    return ((samples[:, None, :] - centres[None]) ** 2).sum(axis=2).argmin(axis=1)
