"""Download an input given by URL, guarded against server-side request forgery.

- http and https only, ASCII URLs only (the API refused URLs with Chinese characters);
- the host is resolved once and every address checked: private, loopback, link-local and other
  non-public addresses are refused unless an allowed network (`--allow-fetch CIDR`) contains
  them; the connection then goes to the checked address, so a second DNS answer cannot differ;
- redirects are followed (at most MAX_REDIRECTS) only to the same host, each checked again;
- each network wait lasts at most the timeout and the download stops at a deadline one timeout
  after its start (so a server trickling bytes is cut off within twice the timeout); bodies
  beyond the input's size limit stop the read.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import time
from collections.abc import Iterable
from urllib.parse import urljoin, urlsplit

from scribbleseg_editor.errors import ScribbleSegError

MAX_REDIRECTS = 3
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
CHUNK = 1 << 16

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class UrlFetcher:
    def __init__(self, allowed_networks: Iterable[Network] = (), timeout_s: float = 10.0) -> None:
        self.allowed_networks = tuple(allowed_networks)
        self.timeout_s = timeout_s

    def fetch(self, url: str, label: str, max_bytes: int) -> bytes:
        """The body at `url` (the parameter named `label`), at most `max_bytes` long."""
        deadline = time.monotonic() + self.timeout_s
        host = _split(url, label).hostname
        for _ in range(MAX_REDIRECTS + 1):
            response, connection = self._get(url, label, deadline)
            try:
                if response.status not in REDIRECT_STATUSES:
                    return _read_body(response, label, max_bytes, deadline)
                url = urljoin(url, response.getheader("Location", ""))
            finally:
                connection.close()
            if _split(url, label).hostname != host:
                raise ScribbleSegError(
                    "IllegalUrlParameter",
                    f"{label} redirects to another host ({_split(url, label).hostname}); "
                    "redirects must stay on the same host.",
                )
        raise _download_failed(label, f"more than {MAX_REDIRECTS} redirects")

    def _get(self, url: str, label: str, deadline: float):
        parts = _split(url, label)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = self._checked_address(parts.hostname, port, label)
        connection_type = (http.client.HTTPSConnection if parts.scheme == "https"
                           else http.client.HTTPConnection)
        connection = connection_type(parts.hostname, port, timeout=_remaining(deadline, label))
        # Connect to the address that passed the check, keeping the name for Host and TLS.
        connection._create_connection = lambda _address, timeout, source: (
            socket.create_connection((address, port), timeout, source))
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        try:
            connection.request("GET", target, headers={"User-Agent": "ScribbleSeg"})
            return connection.getresponse(), connection
        except TimeoutError:
            connection.close()
            raise _timed_out(label) from None
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            raise _download_failed(label, str(error)) from None

    def _checked_address(self, hostname: str, port: int, label: str) -> str:
        try:
            infos = socket.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
        except socket.gaierror as error:
            raise _download_failed(label, f"host {hostname} not found ({error})") from None
        addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
        for address in addresses:
            if not (address.is_global and not address.is_multicast) and not any(
                address in network for network in self.allowed_networks
            ):
                raise ScribbleSegError(
                    "IllegalUrlParameter",
                    f"{label} points at {hostname} ({address}), a private or local address "
                    "this server does not fetch from.",
                )
        return str(addresses[0])


def _split(url: str, label: str):
    parts = urlsplit(url)
    if not url.isascii() or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ScribbleSegError(
            "IllegalUrlParameter",
            f"{label} must be an http(s) URL of ASCII characters; got {url[:200]!r}.",
        )
    return parts


def _read_body(response, label: str, max_bytes: int, deadline: float) -> bytes:
    if response.status != 200:
        raise _download_failed(label, f"the server answered HTTP {response.status}")
    announced = response.getheader("Content-Length")
    if announced and announced.isdigit() and int(announced) > max_bytes:
        raise _too_large(label, max_bytes)
    chunks, size = [], 0
    try:
        while True:
            _remaining(deadline, label)
            chunk = response.read1(CHUNK)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > max_bytes:
                raise _too_large(label, max_bytes)
            chunks.append(chunk)
    except TimeoutError:
        raise _timed_out(label) from None
    except (OSError, http.client.HTTPException) as error:
        raise _download_failed(label, str(error)) from None


def _remaining(deadline: float, label: str) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _timed_out(label)
    return left


def _too_large(label: str, max_bytes: int) -> ScribbleSegError:
    return ScribbleSegError(
        "InvalidFile.Size", f"{label} is larger than its limit of {max_bytes:,} bytes."
    )


def _timed_out(label: str) -> ScribbleSegError:
    return _download_failed(label, "no complete answer within the time limit")


def _download_failed(label: str, reason: str) -> ScribbleSegError:
    return ScribbleSegError("InvalidFile.Download", f"Could not download {label}: {reason}.")
