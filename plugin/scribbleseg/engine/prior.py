"""The learned prior: a pretrained subject model run with ONNX Runtime (issue 8).

Stub until the model lands: no model is found, so the engine runs weights-free.
"""

from __future__ import annotations

import numpy as np


class SubjectPrior:
    """A pretrained subject model; `predict` gives P(object) per pixel."""

    runs: int = 0
    provider: str = "none"

    def predict(self, image: np.ndarray) -> np.ndarray:
        """HxWx3 uint8 RGB -> HxW float32 in [0, 1], same size as the input."""
        raise NotImplementedError


def load_prior() -> SubjectPrior | None:
    """The model in SCRIBBLESEG_MODELS or models/, or None (weights-free engine)."""
    return None


def prior_unaries(
    probability: np.ndarray, positive: np.ndarray, negative: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """Extra (object cost, background cost) per pixel from the prior, weighted by how well it
    agrees with the strokes; None when it should not count."""
    return None
