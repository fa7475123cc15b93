"""Cloud mode: the InteractiveScribbleSegmentation API (../shared/specs/cloud-api.md).

    POST /               the action; parameters in the query and a urlencoded or multipart body
    GET  /               what this server is; header `X-ScribbleSeg-Upload: direct` tells the
                         cloud client it may send files as multipart parts (no object store)
    GET  /results/NAME   an answer, for ResultUrl's lifetime (then 404)
    GET  /health, /healthz  {"status": "ok"}: the process is up
    GET  /readyz         200 when the workers have the model loaded and the result store and the
                         replay state are reachable, else 503 with the reasons (load balancers)
    GET  /metrics        Prometheus metrics (observability.py)

Every answer names the instance that made it in X-ScribbleSeg-Instance (--instance-id).

A request costs the server in this order, each step only once the one before has passed: size
limits (HTTP limits in httpserver.py, the body's Content-Length), the signature (a V3 one from
the headers alone, before the body is read; an unsigned or V1 body is read in one of
UNVERIFIED_BODIES slots), parsing and downloads (fetch.py, their own slots), then decoding and
the engine in a worker process within the job time limit (workers.py). ResultUrl starts with
--public-url, else the address the server is bound to; never with the Host header a client sent.

Stateless apart from the result store (results.py, s3store.py) and the nonce store (auth.py,
redisstate.py): with both shared, any number of instances can stand behind one load balancer.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import math
import os
import socket
import time
from dataclasses import dataclass, field

from aiohttp import web

from scribbleseg.protocol import ACTION, CAPABILITY_HEADER, DIRECT_UPLOAD, RESULT_LIFETIME_S
from scribbleseg.server import defaults, forms
from scribbleseg.server.auth import Authenticator, NonceStore
from scribbleseg.server.fetch import Network, UrlFetcher
from scribbleseg.server.httpserver import (
    HttpServer,
    answer_response,
    content_length,
    error_response,
    new_request_id,
    read_body,
    report_unexpected,
)
from scribbleseg.server.observability import Metrics, log_access
from scribbleseg.server.results import ResultStore
from scribbleseg.server.segmenting import cloud_job
from scribbleseg.server.workers import WorkerPool
from scribbleseg_editor.errors import ScribbleSegError
from scribbleseg_editor.limits import MAX_IMAGE_BYTES, MAX_MASK_BYTES

# URL parameter -> (decode_request argument, size limit)
INPUTS = {
    "ImageUrl": ("image", MAX_IMAGE_BYTES),
    "MaskImageUrl": ("mask", MAX_MASK_BYTES),
    "PosScribbleImageUrl": ("positive", MAX_MASK_BYTES),
    "NegScribbleImageUrl": ("negative", MAX_MASK_BYTES),
    "IntegratedMaskUrl": ("integrated", MAX_MASK_BYTES),
}
MAX_BODY_BYTES = sum(limit for _, limit in INPUTS.values()) + 1024 * 1024  # + form overhead
UNVERIFIED_BODIES = 4  # bodies read at once before their sender is known (V1 or unsigned)
CACHE_ITEMS = 32  # prepared images the workers keep between them: many clients' images at once
CLEAN_EVERY_S = 60.0
ROUTES = {"/": ("GET", "HEAD", "POST")} | {path: ("GET", "HEAD") for path in
                                          ("/health", "/healthz", "/readyz", "/metrics")}
INSTANCE_HEADER = "X-ScribbleSeg-Instance"


@dataclass
class CloudSettings:
    host: str = "127.0.0.1"
    port: int = 0
    keys: dict[str, str] | None = None  # None: unsigned, allowed on loopback binds only
    allow_fetch: list[Network] = field(default_factory=list)
    public_url: str | None = None  # base of ResultUrl; default: the bind address
    workers: int = 2
    queue: int = 4
    result_ttl_s: float = RESULT_LIFETIME_S
    fetch_timeout_s: float = defaults.FETCH_TIMEOUT_S
    fetch_slots: int = defaults.FETCH_SLOTS
    job_limit_s: float = defaults.JOB_LIMIT_S
    nonces: NonceStore | None = None  # default: this process's memory (auth.py)
    instance_id: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")


class CloudServer(HttpServer):
    def __init__(self, settings: CloudSettings, store: ResultStore) -> None:
        if settings.keys is None and not _is_loopback(settings.host):
            raise ScribbleSegError(
                "InvalidParameter",
                f"Unsigned mode is for loopback binds only; {settings.host} is not loopback. "
                "Give --keys FILE.",
            )
        super().__init__(settings.host, settings.port)
        self.settings = settings
        self.store = store
        self.public_url = (settings.public_url or self.url).rstrip("/")
        self.authenticator = (Authenticator(settings.keys, settings.nonces)
                              if settings.keys is not None else None)
        self.fetcher = UrlFetcher(tuple(settings.allow_fetch), settings.fetch_timeout_s,
                                  slots=settings.fetch_slots, queue=4 * settings.fetch_slots)
        self.workers = WorkerPool(settings.workers, settings.queue, settings.job_limit_s,
                                  max(4, CACHE_ITEMS // settings.workers))
        self.metrics = Metrics(self.workers.fifo.waiting)
        self._unverified = asyncio.Semaphore(UNVERIFIED_BODIES)
        self._cleaner: asyncio.Task | None = None

    async def started(self) -> None:
        self.workers.start()
        self.workers.warm_up()
        await self.fetcher.start()
        self._cleaner = asyncio.create_task(self._clean())

    async def stopping(self) -> None:
        if self._cleaner is not None:
            self._cleaner.cancel()
        await self.fetcher.close()
        await asyncio.to_thread(self.workers.stop)

    def refusal(self, error: ScribbleSegError) -> web.Response:
        return self._error(error, new_request_id(), {})

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        started, request_id = time.monotonic(), new_request_id()
        response = await self._handle(request, request_id)
        response.headers[INSTANCE_HEADER] = self.settings.instance_id
        seconds = time.monotonic() - started
        self.metrics.request(request.path, response.status, seconds)
        log_access(request_id, self.settings.instance_id, request.method, request.path,
                   response.status, seconds)
        return response

    async def _handle(self, request: web.BaseRequest, request_id: str) -> web.StreamResponse:
        params: dict[str, str] = {}  # filled in as they are read: Format chooses the answer
        try:
            params.update(forms.parse_query(request.query_string))
            return await self._route(request, request_id, params)
        except ScribbleSegError as error:
            return self._error(error, request_id, params)
        except Exception:  # noqa: BLE001 (anything else still gets the API's error body)
            return self._error(report_unexpected(request_id), request_id, params)

    async def _route(self, request: web.BaseRequest, request_id: str,
                     params: dict[str, str]) -> web.StreamResponse:
        path = request.path
        allowed = ROUTES.get(path, ("GET", "HEAD") if path.startswith("/results/") else ())
        if not allowed:
            raise ScribbleSegError("InvalidParameter", f"No such path {path[:200]}; POST to /.",
                                   http_status=404)
        if request.method not in allowed:
            raise ScribbleSegError(
                "InvalidParameter", f"{request.method} is not allowed on {path[:200]}; use "
                f"{' or '.join(allowed)}.", http_status=405)
        if request.method == "POST":
            result_url = await self._act(request, params)
            return self._answer({"RequestId": request_id, "Data": {"ResultUrl": result_url}},
                                params)
        if path in ("/health", "/healthz"):
            return answer_response({"status": "ok"})
        if path == "/readyz":
            return await self._readiness()
        if path == "/metrics":
            return self._metrics()
        if path == "/":
            return answer_response({"Service": "ScribbleSeg", "Actions": [ACTION],
                                    "Upload": DIRECT_UPLOAD}, headers={CAPABILITY_HEADER:
                                                                       DIRECT_UPLOAD})
        return await self._result(path.removeprefix("/results/"))

    async def _readiness(self) -> web.Response:
        problems = [] if self.workers.ready else ["the workers are still loading the model"]
        for what, part in (("result store", self.store), ("replay state", self.settings.nonces)):
            try:
                if part is not None:
                    await asyncio.to_thread(part.check)
            except Exception as error:  # noqa: BLE001 (any failure means not ready)
                problems.append(f"the {what} cannot be reached: {error}")
        if problems:
            return answer_response({"status": "not ready", "problems": problems}, status=503)
        return answer_response({"status": "ready"})

    def _metrics(self) -> web.Response:
        exposition = self.metrics.exposition()
        if exposition is None:
            raise ScribbleSegError("InvalidParameter", "Metrics need prometheus_client: pip "
                                   "install 'scribbleseg[scale]'.", http_status=404)
        body, content_type = exposition
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def _result(self, name: str) -> web.Response:
        found = await asyncio.to_thread(self.store.get, name)
        if found is None:
            raise ScribbleSegError(
                "InvalidParameter", "No such result: it has expired (results live "
                f"{self.settings.result_ttl_s / 60:g} minutes) or never existed.",
                http_status=404)
        return web.Response(body=found[0], content_type=found[1],
                            headers={"Cache-Control": "no-store"})

    async def _act(self, request: web.BaseRequest, params: dict[str, str]) -> str:
        length = content_length(request, MAX_BODY_BYTES)
        headers = list(request.headers.items())
        query = dict(params)
        key_id = None
        if self.authenticator is not None:
            # In a thread: the nonce store may be Redis, which must not stall the event loop.
            key_id = await asyncio.to_thread(self.authenticator.verify_v3_headers, "POST", "/",
                                             query, headers)
        if self.authenticator is not None and key_id is None:
            async with self._unverified:  # sender unknown: bounded memory and parsing
                fields, files = await self._read_form(request, length)
        else:
            fields, files = await self._read_form(request, length, check_hash=key_id is not None)
        params.update(fields)
        if self.authenticator is not None and key_id is None:
            await asyncio.to_thread(self.authenticator.verify_v1, "POST", params)
        _check_action(request, params)
        inputs = await self._inputs(params, files)
        image_key = hashlib.sha256(inputs["image"]).hexdigest()
        engine_started = time.monotonic()
        data, content_type = await self.workers.run(cloud_job, inputs, params,
                                                    image_key=image_key)
        self.metrics.engine_time(time.monotonic() - engine_started)
        name = await asyncio.to_thread(self.store.put, data, content_type)
        link = await asyncio.to_thread(self.store.link, name)
        return link or f"{self.public_url}/results/{name}"

    async def _read_form(self, request: web.BaseRequest, length: int,
                         check_hash: bool = False) -> tuple[dict[str, str], dict[str, bytes]]:
        body = await read_body(request, length)
        if check_hash:
            Authenticator.check_body_hash(request.headers.items(), body)
        return forms.parse_body(request.headers.get("Content-Type", ""), body)

    async def _inputs(self, params: dict[str, str], files: dict[str, bytes]) -> dict[str, bytes]:
        """Each input from its file part, or downloaded from its URL (all at once)."""
        inputs = {argument: files[name] for name, (argument, _) in INPUTS.items()
                  if name in files}
        urls = {name: params[name].strip() for name in INPUTS
                if name not in files and params.get(name, "").strip()}
        if "image" not in inputs and "ImageUrl" not in urls:
            raise ScribbleSegError(
                "InvalidParameter", "ImageUrl is required (a URL, or a multipart file part)."
            )
        bodies = await asyncio.gather(*(self.fetcher.fetch(url, name, INPUTS[name][1])
                                        for name, url in urls.items()))
        inputs.update({INPUTS[name][0]: body for name, body in zip(urls, bodies, strict=True)})
        return inputs

    def _answer(self, data: dict, params: dict[str, str]) -> web.Response:
        return answer_response(data, as_xml=_wants_xml(params), root=f"{ACTION}Response")

    def _error(self, error: ScribbleSegError, request_id: str,
               params: dict[str, str]) -> web.Response:
        headers = {}
        if error.code == "Throttling":
            seconds = self.workers.fifo.book_retry_s()
            # The vendor's SDKs read x-acs-retry-after in milliseconds; Retry-After is seconds.
            headers = {"x-acs-retry-after": str(math.ceil(seconds * 1000)),
                       "Retry-After": str(max(1, math.ceil(seconds)))}
        return error_response(error, request_id=request_id, host_id=self.public_url,
                              as_xml=_wants_xml(params), headers=headers)

    async def _clean(self) -> None:
        while True:
            await asyncio.sleep(CLEAN_EVERY_S)
            await asyncio.to_thread(self.store.remove_expired)


def _check_action(request: web.BaseRequest, params: dict[str, str]) -> None:
    action = request.headers.get("x-acs-action") or params.get("Action", "")
    if action != ACTION:
        raise ScribbleSegError(
            "InvalidAction.NotFound", f"Unknown Action {action[:100]!r}; this server has {ACTION}."
        )
    if params.get("Format", "JSON").upper() not in ("JSON", "XML"):
        raise ScribbleSegError("InvalidParameter", "Format must be JSON or XML.")


def _wants_xml(params: dict[str, str]) -> bool:
    return params.get("Format", "JSON").upper() == "XML"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
