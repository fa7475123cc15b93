"""Fetch one file over HTTP(S) with the standard library: resumable, with progress and Cancel.

The bytes go to TARGET.part; an interrupted fetch continues from there with a Range request
(a server that ignores it sends the whole file again, and the .part starts over). The caller
checks the finished file and moves it into place.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from .errors import ScribbleSegError

BLOCK = 1 << 16
TIMEOUT_SECONDS = 60
# on_progress(bytes so far, total bytes or None when the server does not say)
OnProgress = Callable[[int, "int | None"], None]


def partial_path(target: Path) -> Path:
    return target.with_name(target.name + ".part")


def read(url: str, what: str, accept: str = "application/json") -> bytes:
    """A small document (metadata) at `url`; `what` names it in messages."""
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return response.read()
    except urllib.error.HTTPError as error:
        raise _failed(what, f"the registry answered HTTP {error.code}") from error
    except (urllib.error.URLError, OSError) as error:
        raise _failed(what, f"no connection ({getattr(error, 'reason', None) or error})") from error


def fetch(url: str, target: Path, what: str, on_progress: OnProgress | None = None,
          cancel: threading.Event | None = None) -> Path:
    """Download `url` to target's .part file (resuming it) and return that path. `what` names
    the download in messages (a package, never a host)."""
    partial = partial_path(target)
    partial.parent.mkdir(parents=True, exist_ok=True)
    have = partial.stat().st_size if partial.is_file() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            if response.status != 206:  # the whole file: start over
                have = 0
            length = response.headers.get("Content-Length")
            total = have + int(length) if length else None
            with partial.open("ab" if have else "wb") as out:
                _copy(response, out, have, total, on_progress, cancel)
    except urllib.error.HTTPError as error:
        if error.code == 416:  # the .part is already complete
            return partial
        raise _failed(what, f"the registry answered HTTP {error.code}") from error
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", None) or error
        raise _failed(what, f"no connection ({reason})") from error
    return partial


def _copy(response, out, done: int, total: int | None, on_progress: OnProgress | None,
          cancel: threading.Event | None) -> None:
    while block := response.read(BLOCK):
        if cancel is not None and cancel.is_set():
            raise ScribbleSegError("EngineInstallCancelled", "Cancelled; the download "
                                   "continues where it stopped next time.")
        out.write(block)
        done += len(block)
        if on_progress is not None:
            on_progress(done, total)


def _failed(what: str, why: str) -> ScribbleSegError:
    return ScribbleSegError("EngineInstallFailed", f"Could not fetch {what}: {why}.")
