"""The HTTP side of a delivery: public-address checks, origins, and errors named without URLs."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

NOT_PUBLIC = (
    "the receiver is not at a public address (loopback, private or link-local); "
    "only an administrator can allow such receivers"
)


class NotPublic(OSError):
    """A receiver's host is, or resolves only to, addresses that are not public."""


class PublicOnly(AbstractResolver):
    """Resolves as usual and keeps only public addresses: the connection uses those."""

    def __init__(self) -> None:
        self._inner = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The host's public addresses; ``NotPublic`` when it has none."""
        found = await self._inner.resolve(host, port, family)
        public = [r for r in found if ipaddress.ip_address(r["host"]).is_global]
        if not public:
            raise NotPublic(NOT_PUBLIC)
        return public

    async def close(self) -> None:
        """Release the resolver."""
        await self._inner.close()


def refuse_private_literal(url: str) -> None:
    """An IP-literal host skips the resolver: check it here."""
    host = urlsplit(url).hostname or ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return
    if not address.is_global:
        raise NotPublic(NOT_PUBLIC)


def origin(url: str) -> str:
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # a port that is not a number: no origin at all
        return ""
    return f"{parts.scheme}://{parts.hostname}:{port}"


def seconds(value: str | None) -> float | None:
    if value is None or not value.strip().isdigit():
        return None
    return float(min(int(value.strip()), 3600))


def transport_error(exc: aiohttp.ClientError) -> str:
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return "the receiver's TLS certificate is not trusted"
    if isinstance(exc, aiohttp.ClientSSLError):
        return "the TLS handshake with the receiver failed"
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = exc.os_error.strerror or type(exc.os_error).__name__
        return f"cannot connect to the receiver ({reason})"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the receiver closed the connection without answering"
    return f"transport error ({type(exc).__name__})"
