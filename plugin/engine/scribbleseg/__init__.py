"""ScribbleSeg: scribble-based selection for GIMP and Krita, with a local engine.

    import scribbleseg
    alpha = scribbleseg.segment(image, positive=strokes, negative=other_strokes)

    prepared = scribbleseg.prepare(image)          # once per image: the model runs here (lazily)
    alpha = prepared.segment(positive, negative)   # once per interaction
    alpha = prepared.segment(positive | more, negative, mask=alpha)  # the result fed back

Arrays: image HxWx3 uint8 RGB; strokes HxW (nonzero = set); mask HxW, the fraction of each pixel
selected (bool, uint8 0..255 or float 0..1). Refusals are ScribbleSegError("InvalidParameter",
...) for arrays that do not match and when there is nothing to select.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from scribbleseg_editor.options import SegmentOptions

if TYPE_CHECKING:
    from scribbleseg.engine.pipeline import PreparedImage


def prepare(image: np.ndarray) -> PreparedImage:
    """The once-per-image part, with the installed models (the subject prior, else the scribble
    model; weights-free without either); call `.segment(positive, negative, mask,
    postprocess=..., feather=...)` on the result."""
    # Imported here so that `import scribbleseg.request` (cloud client, CLI) stays light.
    from scribbleseg.engine import pipeline

    return pipeline.prepare(image, pipeline.default_prior(), pipeline.default_scribble_model())


def segment(
    image: np.ndarray,
    positive: np.ndarray | None = None,
    negative: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    *,
    postprocess: str | None = SegmentOptions.postprocess,
    feather: bool = SegmentOptions.feather,
) -> np.ndarray:
    """Select an object from scribbles: HxW uint8 alpha. prepare(image).segment(...) in one call
    (the arguments are PreparedImage.segment's)."""
    return prepare(image).segment(
        positive, negative, mask, postprocess=postprocess, feather=feather
    )
