"""Cloud mode: the InteractiveScribbleSegmentation API (../shared/specs/cloud-api.md).

    POST /               the action; parameters in the query and a urlencoded or multipart body
    GET  /               what this server is; header `X-ScribbleSeg-Upload: direct` tells the
                         cloud client it may send files as multipart parts (no object store)
    GET  /results/NAME   an answer, for ResultUrl's lifetime (then 404)
    GET  /health         {"status": "ok"} for load balancers

Stateless apart from the result store (and each instance's nonce window, see auth.py).
"""

from __future__ import annotations

import ipaddress
import re
import threading
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field

from scribbleseg.output import encode_result
from scribbleseg.protocol import ACTION, CAPABILITY_HEADER, DIRECT_UPLOAD, RESULT_LIFETIME_S
from scribbleseg.request import decode_request
from scribbleseg.server import forms
from scribbleseg.server.app import BaseHandler, EngineHTTPServer, new_request_id, report_unexpected
from scribbleseg.server.auth import Authenticator
from scribbleseg.server.cache import PreparedImageCache
from scribbleseg.server.fetch import Network, UrlFetcher
from scribbleseg.server.pool import WorkerPool
from scribbleseg.server.results import ResultStore
from scribbleseg.server.segmenting import segment_request
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
HOST_PATTERN = re.compile(r"[A-Za-z0-9.\-\[\]:]{1,255}")


@dataclass
class CloudSettings:
    host: str = "127.0.0.1"
    port: int = 0
    keys: dict[str, str] | None = None  # None: unsigned, allowed on loopback binds only
    allow_fetch: list[Network] = field(default_factory=list)
    public_url: str | None = None  # base of ResultUrl; default: the Host the client called
    workers: int = 2
    queue: int = 4
    result_ttl_s: float = RESULT_LIFETIME_S
    fetch_timeout_s: float = 10.0


class CloudServer(EngineHTTPServer):
    def __init__(self, settings: CloudSettings, store: ResultStore) -> None:
        if settings.keys is None and not _is_loopback(settings.host):
            raise ScribbleSegError(
                "InvalidParameter",
                f"Unsigned mode is for loopback binds only; {settings.host} is not loopback. "
                "Give --keys FILE.",
            )
        super().__init__((settings.host, settings.port), CloudHandler)
        self.settings = settings
        self.store = store
        self.authenticator = Authenticator(settings.keys) if settings.keys is not None else None
        self.fetcher = UrlFetcher(settings.allow_fetch, settings.fetch_timeout_s)
        self.pool = WorkerPool(settings.workers, settings.queue)
        self.cache = PreparedImageCache(max_items=32)  # many clients' images at once

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def serve_with_cleanup(self, interval_s: float = 60.0) -> None:
        """serve_forever, while a thread deletes expired results every `interval_s`."""
        stop = threading.Event()

        def clean() -> None:
            while not stop.wait(interval_s):
                self.store.remove_expired()

        cleaner = threading.Thread(target=clean, daemon=True)
        cleaner.start()
        try:
            self.serve_forever()
        finally:
            stop.set()


class CloudHandler(BaseHandler):
    server: CloudServer

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        request_id = new_request_id()
        path = self.path.split("?", 1)[0]
        if path == "/health":
            self.send_json(200, {"status": "ok"})
        elif path == "/":
            self.send_json(200, {"Service": "ScribbleSeg", "Actions": [ACTION],
                                 "Upload": DIRECT_UPLOAD}, {CAPABILITY_HEADER: DIRECT_UPLOAD})
        elif path.startswith("/results/") and (
            found := self.server.store.get(path.removeprefix("/results/"))
        ):
            self.send_body(200, found[0], found[1], {"Cache-Control": "no-store"})
        else:
            self._send_error(request_id, "JSON", ScribbleSegError(
                "InvalidParameter", "No such result: it has expired (results live "
                f"{self.server.settings.result_ttl_s / 60:g} minutes) or never existed.",
                http_status=404))

    def handle_expect_100(self) -> bool:
        """Refuse an oversized body before the client sends it (curl asks first)."""
        try:
            self.content_length(MAX_BODY_BYTES)
        except ScribbleSegError as error:
            self._send_error(new_request_id(), "JSON", error)
            return False
        return super().handle_expect_100()

    def do_POST(self) -> None:  # noqa: N802
        request_id = new_request_id()
        path, _, query_text = self.path.partition("?")
        query = forms.parse_query(query_text)
        answer_format = query.get("Format", "JSON")
        try:
            if path != "/":
                raise ScribbleSegError("InvalidParameter", f"No such path {path}; POST to /.",
                                       http_status=404)
            body = self.read_exactly(self.content_length(MAX_BODY_BYTES))
            fields, files = forms.parse_body(self.headers.get("Content-Type", ""), body)
            params = {**query, **fields}
            answer_format = params.get("Format", "JSON")
            if self.server.authenticator is not None:
                self.server.authenticator.verify(
                    "POST", path, query, params, self.headers.items(), body)
            self._check_action(params)
            with self.server.pool.slot():
                result_url = self._segment(params, files)
        except ScribbleSegError as error:
            self._send_error(request_id, answer_format, error)
        except Exception:  # noqa: BLE001 (anything else still gets the API's error body)
            self._send_error(request_id, answer_format, report_unexpected(request_id))
        else:
            self._send_answer(answer_format, {"RequestId": request_id,
                                              "Data": {"ResultUrl": result_url}})

    def _check_action(self, params: dict[str, str]) -> None:
        action = self.headers.get("x-acs-action") or params.get("Action", "")
        if action != ACTION:
            raise ScribbleSegError(
                "InvalidAction.NotFound", f"Unknown Action {action!r}; this server has {ACTION}."
            )
        if params.get("Format", "JSON").upper() not in ("JSON", "XML"):
            raise ScribbleSegError("InvalidParameter", "Format must be JSON or XML.")

    def _segment(self, params: dict[str, str], files: dict[str, bytes]) -> str:
        inputs = {}
        for name, (argument, limit) in INPUTS.items():
            if name in files:
                inputs[argument] = files[name]
            elif params.get(name, "").strip():
                inputs[argument] = self.server.fetcher.fetch(params[name].strip(), name, limit)
        if "image" not in inputs:
            raise ScribbleSegError(
                "InvalidParameter", "ImageUrl is required (a URL, or a multipart file part)."
            )
        request = decode_request(**inputs, params=params)
        run = segment_request(request, self.server.cache)
        data, content_type = encode_result(request.image, run.alpha, request.options)
        name = self.server.store.put(data, content_type)
        return f"{self._public_url()}/results/{name}"

    def _public_url(self) -> str:
        if self.server.settings.public_url:
            return self.server.settings.public_url.rstrip("/")
        host = self.headers.get("Host", "")
        if not HOST_PATTERN.fullmatch(host):
            host = self.server.url.removeprefix("http://")
        return f"http://{host}"

    def _send_answer(self, answer_format: str, data: dict) -> None:
        if answer_format.upper() == "XML":
            self.send_body(200, _xml(f"{ACTION}Response", data), "application/xml")
        else:
            self.send_json(200, data)

    def _send_error(self, request_id: str, answer_format: str, error: ScribbleSegError) -> None:
        self.close_connection = True  # the body may be partly unread
        headers = {}
        if error.code == "Throttling":
            seconds = self.server.pool.retry_after_s()
            # The vendor's SDKs read x-acs-retry-after in milliseconds; Retry-After is seconds.
            headers = {"x-acs-retry-after": str(seconds * 1000), "Retry-After": str(seconds)}
        body = {"RequestId": request_id, "HostId": self.headers.get("Host", ""),
                "Code": error.code, "Message": error.message, "Recommend": error.recommend}
        if answer_format.upper() == "XML":
            self.send_body(error.http_status, _xml("Error", body), "application/xml", headers)
        else:
            self.send_json(error.http_status, body, headers)


def _xml(root_name: str, data: dict) -> bytes:
    root = ElementTree.Element(root_name)
    _add_children(root, data)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)


def _add_children(parent: ElementTree.Element, data: dict) -> None:
    for key, value in data.items():
        child = ElementTree.SubElement(parent, key)
        if isinstance(value, dict):
            _add_children(child, value)
        else:
            child.text = str(value)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
