"""Desktop mode: the editors' engine host on 127.0.0.1.

Wire format (header line, raw RGB image and planes) and client: scribbleseg_editor/wire.py and
host.py. One worker process runs the strokes (workers.py) and keeps the prepared-image cache, so
later strokes on one image skip its preparation; a stroke past DESKTOP_JOB_LIMIT_S is ended.
Pixels and alpha pass between the host and its worker through one private temporary file in
memory (/dev/shm where there is one), reused stroke after stroke (its pages stay allocated), not
through the worker's pipe: up to 100 MB a stroke. Strokes go through it one at a time.

Safety on a shared machine: binds loopback only, every request carries the token of the runtime
file (readable by this user alone), and the Host header must name loopback so that a web page
cannot reach the host through DNS rebinding. The host exits after `idle_s` without requests, as
soon as its runtime file is removed or taken over by another host, and on SIGTERM.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import secrets
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import BinaryIO

from aiohttp import web
from aiohttp.http_exceptions import LineTooLong

from scribbleseg.server.httpserver import (
    BODY_S,
    HttpServer,
    answer_response,
    content_length,
    report_unexpected,
)
from scribbleseg.server.segmenting import local_job
from scribbleseg.server.workers import WorkerPool
from scribbleseg_editor import host, hostfile, limits, wire
from scribbleseg_editor.errors import ScribbleSegError

LOOPBACK_NAMES = {"127.0.0.1", "localhost", "[::1]"}
MAX_BODY_BYTES = wire.MAX_HEADER_BYTES + limits.MAX_SIDE**2 * (3 + len(wire.PLANE_ORDER))
DESKTOP_JOB_LIMIT_S = 600.0  # a 4096x4096 stroke on a slow laptop, with room to spare
DESKTOP_QUEUE = 4  # strokes waiting; an editor sends one at a time
CACHE_ITEMS = 4
SHARED_MEMORY = "/dev/shm" if Path("/dev/shm").is_dir() else None  # None: the temp folder
CHUNK = 1 << 20
ROUTES = {wire.HEALTH_PATH: "GET", wire.SEGMENT_PATH: "POST"}


class LocalHost(HttpServer):
    """The desktop engine host: its token, worker, and the time of its last request."""

    def __init__(self, idle_s: float, poll_s: float = 1.0) -> None:
        super().__init__("127.0.0.1", 0)
        self.token = secrets.token_urlsafe(32)
        self.idle_s = idle_s
        self.poll_s = poll_s
        self.workers = WorkerPool(1, DESKTOP_QUEUE, DESKTOP_JOB_LIMIT_S, CACHE_ITEMS)
        self.last_request = time.monotonic()
        self._busy = 0
        self._watch: asyncio.Task | None = None
        self._exchange: BinaryIO | None = None  # the pixels file shared with the worker
        self._exchange_lock = asyncio.Lock()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def owns_runtime_file(self) -> bool:
        runtime = hostfile.read_runtime()
        return runtime is not None and runtime.get("token") == self.token

    def should_stop(self) -> bool:
        idle = self._busy == 0 and time.monotonic() - self.last_request > self.idle_s
        return idle or not self.owns_runtime_file()

    async def started(self) -> None:
        self.workers.start()  # loads the engine and model while the editor gathers its pixels
        self._exchange = tempfile.NamedTemporaryFile(  # noqa: SIM115 (open while serving)
            prefix="scribbleseg-", dir=SHARED_MEMORY)
        self._watch = asyncio.create_task(self._watch_for_stop())

    async def stopping(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        await asyncio.to_thread(self.workers.stop)
        if self._exchange is not None:
            self._exchange.close()

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        self._busy += 1
        try:
            self._check_caller(request)
            if ROUTES.get(request.path) is None:
                raise ScribbleSegError("InvalidParameter", f"No such path {request.path[:200]}.",
                                       http_status=404)
            if request.method != ROUTES[request.path]:
                raise ScribbleSegError(
                    "InvalidParameter", f"{request.method} is not allowed on {request.path}; use "
                    f"{ROUTES[request.path]}.", http_status=405)
            if request.method == "GET":
                return answer_response({"status": "ok", "pid": os.getpid(),
                                        "version": _version(),
                                        "cache": self.workers.cache_stats()})
            return await self._segment(request)
        except ScribbleSegError as error:
            return self.refusal(error)
        except Exception:  # noqa: BLE001 (anything else still gets a proper answer)
            return self.refusal(report_unexpected("local"))
        finally:
            self._busy -= 1
            self.last_request = time.monotonic()

    def _check_caller(self, request: web.BaseRequest) -> None:
        host_name = request.headers.get("Host", "").rsplit(":", 1)[0].lower()
        if host_name not in LOOPBACK_NAMES:
            raise ScribbleSegError("AuthFailed", "The Host header must name 127.0.0.1.")
        offered = request.headers.get("Authorization", "").removeprefix("Bearer ").encode()
        if not hmac.compare_digest(offered, self.token.encode()):
            raise ScribbleSegError("AuthFailed", "The token does not match this engine host's.")

    async def _segment(self, request: web.BaseRequest) -> web.Response:
        length = content_length(request, MAX_BODY_BYTES)
        try:
            line = await request.content.readline(max_line_length=wire.MAX_HEADER_BYTES)
        except LineTooLong:
            line = b""
        header = wire.parse_header(line)  # size and planes checked before any pixel is read
        if length != len(line) + header.body_bytes:
            raise ScribbleSegError(
                "InvalidParameter",
                f"The body is {length} bytes; a {header.width}x{header.height} image with "
                f"planes {list(header.planes)} needs {len(line) + header.body_bytes}.",
            )
        async with self._exchange_lock:
            self._exchange.seek(0)
            await _receive_into(request, self._exchange, header.body_bytes)
            await self.workers.run(local_job, header, self._exchange.name)
            self._exchange.seek(header.body_bytes)
            alpha = self._exchange.read(header.width * header.height)
        return web.Response(body=alpha, content_type="application/octet-stream")

    async def _watch_for_stop(self) -> None:
        while not self.should_stop():
            await asyncio.sleep(self.poll_s)
        self.request_stop()


async def _receive_into(request: web.BaseRequest, file: BinaryIO, length: int) -> None:
    """The rest of the body (`length` bytes) into `file`, within the body time limit."""
    try:
        async with asyncio.timeout(BODY_S):
            while length > 0:
                chunk = await request.content.read(min(CHUNK, length))
                if not chunk:
                    raise ScribbleSegError("InvalidParameter", "The body ended early.")
                file.write(chunk)
                length -= len(chunk)
    except TimeoutError:
        raise ScribbleSegError(
            "InvalidParameter", f"The body did not arrive within {BODY_S:g} s.") from None
    file.flush()


def _version() -> str:
    try:
        return metadata.version("scribbleseg")
    except metadata.PackageNotFoundError:
        return "unknown"


def run_local(idle_minutes: float) -> int:
    """Serve until idle, until the runtime file goes, or SIGTERM; a second start points at the
    first."""
    running = host.find_host()
    if running is not None:
        print(f"ScribbleSeg engine host already running on 127.0.0.1:{running.port} "
              f"(runtime file {hostfile.runtime_file()}).")
        return 0
    server = LocalHost(idle_s=idle_minutes * 60)
    hostfile.write_runtime(server.port, server.token, os.getpid())
    print(f"ScribbleSeg engine host on 127.0.0.1:{server.port} "
          f"(runtime file {hostfile.runtime_file()}).", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        if server.owns_runtime_file():
            hostfile.runtime_file().unlink(missing_ok=True)
    return 0
