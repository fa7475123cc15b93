"""What the operator sees of a cloud instance: Prometheus metrics and a JSON access log line.

Metrics (`GET /metrics`, with prometheus_client from the `scale` extra; without it /metrics
answers 404): requests by path and HTTP status, latency histogram, requests waiting for a
worker, engine seconds (decoding and segmentation in the workers). Each server has its own
registry, so several servers in one process (tests) do not share counts. The access log line
(logger "scribbleseg.access", on with `serve --verbose`) names the RequestId, the instance, the
method, the path, the status and the seconds.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

ACCESS_LOG = logging.getLogger("scribbleseg.access")
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)


class Metrics:
    def __init__(self, queue_depth: Callable[[], int]) -> None:
        try:
            import prometheus_client as prometheus
        except ImportError:
            self.registry = None
            return
        self._prometheus = prometheus
        self.registry = prometheus.CollectorRegistry()
        self.requests = prometheus.Counter(
            "scribbleseg_requests", "Requests answered", ["path", "code"], registry=self.registry)
        self.latency = prometheus.Histogram(
            "scribbleseg_request_seconds", "Time to answer a request", ["path"],
            buckets=LATENCY_BUCKETS, registry=self.registry)
        self.engine = prometheus.Histogram(
            "scribbleseg_engine_seconds", "Decoding and segmentation in a worker",
            buckets=LATENCY_BUCKETS, registry=self.registry)
        queue = prometheus.Gauge("scribbleseg_queue_depth", "Requests waiting for a worker",
                                 registry=self.registry)
        queue.set_function(queue_depth)

    def request(self, path: str, status: int, seconds: float) -> None:
        if self.registry is not None:
            path = "/results/" if path.startswith("/results/") else path  # bounded labels
            self.requests.labels(path, str(status)).inc()
            self.latency.labels(path).observe(seconds)

    def engine_time(self, seconds: float) -> None:
        if self.registry is not None:
            self.engine.observe(seconds)

    def exposition(self) -> tuple[bytes, str] | None:
        """(body, content type) of /metrics; None without prometheus_client."""
        if self.registry is None:
            return None
        return (self._prometheus.generate_latest(self.registry),
                self._prometheus.CONTENT_TYPE_LATEST)


def log_access(request_id: str, instance: str, method: str, path: str, status: int,
               seconds: float) -> None:
    if ACCESS_LOG.isEnabledFor(logging.INFO):
        ACCESS_LOG.info(json.dumps({
            "RequestId": request_id, "instance": instance, "method": method,
            "path": path if not path.startswith("/results/") else "/results/…",
            "status": status, "seconds": round(seconds, 4)}, ensure_ascii=False))
