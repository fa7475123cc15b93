"""The desktop fast path between an editor and the engine host: both sides use this module.

    POST /local/v1/segment on 127.0.0.1
    headers  Authorization: Bearer <token>, Content-Type: application/x-scribbleseg-planes
    body     one JSON line (the header), then the image as W*H*3 bytes RGB, then one W*H byte
             plane for each name in header["planes"], in the order listed. Strokes: 0 = unset,
             else set. The mask plane is soft: 0..255 is the fraction of the pixel selected.
    header   {"width", "height", "planes": [...], "postprocess": "maskrefine"|"edgerefine",
              "feather": bool, "engine": "local"|"cloud", "endpoint": URL (cloud only)}
    answer   200: the alpha, W*H bytes; otherwise a JSON error {"Code", "Message", "Recommend"}
`GET /local/v1/health` (same token) answers {"status": "ok", "pid", "version", "cache"}.
Requests whose Host header does not name loopback are refused (DNS rebinding).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .errors import ScribbleSegError
from .limits import check_size
from .options import SegmentOptions, check_choice

CONTENT_TYPE = "application/x-scribbleseg-planes"
SEGMENT_PATH = "/local/v1/segment"
HEALTH_PATH = "/local/v1/health"
PLANE_ORDER = ("mask", "positive", "negative")
ENGINES = ("local", "cloud")
MAX_HEADER_BYTES = 4096


@dataclass(frozen=True)
class Header:
    """The validated header line of one request."""

    width: int
    height: int
    planes: tuple[str, ...]
    options: SegmentOptions
    engine: str = "local"
    endpoint: str = ""

    @property
    def body_bytes(self) -> int:
        """Bytes after the header line: the RGB image and one byte a pixel for each plane."""
        return self.width * self.height * (3 + len(self.planes))


def encode_request(width: int, height: int, rgb: bytes, planes: dict[str, bytes | None],
                   options: SegmentOptions, engine: str = "local", endpoint: str = "") -> bytes:
    """The request body: header line, image, then the planes given (None or absent: left out)."""
    names = [name for name in PLANE_ORDER if planes.get(name) is not None]
    header = {"width": width, "height": height, "planes": names,
              "postprocess": options.postprocess, "feather": options.feather,
              "engine": engine}
    if engine == "cloud":
        header["endpoint"] = endpoint
    return b"".join([json.dumps(header).encode(), b"\n", rgb, *(planes[n] for n in names)])


def parse_header(line: bytes) -> Header:
    """The header line -> Header; InvalidParameter (or InvalidImage.Resolution) says what is
    wrong before any pixel is read."""
    try:
        fields = json.loads(line)
        width, height, planes = fields["width"], fields["height"], fields["planes"]
    except (ValueError, KeyError, TypeError):
        raise ScribbleSegError(
            "InvalidParameter", "The body must start with a JSON header line (see wire.py)."
        ) from None
    if not (type(width) is int and type(height) is int):
        raise ScribbleSegError("InvalidParameter", "width and height must be whole numbers.")
    check_size(width, height)
    if not (isinstance(planes, list) and all(isinstance(name, str) for name in planes)
            and set(planes) <= set(PLANE_ORDER) and len(set(planes)) == len(planes)):
        raise ScribbleSegError(
            "InvalidParameter", f"planes must list distinct names of {', '.join(PLANE_ORDER)}."
        )
    engine = fields.get("engine", "local")
    check_choice("engine", engine, ENGINES)
    endpoint = fields.get("endpoint", "")
    if engine == "cloud" and not (isinstance(endpoint, str) and endpoint):
        raise ScribbleSegError("InvalidParameter", 'engine "cloud" needs an endpoint URL.')
    options = SegmentOptions(postprocess=fields.get("postprocess", "maskrefine"),
                             feather=fields.get("feather", True))
    return Header(width, height, tuple(planes), options, engine, endpoint)
