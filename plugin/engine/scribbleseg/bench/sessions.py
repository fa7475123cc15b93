"""One case through the engine: the human-scribble run and the robot session, timed."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from scribbleseg import engine
from scribbleseg.bench.metrics import binarise, iou
from scribbleseg.bench.robot import (
    FIRST_STROKE_SHAPES,
    WHOLE,
    Stroke,
    first_strokes,
    next_stroke,
)
from scribbleseg.engine.prior import SubjectPrior
from scribbleseg.engine.scribble_model import ScribbleModel


@dataclass(frozen=True)
class EngineSettings:
    """How the bench calls the engine: the subject model and the scribble model (None: without
    it) and output options."""

    prior_model: SubjectPrior | None
    postprocess: str | None = "maskrefine"
    feather: bool = True
    scribble_model: ScribbleModel | None = None

    def prepare(self, image: np.ndarray) -> engine.PreparedImage:
        return engine.prepare(
            image, prior_model=self.prior_model, scribble_model=self.scribble_model
        )

    def segment(
        self,
        prepared: engine.PreparedImage,
        positive: np.ndarray,
        negative: np.ndarray,
        mask: np.ndarray | None,
    ) -> np.ndarray:
        return prepared.segment(
            positive, negative, mask, postprocess=self.postprocess, feather=self.feather
        )


@dataclass
class RobotSession:
    """IoU and seconds after each interaction (the first one's seconds include `prepare`), and
    the strokes each interaction added (interaction 1 adds two)."""

    ious: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    strokes: list[list[Stroke]] = field(default_factory=list)


def timed_prepare(
    settings: EngineSettings, image: np.ndarray
) -> tuple[engine.PreparedImage, float]:
    """The prepared image and the seconds `prepare` took."""
    started = time.perf_counter()
    prepared = settings.prepare(image)
    return prepared, time.perf_counter() - started


def human_scribbles_iou(
    prepared: engine.PreparedImage,
    truth: np.ndarray,
    positive: np.ndarray,
    negative: np.ndarray,
    settings: EngineSettings,
) -> float:
    """IoU of one run with the given strokes and no mask."""
    alpha = settings.segment(prepared, positive, negative, None)
    return iou(binarise(alpha), truth)


def robot_session(
    prepared: engine.PreparedImage,
    truth: np.ndarray,
    settings: EngineSettings,
    interactions: int,
    until_iou: float | None = None,
    cap: int = 20,
    prepare_seconds: float = 0.0,
    positive_start: bool = False,
    first_stroke_shape: str = WHOLE,
) -> RobotSession:
    """Run the robot for `interactions`, then on (up to `cap`) while the IoU is below `until_iou`.

    positive_start: interaction 1 draws the positive stroke alone, as people often start (and
    as the DAVIS interactive benchmark's first scribble does); the negative side is left to the
    corrections. first_stroke_shape: interaction 1's strokes whole, or only a dash or a tap of
    each (robot.FIRST_STROKE_SHAPES), as people who tap rather than trace draw.

    Ends early when the result has no error left: the IoU cannot change any more. The first
    interaction's seconds include `prepare_seconds` (and the subject model, which the engine
    runs on its first call).
    """
    session = RobotSession()
    positive = np.zeros(truth.shape, dtype=bool)
    negative = np.zeros(truth.shape, dtype=bool)
    first_positive, first_negative = first_strokes(truth)
    strokes = [first_positive] if positive_start else [first_positive, first_negative]
    strokes = [FIRST_STROKE_SHAPES[first_stroke_shape](stroke) for stroke in strokes]
    result: np.ndarray | None = None
    for interaction in range(1, cap + 1):
        if result is not None:
            stroke = next_stroke(truth, result)
            if stroke is None:
                break
            strokes = [stroke]
        for stroke in strokes:
            target = positive if stroke.positive else negative
            target |= stroke.pixels
        started = time.perf_counter()
        result = binarise(settings.segment(prepared, positive, negative, result))
        seconds = time.perf_counter() - started
        session.seconds.append(seconds + (prepare_seconds if interaction == 1 else 0.0))
        session.ious.append(iou(result, truth))
        session.strokes.append(strokes)
        if interaction >= interactions and (until_iou is None or session.ious[-1] >= until_iou):
            break
    return session
