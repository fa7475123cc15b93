"""Replay state shared by all instances: `serve --state redis://HOST:PORT/DB`.

A nonce is written with SET NX and an expiry (the signature window, both sides), so a request
replayed to any instance behind the load balancer finds its nonce taken and is refused. The
queue limit stays per instance (fifo.py): it protects that instance's workers.
"""

from __future__ import annotations

import math

from scribbleseg_editor.errors import ScribbleSegError

KEY_PREFIX = "scribbleseg:nonce:"
TIMEOUT_S = 2.0  # a Redis call (the server makes it from a thread)


class RedisNonceStore:
    shared = True

    def __init__(self, url: str) -> None:
        try:
            import redis
        except ImportError:
            raise ScribbleSegError(
                "InvalidParameter", "--state redis://... needs redis: pip install "
                "'scribbleseg[scale]'.") from None
        self._errors = (redis.RedisError,)
        self.client = redis.Redis.from_url(url, socket_timeout=TIMEOUT_S,
                                           socket_connect_timeout=TIMEOUT_S)

    def add(self, key: str, expires_at: float) -> bool:
        try:
            return bool(self.client.set(KEY_PREFIX + key, 1, nx=True,
                                        exat=math.ceil(expires_at)))
        except self._errors as error:
            raise ScribbleSegError(
                "InternalError", f"The replay state (Redis) cannot be reached: {error}") from None

    def check(self) -> None:
        """Raise when Redis cannot be reached (readiness)."""
        self.client.ping()
