"""A local stand-in of the npm registry (what build.py models and the installer use of it):
GET /NAME/VERSION answers the version's metadata with "dist": {"tarball", "integrity"}, and the
tarball URL serves the file, honouring Range requests. Offline and fast; point
npm_config_registry at `url`."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import tarfile
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CHUNK = 1000


@dataclass
class Registry:
    url: str
    packages: dict[str, Path]  # "name@version" -> tarball
    requests: list[dict] = field(default_factory=list)  # {"path", "range"} of each GET
    wrong_integrity: bool = False


def integrity_of(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def fake_model_package(folder: Path, resource: str = "/models/medium",
                       size: int = 3 * CHUNK + 123) -> tuple[Path, dict]:
    """A small package shaped like @imgly/background-removal-data: dist/resources.json lists
    the resource's chunks (stored out of order); returns (tarball, model bytes' size/sha256)."""
    model = bytes((index * 7 + 3) % 251 for index in range(size))
    chunks = [model[start:start + CHUNK] for start in range(0, size, CHUNK)]
    names = [hashlib.sha256(chunk).hexdigest() for chunk in chunks]
    pairs = list(zip(names, chunks, strict=True))
    listing = {resource: {"chunks": [{"hash": name, "offsets": [index * CHUNK,
                                                                 index * CHUNK + len(chunk)]}
                                     for index, (name, chunk) in enumerate(pairs)],
                          "size": size, "mime": "application/octet-stream"}}
    tarball = folder / "fake-data-1.0.0.tgz"
    with tarfile.open(tarball, "w:gz") as package:
        files = [("package/dist/resources.json", json.dumps(listing).encode())]
        files += [(f"package/dist/{name}", chunk) for name, chunk in pairs][::-1]
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            package.addfile(info, io.BytesIO(data))
    return tarball, {"size": size, "sha256": hashlib.sha256(model).hexdigest()}


def handler_for(registry: Registry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            path = urllib.parse.unquote(self.path)
            registry.requests.append({"path": path, "range": self.headers.get("Range")})
            if path.startswith("/tarballs/"):
                return self.send_tarball(registry.packages[path.removeprefix("/tarballs/")])
            name, _, version = path.lstrip("/").rpartition("/")
            tarball = registry.packages.get(f"{name}@{version}")
            if tarball is None:
                return self.send_error(404)
            integrity = ("sha512-" + "A" * 86 + "==" if registry.wrong_integrity
                         else integrity_of(tarball))
            quoted = urllib.parse.quote(f"{name}@{version}")
            body = json.dumps({"name": name, "version": version, "dist": {
                "tarball": f"{registry.url}/tarballs/{quoted}", "integrity": integrity}})
            self.send_bytes(200, body.encode(), "application/json")

        def send_tarball(self, tarball: Path) -> None:
            data = tarball.read_bytes()
            wanted = self.headers.get("Range")
            if wanted:
                start = int(wanted.removeprefix("bytes=").rstrip("-"))
                if start >= len(data):
                    return self.send_error(416)
                self.send_bytes(206, data[start:], "application/octet-stream")
            else:
                self.send_bytes(200, data, "application/octet-stream")

        def send_bytes(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@contextlib.contextmanager
def serving(packages: dict[str, Path]) -> Iterator[Registry]:
    """The stand-in on a free loopback port while the block runs."""
    registry = Registry("", packages)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(registry))
    registry.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield registry
    finally:
        server.shutdown()
        server.server_close()
