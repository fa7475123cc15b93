"""Where answers wait for their ResultUrl: unguessable names, deleted after a time to live.

`ResultStore` is the interface the API uses (the server calls it from a thread, so an
implementation may block); `LocalDiskStore` keeps the files in a folder, each readable by this
user only (0600). Several instances behind one load balancer can share the folder (e.g. a network
mount) or an S3-compatible bucket (s3store.py).
"""

from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path
from typing import Protocol

from scribbleseg.protocol import RESULT_LIFETIME_S

EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg"}
CONTENT_TYPES = {extension: kind for kind, extension in EXTENSIONS.items()}
NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}\.(png|jpg)")  # new_name's names


def new_name(content_type: str) -> str:
    """An unguessable name for an answer of this type: token_urlsafe(32) + extension."""
    return secrets.token_urlsafe(32) + EXTENSIONS[content_type]


class ResultStore(Protocol):
    def put(self, data: bytes, content_type: str) -> str:
        """Store the answer; return its unguessable name."""

    def get(self, name: str) -> tuple[bytes, str] | None:
        """(bytes, content type), or None when unknown or expired."""

    def remove_expired(self) -> int:
        """Delete what has outlived the time to live; return how many."""

    def link(self, name: str) -> str | None:
        """A URL of the store itself for the answer, or None: this server serves it."""

    def check(self) -> None:
        """Raise when the store cannot be reached (readiness)."""


class LocalDiskStore:
    def __init__(self, folder: Path, ttl_s: float = RESULT_LIFETIME_S) -> None:
        self.folder = Path(folder)
        self.ttl_s = ttl_s
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)

    def put(self, data: bytes, content_type: str) -> str:
        name = new_name(content_type)
        temporary = self.folder / f".{name}.tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        os.replace(temporary, self.folder / name)  # readers never see half a file
        return name

    def get(self, name: str) -> tuple[bytes, str] | None:
        if not NAME_PATTERN.fullmatch(name):
            return None
        path = self.folder / name
        try:
            if self._expired(path):
                path.unlink(missing_ok=True)
                return None
            return path.read_bytes(), CONTENT_TYPES[path.suffix]
        except FileNotFoundError:
            return None

    def link(self, name: str) -> str | None:
        return None

    def check(self) -> None:
        if not os.access(self.folder, os.W_OK):
            raise OSError(f"cannot write to {self.folder}")

    def remove_expired(self) -> int:
        removed = 0
        for path in self.folder.iterdir():
            try:
                if self._expired(path):
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                pass  # another instance sharing the folder removed it first
        return removed

    def _expired(self, path: Path) -> bool:
        return time.time() - path.stat().st_mtime > self.ttl_s
