"""Where caseroute may send HTTP requests on someone's behalf (callbacks, webhooks): public addresses only.

A callback or webhook URL is chosen by a caller; unchecked, it makes caseroute POST to its own loopback, the
cluster's private network or a cloud metadata service (SSRF). So every address a URL's host stands for must be
global (not loopback, private, link-local, unspecified, shared, reserved, multicast; an IPv4-mapped IPv6
address counts as its IPv4 address): checked when the URL is submitted (a 422) and again by the notifier for
the address it actually connects to, so a name that resolves differently later (DNS rebinding) gains nothing.

`CASEROUTE_OUTBOUND_ALLOW_NETWORKS` (JSON list of networks, e.g. '["127.0.0.0/8", "::1/128"]') opts networks
back in: for tests and a local demo whose receivers listen on 127.0.0.1. Unset, nothing non-global is allowed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class UnsafeAddress(OSError):
    """The URL's host is, or resolves to, an address caseroute does not send to."""


def networks(values: Sequence[str]) -> tuple[IPNetwork, ...]:
    """The allow-list as networks (a bare address is a network of one); ValueError for a malformed entry."""
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values)


def refusal(address: str, allowed: Sequence[IPNetwork] = ()) -> str | None:
    """Why caseroute must not send to this IP address, or None when it may (pure)."""
    try:
        ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])  # a scope id (fe80::1%eth0) is no escape
    except ValueError:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if any(ip.version == net.version and ip in net for net in allowed):
        return None
    if ip.is_global and not ip.is_multicast:
        return None
    kind = next((name for name, flag in (
        ("loopback", ip.is_loopback), ("unspecified", ip.is_unspecified), ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast), ("private", ip.is_private), ("reserved", ip.is_reserved)) if flag),
        "non-public")
    return f"{kind} address {ip}"


async def resolve(host: str, port: int) -> list[str]:
    """Every address the host stands for, as the system resolver (and so the connection) sees it."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


async def url_refusal(url: str, allowed: Sequence[IPNetwork] = ()) -> str | None:
    """Why caseroute must not send to this URL, or None. A host that resolves to any refused address is refused;
    a name that does not resolve now is let through (the connection is checked again when it is made)."""
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        return "only http and https URLs with a host"
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = await resolve(host, port)
    except (OSError, UnicodeError, ValueError):
        return None
    for address in addresses:
        why = refusal(address, allowed)
        if why is not None:
            return f"{host} is {why}: callbacks and webhooks go to public addresses only"
    return None


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver, refusing a name any of whose addresses is refused (checked at every connection)."""

    def __init__(self, allowed: Sequence[IPNetwork] = ()) -> None:
        self.allowed = tuple(allowed)
        self._inner = DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
                      ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        for result in found:
            why = refusal(result["host"], self.allowed)
            if why is not None:
                raise UnsafeAddress(f"{host} is {why}")
        return found

    async def close(self) -> None:
        await self._inner.close()


def literal_refusal(host: str | None, allowed: Sequence[IPNetwork] = ()) -> str | None:
    """For a URL whose host is an IP address (aiohttp connects to those without a resolver): why not, or None.
    Legacy IPv4 forms (127.1, 2130706433, 0x7f000001) count as the address the C library reads them as."""
    if not host:
        return "no host"
    bare = host.strip("[]").split("%", 1)[0]
    try:
        address = str(ipaddress.ip_address(bare))
    except ValueError:
        try:
            address = str(ipaddress.IPv4Address(socket.inet_aton(bare)))
        except OSError:
            return None  # a name: the resolver checks it
    why = refusal(address, allowed)
    return None if why is None else f"{host} is {why}"
