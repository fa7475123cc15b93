"""The jobs worker processes run (workers.py): decode a request, segment it with the worker's
prepared-image cache, and give back what the server sends.

Each job is `job(cache, decoded, *args)`; it calls `decoded()` once its inputs are decoded, so a
time-out tells a file that will not decode from a segmentation that runs long.
"""

from __future__ import annotations

import mmap
from collections.abc import Callable
from typing import BinaryIO

import numpy as np

import scribbleseg
from scribbleseg.output import encode_result
from scribbleseg.request import SegmentRequest, decode_request, request_from_arrays, run
from scribbleseg.server.cache import PreparedImageCache
from scribbleseg_editor.errors import ERROR_CODES, ScribbleSegError
from scribbleseg_editor.wire import Header


def cloud_job(cache: PreparedImageCache, decoded: Callable[[], None],
              inputs: dict[str, bytes], params: dict[str, str]) -> tuple[bytes, str]:
    """The API's files and parameters -> (result file, its MIME type)."""
    request = decode_request(**inputs, params=params)
    decoded()
    alpha = segment_cached(request, cache)
    return encode_result(request.image, alpha, request.options)


def local_job(cache: PreparedImageCache, decoded: Callable[[], None], header: Header,
              path: str) -> None:
    """The desktop fast path: the file at `path` holds the image and planes (wire.py); the
    alpha is written after them."""
    with open(path, "r+b") as file:
        request = _request_from_file(file, header)
        decoded()
        if header.engine == "cloud":
            alpha = _relay_to_cloud(request, header.endpoint)
        else:
            alpha = segment_cached(request, cache)
        file.seek(header.body_bytes)
        file.write(memoryview(np.ascontiguousarray(alpha, np.uint8)).cast("B"))


def _relay_to_cloud(request: SegmentRequest, endpoint: str) -> np.ndarray:
    """The editor's "cloud" engine; the service's own codes (Cloud.Unreachable, ...) reach the
    editor as HostFailed with the service's words, since the editor knows ERROR_CODES only."""
    from scribbleseg.cloud import CloudError, segment_via_cloud  # requests: only for relays

    try:
        return segment_via_cloud(request, endpoint=endpoint)
    except CloudError as error:
        if error.code in ERROR_CODES:
            raise
        raise ScribbleSegError("HostFailed", error.message, http_status=error.http_status
                               ) from None


def _request_from_file(file: BinaryIO, header: Header) -> SegmentRequest:
    size = header.width * header.height
    with mmap.mmap(file.fileno(), header.body_bytes) as pixels:
        image = np.frombuffer(pixels, np.uint8, size * 3).reshape(header.height, header.width, 3)
        planes = {name: np.frombuffer(pixels, np.uint8, size, size * (3 + index))
                  .reshape(header.height, header.width) for index, name in enumerate(header.planes)}
        request = request_from_arrays(image.copy(), planes.get("positive"),  # the cache keeps it
                                      planes.get("negative"), planes.get("mask"), header.options)
        del image, planes  # views of the mapping, which closes next
    return request


def segment_cached(request: SegmentRequest, cache: PreparedImageCache) -> np.ndarray:
    """run() with the request's image prepared once per cache entry."""
    prepared = cache.get_or_prepare(request.image, scribbleseg.prepare)  # the installed models
    return run(request, prepared)
