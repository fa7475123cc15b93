"""HTTP plumbing shared by both modes: a threading server, a handler base with safe body reads."""

from __future__ import annotations

import json
import sys
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from scribbleseg_editor.errors import ScribbleSegError


class EngineHTTPServer(ThreadingHTTPServer):
    """One thread per connection; the threads die with the process."""

    daemon_threads = True
    # The default of 5 drops connections under a burst of clients before Throttling can answer.
    request_queue_size = 128


class BaseHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so editors and load tests reuse connections
    server_version = "ScribbleSeg"
    sys_version = ""
    timeout = 120  # seconds a silent client may hold its connection thread

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (base signature)
        if getattr(self.server, "verbose", False):
            super().log_message(format, *args)

    def content_length(self, limit: int) -> int:
        """The announced body size, refused before anything is read when over `limit`."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise ScribbleSegError(
                "InvalidParameter", "Chunked request bodies are not accepted; send Content-Length."
            )
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            raise ScribbleSegError("InvalidParameter", "Content-Length is not a number.") from None
        if length < 0:
            raise ScribbleSegError("InvalidParameter", "Content-Length is negative.")
        if length > limit:
            raise ScribbleSegError(
                "InvalidFile.Size",
                f"The request body is {length} bytes; this server takes at most {limit} bytes.",
            )
        return length

    def read_exactly(self, length: int) -> bytes:
        data = self.rfile.read(length)
        if len(data) != length:
            raise ScribbleSegError(
                "InvalidParameter", f"The body ended after {len(data)} of {length} bytes."
            )
        return data

    def send_body(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status: int, data: dict, headers: dict[str, str] | None = None) -> None:
        self.send_body(status, json.dumps(data).encode(), "application/json", headers)


def new_request_id() -> str:
    return str(uuid.uuid4()).upper()


def report_unexpected(request_id: str) -> ScribbleSegError:
    """Log the traceback of an unexpected failure and turn it into InternalError."""
    print(f"RequestId {request_id}: unexpected error", file=sys.stderr)
    traceback.print_exc()
    return ScribbleSegError(
        "InternalError", f"The server failed unexpectedly (RequestId {request_id})."
    )
