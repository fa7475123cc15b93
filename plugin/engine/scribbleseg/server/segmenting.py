"""One engine run for a validated request, reusing prepared images from the cache."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from scribbleseg.request import SegmentRequest
from scribbleseg.server.cache import PreparedImageCache


@dataclass(frozen=True)
class EngineRun:
    alpha: np.ndarray  # HxW uint8
    prepare_s: float  # 0 when the prepared image came from the cache
    segment_s: float


def segment_request(request: SegmentRequest, cache: PreparedImageCache) -> EngineRun:
    from scribbleseg import engine  # heavy (scipy, maxflow, onnxruntime): load on first use

    started = time.perf_counter()
    prepared = cache.get_or_prepare(request.image, engine.prepare)
    prepared_at = time.perf_counter()
    alpha = engine.segment_prepared(
        prepared, request.positive, request.negative, request.mask,
        postprocess=request.options.postprocess, feather=request.options.edge_feathering,
    )
    return EngineRun(alpha, prepared_at - started, time.perf_counter() - prepared_at)
