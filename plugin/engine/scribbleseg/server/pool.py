"""Bounded engine work: `workers` segmentations run, `queue` more wait, the rest are refused.

Each HTTP connection has its own thread; this pool decides which of them may run the engine.
Refusing beyond the queue (Throttling, with a retry delay) keeps latency bounded under overload
instead of letting waiting requests pile up.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from scribbleseg_editor.errors import ScribbleSegError


class WorkerPool:
    def __init__(self, workers: int, queue: int) -> None:
        if workers < 1 or queue < 0:
            raise ValueError("workers must be >= 1 and queue >= 0")
        self.workers = workers
        self.queue = queue
        self._running = threading.Semaphore(workers)
        self._lock = threading.Lock()
        self._admitted = 0
        self._mean_job_s = 1.0  # running estimate of one job's duration

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Wait for a worker, or raise Throttling at once when the queue is full."""
        with self._lock:
            if self._admitted >= self.workers + self.queue:
                raise ScribbleSegError(
                    "Throttling",
                    f"The server is busy ({self.workers} running, {self.queue} waiting); "
                    f"retry in {self.retry_after_s()} s.",
                )
            self._admitted += 1
        try:
            with self._running:
                started = time.monotonic()
                yield
                self._record(time.monotonic() - started)
        finally:
            with self._lock:
                self._admitted -= 1

    def retry_after_s(self) -> int:
        """Whole seconds until the queue has likely moved on by one round."""
        rounds = (self.queue + self.workers) / self.workers
        return max(1, math.ceil(self._mean_job_s * rounds))

    def _record(self, seconds: float) -> None:
        with self._lock:
            self._mean_job_s = 0.8 * self._mean_job_s + 0.2 * seconds
