"""The segmentation engine: strokes (and a current mask) in, an alpha mask out.

See pipeline.py for the stages; `scribbleseg.segment` is prepare + segment_prepared.
"""

from scribbleseg.engine.pipeline import (
    DEFAULT,
    PreparedImage,
    prepare,
    segment_prepared,
)

__all__ = ["DEFAULT", "PreparedImage", "prepare", "segment_prepared"]
