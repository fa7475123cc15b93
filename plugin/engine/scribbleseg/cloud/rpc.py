"""Signed RPC calls of the Alibaba Cloud protocol (V3 headers or V1 parameters), JSON answers.

Where the parameters travel:
- GET: every parameter in the query.
- POST with URL parameters only: business parameters form-encoded in the body.
- POST with files (direct upload to a ScribbleSeg server): the body is multipart/form-data holding
  only the files, each part named like the URL parameter it replaces; every text parameter goes in
  the query, so V1 and V3 signatures cover them the same way on any server.
V1 puts its common parameters (AccessKeyId, Signature, ...) in the query, as the vendor's SDKs did.
Without credentials the request goes out unsigned (a server started with --unsigned takes it).
Each try is signed afresh (new nonce and time), because servers refuse a replayed nonce.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import requests
import urllib3

from scribbleseg import signing
from scribbleseg.cloud.credentials import Credentials
from scribbleseg.cloud.errors import CREDENTIALS_HINT, CloudError
from scribbleseg.cloud.transport import (
    EXCHANGE_LIMIT_S,
    RetryPolicy,
    exchange,
    expect_success,
    with_retries,
)

SIGNATURE_VERSIONS = ("v3", "v1")
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
# Refusals of an unsigned call that mean "sign it"
AUTH_CODES = {"AuthFailed", "MissingAccessKeyId", "IncompleteSignature", "MissingSignature",
              "InvalidAccessKeyId.NotFound"}


@dataclass(frozen=True)
class RpcCall:
    """One API action: where, which, and its business parameters (and files, if any)."""

    endpoint: str  # URL with scheme, e.g. https://aigen.cn-shanghai.aliyuncs.com/
    action: str
    version: str
    params: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, bytes] = field(default_factory=dict)
    method: str = "POST"


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


def endpoint_url(endpoint: str) -> str:
    """`host[:port]` or a URL -> a URL with scheme (https by default) and a path."""
    url = endpoint if "://" in endpoint else f"https://{endpoint}"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CloudError("InvalidParameter", f"The endpoint {endpoint!r} is not an http(s) URL")
    return parts._replace(path=parts.path or "/", query="", fragment="").geturl()


def build_request(
    call: RpcCall, credentials: Credentials | None, signature: str, *, now: datetime, nonce: str
) -> HttpRequest:
    """The HTTP request for `call`, signed with `signature` ("v3"/"v1") when given credentials."""
    query, body, headers = _layout(call)
    if signature == "v1":
        query = {**query, **_v1_common(call, credentials, now, nonce)}
        if credentials:
            query["Signature"] = signing.sign_v1(call.method, {**query, **_form_fields(call)},
                                                 credentials.access_key_secret)
    else:
        headers = {**headers, **_v3_headers(call, credentials, query, headers, body, now, nonce)}
    url = f"{call.endpoint}?{_encode(query)}" if query else call.endpoint
    return HttpRequest(call.method, url, headers, body)


@dataclass(frozen=True)
class RpcClient:
    """What every call of one operation shares: connection pool, key, signature, limits."""

    session: requests.Session
    credentials: Credentials | None
    signature: str = "v3"
    timeout_s: float = EXCHANGE_LIMIT_S
    retries: RetryPolicy = field(default_factory=RetryPolicy)

    def call(self, call: RpcCall) -> dict:
        """Send the action (retrying as the policy allows) and return its JSON answer."""
        def attempt() -> dict:
            request = build_request(call, self.credentials, self.signature,
                                    now=datetime.now(UTC), nonce=uuid.uuid4().hex)
            reply = expect_success(exchange(
                self.session, request.method, request.url, headers=request.headers,
                body=request.body, timeout_s=self.timeout_s,
            ))
            return _json_object(reply.body, call.action)

        try:
            return with_retries(attempt, self.retries)
        except CloudError as error:
            if self.credentials is None and error.code in AUTH_CODES:
                raise _no_credentials_error(error) from None
            raise

    def get(self, url: str, max_bytes: int) -> bytes:
        """An unsigned GET (a ResultUrl), retried like a call."""
        def attempt() -> bytes:
            reply = exchange(self.session, "GET", url, timeout_s=self.timeout_s,
                             max_bytes=max_bytes)
            return expect_success(reply).body

        return with_retries(attempt, self.retries)

    def post_form(self, url: str, fields: list[tuple[str, object]]) -> None:
        """An unsigned multipart POST (an OSS PostObject upload), retried like a call."""
        body, content_type = urllib3.encode_multipart_formdata(fields)

        def attempt() -> None:
            expect_success(exchange(self.session, "POST", url, headers={
                "Content-Type": content_type}, body=body, timeout_s=self.timeout_s))

        with_retries(attempt, self.retries)


def _no_credentials_error(refusal: CloudError) -> CloudError:
    return CloudError(
        refusal.code, f"The server wants signed requests and no AccessKey was found "
        f"({refusal.server_message.rstrip('. ')})", server_status=refusal.server_status,
        request_id=refusal.request_id, advice=CREDENTIALS_HINT,
    )


def _layout(call: RpcCall) -> tuple[dict[str, str], bytes, dict[str, str]]:
    """(query, body, content headers) before signing."""
    params = dict(call.params)
    if call.method == "GET":
        return params, b"", {}
    if call.files:
        parts = [(name, (f"{name}.bin", data, "application/octet-stream"))
                 for name, data in call.files.items()]
        body, content_type = urllib3.encode_multipart_formdata(parts)
        return params, body, {"content-type": content_type}
    return {}, _encode(params).encode(), {"content-type": FORM_CONTENT_TYPE}


def _form_fields(call: RpcCall) -> dict[str, str]:
    """The parameters the body carries as form fields (V1 signs them with the query)."""
    return dict(call.params) if call.method != "GET" and not call.files else {}


def _v1_common(
    call: RpcCall, credentials: Credentials | None, now: datetime, nonce: str
) -> dict[str, str]:
    common = {"Action": call.action, "Version": call.version, "Format": "JSON"}
    if credentials:
        common.update({
            "AccessKeyId": credentials.access_key_id,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
            "SignatureNonce": nonce,
            "Timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        })
        if credentials.security_token:
            common["SecurityToken"] = credentials.security_token
    return common


def _v3_headers(
    call: RpcCall,
    credentials: Credentials | None,
    query: Mapping[str, str],
    content_headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    nonce: str,
) -> dict[str, str]:
    headers = {
        **content_headers,
        "host": urlsplit(call.endpoint).netloc,
        "x-acs-action": call.action,
        "x-acs-version": call.version,
        "x-acs-date": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "x-acs-signature-nonce": nonce,
        "x-acs-content-sha256": signing.sha256_hex(body),
    }
    if not credentials:
        return headers
    if credentials.security_token:
        headers["x-acs-security-token"] = credentials.security_token
    path = urlsplit(call.endpoint).path or "/"
    signature, names = signing.sign_v3(call.method, path, query, headers.items(),
                                       headers["x-acs-content-sha256"],
                                       credentials.access_key_secret)
    headers["Authorization"] = signing.v3_authorization(credentials.access_key_id, names,
                                                        signature)
    return headers


def _encode(params: Mapping[str, str]) -> str:
    return "&".join(f"{signing.percent_encode(k)}={signing.percent_encode(v)}"
                    for k, v in sorted(params.items()))


def _json_object(body: bytes, action: str) -> dict:
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise CloudError("Cloud.BadResponse", f"The answer to {action} is not a JSON object",
                         retryable=True)
    return answer
