"""Worker processes: decoding and segmentation run here, each job within a time limit.

A job is a module-level function `job(cache, decoded, *args)` (segmenting.py) run in a worker
process with that worker's prepared-image cache; it calls `decoded()` once its inputs are
decoded. A job past the time limit is ended with its process (the only way to stop a decoder
stuck in C), a new worker takes the old one's place, and the request gets a clear code: a file
still decoding is refused as InvalidFile.Content, a segmentation as InternalError.Timeout. So a
pathological file costs one bounded slot, never the service.

Workers are started with "spawn" (no copy of the server's threads or sockets), ignore SIGTERM
and SIGINT (the server ends them once its requests are answered) and exit when the server's end
of their pipe closes. `WorkerPool` hands them out in arrival order (fifo.py), preferring a worker
that has seen the request's image lately, whose cache then holds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

from scribbleseg.server.cache import PreparedImageCache
from scribbleseg.server.fifo import FifoPool
from scribbleseg_editor.errors import ScribbleSegError

START_LIMIT_S = 300  # a worker loads the engine and its model before its first job
STOP_S = 5
Job = Callable[..., Any]


class Worker:
    """One worker process and the server's end of its pipe."""

    def __init__(self, cache_items: int) -> None:
        self.cache_items = cache_items
        self.recent: deque[str] = deque(maxlen=cache_items)  # image keys, as its cache holds
        self.cache_stats: dict[str, int] = {}
        self.process: multiprocessing.process.BaseProcess | None = None
        self.connection: Connection | None = None
        self.ready = False
        self._starting = threading.Lock()

    def start(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(child, self.cache_items),
                                       name="scribbleseg-worker", daemon=True)
        self.process.start()
        child.close()
        self.ready = False
        self.recent.clear()

    def run(self, job: Job, args: tuple, limit_s: float) -> Any:
        """The job's result; ScribbleSegError as the job raised it; TimeoutError("decoding" or
        "segmenting") past the limit; EOFError when the process died."""
        self.wait_ready()
        self.connection.send((job, args))
        deadline, phase = time.monotonic() + limit_s, "decoding"
        while True:
            kind, value, stats = self._receive(deadline, phase)
            self.cache_stats = stats
            if kind == "done":
                return value
            if kind == "error":
                code, message, status = value
                raise ScribbleSegError(code, message, http_status=status)
            phase = "segmenting"

    def wait_ready(self) -> None:
        """Wait until the process has loaded the engine and its model (once after a start)."""
        with self._starting:
            if not self.ready:
                self._receive(time.monotonic() + START_LIMIT_S)
                self.ready = True

    def warm(self) -> None:
        """`wait_ready`, leaving a failure for the next job to meet and report."""
        with contextlib.suppress(TimeoutError, EOFError, OSError):
            self.wait_ready()

    def restart(self) -> None:
        self.stop(kill=True)
        self.start()

    def stop(self, kill: bool = False) -> None:
        if self.connection is not None:
            self.connection.close()
        if self.process is not None:
            if kill:
                self.process.kill()
            self.process.join(STOP_S)
            if self.process.is_alive():
                self.process.kill()
                self.process.join()

    def _receive(self, deadline: float, phase: str = "starting") -> tuple:
        if not self.connection.poll(max(0.0, deadline - time.monotonic())):
            raise TimeoutError(phase)
        return self.connection.recv()


class WorkerPool:
    """`count` worker processes; `queue` requests may wait for one beyond those running."""

    def __init__(self, count: int, queue: int, limit_s: float, cache_items: int) -> None:
        self.limit_s = limit_s
        self.workers = [Worker(cache_items) for _ in range(count)]
        self.fifo = FifoPool(self.workers, queue, patience_s=limit_s)
        self._threads = ThreadPoolExecutor(count, thread_name_prefix="scribbleseg-wait")
        self._warming: set[asyncio.Future] = set()

    def start(self) -> None:
        for worker in self.workers:
            worker.start()

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        self._threads.shutdown()

    def warm_up(self) -> None:
        """Have every worker load the model now rather than at its first job (readiness); from
        the event loop, after `start`."""
        for worker in self.workers:
            self._warm(worker)

    @property
    def ready(self) -> bool:
        return all(worker.ready for worker in self.workers)

    def cache_stats(self) -> dict[str, int]:
        """The prepared-image caches of all workers, added up (as of their last job)."""
        total: dict[str, int] = {"hits": 0, "misses": 0, "items": 0, "bytes": 0}
        for worker in self.workers:
            for name, value in worker.cache_stats.items():
                total[name] = total.get(name, 0) + value
        return total

    async def run(self, job: Job, *args: Any, image_key: str = "") -> Any:
        """Run `job(cache, decoded, *args)` in a worker, in arrival order (Throttling beyond the
        queue), within the time limit."""
        loop = asyncio.get_running_loop()
        async with self.fifo.take(prefer=lambda worker: image_key in worker.recent) as worker:
            try:
                result = await loop.run_in_executor(self._threads, worker.run, job, args,
                                                    self.limit_s)
            except TimeoutError as timeout:
                await loop.run_in_executor(self._threads, worker.restart)
                self._warm(worker)
                raise _timed_out(str(timeout), self.limit_s) from None
            except (EOFError, OSError):
                await loop.run_in_executor(self._threads, worker.restart)
                self._warm(worker)
                raise ScribbleSegError(
                    "InternalError", "The worker process ended unexpectedly; retry.") from None
            if image_key:  # most recent last, like the worker's LRU cache
                if image_key in worker.recent:
                    worker.recent.remove(image_key)
                worker.recent.append(image_key)
            return result

    def _warm(self, worker: Worker) -> None:
        future = asyncio.get_running_loop().run_in_executor(None, worker.warm)
        self._warming.add(future)
        future.add_done_callback(self._warming.discard)


def _timed_out(phase: str, limit_s: float) -> ScribbleSegError:
    if phase == "decoding":
        return ScribbleSegError(
            "InvalidFile.Content",
            f"The input files took longer than {limit_s:g} s to decode; export them again "
            "(plainly, e.g. baseline JPEG or PNG).")
    return ScribbleSegError(
        "InternalError.Timeout", f"The segmentation took longer than {limit_s:g} s.")


def _worker_main(connection: Connection, cache_items: int) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from scribbleseg.engine import pipeline  # heavy: in the worker, before the first job

    pipeline.default_prior()
    pipeline.default_scribble_model()
    cache = PreparedImageCache(max_items=cache_items)
    connection.send(("ready", None, cache.stats()))
    while True:
        try:
            job, args = connection.recv()
        except (EOFError, OSError):
            return
        connection.send(_answer(job, args, cache, connection))


def _answer(job: Job, args: tuple, cache: PreparedImageCache, connection: Connection) -> tuple:
    def decoded() -> None:
        connection.send(("decoded", None, cache.stats()))

    try:
        return "done", job(cache, decoded, *args), cache.stats()
    except ScribbleSegError as error:
        refusal = error
    except Exception:  # noqa: BLE001 (the server answers InternalError; the trace goes to stderr)
        traceback.print_exc()
        refusal = ScribbleSegError("InternalError", "The engine failed unexpectedly.")
    return "error", (refusal.code, refusal.message, refusal.http_status), cache.stats()
