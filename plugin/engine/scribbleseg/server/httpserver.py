"""The HTTP stack of both modes: aiohttp's server, with the API's error body for every refusal.

aiohttp parses HTTP (request line, headers, keep-alive); this module sets its limits and makes
the refusals it answers itself (a header line too long, too many headers, a request line too
long, a malformed request, too many open connections) come in the API's error body like every
other refusal. `HttpServer` binds at construction (so the port is known), serves on its own
event loop in `serve_forever` and stops on `shutdown()` or, in the main thread, on SIGTERM or
SIGINT: it stops accepting, lets requests in flight finish within GRACE_S, then returns.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
import threading
import traceback
import uuid
import xml.etree.ElementTree as ElementTree
from collections.abc import Awaitable, Callable

from aiohttp import web, web_protocol
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong

from scribbleseg_editor.errors import ScribbleSegError

MAX_REQUEST_LINE_BYTES = 16 * 1024  # method, path and query
MAX_HEADER_BYTES = 8 * 1024  # one header line
MAX_HEADERS = 100
MAX_CONNECTIONS = 512  # open at once; beyond, Throttling and close
IDLE_S = 15.0  # a connection without a request in progress (headers included) is closed
BODY_S = 60.0  # the longest a client may take to send its body
GRACE_S = 20.0  # at shutdown, how long requests in flight may take to finish

Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


def new_request_id() -> str:
    return str(uuid.uuid4()).upper()


def error_response(
    error: ScribbleSegError, *, request_id: str, host_id: str, as_xml: bool = False,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """The API's error body (cloud-api.md), as JSON or XML, with the error's HTTP status."""
    body = {"RequestId": request_id, "HostId": host_id, "Code": error.code,
            "Message": error.message, "Recommend": error.recommend}
    response = answer_response(body, as_xml=as_xml, root="Error", status=error.http_status,
                               headers=headers)
    response.force_close()  # the body may be partly unread
    return response


def answer_response(data: dict, *, as_xml: bool = False, root: str = "Response",
                    status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    if as_xml:
        return web.Response(status=status, body=to_xml(root, data),
                            content_type="application/xml", headers=headers)
    return web.Response(status=status, body=json.dumps(data).encode(),
                        content_type="application/json", headers=headers)


def to_xml(root_name: str, data: dict) -> bytes:
    root = ElementTree.Element(root_name)
    _add_children(root, data)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)


def _add_children(parent: ElementTree.Element, data: dict) -> None:
    for key, value in data.items():
        child = ElementTree.SubElement(parent, key)
        if isinstance(value, dict):
            _add_children(child, value)
        else:
            child.text = str(value)


def report_unexpected(request_id: str) -> ScribbleSegError:
    """Log the traceback of an unexpected failure and turn it into InternalError."""
    print(f"RequestId {request_id}: unexpected error", file=sys.stderr)
    traceback.print_exc()
    return ScribbleSegError(
        "InternalError", f"The server failed unexpectedly (RequestId {request_id})."
    )


def content_length(request: web.BaseRequest, limit: int) -> int:
    """The announced body size, refused before anything is read when over `limit`."""
    if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        raise ScribbleSegError(
            "InvalidParameter", "Chunked request bodies are not accepted; send Content-Length."
        )
    length = request.content_length or 0
    if length > limit:
        raise ScribbleSegError(
            "InvalidFile.Size",
            f"The request body is {length} bytes; this server takes at most {limit} bytes.",
        )
    return length


async def read_body(request: web.BaseRequest, length: int) -> bytes:
    """The whole body of `length` bytes, within BODY_S (a client trickling it is cut off)."""
    if request.headers.get("Expect", "").lower() == "100-continue":
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    try:
        async with asyncio.timeout(BODY_S):
            data = await request.content.readexactly(length)
    except TimeoutError:
        raise ScribbleSegError(
            "InvalidParameter", f"The body did not arrive within {BODY_S:g} s."
        ) from None
    except asyncio.IncompleteReadError as error:
        raise ScribbleSegError(
            "InvalidParameter", f"The body ended after {len(error.partial)} of {length} bytes."
        ) from None
    return data


class HttpServer:
    """A bound socket and the aiohttp server on it; `handle` answers every request."""

    def __init__(self, host: str, port: int) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind((host, port))
        self.socket.listen(128)
        self.server_address = self.socket.getsockname()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stopped = threading.Event()

    @property
    def url(self) -> str:
        """http://host:port of the bind address (IPv6 in brackets)."""
        host, port = self.server_address[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        raise NotImplementedError

    def refusal(self, error: ScribbleSegError) -> web.Response:
        """The error body of a refusal made before a request reaches `handle`."""
        return error_response(error, request_id=new_request_id(), host_id=self.url)

    async def started(self) -> None:
        """Hook: start what the server needs (worker processes, background tasks)."""

    async def stopping(self) -> None:
        """Hook: after the last request, release what `started` made."""

    def serve_forever(self) -> None:
        asyncio.run(self._serve())

    def shutdown(self) -> None:
        """Stop serving (from another thread) and wait until serve_forever has returned."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._stopped.wait()

    def server_close(self) -> None:
        self.socket.close()

    def request_stop(self) -> None:
        """Stop serving, from the server's own event loop."""
        if self._stop is not None:
            self._stop.set()

    async def _serve(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        self._stopped.clear()
        if threading.current_thread() is threading.main_thread():
            for signal_number in (signal.SIGTERM, signal.SIGINT):
                self._loop.add_signal_handler(signal_number, self._stop.set)
        runner = web.ServerRunner(_Server(self), handle_signals=False, shutdown_timeout=GRACE_S)
        try:
            await self.started()
            await runner.setup()
            await web.SockSite(runner, self.socket).start()
            await self._stop.wait()
            await runner.cleanup()
        finally:
            await self.stopping()
            self._stopped.set()


class _Server(web.Server):
    def __init__(self, owner: HttpServer) -> None:
        super().__init__(owner.handle, max_line_size=MAX_REQUEST_LINE_BYTES,
                         max_field_size=MAX_HEADER_BYTES, max_headers=MAX_HEADERS,
                         keepalive_timeout=IDLE_S, access_log=None)  # cloud.py logs its own
        self.owner = owner

    def __call__(self) -> web_protocol.RequestHandler:
        return _Protocol(self, loop=self._loop, **self._kwargs)


class _Protocol(web_protocol.RequestHandler):
    """aiohttp's connection handler with the API's error body, and a cap on connections."""

    _refused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        server: _Server = self._manager
        if len(server.connections) >= MAX_CONNECTIONS:
            self._refused = True
            error = ScribbleSegError("Throttling", "Too many open connections; retry shortly.")
            response = server.owner.refusal(error)
            head = (f"HTTP/1.1 {error.http_status} Too Many Requests\r\n"
                    f"Content-Type: {response.content_type}\r\n"
                    f"Content-Length: {len(response.body)}\r\nx-acs-retry-after: 1000\r\n"
                    "Retry-After: 1\r\nConnection: close\r\n\r\n")
            transport.write(head.encode() + response.body)
            transport.close()
            return
        super().connection_made(transport)

    def connection_lost(self, exc: BaseException | None) -> None:
        if not self._refused:
            super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._refused:
            super().data_received(data)

    def handle_error(self, request: web.BaseRequest, status: int = 500,
                     exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if not isinstance(exc, HttpProcessingError):  # handle() answers its own failures
            return super().handle_error(request, status, exc, message)
        return self._manager.owner.refusal(_parse_refusal(exc))


def _parse_refusal(exc: HttpProcessingError) -> ScribbleSegError:
    if isinstance(exc, LineTooLong) and exc.args[1] == MAX_REQUEST_LINE_BYTES:
        return ScribbleSegError(
            "InvalidParameter", f"The request line is over {MAX_REQUEST_LINE_BYTES} bytes.",
            http_status=414)
    if isinstance(exc, LineTooLong) or "Too many headers" in exc.message:
        return ScribbleSegError(
            "InvalidParameter", f"Headers are limited to {MAX_HEADERS} lines of at most "
            f"{MAX_HEADER_BYTES} bytes.", http_status=431)
    return ScribbleSegError("InvalidParameter", f"Malformed HTTP request: {exc.message}")
