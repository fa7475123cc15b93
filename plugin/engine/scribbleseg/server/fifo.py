"""Bounded work in arrival order: `FifoPool` hands its items (worker processes, download slots)
to waiting requests first come, first served; beyond `queue` waiting, Throttling at once.

Refusing beyond the queue keeps latency bounded under overload; serving the queue in order means
no waiting client is overtaken by a later one. The Throttling answer carries the time after which
a place in the queue has likely come free (x-acs-retry-after, from the mean time of a job).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

from scribbleseg_editor.errors import ScribbleSegError

Item = TypeVar("Item")


class FifoPool(Generic[Item]):
    def __init__(self, items: list[Item], queue: int, what: str = "segmentations") -> None:
        if not items or queue < 0:
            raise ValueError("a pool needs at least one item and queue >= 0")
        self.size = len(items)
        self.queue = queue
        self.what = what
        self._idle: deque[Item] = deque(items)
        self._waiting: deque[asyncio.Future[Item]] = deque()
        self._mean_job_s = 1.0  # running estimate of one job's duration

    @asynccontextmanager
    async def take(self, prefer: Callable[[Item], bool] | None = None) -> AsyncIterator[Item]:
        """An item for the duration of a job: idle now (one that `prefer`s first), or the next
        to come free once every earlier waiter has had one; Throttling when the queue is full."""
        item = await self._acquire(prefer)
        started = time.monotonic()
        try:
            yield item
        finally:
            self._mean_job_s = 0.8 * self._mean_job_s + 0.2 * (time.monotonic() - started)
            self.give(item)

    def give(self, item: Item) -> None:
        """Return an item (or add a replacement): the first live waiter gets it."""
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(item)
                return
        self._idle.append(item)

    def retry_after_s(self) -> int:
        """Whole seconds until the queue has likely moved on by one round."""
        rounds = (self.queue + self.size) / max(1, self.size)
        return max(1, math.ceil(self._mean_job_s * rounds))

    def throttling(self) -> ScribbleSegError:
        return ScribbleSegError(
            "Throttling",
            f"The server is busy ({self.size} {self.what} running, {self.queue} waiting); retry "
            f"in {self.retry_after_s()} s.",
        )

    async def _acquire(self, prefer: Callable[[Item], bool] | None) -> Item:
        if self._idle and not self._waiting:
            chosen = next((item for item in self._idle if prefer and prefer(item)),
                          self._idle[0])
            self._idle.remove(chosen)
            return chosen
        if len(self._waiting) >= self.queue:
            raise self.throttling()
        waiter: asyncio.Future[Item] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.give(waiter.result())  # handed over just as the wait was cancelled
            else:
                self._waiting.remove(waiter)
            raise
