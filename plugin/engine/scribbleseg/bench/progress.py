"""A one-line progress bar on stderr, drawn only on a terminal (never in CI logs)."""

from __future__ import annotations

import sys
from typing import TextIO

BAR_WIDTH = 30


class Progress:
    def __init__(self, total: int, stream: TextIO = sys.stderr) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.stream = stream
        self.visible = stream.isatty()

    def advance(self, label: str) -> None:
        """Count one unit of work done; `label` names it."""
        self.done += 1
        if self.visible:
            filled = BAR_WIDTH * self.done // self.total
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            self.stream.write(f"\r[{bar}] {self.done}/{self.total} {label[:40]:<40}")
            self.stream.flush()

    def close(self) -> None:
        if self.visible:
            self.stream.write("\r" + " " * (BAR_WIDTH + 60) + "\r")
            self.stream.flush()
