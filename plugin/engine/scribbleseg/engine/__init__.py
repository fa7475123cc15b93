"""The segmentation engine: strokes (and a current mask) in, an alpha mask out.

See pipeline.py for the stages; the public API is scribbleseg.prepare / PreparedImage.segment.
"""

from scribbleseg.engine.pipeline import (
    PreparedImage,
    default_prior,
    default_scribble_model,
    prepare,
)

__all__ = ["PreparedImage", "default_prior", "default_scribble_model", "prepare"]
