"""Who sent a cloud API request: V3 (ACS3-HMAC-SHA256) or V1 (HMAC-SHA1) signatures, replay guard.

The server recomputes the signature with scribbleseg.signing from what it received. V3 signs the
body's hash in a header, so a V3 request is checked from its headers before its body is read
(`verify_v3_headers`), and the body against that hash once read (`check_body_hash`). V1 signs
the parameters (query and form) but not file parts: clients that need the files covered use V3.

Replay guard: a timestamp more than `window_s` off, or a nonce already seen inside that window,
is refused. Nonces go through a `NonceStore`; the default keeps them in this process, and then a
timestamp older than the server's start is refused too, so neither a restart nor a second
instance with the same keys accepts a request captured before it started (a shared store,
redisstate.py, lifts that rule).
"""

from __future__ import annotations

import hmac
import json
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Protocol

from scribbleseg import signing
from scribbleseg_editor.errors import ScribbleSegError

WINDOW_S = 15 * 60
# Without these among SignedHeaders, the time, the nonce or the body could be swapped.
V3_REQUIRED_HEADERS = ("x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce")
V1_REQUIRED = ("AccessKeyId", "Signature", "SignatureMethod", "SignatureNonce", "Timestamp")


def load_keys(path: Path) -> dict[str, str]:
    """The AccessKey file: a JSON object mapping AccessKeyId to AccessKeySecret."""
    try:
        keys = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise ScribbleSegError(
            "InvalidParameter", f"Cannot read the AccessKey file {path}: {error}"
        ) from None
    if not (isinstance(keys, dict) and keys
            and all(isinstance(k, str) and isinstance(v, str) and v for k, v in keys.items())):
        raise ScribbleSegError(
            "InvalidParameter",
            f"The AccessKey file {path} must be a JSON object of AccessKeyId: AccessKeySecret.",
        )
    return keys


class NonceStore(Protocol):
    shared: bool  # True when other instances and later runs see the same nonces

    def add(self, key: str, expires_at: float) -> bool:
        """Remember `key` until `expires_at` (time.time()); False when it is already there."""

    def check(self) -> None:
        """Raise when the store cannot be reached (readiness)."""


class MemoryNonceStore:
    """Nonces of this process, oldest first (expiry pops from the left)."""

    shared = False

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._order: deque[tuple[float, str]] = deque()
        self._lock = threading.Lock()

    def add(self, key: str, expires_at: float) -> bool:
        now = time.time()
        with self._lock:
            while self._order and self._order[0][0] < now:
                self._seen.discard(self._order.popleft()[1])
            if key in self._seen:
                return False
            self._seen.add(key)
            self._order.append((expires_at, key))
            return True

    def check(self) -> None:
        pass  # this process's memory is always there


class Authenticator:
    def __init__(self, keys: Mapping[str, str], nonces: NonceStore | None = None,
                 window_s: float = WINDOW_S) -> None:
        self.keys = dict(keys)
        self.window_s = window_s
        self.nonces = nonces or MemoryNonceStore()
        self.started_at = int(time.time())  # whole seconds, as timestamps are written

    def verify_v3_headers(self, method: str, path: str, query: Mapping[str, str],
                          headers: Iterable[tuple[str, str]]) -> str | None:
        """The AccessKeyId of a correctly signed, fresh V3 request; None when the request has
        no V3 Authorization (it may be V1); else ScribbleSegError. The body is not needed."""
        headers = list(headers)
        authorization = _header(headers, "authorization")
        if not authorization.startswith(signing.V3_ALGORITHM):
            return None
        try:
            key_id, signed_headers, signature = signing.parse_v3_authorization(authorization)
        except ValueError as error:
            raise _auth_failed(f"Malformed Authorization header: {error}.") from None
        missing = [name for name in V3_REQUIRED_HEADERS if name not in signed_headers]
        if missing:
            raise _auth_failed(f"SignedHeaders must include {', '.join(missing)}.")
        secret = self._secret(key_id)
        expected, _ = signing.sign_v3(method, path, query, headers,
                                      _header(headers, "x-acs-content-sha256"), secret,
                                      signed_headers)
        if not hmac.compare_digest(expected, signature):
            raise _auth_failed("The V3 signature does not match; check the AccessKeySecret.")
        self._check_fresh(key_id, _header(headers, "x-acs-date"),
                          _header(headers, "x-acs-signature-nonce"))
        return key_id

    @staticmethod
    def check_body_hash(headers: Iterable[tuple[str, str]], body: bytes) -> None:
        """Refuse a V3 request whose body is not the one its signed hash names."""
        if not hmac.compare_digest(_header(headers, "x-acs-content-sha256"),
                                   signing.sha256_hex(body)):
            raise _auth_failed("x-acs-content-sha256 does not match the body received.")

    def verify_v1(self, method: str, params: Mapping[str, str]) -> str:
        """The AccessKeyId of a correctly signed, fresh V1 request; else ScribbleSegError."""
        if "Signature" not in params:
            raise _auth_failed(
                "The request is not signed (no V3 Authorization, no V1 Signature).")
        missing = [name for name in V1_REQUIRED if not params.get(name)]
        if missing:
            raise _auth_failed(f"A V1 signed request needs {', '.join(missing)}.")
        if params["SignatureMethod"] != "HMAC-SHA1":
            raise _auth_failed("SignatureMethod must be HMAC-SHA1.")
        secret = self._secret(params["AccessKeyId"])
        expected = signing.sign_v1(method, params, secret)
        if not hmac.compare_digest(expected.encode(), params["Signature"].encode()):
            raise _auth_failed("The V1 signature does not match; check the AccessKeySecret.")
        self._check_fresh(params["AccessKeyId"], params["Timestamp"], params["SignatureNonce"])
        return params["AccessKeyId"]

    def _secret(self, key_id: str) -> str:
        if key_id not in self.keys:
            raise ScribbleSegError("InvalidAccessKeyId.NotFound",
                                   f"AccessKeyId {key_id!r} is not known to this server.")
        return self.keys[key_id]

    def _check_fresh(self, key_id: str, timestamp: str, nonce: str) -> None:
        if not nonce:
            raise _auth_failed("The signature nonce is missing.")
        sent = _parse_utc(timestamp)
        if abs(time.time() - sent) > self.window_s:
            raise _auth_failed(
                f"Timestamp {timestamp} is more than {self.window_s / 60:.0f} minutes from the "
                "server's clock; check the client's clock and sign afresh."
            )
        if not self.nonces.shared and sent < self.started_at:
            raise _auth_failed(
                f"Timestamp {timestamp} is older than this server's start; sign afresh."
            )
        # A timestamp may be window_s off either way: remember the nonce for both sides.
        if not self.nonces.add(f"{key_id}\n{nonce}", time.time() + 2 * self.window_s):
            raise _auth_failed("SignatureNonce was already used; sign each request afresh.")


def _parse_utc(timestamp: str) -> float:
    """Seconds since the epoch of a UTC ISO 8601 time such as 2024-01-11T08:00:00Z."""
    try:
        parsed = datetime.fromisoformat(timestamp)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise _auth_failed(f"Timestamp {timestamp!r} is not a UTC time like 2024-01-11T08:00:00Z.")
    return parsed.timestamp()


def _header(headers: Iterable[tuple[str, str]], name: str) -> str:
    return next((value.strip() for key, value in headers if key.lower() == name), "")


def _auth_failed(message: str) -> ScribbleSegError:
    return ScribbleSegError("AuthFailed", message)
