"""ScribbleSeg: scribble-based selection for GIMP and Krita, with a local engine.

    import scribbleseg
    alpha = scribbleseg.segment(image, positive=strokes, negative=other_strokes)
"""

from __future__ import annotations

import numpy as np


def segment(
    image: np.ndarray,
    positive: np.ndarray | None = None,
    negative: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    *,
    postprocess: str | None = "maskrefine",
    feather: bool = True,
) -> np.ndarray:
    """Select an object from scribbles: the stable public API.

    image: HxWx3 uint8 RGB. positive / negative: HxW strokes (bool, or uint8 nonzero = set),
    hard constraints of the result. mask: HxW current selection, a soft prior the strokes
    override. postprocess: "maskrefine" (soft alpha for hair and fur), "edgerefine" (stable
    edge-aware edge) or None (hard edge). feather: soften the edge by a radius proportional to
    the image size. Returns the HxW uint8 alpha. Raises ScribbleSegError("InvalidParameter")
    for sizes that do not match or when there is nothing to select.
    """
    # Imported here so that `import scribbleseg.errors` (cloud client, CLI) stays light.
    from scribbleseg.engine.pipeline import prepare, segment_prepared

    return segment_prepared(
        prepare(image), positive, negative, mask, postprocess=postprocess, feather=feather
    )
