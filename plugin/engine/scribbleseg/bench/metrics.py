"""Scores of the protocol: IoU that ignores the uncertain band, and NoS (interactions to reach)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scribbleseg.bench.cases import OBJECT, UNCERTAIN

NOS_CAP = 20  # NoS counts this many interactions when a threshold is never reached


def binarise(alpha: np.ndarray) -> np.ndarray:
    """HxW uint8 alpha -> HxW bool selection (alpha >= 128)."""
    return alpha >= 128


def iou(result: np.ndarray, truth: np.ndarray) -> float:
    """Intersection over union of a bool result with the ground truth, over scored pixels."""
    scored = truth != UNCERTAIN
    target = truth == OBJECT
    union = np.count_nonzero((result | target) & scored)
    if union == 0:
        return 1.0
    return float(np.count_nonzero(result & target & scored) / union)


def interactions_to_reach(ious: Sequence[float], threshold: float, cap: int = NOS_CAP) -> int:
    """The 1-based interaction whose IoU first reaches the threshold, or `cap` when none does."""
    for interaction, value in enumerate(ious[:cap], start=1):
        if value >= threshold:
            return interaction
    return cap


def iou_after(ious: Sequence[float], interactions: int) -> float:
    """IoU after that many interactions; a run that ended early (no error left) keeps its last."""
    return ious[min(interactions, len(ious)) - 1]
