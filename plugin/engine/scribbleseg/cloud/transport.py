"""One HTTP exchange under a time limit, and bounded retries with backoff and jitter.

Every failure comes out as a CloudError; `retryable` says whether trying again may help
(connection refused or reset, answer cut off, 5xx, Throttling), `retry_after` how long the
server asked us to wait.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

import requests
import urllib3

from scribbleseg.cloud.errors import CloudError, error_from_reply

MAX_REPLY_BYTES = 64 * 1024 * 1024
CONNECT_LIMIT_S = 10.0
EXCHANGE_LIMIT_S = 120.0  # default per exchange: a 4096x4096 image on a slow CPU server
_CHUNK = 256 * 1024

T = TypeVar("T")


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]  # case-insensitive
    body: bytes


@dataclass(frozen=True)
class RetryPolicy:
    """Tries in all (the first included), and the waits between them."""

    attempts: int = 4
    first_delay_s: float = 0.5  # doubles with each retry, then jitter takes 0..50% off
    longest_delay_s: float = 30.0  # a server asking for a longer wait gets the error at once

    def delay(self, retry_index: int, asked_s: float | None) -> float | None:
        """Seconds to wait before retry number `retry_index` (0-based), or None: give up."""
        if asked_s is not None and asked_s > self.longest_delay_s:
            return None
        backoff = min(self.first_delay_s * 2**retry_index, self.longest_delay_s)
        jittered = backoff * random.uniform(0.5, 1.0)  # spreads out clients that failed together
        return max(jittered, asked_s or 0.0)


def with_retries(attempt: Callable[[], T], policy: RetryPolicy) -> T:
    """Run `attempt` until it succeeds, fails for good, or the tries are used up."""
    retry_index = 0
    while True:
        try:
            return attempt()
        except CloudError as error:
            wait = policy.delay(retry_index, error.retry_after)
            tries_left = policy.attempts - 1 - retry_index
            if not error.retryable or tries_left < 1 or wait is None:
                raise
            time.sleep(wait)
            retry_index += 1


def exchange(
    session: requests.Session,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    timeout_s: float,
    max_bytes: int = MAX_REPLY_BYTES,
) -> Reply:
    """Send one request and read the whole answer within about `timeout_s` (any status)."""
    deadline = time.monotonic() + timeout_s
    try:
        with session.request(
            method, url, headers=headers, data=body, stream=True, allow_redirects=False,
            timeout=(min(timeout_s, CONNECT_LIMIT_S), timeout_s),
        ) as response:
            chunks, size = [], 0
            # read1 returns what has arrived, so a trickling answer meets the deadline check
            # at least once per read timeout (iter_content would wait for whole chunks).
            while chunk := response.raw.read1(_CHUNK, decode_content=True):
                size += len(chunk)
                if size > max_bytes:
                    raise CloudError(
                        "Cloud.BadResponse", f"{_origin(url)} sent more than {max_bytes} bytes"
                    )
                if time.monotonic() > deadline:
                    raise _timeout_error(url, timeout_s)
                chunks.append(chunk)
            return Reply(response.status_code, response.headers, b"".join(chunks))
    except (requests.RequestException, urllib3.exceptions.HTTPError) as error:
        raise _transport_error(url, error, timeout_s) from None


def expect_success(reply: Reply) -> Reply:
    if not 200 <= reply.status < 300:
        raise error_from_reply(reply.status, reply.headers, reply.body)
    return reply


def _transport_error(url: str, error: Exception, timeout_s: float) -> CloudError:
    if _is_timeout(error):
        return _timeout_error(url, timeout_s)
    if isinstance(error, requests.ConnectionError) and not _was_cut_off(error):
        return CloudError(
            "Cloud.Unreachable", f"Could not connect to {_origin(url)} ({_reason(error)})",
            retryable=True,
        )
    return CloudError(
        "Cloud.BadResponse", f"The answer from {_origin(url)} was cut off ({_reason(error)})",
        retryable=True,
    )


def _timeout_error(url: str, timeout_s: float) -> CloudError:
    return CloudError("Cloud.Timeout", f"{_origin(url)} did not answer within {timeout_s:g} s")


def _is_timeout(error: Exception) -> bool:
    return isinstance(error, requests.Timeout) or any(
        isinstance(cause, urllib3.exceptions.ReadTimeoutError) for cause in _causes(error)
    )


def _was_cut_off(error: BaseException) -> bool:
    return any(isinstance(cause, urllib3.exceptions.ProtocolError) for cause in _causes(error))


def _causes(error: BaseException) -> list[BaseException]:
    """The error, the exceptions it wraps (in args) and its chain of causes."""
    found: list[BaseException] = []
    pending: list[object] = [error]
    while pending:
        current = pending.pop()
        if isinstance(current, BaseException) and current not in found:
            found.append(current)
            pending.extend([*current.args, current.__cause__, current.__context__,
                            getattr(current, "reason", None)])
    return found


def _reason(error: BaseException) -> str:
    """A short reason without the URL (which can carry the AccessKeyId of a V1 call)."""
    causes = _causes(error)
    for cause in causes:
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror
    for cause in causes:
        if type(cause).__module__ == "http.client":
            return str(cause) or type(cause).__name__
    return type(error).__name__


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"  # no user:password@
