"""Desktop mode: the editors' engine host on 127.0.0.1.

Client: scribbleseg_editor/host.py; wire format: scribbleseg_editor/wire.py.

Safety on a shared machine: binds loopback only, every request carries the token of the runtime
file (readable by this user alone), and the Host header must name loopback so that a web page
cannot reach the host through DNS rebinding. The host exits after `idle_s` without requests and
as soon as its runtime file is removed or taken over by another host.
"""

from __future__ import annotations

import hmac
import importlib
import os
import secrets
import threading
import time
from importlib import metadata

import numpy as np

from scribbleseg.request import SegmentRequest, request_from_arrays
from scribbleseg.server.app import BaseHandler, EngineHTTPServer, report_unexpected
from scribbleseg.server.cache import PreparedImageCache
from scribbleseg.server.segmenting import segment_request
from scribbleseg_editor import host, hostfile, limits, wire
from scribbleseg_editor.errors import ScribbleSegError

LOOPBACK_NAMES = {"127.0.0.1", "localhost", "[::1]"}
MAX_HEADER_LINE = wire.MAX_HEADER_BYTES
MAX_BODY_BYTES = MAX_HEADER_LINE + limits.MAX_SIDE**2 * (3 + len(wire.PLANE_ORDER))


class LocalHost(EngineHTTPServer):
    """The desktop engine host: its token, cache, and the time of its last request."""

    def __init__(self, idle_s: float) -> None:
        super().__init__(("127.0.0.1", 0), LocalHandler)
        self.token = secrets.token_urlsafe(32)
        self.idle_s = idle_s
        self.cache = PreparedImageCache()
        self.engine_lock = threading.Lock()  # one stroke at a time: the editor waits anyway
        self.last_request = time.monotonic()
        self._busy = 0
        self._busy_lock = threading.Lock()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def count_busy(self, change: int) -> None:
        with self._busy_lock:
            self._busy += change
            self.last_request = time.monotonic()

    def owns_runtime_file(self) -> bool:
        runtime = hostfile.read_runtime()
        return runtime is not None and runtime.get("token") == self.token

    def should_stop(self) -> bool:
        idle = self._busy == 0 and time.monotonic() - self.last_request > self.idle_s
        return idle or not self.owns_runtime_file()


class LocalHandler(BaseHandler):
    server: LocalHost

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._answer(self._health)

    def do_POST(self) -> None:  # noqa: N802
        self._answer(self._segment)

    def _answer(self, route) -> None:
        self.server.count_busy(+1)
        try:
            self._check_caller()
            route()
        except ScribbleSegError as error:
            self._send_error(error)
        except Exception:  # noqa: BLE001 (anything else still gets a proper answer)
            self._send_error(report_unexpected("local"))
        finally:
            self.server.count_busy(-1)

    def _check_caller(self) -> None:
        host_name = self.headers.get("Host", "").rsplit(":", 1)[0].lower()
        if host_name not in LOOPBACK_NAMES:
            raise ScribbleSegError("AuthFailed", "The Host header must name 127.0.0.1.")
        offered = self.headers.get("Authorization", "").removeprefix("Bearer ").encode()
        if not hmac.compare_digest(offered, self.server.token.encode()):
            raise ScribbleSegError("AuthFailed", "The token does not match this engine host's.")

    def _health(self) -> None:
        if self.path != "/local/v1/health":
            raise ScribbleSegError("InvalidParameter", f"No such path {self.path}.",
                                   http_status=404)
        self.send_json(200, {"status": "ok", "pid": os.getpid(), "version": _version(),
                             "cache": self.server.cache.stats()})

    def _segment(self) -> None:
        if self.path != "/local/v1/segment":
            raise ScribbleSegError("InvalidParameter", f"No such path {self.path}.",
                                   http_status=404)
        started = time.perf_counter()
        header, request = self._read_request()
        received = time.perf_counter()
        with self.server.engine_lock:
            if header.engine == "cloud":
                alpha, timings = _segment_via_cloud(request, header), {}
            else:
                run = segment_request(request, self.server.cache)
                alpha, timings = run.alpha, {"prepare": run.prepare_s, "engine": run.segment_s}
        timings = {"receive": received - started, **timings}
        self.send_body(200, np.ascontiguousarray(alpha, np.uint8).tobytes(),
                       "application/octet-stream", {"Server-Timing": _server_timing(timings)})

    def _read_request(self) -> tuple[wire.Header, SegmentRequest]:
        length = self.content_length(MAX_BODY_BYTES)
        line = self.rfile.readline(MAX_HEADER_LINE)
        header = wire.parse_header(line)
        width, height, planes = header.width, header.height, list(header.planes)
        expected = len(line) + header.body_bytes
        if length != expected:
            raise ScribbleSegError(
                "InvalidParameter",
                f"The body is {length} bytes; a {width}x{height} image with planes {planes} "
                f"needs {expected}.",
            )
        pixels = self.read_exactly(width * height * 3)
        image = np.frombuffer(pixels, np.uint8).reshape(height, width, 3)
        arrays = {name: np.frombuffer(self.read_exactly(width * height), np.uint8)
                  .reshape(height, width) for name in planes}
        return header, request_from_arrays(image, arrays.get("positive"),
                                           arrays.get("negative"), arrays.get("mask"),
                                           header.options)

    def _send_error(self, error: ScribbleSegError) -> None:
        self.close_connection = True  # the body may be partly unread
        self.send_json(error.http_status, {"Code": error.code, "Message": error.message,
                                           "Recommend": error.recommend})


def _segment_via_cloud(request: SegmentRequest, header: wire.Header) -> np.ndarray:
    from scribbleseg.cloud import segment_via_cloud  # requests: loaded only for cloud relays

    return segment_via_cloud(request, endpoint=header.endpoint)


def _server_timing(seconds: dict[str, float]) -> str:
    return ", ".join(f"{name};dur={value * 1000:.1f}" for name, value in seconds.items())


def _version() -> str:
    try:
        return metadata.version("scribbleseg")
    except metadata.PackageNotFoundError:
        return "unknown"


def run_local(idle_minutes: float, poll_s: float = 1.0) -> int:
    """Serve until idle or until the runtime file goes; a second start points at the first."""
    running = host.find_host()
    if running is not None:
        print(f"ScribbleSeg engine host already running on 127.0.0.1:{running.port} "
              f"(runtime file {hostfile.runtime_file()}).")
        return 0
    server = LocalHost(idle_s=idle_minutes * 60)
    hostfile.write_runtime(server.port, server.token, os.getpid())
    print(f"ScribbleSeg engine host on 127.0.0.1:{server.port} "
          f"(runtime file {hostfile.runtime_file()}).", flush=True)
    # Load the engine and its model while the editor gathers its pixels, not during the first
    # stroke (default_prior is cached, so the first request finds it loaded).
    threading.Thread(target=_load_engine, daemon=True).start()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        while not server.should_stop():
            time.sleep(poll_s)
    finally:
        server.shutdown()
        server.server_close()
        if server.owns_runtime_file():
            hostfile.runtime_file().unlink(missing_ok=True)
    return 0


def _load_engine() -> None:
    importlib.import_module("scribbleseg.engine.pipeline").default_prior()
