"""Host and URL helpers shared by checks: loopback detection, origins, the scan's own hosts."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def is_loopback(host: str) -> bool:
    """True for ``localhost`` (and ``*.localhost``), 127.0.0.0/8 and ``::1``."""
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_private(host: str) -> bool:
    """True for loopback, and for private or link-local IP addresses (RFC 1918, RFC 4193…)."""
    if is_loopback(host):
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return address.is_private or address.is_link_local


def origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of a URL, lower-case, with the scheme's default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme)


def same_host(a: str, b: str) -> bool:
    """True when two host names are the same, counting every loopback name as one host."""
    a, b = a.strip("[]").lower().rstrip("."), b.strip("[]").lower().rstrip(".")
    return a == b or (is_loopback(a) and is_loopback(b))


def swap_scheme(url: str, scheme: str) -> str:
    """The same URL (host, explicit port, path and query kept verbatim) under another scheme."""
    parts = urlsplit(url)
    return parts._replace(scheme=scheme).geturl()
