"""The engine: prepare an image once, then segment it for each set of strokes.

    prepared = prepare(image, prior_model, scribble_model)
        working-size copy, smoothness weights, the models' once-per-image part (lazy)
    alpha = prepared.segment(positive, negative, mask, postprocess=..., feather=...)

Stages: working resolution (resolution.py) -> solve (solver.py: colour models, smoothness,
min cut; the models' soft terms added up: the subject prior's (prior.py) and the scribble
model's (scribble_model.py), each where installed) -> full resolution edge band (refine.py) ->
strokes enforced on the result.
The inputs are checked by scribbleseg.request's array rules, the ones every request meets.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field

import numpy as np

from scribbleseg.engine import prior, refine, resolution
from scribbleseg.engine.scribble_model import ScribbleModel, load_scribble_model, scribble_unaries
from scribbleseg.engine.smoothness import EdgeWeights, contrast_edge_weights
from scribbleseg.engine.solver import Marks, border_is_background, solve
from scribbleseg.request import (
    check_image,
    mask_from_array,
    selects_something,
    strokes_from_array,
)
from scribbleseg_editor.errors import ScribbleSegError
from scribbleseg_editor.options import (
    NOTHING_TO_SELECT,
    POSTPROCESS_CHOICES,
    SELECTED_FRACTION,
    SegmentOptions,
    check_choice,
)

# Where only the image border tells the background (solver.border_is_background: no mask, next
# to no negative strokes) the colour models know little of it; with both models installed, their
# terms count double there. A model installed alone keeps its own weight (doubled, each lost on
# a positive stroke alone). Measured on first strokes drawn as taps, dashes or a positive stroke
# alone: README, "The scribble model".
BOTH_MODELS_FROM_BORDER = 2.0


@functools.cache
def default_prior() -> prior.SubjectPrior | None:
    """The installed subject model (prior.load_prior), loaded once per process; None without."""
    return prior.load_prior()


@functools.cache
def default_scribble_model() -> ScribbleModel | None:
    """The installed scribble model (load_scribble_model), loaded once per process; None without."""
    return load_scribble_model(prior.models_dir())


@dataclass
class PreparedImage:
    """What can be reused between interactions on one image."""

    image: np.ndarray  # full size HxWx3 uint8
    working: np.ndarray  # working size HxWx3 uint8
    colours: np.ndarray  # the working image as 3 x H*W float32, what colour models read
    edges: EdgeWeights  # smoothness weights at working size
    prior_model: prior.SubjectPrior | None
    scribble_model: ScribbleModel | None = None
    _computed: dict[str, object] = field(default_factory=dict, repr=False)
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
        return self._once("probability", self.prior_model.predict)

    def scribble_features(self) -> dict[str, np.ndarray] | None:
        """The scribble model's encoder features, computed on first use; None without it."""
        if self.scribble_model is None:
            return None
        return self._once("features", self.scribble_model.features)

    def _once(self, key: str, compute):
        """compute(self.working), kept under `key` after the first call (one call at a time)."""
        with self._lock:
            if key not in self._computed:
                self._computed[key] = compute(self.working)
            return self._computed[key]

    def segment(
        self,
        positive: np.ndarray | None = None,
        negative: np.ndarray | None = None,
        mask: np.ndarray | None = None,
        *,
        postprocess: str | None = SegmentOptions.postprocess,
        feather: bool = SegmentOptions.feather,
    ) -> np.ndarray:
        """HxW uint8 alpha of the object the strokes (and the current mask) select.

        positive / negative: HxW strokes (nonzero = set), hard constraints of the result. mask:
        HxW current selection, a soft prior (bool, uint8 0..255 or float 0..1: the fraction of
        each pixel selected). A stroke says where the current selection is wrong: when the mask
        already agrees with every stroke (`agrees_with_strokes`), there is nothing to correct and
        the mask itself comes back, so a result fed back with no new strokes stays as it is.
        postprocess: "maskrefine" (soft alpha for hair and fur), "edgerefine" (stable edge) or None
        (hard edge); feather: soften the edge by a radius proportional to the image size.
        """
        check_postprocess(postprocess)
        positive = strokes_from_array(positive, "positive strokes", self.shape)
        negative = strokes_from_array(negative, "negative strokes", self.shape)
        mask = mask_from_array(mask, self.shape)
        if (positive is None or not positive.any()) and not selects_something(mask):
            raise ScribbleSegError("InvalidParameter", NOTHING_TO_SELECT)
        positive = positive if positive is not None else np.zeros(self.shape, bool)
        negative = negative if negative is not None else np.zeros(self.shape, bool)
        if mask is not None and agrees_with_strokes(mask, positive, negative):
            return as_alpha(mask)

        marks = _working_marks(self, positive, negative, mask)
        labels = solve(self.colours, self.edges, marks, _model_costs(self, marks))
        alpha = refine.full_resolution_alpha(
            self.image, labels, postprocess=postprocess, feather=feather
        )
        alpha[negative] = 0
        alpha[positive] = 255  # a pixel painted both ways counts as positive
        return alpha


def prepare(
    image: np.ndarray,
    prior_model: prior.SubjectPrior | None,
    scribble_model: ScribbleModel | None = None,
) -> PreparedImage:
    """Per-image state for `PreparedImage.segment`. prior_model: a subject model (usually
    default_prior()); scribble_model: ours (usually default_scribble_model()); the engine adds up
    the soft terms of both; None for both is the weights-free engine."""
    image = check_image(image)
    working = resolution.downscale_image(image, resolution.working_shape(image.shape[:2]))
    as_float = working.astype(np.float32)
    return PreparedImage(
        image=image,
        working=working,
        colours=np.ascontiguousarray(as_float.reshape(-1, 3).T),
        edges=contrast_edge_weights(as_float),
        prior_model=prior_model,
        scribble_model=scribble_model,
    )


def agrees_with_strokes(mask: np.ndarray, positive: np.ndarray, negative: np.ndarray) -> bool:
    """Whether the mask (a fraction) selects every positive stroke pixel and no negative one."""
    selected = mask >= SELECTED_FRACTION
    return bool(selected[positive].all() and not selected[negative].any())


def as_alpha(fraction: np.ndarray) -> np.ndarray:
    """HxW fraction in [0, 1] -> HxW uint8 alpha, rounded: alpha / 255 gives it back."""
    return np.round(fraction * 255.0).astype(np.uint8)


def check_postprocess(postprocess: str | None) -> None:
    """One of options.POSTPROCESS_CHOICES, or None: the engine's hard edge (no refinement)."""
    if postprocess is not None:
        check_choice("postprocess", postprocess, POSTPROCESS_CHOICES)


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


def _model_costs(prepared: PreparedImage, marks: Marks) -> tuple[np.ndarray, np.ndarray] | None:
    """The models' soft terms added up: the subject prior's (weighted by how well it agrees
    with the strokes) and the scribble model's, each where installed; None without either.
    With both installed they count BOTH_MODELS_FROM_BORDER times where only the border tells
    the background."""
    from_border = border_is_background(marks)
    terms = [_subject_prior_costs(prepared, marks), _scribble_costs(prepared, marks, from_border)]
    terms = [term for term in terms if term is not None]
    if not terms:
        return None
    both = prepared.prior_model is not None and prepared.scribble_model is not None
    factor = BOTH_MODELS_FROM_BORDER if both and from_border else 1.0
    return factor * sum(term[0] for term in terms), factor * sum(term[1] for term in terms)


def _subject_prior_costs(
    prepared: PreparedImage, marks: Marks
) -> tuple[np.ndarray, np.ndarray] | None:
    if prepared.prior_model is None:
        return None
    return prior.prior_unaries(prepared.prior_probability(), marks.positive, marks.negative)


def _scribble_costs(
    prepared: PreparedImage, marks: Marks, from_border: bool
) -> tuple[np.ndarray, np.ndarray] | None:
    features = prepared.scribble_features()
    if features is None:
        return None
    probability = prepared.scribble_model.probability(
        features, marks.positive, marks.negative, marks.mask
    )
    return scribble_unaries(probability, border_is_background=from_border)
