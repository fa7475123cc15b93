"""Bounded work in arrival order: `FifoPool` hands its items (worker processes, download slots)
to waiting requests first come, first served; beyond `queue` waiting, Throttling at once.

Refusing beyond the queue keeps latency bounded under overload; serving the queue in order means
no waiting client is overtaken by a later one with the same needs. Jobs may say which items suit
them (`prefer`: a worker whose cache holds the job's image, where a stroke takes a second instead
of preparing the image again, many seconds with the model prior). Such a job waits for an item it
prefers, in arrival order among the jobs preferring that item; it takes another idle item only
after waiting `patience_s` (the job time limit: by then even a stuck worker has been replaced).
A job that prefers no item takes the first free one.

Each refused client is told a later time to come back than the one refused before it
(`book_retry_s`), spaced by the pace at which places come free, so refused clients return one
after another instead of all at once.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from scribbleseg_editor.errors import ScribbleSegError

Item = TypeVar("Item")


@dataclass(eq=False)
class _Waiter(Generic[Item]):
    prefer: Callable[[Item], bool] | None
    since: float = field(default_factory=time.monotonic)
    future: asyncio.Future[Item] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())

    def suits(self, item: Item) -> bool:
        return self.prefer is not None and self.prefer(item)


class FifoPool(Generic[Item]):
    def __init__(self, items: list[Item], queue: int, what: str = "segmentations",
                 patience_s: float = 0.0) -> None:
        if not items or queue < 0:
            raise ValueError("a pool needs at least one item and queue >= 0")
        self.items = list(items)
        self.size = len(items)
        self.queue = queue
        self.what = what
        self.patience_s = patience_s
        self._idle: list[Item] = list(items)
        self._waiting: deque[_Waiter[Item]] = deque()
        self._mean_job_s = 1.0  # running estimate of one job's duration
        self._booked_until = 0.0  # the latest return time told to a refused client

    @asynccontextmanager
    async def take(self, prefer: Callable[[Item], bool] | None = None) -> AsyncIterator[Item]:
        """An item for the duration of a job (module docstring); Throttling when the queue is
        full."""
        item = await self._acquire(_Waiter(prefer))
        started = time.monotonic()
        try:
            yield item
        finally:
            self._mean_job_s = 0.8 * self._mean_job_s + 0.2 * (time.monotonic() - started)
            self.give(item)

    def give(self, item: Item) -> None:
        """Return an item (or add a replacement): the first waiter it suits gets it."""
        self._idle.append(item)
        self._hand_out()

    def waiting(self) -> int:
        """Requests waiting for an item now."""
        return sum(1 for waiter in self._waiting if not waiter.future.done())

    def book_retry_s(self) -> float:
        """Seconds a refused client should wait: one job's time at least, and one place's pace
        after the client refused before it."""
        now = time.monotonic()
        pace = self._mean_job_s / self.size
        self._booked_until = max(now + self._mean_job_s, self._booked_until + pace)
        return self._booked_until - now

    def throttling(self) -> ScribbleSegError:
        return ScribbleSegError(
            "Throttling", f"The server is busy ({self.size} {self.what} running, {self.queue} "
            "waiting); retry after the time in x-acs-retry-after (milliseconds).",
        )

    async def _acquire(self, waiter: _Waiter[Item]) -> Item:
        self._waiting = deque(w for w in self._waiting if not w.future.done())
        if len(self._waiting) >= self.queue and not self._idle:
            raise self.throttling()
        self._waiting.append(waiter)
        self._hand_out()
        if not waiter.future.done() and len(self._waiting) > self.queue:
            self._waiting.remove(waiter)  # no room to wait for a suited item: any idle one
            if not self._idle:
                raise self.throttling()
            return self._idle.pop(0)
        if not waiter.future.done():
            asyncio.get_running_loop().call_later(self.patience_s, self._hand_out)
        try:
            return await waiter.future
        except asyncio.CancelledError:
            if waiter.future.done() and not waiter.future.cancelled():
                self.give(waiter.future.result())  # handed over just as the wait was cancelled
            elif waiter in self._waiting:
                self._waiting.remove(waiter)
            raise

    def _hand_out(self) -> None:
        """Match idle items with waiters, earliest waiters first."""
        for waiter in list(self._waiting):
            if not self._idle:
                return
            if waiter.future.done():
                self._waiting.remove(waiter)
                continue
            suited = [item for item in self._idle if waiter.suits(item)]
            waits_for_another = not suited and any(waiter.suits(item) for item in self.items)
            if waits_for_another and time.monotonic() - waiter.since < self.patience_s:
                continue
            chosen = (suited or self._idle)[0]
            self._idle.remove(chosen)
            self._waiting.remove(waiter)
            waiter.future.set_result(chosen)
