"""segment_via_cloud: one SegmentRequest through InteractiveScribbleSegmentation -> the alpha.

The arrays go out as PNG files (the image as JPEG only when its PNG would pass the service's
10 MB limit), the answer is asked for as ReturnForm=only_alpha, ReturnFormat=PNG, and the
ResultUrl is fetched at once and decoded: the caller gets the HxW uint8 alpha the local engine
returns.

Files reach the service one of two ways (`upload`):
- "direct": multipart parts of the call itself, for a ScribbleSeg server;
- "oss": the vendor's upload flow (upload.py), for a service that only takes URLs;
- "auto" (default): "direct" when the endpoint advertises it, else "oss". A ScribbleSeg server
  advertises it with the header `X-ScribbleSeg-Upload: direct` on its answer to `GET /`.
"""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import numpy as np
import requests
from PIL import Image

from scribbleseg.cloud.credentials import Credentials, find_credentials
from scribbleseg.cloud.errors import VENDOR_HOST, VENDOR_RETIRED, CloudError
from scribbleseg.cloud.rpc import SIGNATURE_VERSIONS, RpcCall, RpcClient, endpoint_url
from scribbleseg.cloud.transport import EXCHANGE_LIMIT_S, RetryPolicy, exchange, with_retries
from scribbleseg.cloud.upload import openplatform_endpoint, upload_to_oss
from scribbleseg.output import png_bytes
from scribbleseg.protocol import ACTION, API_VERSION, CAPABILITY_HEADER, DIRECT_UPLOAD
from scribbleseg.request import SegmentRequest
from scribbleseg_editor.limits import MAX_IMAGE_BYTES
from scribbleseg_editor.options import check_choice

PRODUCT = "aigen"
REGION = "cn-shanghai"
UPLOAD_MODES = ("auto", DIRECT_UPLOAD, "oss")
MAX_RESULT_BYTES = 64 * 1024 * 1024
MAX_PROBE_BYTES = 1024 * 1024  # the answer to GET / is read only for its headers
# JPEG qualities tried in turn when the image's PNG exceeds MAX_IMAGE_BYTES (chroma kept whole).
UPLOAD_JPEG_QUALITIES = (95, 85)
# URL parameter -> the SegmentRequest field of the marks it carries
MARK_PARAMETERS = {
    "MaskImageUrl": "mask",
    "PosScribbleImageUrl": "positive",
    "NegScribbleImageUrl": "negative",
}


def segment_via_cloud(
    request: SegmentRequest,
    *,
    endpoint: str,
    credentials: Credentials | None = None,
    upload: str = "auto",
    signature: str = "v3",
    timeout: float = EXCHANGE_LIMIT_S,
    retries: RetryPolicy | None = None,
    openplatform: str | None = None,
) -> np.ndarray:
    """Segment `request` on the service at `endpoint` and return the HxW uint8 alpha.

    credentials: else ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET, else cloud.json; none = unsigned.
    upload: "auto", "direct" or "oss" (module docstring). signature: "v3" or "v1".
    timeout: seconds each HTTP exchange may take. retries: how often and how long to retry
    Throttling, 5xx and dropped connections. openplatform: the AuthorizeFileUpload endpoint for
    "oss" uploads (default: the vendor's, with the endpoint's scheme).
    Raises CloudError (a ScribbleSegError) with the server's Code, RequestId and HTTP status.
    """
    check_choice("upload", upload, UPLOAD_MODES)
    check_choice("signature", signature, SIGNATURE_VERSIONS)
    url = endpoint_url(endpoint)
    files = encode_inputs(request)
    params = {
        "ReturnForm": "only_alpha",
        "ReturnFormat": "PNG",
        "EdgeFeathering": "true" if request.options.feather else "false",
        "PostprocessOption": request.options.postprocess,
    }
    with requests.Session() as session:
        client = RpcClient(session, find_credentials(credentials), signature, timeout,
                           retries or RetryPolicy())
        try:
            answer = _send(client, url, params, files, upload, openplatform)
            result = client.get(_result_url(answer), MAX_RESULT_BYTES)
        except CloudError as error:
            if error.code == "Cloud.Unreachable" and urlsplit(url).hostname == VENDOR_HOST:
                raise CloudError("Cloud.Unreachable", VENDOR_RETIRED) from None
            raise
    return alpha_from_result(result, request.image.shape[:2], answer.get("RequestId"))


def _send(
    client: RpcClient, url: str, params: dict[str, str], files: dict[str, bytes], upload: str,
    openplatform: str | None,
) -> dict:
    """The action's JSON answer, with the files uploaded the chosen way."""
    if upload == "auto":
        upload = DIRECT_UPLOAD if advertises_direct_upload(client, url) else "oss"
    if upload == DIRECT_UPLOAD:
        return client.call(RpcCall(url, ACTION, API_VERSION, params=params, files=files))
    uploaded = {
        name: upload_to_oss(client, data, openplatform=openplatform or openplatform_endpoint(url),
                            product=PRODUCT, region=REGION)
        for name, data in files.items()
    }
    return client.call(RpcCall(url, ACTION, API_VERSION, params={**params, **uploaded}))


def advertises_direct_upload(client: RpcClient, url: str) -> bool:
    """Whether the endpoint takes files as multipart parts (see the module docstring)."""
    def probe() -> bool:
        reply = exchange(client.session, "GET", url, timeout_s=client.timeout_s,
                         max_bytes=MAX_PROBE_BYTES)
        return reply.headers.get(CAPABILITY_HEADER, "").strip().lower() == DIRECT_UPLOAD

    return with_retries(probe, client.retries)


def encode_inputs(request: SegmentRequest) -> dict[str, bytes]:
    """The request's arrays as files, keyed by the URL parameter each replaces: strokes black
    and white, the soft mask as gray levels (fraction * 255), as imageio reads them back."""
    files = {"ImageUrl": encode_image(request.image)}
    for name, field_name in MARK_PARAMETERS.items():
        marks = getattr(request, field_name)
        if marks is not None:
            if marks.dtype != bool:
                marks = np.round(marks * 255.0).astype(np.uint8)
            files[name] = png_bytes(marks)
    return files


def encode_image(image: np.ndarray) -> bytes:
    """Lossless PNG, or a high-quality JPEG when the PNG would exceed the 10 MB limit."""
    data = png_bytes(image)
    for quality in UPLOAD_JPEG_QUALITIES:
        if len(data) <= MAX_IMAGE_BYTES:
            break
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, "JPEG", quality=quality, subsampling=0)
        data = buffer.getvalue()
    return data


def alpha_from_result(data: bytes, shape: tuple[int, int], request_id: str | None) -> np.ndarray:
    """The result file -> HxW uint8 alpha; its size must be the image's (checked unread)."""
    try:
        picture = Image.open(io.BytesIO(data))
        if picture.size != (shape[1], shape[0]):
            raise CloudError(
                "Cloud.BadResponse",
                f"The result is {picture.size[0]}x{picture.size[1]}, "
                f"the image {shape[1]}x{shape[0]}", request_id=request_id,
            )
        picture.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise CloudError("Cloud.BadResponse", f"The result file could not be decoded: {error}",
                         request_id=request_id) from None
    if "A" in picture.getbands():
        picture = picture.getchannel("A")
    return np.asarray(picture.convert("L"), dtype=np.uint8)


def _result_url(answer: dict) -> str:
    data = answer.get("Data")
    url = data.get("ResultUrl") if isinstance(data, dict) else None
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise CloudError("Cloud.BadResponse", "The answer holds no Data.ResultUrl",
                         request_id=answer.get("RequestId"))
    return url
