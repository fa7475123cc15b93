"""A stand-in for the retired vendor service on loopback: openplatform, OSS and aigen.

It is an HTTP proxy: the client under test keeps the vendor's host names and reaches them
through HTTP_PROXY=<stand-in>, so the whole "Advance" flow runs as it did against the vendor
(../shared/specs/cloud-api.md):
    openplatform.aliyuncs.com       GET  AuthorizeFileUpload 2019-12-19 -> a one-object grant
    standin-bucket.oss-cn-shanghai.aliyuncs.com
                                    POST PostObject form (fields, order, grant checked) -> 201
                                    GET  /<key>: a stored object (the results)
    aigen.cn-shanghai.aliyuncs.com  POST InteractiveScribbleSegmentation 2024-01-11
Every field received is checked; a refusal answers the way the vendor did (JSON; XML for OSS)
and is kept in `refusals`, so a test sees what was wrong. The "segmentation" is no engine:
alpha = 255 where (mask or positive strokes) and not negative strokes, so a test can tell that
every file arrived intact and in its place.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import numpy as np
from PIL import Image

from scribbleseg import signing

OPENPLATFORM_HOST = "openplatform.aliyuncs.com"
AIGEN_HOST = "aigen.cn-shanghai.aliyuncs.com"
BUCKET = "standin-bucket"
OSS_ENDPOINT = "oss-cn-shanghai.aliyuncs.com"
OSS_HOST = f"{BUCKET}.{OSS_ENDPOINT}"
OSS_ACCESS_KEY_ID = "STS.standin-oss-key"
OSS_SECRET = "standin-oss-secret"
POST_OBJECT_FIELDS = ["OSSAccessKeyId", "Signature", "key", "policy", "success_action_status",
                      "file"]
V1_COMMON = {"Action", "Version", "Format", "AccessKeyId", "SignatureMethod", "SignatureVersion",
             "SignatureNonce", "Timestamp", "Signature", "SecurityToken"}
V3_REQUIRED_SIGNED = {"host", "x-acs-action", "x-acs-version", "x-acs-date",
                      "x-acs-signature-nonce", "x-acs-content-sha256"}
SEGMENT_PARAMS = {"ImageUrl", "MaskImageUrl", "PosScribbleImageUrl", "NegScribbleImageUrl",
                  "IntegratedMaskUrl", "ReturnForm", "ReturnFormat", "EdgeFeathering",
                  "PostprocessOption"}
CHOICES = {"ReturnForm": {"rgb_alpha", "only_alpha", "white_background"},
           "ReturnFormat": {"PNG", "JPG"}, "EdgeFeathering": {"true", "false"},
           "PostprocessOption": {"edgerefine", "maskrefine"}}


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Refusal:
    host: str
    code: str
    message: str


@dataclass
class Grant:
    policy: str
    signature: str
    used: bool = False


@dataclass
class VendorState:
    access_key_id: str
    secret: str
    grants: dict[str, Grant] = field(default_factory=dict)  # ObjectKey -> grant
    objects: dict[str, bytes] = field(default_factory=dict)  # ObjectKey -> bytes
    calls: list[dict[str, str]] = field(default_factory=list)  # segmentation parameters
    refusals: list[Refusal] = field(default_factory=list)
    nonces: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


class VendorStandIn:
    """`with VendorStandIn() as vendor:` then set HTTP_PROXY to `vendor.proxy_url`."""

    def __init__(self, access_key_id: str = "LTAI-standin", secret: str = "standin-secret"):
        self.state = VendorState(access_key_id, secret)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.state = self.state  # type: ignore[attr-defined]
        self.proxy_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> VendorStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def refusals(self) -> list[Refusal]:
        return self.state.refusals

    @property
    def calls(self) -> list[dict[str, str]]:
        return self.state.calls

    def uploaded(self, url: str) -> bytes:
        """The bytes uploaded to the object a segmentation parameter pointed at."""
        return self.state.objects[urlsplit(url).path.lstrip("/")]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        self._handle()

    def do_POST(self) -> None:  # noqa: N802
        self._handle()

    def _handle(self) -> None:
        state: VendorState = self.server.state  # type: ignore[attr-defined]
        target = urlsplit(self.path)  # a proxy gets the absolute URL
        host = (target.hostname or "").lower()
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            if host == OPENPLATFORM_HOST:
                self._json(200, authorize_file_upload(state, self, target, body))
            elif host == AIGEN_HOST:
                self._json(200, interactive_scribble_segmentation(state, self, target, body))
            elif host == OSS_HOST and self.command == "POST":
                post_object(state, self.headers.get("Content-Type", ""), body)
                self._send(201, b"<PostResponse/>", "application/xml")
            elif host == OSS_HOST:
                key = target.path.lstrip("/")
                if key not in state.objects:
                    raise Refused(404, "NoSuchKey", f"No object {key}.")
                self._send(200, state.objects[key], "image/png")
            else:
                raise Refused(502, "UnknownHost", f"The stand-in does not play {host}.")
        except Refused as refusal:
            with state.lock:
                state.refusals.append(Refusal(host, refusal.code, refusal.message))
            self._refuse(host, refusal)

    def _refuse(self, host: str, refusal: Refused) -> None:
        request_id = str(uuid.uuid4()).upper()
        if host == OSS_HOST:
            xml = (f"<Error><Code>{refusal.code}</Code><Message>{refusal.message}</Message>"
                   f"<RequestId>{request_id}</RequestId></Error>")
            self._send(refusal.status, xml.encode(), "application/xml")
            return
        self._json(refusal.status, {"RequestId": request_id, "HostId": host,
                                    "Code": refusal.code, "Message": refusal.message,
                                    "Recommend": "https://api.aliyun.com/troubleshoot"})

    def _json(self, status: int, data: dict) -> None:
        self._send(status, json.dumps(data).encode(), "application/json;charset=utf-8")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def authorize_file_upload(state: VendorState, request: _Handler, target, body: bytes) -> dict:
    if request.command != "GET":
        raise Refused(400, "InvalidParameter", "AuthorizeFileUpload is called with GET.")
    action, version, params = verify_signature(state, request, target, body)
    _expect("Action", action, "AuthorizeFileUpload")
    _expect("Version", version, "2019-12-19")
    if params != {"Product": "aigen", "RegionId": "cn-shanghai"}:
        raise Refused(400, "InvalidParameter", f"Expected Product=aigen, RegionId=cn-shanghai; "
                                               f"got {sorted(params)}.")
    key = f"upload/{uuid.uuid4().hex}/file"
    expires = datetime.now(UTC) + timedelta(minutes=30)
    policy = base64.b64encode(json.dumps({
        "expiration": expires.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "conditions": [["content-length-range", 0, 10 * 2**20], ["eq", "$key", key]],
    }).encode()).decode()
    signature = base64.b64encode(
        hmac.new(OSS_SECRET.encode(), policy.encode(), hashlib.sha1).digest()
    ).decode()
    with state.lock:
        state.grants[key] = Grant(policy, signature)
    return {"RequestId": str(uuid.uuid4()).upper(), "AccessKeyId": OSS_ACCESS_KEY_ID,
            "Bucket": BUCKET, "EncodedPolicy": policy, "Endpoint": OSS_ENDPOINT,
            "ObjectKey": key, "Signature": signature, "UseAccelerate": False}


def post_object(state: VendorState, content_type: str, body: bytes) -> None:
    parts = parse_multipart(content_type, body)
    names = [name for name, _, _ in parts]
    if names != POST_OBJECT_FIELDS:
        raise Refused(400, "InvalidArgument", f"Fields {names}; expected {POST_OBJECT_FIELDS}.")
    values = {name: value for name, value, _ in parts}
    key = values["key"].decode()
    grant = state.grants.get(key)
    if grant is None:
        raise Refused(403, "AccessDenied", f"No upload was authorised for key {key}.")
    checks = {
        "OSSAccessKeyId": (values["OSSAccessKeyId"].decode(), OSS_ACCESS_KEY_ID),
        "policy": (values["policy"].decode(), grant.policy),
        "Signature": (values["Signature"].decode(), grant.signature),
        "success_action_status": (values["success_action_status"].decode(), "201"),
    }
    for name, (got, wanted) in checks.items():
        if got != wanted:
            raise Refused(403, "SignatureDoesNotMatch" if name != "success_action_status"
                          else "InvalidArgument", f"{name} is {got!r}, not what was granted.")
    if parts[-1][2] is None:
        raise Refused(400, "InvalidArgument", "The file part has no filename.")
    with state.lock:
        if grant.used:
            raise Refused(403, "AccessDenied", f"The grant for {key} was used already.")
        grant.used = True
        state.objects[key] = values["file"]


def interactive_scribble_segmentation(
    state: VendorState, request: _Handler, target, body: bytes
) -> dict:
    if request.command != "POST":
        raise Refused(400, "InvalidAction.NotFound", "Call the API with POST and an Action.")
    content_type = request.headers.get("Content-Type", "")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        raise Refused(400, "InvalidParameter", f"The vendor took form bodies; got {content_type}.")
    action, version, params = verify_signature(state, request, target, body)
    _expect("Action", action, "InteractiveScribbleSegmentation")
    _expect("Version", version, "2024-01-11")
    unknown = sorted(set(params) - SEGMENT_PARAMS)
    if unknown:
        raise Refused(400, "InvalidParameter", f"Unknown parameters {unknown}.")
    if "ImageUrl" not in params:
        raise Refused(400, "InvalidParameter", "ImageUrl is required.")
    for name, choices in CHOICES.items():
        if name in params and params[name] not in choices:
            raise Refused(400, "InvalidParameter", f"{name}={params[name]!r}.")
    urls = {name: value for name, value in params.items() if name.endswith("Url")}
    if len(set(urls.values())) != len(urls):
        raise Refused(400, "InvalidParameter", "Each file needs its own upload.")
    files = {name: _object_at(state, name, url) for name, url in urls.items()}
    image = _decode(files["ImageUrl"], "RGB")
    alpha = np.zeros(image.shape[:2], bool)
    for name in ("MaskImageUrl", "PosScribbleImageUrl"):
        if name in files:
            alpha |= _decode(files[name], "L") >= 128
    if "NegScribbleImageUrl" in files:
        alpha &= _decode(files["NegScribbleImageUrl"], "L") < 128
    result_key = f"results/{uuid.uuid4().hex}.png"
    buffer = io.BytesIO()
    Image.fromarray(alpha.astype(np.uint8) * 255, "L").save(buffer, "PNG")
    with state.lock:
        state.objects[result_key] = buffer.getvalue()
        state.calls.append(params)
    return {"RequestId": str(uuid.uuid4()).upper(), "Data": {
        "ResultUrl": f"http://{OSS_HOST}/{result_key}?Expires=1999999999"
                     f"&OSSAccessKeyId={OSS_ACCESS_KEY_ID}&Signature=standin"}}


def verify_signature(
    state: VendorState, request: _Handler, target, body: bytes
) -> tuple[str, str, dict[str, str]]:
    """(Action, Version, business parameters) of a correctly signed request."""
    query = dict(parse_qsl(target.query, keep_blank_values=True))
    form = (dict(parse_qsl(body.decode(), keep_blank_values=True))
            if request.headers.get("Content-Type", "").startswith("application/x-www-form")
            else {})
    headers = list(request.headers.items())
    authorization = request.headers.get("Authorization", "")
    if authorization:
        key_id, signed, signature = signing.parse_v3_authorization(authorization)
        missing = V3_REQUIRED_SIGNED - set(signed)
        if missing:
            raise Refused(400, "IncompleteSignature", f"Unsigned headers {sorted(missing)}.")
        payload_hash = request.headers["x-acs-content-sha256"]
        if payload_hash != signing.sha256_hex(body):
            raise Refused(400, "IncompleteSignature", "x-acs-content-sha256 is not the body's.")
        _check_key(state, key_id)
        expected, _ = signing.sign_v3(request.command, target.path, query, headers,
                                      payload_hash, state.secret, signed)
        _check_fresh(state, request.headers["x-acs-date"], request.headers["x-acs-signature-nonce"])
        if expected != signature:
            raise Refused(400, "SignatureDoesNotMatch", "The V3 signature does not match.")
        return (request.headers["x-acs-action"], request.headers["x-acs-version"],
                {**query, **form})
    params = {**query, **form}
    missing = {"AccessKeyId", "Signature", "SignatureNonce", "Timestamp"} - set(params)
    if missing:
        raise Refused(400, "MissingAccessKeyId" if "AccessKeyId" in missing
                      else "IncompleteSignature", f"Missing {sorted(missing)}.")
    for name, wanted in (("SignatureMethod", "HMAC-SHA1"), ("SignatureVersion", "1.0"),
                         ("Format", "JSON")):
        _expect(name, params.get(name, ""), wanted)
    _check_key(state, params["AccessKeyId"])
    _check_fresh(state, params["Timestamp"], params["SignatureNonce"])
    if signing.sign_v1(request.command, params, state.secret) != params["Signature"]:
        raise Refused(400, "SignatureDoesNotMatch", "The V1 signature does not match.")
    business = {name: value for name, value in params.items() if name not in V1_COMMON}
    return params.get("Action", ""), params.get("Version", ""), business


def parse_multipart(content_type: str, body: bytes) -> list[tuple[str, bytes, str | None]]:
    """[(name, content, filename)] in the order sent."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    if not message.is_multipart():
        raise Refused(400, "InvalidArgument", "PostObject takes multipart/form-data.")
    return [(part.get_param("name", header="content-disposition"),
             part.get_payload(decode=True), part.get_filename())
            for part in message.iter_parts()]


def _check_key(state: VendorState, key_id: str) -> None:
    if key_id != state.access_key_id:
        raise Refused(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")


def _check_fresh(state: VendorState, timestamp: str, nonce: str) -> None:
    try:
        sent = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise Refused(400, "InvalidTimeStamp.Format", f"Timestamp {timestamp!r}.") from None
    if abs(datetime.now(UTC) - sent) > timedelta(minutes=15):
        raise Refused(400, "InvalidTimeStamp.Expired", f"Timestamp {timestamp} is stale.")
    with state.lock:
        if nonce in state.nonces:
            raise Refused(400, "SignatureNonceUsed", f"Nonce {nonce} was used.")
        state.nonces.add(nonce)


def _object_at(state: VendorState, name: str, url: str) -> bytes:
    parts = urlsplit(url)
    key = parts.path.lstrip("/")
    if parts.scheme != "http" or parts.netloc != OSS_HOST or key not in state.objects:
        raise Refused(400, "InvalidFile.Download", f"{name}={url} is no uploaded object.")
    return state.objects[key]


def _decode(data: bytes, mode: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert(mode))


def _expect(name: str, got: str, wanted: str) -> None:
    if got != wanted:
        raise Refused(400, "InvalidParameter", f"{name} is {got!r}; expected {wanted!r}.")
