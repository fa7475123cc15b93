"""Faults between the cloud client and a server: each ends in a clear error or a correct retry.

A scripted HTTP server on loopback answers each action call with the next step of its script
(an error status, a stall, a cut-off answer, success); its ResultUrl always works.
"""

from __future__ import annotations

import io
import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from PIL import Image

from scribbleseg.cloud import CloudError, Credentials, RetryPolicy, segment_via_cloud
from scribbleseg.request import request_from_arrays

FAST_RETRIES = RetryPolicy(attempts=3, first_delay_s=0.01, longest_delay_s=1.0)
KEYS = Credentials("key", "secret")
SIDE = 40
RESULT = np.tile(np.arange(SIDE, dtype=np.uint8) * 6, (SIDE, 1))  # the alpha the server gives


class ScriptedServer:
    """POST / plays `script` one step per request (the last step repeats); GET /result.png."""

    def __init__(self, script: list[Callable[[BaseHTTPRequestHandler], None]]) -> None:
        self.script = script
        self.posts = 0
        self.released = threading.Event()  # ends stalls when the test is over
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:  # noqa: N802
                buffer = io.BytesIO()
                Image.fromarray(RESULT, "L").save(buffer, "PNG")
                reply(200, buffer.getvalue(), {"Content-Type": "image/png"})(self)

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers["Content-Length"]))
                step = owner.script[min(owner.posts, len(owner.script) - 1)]
                owner.posts += 1
                step(self)

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"

    def __enter__(self) -> ScriptedServer:
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self.http.shutdown()
        self.http.server_close()


def reply(status: int, body: bytes, headers: dict[str, str] | None = None):
    def step(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    return step


def error(status: int, code: str, headers: dict[str, str] | None = None):
    body = {"RequestId": f"req-{code}", "HostId": "test", "Code": code,
            "Message": f"{code} from the test server", "Recommend": ""}
    return reply(status, json.dumps(body).encode(), headers)


def success(handler: BaseHTTPRequestHandler) -> None:
    url = f"http://127.0.0.1:{handler.server.server_address[1]}/result.png"
    reply(200, json.dumps({"RequestId": "req-ok", "Data": {"ResultUrl": url}}).encode())(handler)


def cut_off(handler: BaseHTTPRequestHandler) -> None:
    """Promise 1000 bytes, send 20, close."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", "1000")
    handler.end_headers()
    handler.wfile.write(b'{"RequestId": "req-c')
    handler.close_connection = True


def stall(server: ScriptedServer) -> Callable[[BaseHTTPRequestHandler], None]:
    def step(handler: BaseHTTPRequestHandler) -> None:
        server.released.wait(30)
        success(handler)
    return step


def _segment(url: str, **options) -> np.ndarray:
    image = np.full((SIDE, SIDE, 3), 128, np.uint8)
    positive = np.zeros((SIDE, SIDE), bool)
    positive[10:20, 10:20] = True
    request = request_from_arrays(image, positive)
    return segment_via_cloud(request, endpoint=url, upload="direct", credentials=KEYS,
                             **{"retries": FAST_RETRIES, **options})


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(name, raising=False)


def test_server_down_is_a_clear_error() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
        with pytest.raises(CloudError) as caught:
            _segment(url)
    assert caught.value.code == "Cloud.Unreachable"
    assert url in caught.value.message and "server is running" in caught.value.message


def test_a_stalled_server_times_out_without_retrying() -> None:
    with ScriptedServer([]) as server:
        server.script.append(stall(server))
        with pytest.raises(CloudError) as caught:
            _segment(server.url, timeout=0.5)
        assert server.posts == 1
    assert caught.value.code == "Cloud.Timeout"
    assert "did not answer within 0.5 s" in caught.value.message


def test_503_then_success_is_retried() -> None:
    with ScriptedServer([error(503, "ServiceUnavailable"), success]) as server:
        np.testing.assert_array_equal(_segment(server.url), RESULT)
        assert server.posts == 2


def test_throttling_waits_as_asked_then_succeeds() -> None:
    throttled = error(400, "Throttling.User", {"x-acs-retry-after": "50"})
    with ScriptedServer([throttled, success]) as server:
        np.testing.assert_array_equal(_segment(server.url), RESULT)
        assert server.posts == 2


def test_throttling_longer_than_we_wait_is_reported_at_once() -> None:
    throttled = error(429, "Throttling", {"x-acs-retry-after": "60000"})
    with ScriptedServer([throttled]) as server:
        with pytest.raises(CloudError) as caught:
            _segment(server.url)
        assert server.posts == 1
    assert (caught.value.code, caught.value.http_status) == ("Throttling", 429)
    assert caught.value.retry_after == 60.0
    assert "Try again in 60 s" in caught.value.message and "req-Throttling" in caught.value.message


def test_a_cut_off_answer_is_retried() -> None:
    with ScriptedServer([cut_off, success]) as server:
        np.testing.assert_array_equal(_segment(server.url), RESULT)
        assert server.posts == 2


def test_answers_always_cut_off_end_in_a_clear_error() -> None:
    with ScriptedServer([cut_off]) as server:
        with pytest.raises(CloudError) as caught:
            _segment(server.url)
        assert server.posts == FAST_RETRIES.attempts
    assert caught.value.code == "Cloud.BadResponse"
    assert "cut off" in caught.value.message


def test_client_errors_are_not_retried() -> None:
    with ScriptedServer([error(400, "InvalidImage.Resolution"), success]) as server:
        with pytest.raises(CloudError) as caught:
            _segment(server.url)
        assert server.posts == 1
    assert caught.value.code == "InvalidImage.Resolution"
    assert "Scale the image down" in caught.value.message  # the advice of that code


def test_an_answer_that_is_not_json_is_a_clear_error() -> None:
    with ScriptedServer([reply(200, b"<html>proxy error</html>")]) as server, pytest.raises(
        CloudError
    ) as caught:
        _segment(server.url)
    assert caught.value.code == "Cloud.BadResponse"


def test_retry_policy_honours_the_servers_wait_and_its_own_bound() -> None:
    policy = RetryPolicy(attempts=4, first_delay_s=0.5, longest_delay_s=30.0)
    assert policy.delay(0, 2.0) >= 2.0  # x-acs-retry-after is at least waited
    assert 0.25 <= policy.delay(1, None) <= 1.0  # backoff doubles, jitter takes up to half
    assert policy.delay(9, None) <= 30.0
    assert policy.delay(0, 31.0) is None  # longer than we wait: give up at once


def test_an_answer_that_trickles_in_stops_at_the_time_limit() -> None:
    def trickle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        for _ in range(1000):  # a byte every 0.1 s: 100 s for the whole answer
            if handler.server.released.wait(0.1):
                return
            handler.wfile.write(b" ")
            handler.wfile.flush()

    with ScriptedServer([trickle]) as server:
        server.http.released = server.released
        with pytest.raises(CloudError) as caught:
            _segment(server.url, timeout=0.5)
        assert server.posts == 1
    assert caught.value.code == "Cloud.Timeout"


def test_errors_without_a_server_answer_still_carry_a_status_for_relays() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        with pytest.raises(CloudError) as caught:
            _segment(f"http://127.0.0.1:{closed.getsockname()[1]}")
    assert caught.value.server_status is None and caught.value.http_status == 502
    assert "HTTP" not in caught.value.message  # no server status is claimed
