"""Find or start the desktop engine host and ask it for a mask (standard library only).

Wire format of the editors' fast path, `POST /local/v1/segment` on 127.0.0.1:
    headers  Authorization: Bearer <token>, Content-Type: application/x-scribbleseg-planes
    body     one JSON line (header), then the image as W*H*3 bytes RGB, then one W*H byte plane
             for each name in header["planes"] (in the order listed; 0 = unset, else set; the
             "mask" plane may carry soft values 0..255)
    header   {"width", "height", "planes": [...], "postprocess": "maskrefine"|"edgerefine",
              "edge_feathering": bool, "engine": "local"|"cloud", "endpoint": URL (cloud only)}
    answer   200: the alpha, W*H bytes, with a Server-Timing header (receive, prepare, engine in
             ms; prepare is about 0 when the image was cached); otherwise a JSON error
             {"Code", "Message", "Recommend"}
`GET /local/v1/health` (same token) answers {"status": "ok", "pid": ..., "version": ...,
"cache": {"hits", "misses", "items", "bytes"}} (the host's cache of prepared images).
Requests whose Host header does not name loopback are refused (DNS rebinding).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import subprocess
import sys
import time

from . import hostfile
from .errors import ScribbleSegError

CONTENT_TYPE = "application/x-scribbleseg-planes"
PLANE_ORDER = ("mask", "positive", "negative")


HostError = ScribbleSegError  # transitional name, until the adapters say ScribbleSegError


ENGINE_RECORD = "engine.json"  # written by `build.py install`: {"python", "models"}


def engine_launch() -> tuple[list[str], dict[str, str]]:
    """The command and environment that start the engine host.

    SCRIBBLESEG_PYTHON names the engine's interpreter directly; otherwise `build.py install`
    recorded it (and the models folder) in the config folder.
    """
    environment = dict(os.environ)
    python = os.environ.get("SCRIBBLESEG_PYTHON")
    if not python:
        try:
            record = json.loads((hostfile.config_dir() / ENGINE_RECORD).read_text())
            python = str(record["python"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise HostError(
                "EngineNotInstalled",
                "The ScribbleSeg engine is not installed. Run `python3 build.py install` "
                "in the ScribbleSeg folder, then try again.",
            ) from error
        if record.get("models"):
            environment.setdefault("SCRIBBLESEG_MODELS", str(record["models"]))
    return [python, "-m", "scribbleseg", "serve", "--local"], environment


class HostConnection:
    """A running engine host on loopback."""

    def __init__(self, port: int, token: str, timeout: float = 600.0) -> None:
        self.port = port
        self.token = token
        self.timeout = timeout

    def _request(self, method: str, path: str, body: bytes = b"",
                 timeout: float | None = None) -> bytes:
        connection = http.client.HTTPConnection("127.0.0.1", self.port,
                                                timeout=timeout or self.timeout)
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": CONTENT_TYPE}
        try:
            # A host that refuses a request early closes before the body is sent: read why.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as error:
            raise HostError("HostUnreachable",
                            f"The engine host did not answer: {error}") from error
        finally:
            connection.close()
        if response.status != 200:
            raise _error_from_body(data, response.status)
        return data

    def health(self) -> dict:
        return json.loads(self._request("GET", "/local/v1/health", timeout=2.0))

    def segment(self, width: int, height: int, rgb: bytes, planes: dict[str, bytes],
                options: dict) -> bytes:
        """Send the image and the named planes; return the alpha as width*height bytes."""
        names = [name for name in PLANE_ORDER if planes.get(name) is not None]
        header = dict(options, width=width, height=height, planes=names)
        body = b"".join([json.dumps(header).encode(), b"\n", rgb, *(planes[n] for n in names)])
        alpha = self._request("POST", "/local/v1/segment", body)
        if len(alpha) != width * height:
            raise HostError("InternalError", "The engine host sent a truncated mask.")
        return alpha


def _error_from_body(data: bytes, status: int) -> HostError:
    try:
        body = json.loads(data)
        message, advice = body["Message"], body.get("Recommend", "")
        return HostError(body["Code"], message if advice in message else f"{message} {advice}")
    except (ValueError, KeyError, TypeError):
        return HostError("InternalError", f"The engine host answered HTTP {status}.")


def find_host() -> HostConnection | None:
    """The running host announced by the runtime file, if it answers."""
    runtime = hostfile.read_runtime()
    if runtime is None:
        return None
    connection = HostConnection(int(runtime["port"]), str(runtime["token"]))
    try:
        connection.health()
    except HostError:
        return None
    return connection


def start_host(timeout: float = 60.0) -> HostConnection:
    """Start `scribbleseg serve --local` detached and wait until it answers."""
    log_path = hostfile.runtime_dir() / "host.log"
    log_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    command, environment = engine_launch()
    detach = ({"creationflags": 0x00000008 | 0x00000200} if sys.platform == "win32"
              else {"start_new_session": True})
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                   env=environment, **detach)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        connection = find_host()
        if connection is not None:
            return connection
        if process.poll() is not None and find_host() is None:
            raise HostError("HostFailed", f"The engine host stopped at start; see {log_path}.")
        time.sleep(0.1)
    raise HostError("HostFailed", f"The engine host did not start in {timeout:.0f} s; "
                                  f"see {log_path}.")


def ensure_host(timeout: float = 60.0) -> HostConnection:
    """The running host, or a freshly started one."""
    return find_host() or start_host(timeout)
