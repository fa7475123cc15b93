"""CloudError: a failed cloud call, with the server's Code, Message, RequestId and HTTP status.

Its message is what the command line prints and the editors show, so it always ends with what
the user can do. Credentials never appear in it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from xml.etree import ElementTree

from scribbleseg_editor.errors import ERROR_CODES, ScribbleSegError

VENDOR_HOST = "aigen.cn-shanghai.aliyuncs.com"
VENDOR_RETIRED = (
    f"The vendor's InteractiveScribbleSegmentation service ({VENDOR_HOST}) was taken down on "
    "2025-10-14. Point the endpoint at a ScribbleSeg server (`scribbleseg serve`) or use the "
    "local engine (leave the endpoint out)."
)
CREDENTIALS_HINT = (
    "Set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or write them as "
    '{"access_key_id": ..., "access_key_secret": ...} to cloud.json in the ScribbleSeg '
    "settings folder."
)
THROTTLED = "The service limits how often it may be called."

# Codes that servers of this protocol send, or that the client itself raises, beyond
# scribbleseg.errors.ERROR_CODES: code -> what the user should do next.
CLOUD_ADVICE: dict[str, str] = {
    "SignatureDoesNotMatch": "Check the AccessKeySecret: the server computed another signature.",
    "IncompleteSignature": "Check the AccessKeySecret and the signature version.",
    "InvalidTimeStamp.Expired": "Set this computer's clock right; requests expire after 15 min.",
    "SignatureNonceUsed": "Retry: the request was seen before (replay refused).",
    "MissingAccessKeyId": CREDENTIALS_HINT,
    "InvalidAccessKeyId.NotFound": "Check the AccessKeyId: the server does not know it. "
    + CREDENTIALS_HINT,
    "InvalidAccessKeyId.Inactive": "The AccessKeyId is disabled; enable it or use another.",
    "Forbidden.RAM": "Grant this AccessKey the permission to call the service.",
    "ServiceUnavailable": "The server is busy or down; try again in a minute.",
    "NotFound": "Check the endpoint address; a ResultUrl expires 30 minutes after the call.",
    "Cloud.Unreachable": "Check the endpoint address and that the server is running.",
    "Cloud.Timeout": "The server took too long; try again, with a smaller image, or a longer "
    "time limit.",
    "Cloud.BadResponse": "The server's answer was cut off or malformed; try again, and report "
    "the RequestId if it persists.",
    "Cloud.Upload": "Uploading the file for the service failed; try again.",
}


# The status a relay (the desktop host) answers with when no server answered: a gateway's.
CLIENT_SIDE_STATUS = {"Cloud.Timeout": 504, "MissingAccessKeyId": 400, "InvalidParameter": 400}


class CloudError(ScribbleSegError):
    """A cloud call that failed, with what the server said and what to do about it.

    Remote servers send codes outside scribbleseg.errors.ERROR_CODES (SignatureDoesNotMatch,
    Throttling.User, ...), so this does not go through ScribbleSegError's check of its own codes.
    `server_status` is the HTTP status the server answered (None when none answered);
    `http_status` is always a status, for relays that pass the error on.
    """

    def __init__(
        self,
        code: str,
        server_message: str,
        *,
        server_status: int | None = None,
        request_id: str | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        advice: str | None = None,
    ) -> None:
        self.code = code
        self.server_message = server_message
        self.server_status = server_status
        self.http_status = server_status or CLIENT_SIDE_STATUS.get(code, 502)
        self.request_id = request_id
        self.retryable = retryable
        self.retry_after = retry_after  # seconds the server asked us to wait
        self.advice = advice or advice_for(code)
        self.message = _user_text(server_message, self.advice, server_status, request_id)
        Exception.__init__(self, self.message)

    @property
    def recommend(self) -> str:
        return self.advice


def advice_for(code: str) -> str:
    if code.startswith("Throttling"):
        return f"{THROTTLED} Wait a little and try again."
    if code in CLOUD_ADVICE:
        return CLOUD_ADVICE[code]
    if code in ERROR_CODES:
        return ERROR_CODES[code][1]
    return "Check the message; report the RequestId to the server's operator if it persists."


def _user_text(message: str, advice: str, status: int | None, request_id: str | None) -> str:
    details = ", ".join(
        part for part in (f"HTTP {status}" if status else "",
                          f"RequestId {request_id}" if request_id else "") if part
    )
    text = f"{message.rstrip('. ')}. {advice}"
    return f"{text} ({details})" if details else text


def error_from_reply(status: int, headers: Mapping[str, str], body: bytes) -> CloudError:
    """The CloudError for a non-2xx answer: JSON (API) or XML (OSS) error body, else the status."""
    fields = _error_fields(body)
    code = fields.get("Code") or _code_for_status(status)
    message = fields.get("Message") or f"The server answered HTTP {status}"
    throttled = code.startswith("Throttling") or status == 429
    wait = retry_after_seconds(headers)
    return CloudError(
        code,
        message,
        server_status=status,
        request_id=fields.get("RequestId") or headers.get("x-acs-request-id"),
        retryable=throttled or status >= 500,
        retry_after=wait,
        advice=f"{THROTTLED} Try again in {math.ceil(wait)} s." if throttled and wait else None,
    )


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """How long the server asked us to wait: x-acs-retry-after (milliseconds, as the vendor's
    SDKs read it) or the standard Retry-After (seconds); the longer if both are given."""
    waits = []
    for name, unit in (("x-acs-retry-after", 0.001), ("retry-after", 1.0)):
        try:
            waits.append(float(headers[name]) * unit)
        except (KeyError, ValueError):
            continue
    positive = [wait for wait in waits if wait > 0]
    return max(positive) if positive else None


def _code_for_status(status: int) -> str:
    if status == 429:
        return "Throttling"
    if status in (502, 503, 504):
        return "ServiceUnavailable"
    if status >= 500:
        return "InternalError"
    return {401: "AuthFailed", 403: "AuthFailed", 404: "NotFound"}.get(status, "InvalidParameter")


def _error_fields(body: bytes) -> dict[str, str]:
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict):
        return {key: str(value) for key, value in data.items() if isinstance(value, str)}
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return {}
    return {child.tag: (child.text or "").strip() for child in root}
