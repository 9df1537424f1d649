"""Outbound HTTP that cannot be turned against the server's own network (SSRF).

Every request this server makes on a client's behalf (URL previews today;
pushes and federation later) goes through ``OutboundClient``. Addresses that are
not globally routable — private, loopback, link-local, CGNAT, multicast,
reserved, unspecified, IPv4-mapped forms of those — are refused unless the
operator lists them in ``ip_range_whitelist``.

The check sits where the connection is made, not before it: the connector's
``socket_factory`` sees the exact address about to be dialled, for every
connection (each redirect hop, each happy-eyeballs attempt, each DNS answer), so
DNS rebinding — a name that resolves to a public address when checked and to
127.0.0.1 when connected — gains nothing. Redirects are followed by hand, a
bounded number of times, and only to http(s); bodies are read up to a byte cap
(after decompression, so a gzip bomb stops there too); every request has a
total deadline.
"""

from __future__ import annotations

import contextvars
import dataclasses
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from multidict import CIMultiDictProxy

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
USER_AGENT = "Tessera (Matrix homeserver; URL previews)"


class OutboundRefused(Exception):
    """The request would reach an address the policy refuses, or a bad URL."""


class OutboundFailed(Exception):
    """The remote end failed: connection, timeout, status, too many redirects."""


class BlockedAddress(OSError):
    """Raised inside the connector: the address about to be dialled is refused."""


class AddressPolicy:
    """Which IP addresses outbound requests may reach."""

    def __init__(self, whitelist: Iterable[str] = ()) -> None:
        self.whitelist = [ipaddress.ip_network(c, strict=False) for c in whitelist]

    def allows(self, address: str | IPAddress) -> bool:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
        if any(ip.version == net.version and ip in net for net in self.whitelist):
            return True
        return ip.is_global and not ip.is_multicast


_refusals: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "outbound_refusals", default=None
)


@dataclasses.dataclass(frozen=True, slots=True)
class Fetched:
    url: str
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes
    #: The body was cut at the byte cap.
    truncated: bool

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0].strip().lower()


class OutboundClient:
    def __init__(
        self,
        policy: AddressPolicy,
        *,
        timeout_s: float = 10.0,
        max_redirects: int = 5,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.policy = policy
        self.max_redirects = max_redirects
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, connect=min(5.0, timeout_s))
        self._headers = {"User-Agent": user_agent}
        self._session: aiohttp.ClientSession | None = None

    def _socket(self, addr_info: tuple[Any, ...]) -> socket.socket:
        family, kind, proto, _, sockaddr = addr_info
        host = str(sockaddr[0])
        if not self.policy.allows(host.split("%", maxsplit=1)[0]):
            refusals = _refusals.get()
            if refusals is not None:
                refusals.append(host)
            raise BlockedAddress(f"outbound requests to {host} are not allowed")
        return socket.socket(family, kind, proto)

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(socket_factory=self._socket, limit=50)
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=self._timeout, headers=self._headers, trust_env=False
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def get(self, url: str, *, max_bytes: int, truncate: bool = False) -> Fetched:
        """``GET url``, following redirects; the final response with at most
        ``max_bytes`` of body (cut there when ``truncate``, else OutboundFailed)."""
        refusals: list[str] = []
        token = _refusals.set(refusals)
        try:
            for _ in range(self.max_redirects + 1):
                _check_url(url)
                try:
                    fetched = await self._once(url, max_bytes, truncate)
                except (aiohttp.ClientError, TimeoutError, OSError) as e:
                    if refusals:
                        raise OutboundRefused(f"{url} resolves to a blocked address") from None
                    raise OutboundFailed(f"fetching {url} failed: {e}") from None
                if fetched.status in (301, 302, 303, 307, 308) and "Location" in fetched.headers:
                    url = urljoin(url, fetched.headers["Location"])
                    continue
                return fetched
            raise OutboundFailed(f"more than {self.max_redirects} redirects")
        finally:
            _refusals.reset(token)

    async def _once(self, url: str, max_bytes: int, truncate: bool) -> Fetched:
        async with self.session().get(url, allow_redirects=False) as response:
            if response.status in (301, 302, 303, 307, 308):
                return Fetched(url, response.status, response.headers, b"", False)
            if response.status != 200:
                raise OutboundFailed(f"{url} answered {response.status}")
            length = response.content_length
            if length is not None and length > max_bytes and not truncate:
                raise OutboundFailed(f"{url} is over {max_bytes} bytes")
            chunks: list[bytes] = []
            size = 0
            truncated = False
            async for chunk in response.content.iter_chunked(64 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    if not truncate:
                        raise OutboundFailed(f"{url} is over {max_bytes} bytes")
                    chunks.append(chunk[: max_bytes - (size - len(chunk))])
                    truncated = True
                    break
                chunks.append(chunk)
            return Fetched(str(response.url), 200, response.headers, b"".join(chunks), truncated)


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused(f"only http(s) URLs can be fetched, not {url!r}")
    if parts.username or parts.password:
        raise OutboundRefused("URLs with credentials are not fetched")
