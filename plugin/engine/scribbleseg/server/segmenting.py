"""The jobs worker processes run (workers.py): decode a request, segment it with the worker's
prepared-image cache, and give back what the server sends.

Each job is `job(cache, decoded, *args)`; it calls `decoded()` once its inputs are decoded, so a
time-out tells a file that will not decode from a segmentation that runs long.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from scribbleseg.output import encode_result
from scribbleseg.request import SegmentRequest, decode_request, request_from_arrays, run
from scribbleseg.server.cache import PreparedImageCache
from scribbleseg_editor.wire import Header


def cloud_job(cache: PreparedImageCache, decoded: Callable[[], None],
              inputs: dict[str, bytes], params: dict[str, str]) -> tuple[bytes, str]:
    """The API's files and parameters -> (result file, its MIME type)."""
    request = decode_request(**inputs, params=params)
    decoded()
    alpha = segment_cached(request, cache)
    return encode_result(request.image, alpha, request.options)


def local_job(cache: PreparedImageCache, decoded: Callable[[], None], header: Header,
              pixels: bytes) -> tuple[bytes, dict[str, float]]:
    """The desktop fast path's image and planes (wire.py) -> (alpha bytes, seconds by stage)."""
    started = time.perf_counter()
    size = header.width * header.height
    image = np.frombuffer(pixels, np.uint8, size * 3).reshape(header.height, header.width, 3)
    planes = {name: np.frombuffer(pixels, np.uint8, size, size * (3 + index))
              .reshape(header.height, header.width) for index, name in enumerate(header.planes)}
    request = request_from_arrays(image, planes.get("positive"), planes.get("negative"),
                                  planes.get("mask"), header.options)
    decoded()
    if header.engine == "cloud":
        from scribbleseg.cloud import segment_via_cloud  # requests: only for cloud relays

        alpha = segment_via_cloud(request, endpoint=header.endpoint)
    else:
        alpha = segment_cached(request, cache)
    return np.ascontiguousarray(alpha, np.uint8).tobytes(), {
        "engine": time.perf_counter() - started}


def segment_cached(request: SegmentRequest, cache: PreparedImageCache) -> np.ndarray:
    """run() with the request's image prepared once per cache entry."""
    from scribbleseg.engine import pipeline  # heavy (scipy, maxflow, onnxruntime)

    prepared = cache.get_or_prepare(
        request.image, lambda image: pipeline.prepare(image, pipeline.default_prior()))
    return run(request, prepared)
