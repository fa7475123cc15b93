"""Download an input given by URL (aiohttp's client), guarded against server-side request forgery.

- http and https only, ASCII URLs only (the API refused URLs with Chinese characters); a URL
  aiohttp's own parser (yarl) refuses, or a host name that is not one, is IllegalUrlParameter;
- every address connected to is checked, including after each redirect: a literal address in
  the URL before the request, a name's addresses in the resolver aiohttp connects through (so
  no second DNS answer can differ). Private, loopback, link-local and other non-public
  addresses are refused unless an allowed network (`--allow-fetch CIDR`) contains them; IPv6
  forms that carry an IPv4 address (IPv4-mapped and -translated, IPv4-compatible, NAT64, 6to4)
  are refused unless an allowed network contains the IPv4 address they carry;
- redirects are followed (at most MAX_REDIRECTS) only to the same host;
- one deadline covers the whole download: waiting for a download slot, connecting, the status
  line and headers, every redirect and the body, however slowly a server trickles them;
- bodies beyond the input's size limit stop the read; no decompression (no gzip bombs);
- downloads have their own bounded concurrency (`slots`, `queue` waiting), apart from the
  engine's workers: slow URLs hold download slots, never a worker.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from scribbleseg.server.fifo import FifoPool
from scribbleseg_editor.errors import ScribbleSegError

MAX_REDIRECTS = 3
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
CHUNK = 1 << 16
LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 translation form carries; None for any other address."""
    if address.version == 4:
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    value = int(address)
    if address in NAT64[1]:  # RFC 6052 /48: bits 48-63 and 72-87, skipping the "u" octet
        return ipaddress.IPv4Address(((value >> 64) & 0xFFFF) << 16 | (value >> 40) & 0xFFFF)
    if address in NAT64[0] or address in IPV4_TRANSLATED or (
            address in IPV4_COMPATIBLE and value > 1):
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if address in SIX_TO_FOUR:
        return address.sixtofour
    return None


class UrlFetcher:
    def __init__(self, allowed_networks: tuple[Network, ...], timeout_s: float, slots: int,
                 queue: int) -> None:
        self.allowed_networks = tuple(allowed_networks)
        self.timeout_s = timeout_s
        self.slots = FifoPool(list(range(slots)), queue, what="downloads")
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(resolver=_CheckingResolver(self), use_dns_cache=False,
                                         force_close=True)
        self._session = aiohttp.ClientSession(connector=connector, trust_env=False,
                                              auto_decompress=False)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def check_address(self, address: Address, host: str, label: str) -> None:
        """Refuse an address this server must not connect to (module docstring)."""
        if any(address in network for network in self.allowed_networks):
            return
        carried = embedded_ipv4(address)
        if carried is not None:
            allowed = any(carried in network for network in self.allowed_networks)
        else:
            allowed = address.is_global and not address.is_multicast
        if not allowed:
            raise ScribbleSegError(
                "IllegalUrlParameter",
                f"{label} points at {host} ({address}), a private, local or translated address "
                "this server does not fetch from.",
            )

    async def fetch(self, url: str, label: str, max_bytes: int) -> bytes:
        """The body at `url` (the parameter named `label`), at most `max_bytes` long."""
        target = self._checked_url(url, label)
        try:
            async with asyncio.timeout(self.timeout_s), self.slots.take():
                return await self._follow(target, label, max_bytes)
        except TimeoutError:
            raise _download_failed(label, f"no complete answer within {self.timeout_s:g} s"
                                   ) from None
        except (aiohttp.ClientError, OSError) as error:
            raise _download_failed(label, str(error) or type(error).__name__) from None

    async def _follow(self, target: URL, label: str, max_bytes: int) -> bytes:
        host = target.host
        for _ in range(MAX_REDIRECTS + 1):
            async with self._session.get(
                target, allow_redirects=False,
                headers={"User-Agent": "ScribbleSeg", "Accept-Encoding": "identity"},
            ) as response:
                if response.status not in REDIRECT_STATUSES:
                    return await _read_body(response, label, max_bytes)
                location = response.headers.get("Location", "")
            target = self._checked_url(str(target.join(URL(location))), label)
            if target.host != host:
                raise ScribbleSegError(
                    "IllegalUrlParameter",
                    f"{label} redirects to another host ({target.host}); redirects must stay on "
                    "the same host.",
                )
        raise _download_failed(label, f"more than {MAX_REDIRECTS} redirects")

    def _checked_url(self, url: str, label: str) -> URL:
        try:
            parsed = URL(url) if url.isascii() else None
            port = parsed.port if parsed is not None else None
        except (ValueError, TypeError):
            parsed = port = None
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host \
                or port is None or not _is_host(parsed.host):
            raise ScribbleSegError(
                "IllegalUrlParameter",
                f"{label} must be an http(s) URL of ASCII characters with a valid host and "
                f"port; got {url[:200]!r}.",
            )
        try:
            address = ipaddress.ip_address(parsed.host)
        except ValueError:
            return parsed  # a name: the resolver checks its addresses
        self.check_address(address, parsed.host, label)
        return parsed


class _CheckingResolver(AbstractResolver):
    """aiohttp's resolver, refusing any name with an address the fetcher must not reach."""

    def __init__(self, fetcher: UrlFetcher) -> None:
        self.fetcher = fetcher
        self.resolver = DefaultResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self.resolver.resolve(host, port, family)
        for result in results:
            self.fetcher.check_address(ipaddress.ip_address(result["host"]), host, "The URL")
        return results

    async def close(self) -> None:
        await self.resolver.close()


def _is_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        labels = host.removesuffix(".").split(".")
        # An all-numeric last label is an address spelt oddly (127.1, 0x7f.1), not a name.
        return (len(host) <= 253 and all(LABEL.fullmatch(label) for label in labels)
                and not labels[-1].isdigit())


async def _read_body(response: aiohttp.ClientResponse, label: str, max_bytes: int) -> bytes:
    if response.status != 200:
        raise _download_failed(label, f"the server answered HTTP {response.status}")
    if (response.content_length or 0) > max_bytes:
        raise _too_large(label, max_bytes)
    chunks, size = [], 0
    async for chunk in response.content.iter_chunked(CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(label, max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(label: str, max_bytes: int) -> ScribbleSegError:
    return ScribbleSegError(
        "InvalidFile.Size", f"{label} is larger than its limit of {max_bytes:,} bytes."
    )


def _download_failed(label: str, reason: str) -> ScribbleSegError:
    return ScribbleSegError("InvalidFile.Download", f"Could not download {label}: {reason}.")
