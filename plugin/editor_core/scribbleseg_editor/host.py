"""Find or start the desktop engine host and ask it for a mask (standard library only).

The request and its answer are wire.py's; the host announces itself in hostfile.py's runtime
file; how long it waits to start and how long it stays up idle are manifest.json's "engine".
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable

from . import hostfile, installer, wire
from .errors import ERROR_CODES, REINSTALL, ScribbleSegError
from .manifest import load_manifest
from .options import SegmentOptions

HEALTH_TIMEOUT_S = 2.0     # a running host answers its health check at once
REQUEST_TIMEOUT_S = 600.0  # the longest a 4096x4096 stroke may take on a slow computer
START_POLL_S = 0.1         # how often a starting host is looked for
STARTING = "Starting the ScribbleSeg engine (the first run after a restart takes a while)..."
# Windows: DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP, so the host outlives the editor.
WINDOWS_DETACH_FLAGS = 0x00000008 | 0x00000200


def engine_launch(engine: dict | None = None) -> tuple[list[str], dict[str, str]]:
    """The command and environment that start the engine host; `engine` is manifest.json's
    "engine" (read here when not given).

    SCRIBBLESEG_PYTHON names the engine's interpreter directly; otherwise the installer
    recorded it (and the models folder) in the config folder.
    """
    environment = dict(os.environ)
    python = os.environ.get("SCRIBBLESEG_PYTHON")
    if not python:
        record = installer.read_record()
        if record is None:
            raise ScribbleSegError("EngineNotInstalled",
                                   f"The ScribbleSeg engine is not installed. {REINSTALL}")
        python = str(record["python"])
        if record.get("models"):
            environment.setdefault("SCRIBBLESEG_MODELS", str(record["models"]))
    idle_minutes = (engine or load_manifest()["engine"])["idle_exit_minutes"]
    return ([python, "-m", "scribbleseg", "serve", "--local", "--idle-minutes",
             str(idle_minutes)], environment)


class HostConnection:
    """A running engine host on loopback."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.token = token

    def _request(self, method: str, path: str, body: bytes = b"",
                 timeout: float = REQUEST_TIMEOUT_S) -> bytes:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": wire.CONTENT_TYPE}
        try:
            # A host that refuses a request early closes before the body is sent: read why.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as error:
            raise ScribbleSegError("HostUnreachable",
                                   f"The engine host did not answer: {error}") from error
        finally:
            connection.close()
        if response.status != 200:
            raise _error_from_body(data, response.status)
        return data

    def health(self) -> dict:
        return json.loads(self._request("GET", wire.HEALTH_PATH, timeout=HEALTH_TIMEOUT_S))

    def segment(self, width: int, height: int, rgb: bytes, planes: dict[str, bytes],
                options: SegmentOptions, engine: str = "local", endpoint: str = "") -> bytes:
        """Send the image and the named planes; return the alpha as width*height bytes."""
        body = wire.encode_request(width, height, rgb, planes, options, engine, endpoint)
        alpha = self._request("POST", wire.SEGMENT_PATH, body)
        if len(alpha) != width * height:
            raise ScribbleSegError("InternalError", "The engine host sent a truncated mask.")
        return alpha


def _error_from_body(data: bytes, status: int) -> ScribbleSegError:
    """The host's JSON error; a code of a cloud endpoint's own (not in ERROR_CODES) comes back
    as CloudRefused with the endpoint's message and advice."""
    try:
        body = json.loads(data)
        code, message = str(body["Code"]), str(body["Message"])
    except (ValueError, KeyError, TypeError):
        return ScribbleSegError("InternalError", f"The engine host answered HTTP {status}.")
    if code in ERROR_CODES:
        return ScribbleSegError(code, message, http_status=status)
    advice = str(body.get("Recommend", ""))
    if advice not in message:
        message = f"{message} {advice}"
    return ScribbleSegError("CloudRefused", message.strip(), http_status=status)


def find_host() -> HostConnection | None:
    """The running host announced by the runtime file, if it answers."""
    runtime = hostfile.read_runtime()
    if runtime is None:
        return None
    connection = HostConnection(int(runtime["port"]), str(runtime["token"]))
    try:
        connection.health()
    except ScribbleSegError:
        return None
    return connection


def start_host() -> HostConnection:
    """Start `scribbleseg serve --local` detached and wait until it answers."""
    engine = load_manifest()["engine"]
    timeout = engine["start_timeout_seconds"]
    log_path = hostfile.runtime_dir() / "host.log"
    log_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    command, environment = engine_launch(engine)
    detach = ({"creationflags": WINDOWS_DETACH_FLAGS} if sys.platform == "win32"
              else {"start_new_session": True})
    try:
        with open(log_path, "ab") as log:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=log, env=environment, **detach)
    except OSError as error:  # the recorded interpreter was moved or deleted
        raise ScribbleSegError(
            "EngineNotInstalled",
            f"The ScribbleSeg engine could not be started: {command[0]} ({error.strerror}). "
            f"{REINSTALL}",
        ) from error
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        connection = find_host()
        if connection is not None:
            return connection
        if process.poll() is not None and find_host() is None:
            raise ScribbleSegError(
                "HostFailed", f"The ScribbleSeg engine ({command[0]}) stopped as it started"
                f"{_last_line(log_path)}; its log is {log_path}. {REINSTALL}")
        time.sleep(START_POLL_S)
    raise ScribbleSegError(
        "HostFailed", f"The ScribbleSeg engine ({command[0]}) did not start in {timeout:.0f} s; "
        f"its log is {log_path}. Run again; if it never starts, {REINSTALL[0].lower()}"
        f"{REINSTALL[1:]}")


def _last_line(log_path) -> str:
    """': <the log's last line>' (what a failing interpreter said), or '' when it said nothing."""
    try:
        lines = log_path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return f": {lines[-1].strip()[:200]}" if lines else ""


def ensure_host(starting: Callable[[str], None] | None = None) -> HostConnection:
    """The running host, or a freshly started one; `starting` hears STARTING first, so the
    editor can say so while the user waits."""
    connection = find_host()
    if connection is not None:
        return connection
    if starting is not None:
        starting(STARTING)
    return start_host()
