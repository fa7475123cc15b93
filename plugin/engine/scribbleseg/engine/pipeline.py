"""The engine's public entry points: prepare an image once, segment it for each set of strokes.

    prepare(image)  -> PreparedImage   working-size copy, smoothness weights, model prior (lazy)
    segment_prepared(prepared, positive, negative, mask, postprocess=..., feather=...) -> alpha

Stages: working resolution (resolution.py) -> solve (solver.py: colour models, smoothness,
min cut) -> full resolution edge band (refine.py) -> strokes enforced on the result.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field

import numpy as np

from scribbleseg.engine import prior, refine, resolution
from scribbleseg.engine.inputs import (
    check_image,
    check_marks,
    check_postprocess,
    check_something_to_select,
)
from scribbleseg.engine.smoothness import EdgeWeights, contrast_edge_weights
from scribbleseg.engine.solver import Marks, solve


class _Default:
    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT = _Default()  # "the model prior.load_prior() finds", loaded once per process


@functools.cache
def default_prior() -> prior.SubjectPrior | None:
    return prior.load_prior()


@dataclass
class PreparedImage:
    """What can be reused between interactions on one image."""

    image: np.ndarray  # full size HxWx3 uint8
    working: np.ndarray  # working size HxWx3 uint8
    colours: np.ndarray  # the working image as 3 x H*W float32, what colour models read
    edges: EdgeWeights  # smoothness weights at working size
    prior_model: prior.SubjectPrior | None
    _probability: np.ndarray | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def shape(self) -> tuple[int, int]:
        return self.image.shape[:2]

    @property
    def working_shape(self) -> tuple[int, int]:
        return self.working.shape[:2]

    def prior_probability(self) -> np.ndarray | None:
        """The model's P(object) at working size, computed on first use; None without a model."""
        if self.prior_model is None:
            return None
        with self._lock:
            if self._probability is None:
                self._probability = self.prior_model.predict(self.working)
            return self._probability


def prepare(image: np.ndarray, prior_model=DEFAULT) -> PreparedImage:
    """Per-image state for `segment_prepared`; prior_model None runs weights-free."""
    image = check_image(image)
    working = resolution.downscale_image(image, resolution.working_shape(image.shape[:2]))
    as_float = working.astype(np.float32)
    return PreparedImage(
        image=image,
        working=working,
        colours=np.ascontiguousarray(as_float.reshape(-1, 3).T),
        edges=contrast_edge_weights(as_float),
        prior_model=default_prior() if prior_model is DEFAULT else prior_model,
    )


def segment_prepared(
    prepared: PreparedImage,
    positive: np.ndarray | None = None,
    negative: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    *,
    postprocess: str | None = "maskrefine",
    feather: bool = True,
) -> np.ndarray:
    """HxW uint8 alpha of the object the strokes (and current mask) select."""
    check_postprocess(postprocess)
    positive = check_marks("positive", positive, prepared.shape)
    negative = check_marks("negative", negative, prepared.shape)
    mask = check_marks("mask", mask, prepared.shape)
    check_something_to_select(positive, mask)
    positive = positive if positive is not None else np.zeros(prepared.shape, bool)
    negative = negative if negative is not None else np.zeros(prepared.shape, bool)

    marks = _working_marks(prepared, positive, negative, mask)
    labels = solve(prepared.colours, prepared.edges, marks, _prior_costs(prepared, marks))
    alpha = refine.full_resolution_alpha(
        prepared.image, labels, postprocess=postprocess, feather=feather
    )
    alpha[negative] = 0
    alpha[positive] = 255  # a pixel painted both ways counts as positive
    return alpha


def _working_marks(
    prepared: PreparedImage, positive: np.ndarray, negative: np.ndarray, mask: np.ndarray | None
) -> Marks:
    shape = prepared.working_shape
    positive_w = resolution.downscale_marks(positive, shape)
    negative_w = resolution.downscale_marks(negative, shape)
    both = positive_w & negative_w  # strokes of both kinds in one footprint: let colour decide
    return Marks(
        positive=positive_w & ~both,
        negative=negative_w & ~both,
        mask=None if mask is None else resolution.downscale_fraction(mask, shape),
    )


def _prior_costs(prepared: PreparedImage, marks: Marks) -> tuple[np.ndarray, np.ndarray] | None:
    probability = prepared.prior_probability()
    if probability is None:
        return None
    return prior.prior_unaries(probability, marks.positive, marks.negative)
