"""The segmentation engine: strokes (and a current mask) in, an alpha mask out.

See pipeline.py for the stages; `segment` is also `scribbleseg.segment`.
"""

from scribbleseg.engine.pipeline import (
    DEFAULT,
    PreparedImage,
    prepare,
    segment,
    segment_prepared,
)

__all__ = ["DEFAULT", "PreparedImage", "prepare", "segment", "segment_prepared"]
