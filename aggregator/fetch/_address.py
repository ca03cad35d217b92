"""Address safety: a feed URL must not reach into the machine or network we run on.

The check lives in the network backend, where httpcore asks for a TCP connection:
the name is resolved here, every address it resolves to is vetted, and the socket
is opened to a vetted address. Nothing resolves the name a second time, so a DNS
answer that changes between check and connect (rebinding) cannot slip through, and
every numeric spelling (2130706433, 0x7f.1, ::ffff:127.0.0.1) is judged by the
address the system turns it into.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import typing
from collections.abc import Awaitable, Callable, Iterable

import httpcore

# host, port -> the addresses to try, in order. A seam: tests map names to loopback.
Resolver = Callable[[str, int], Awaitable[list[str]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class BlockedAddress(Exception):
    """A connection the address policy refuses; fetch turns it into a FetchError."""


class ResolveFailed(Exception):
    """The name does not resolve."""


async def system_resolver(host: str, port: int) -> list[str]:
    """The system's answer (getaddrinfo, in a thread), in its order of preference."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ResolveFailed(f"cannot resolve {host}: {exc}") from exc
    out: list[str] = []
    for *_, sockaddr in infos:
        address = str(sockaddr[0])
        if address not in out:
            out.append(address)
    return out


def why_not_global(address: IPAddress) -> str | None:
    """None for an address on the public internet, else what kind of address it is."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return why_not_global(embedded)
    for flag, word in (
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (address.is_unspecified, "unspecified"),
        (address.is_private, "private"),
        (address.is_reserved, "reserved"),
    ):
        if flag:
            return word
    return None if address.is_global else "non-global"


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


class VettingBackend(httpcore.AsyncNetworkBackend):
    """Resolves, vets, then connects to the vetted address; one policy per backend, so
    a pooled connection opened under one policy is never reused under another."""

    def __init__(
        self, inner: httpcore.AsyncNetworkBackend, resolver: Resolver, *, allow_private: bool
    ) -> None:
        self._inner = inner
        self._resolver = resolver
        self.allow_private = allow_private

    async def vetted(self, host: str) -> list[str]:
        """The addresses of host, all of them allowed, or BlockedAddress/ResolveFailed."""
        try:
            literal: IPAddress | None = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            literal = None
        try:
            addresses = [str(literal)] if literal is not None else await self._resolver(host, 0)
        except OSError as exc:  # a resolver may raise socket.gaierror itself
            raise ResolveFailed(f"cannot resolve {host}: {exc}") from exc
        if not addresses:
            raise ResolveFailed(f"{host} resolves to no address")
        if not self.allow_private:
            for text in addresses:
                reason = why_not_global(ipaddress.ip_address(text.split("%")[0]))
                if reason is not None:
                    # Any bad answer refuses the name: a round-robin mix is an attack.
                    where = host if literal is not None else f"{host} resolves to {text}, which"
                    raise BlockedAddress(f"{where} is a {reason} address")
        return addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        last: Exception | None = None
        for address in await self.vetted(host):
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:  # try the next address
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress("unix sockets are never used for feeds")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def connection_pool(
    resolver: Resolver, *, allow_private: bool, ssl_context: typing.Any, connections: int
) -> httpcore.AsyncConnectionPool:
    backend = VettingBackend(httpcore.AnyIOBackend(), resolver, allow_private=allow_private)
    return httpcore.AsyncConnectionPool(
        ssl_context=ssl_context,
        max_connections=connections,
        max_keepalive_connections=connections,
        keepalive_expiry=5.0,
        network_backend=backend,
    )
