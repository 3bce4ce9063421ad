"""The network rule, enforced: the tests contact loopback only, and resolve no other name.

``install()`` wraps ``socket.socket.connect`` / ``connect_ex`` and ``socket.getaddrinfo`` for the
whole test process (threads included: in-process servers, asyncio, httpx, http.client). A
connection to an address that is not loopback is refused before any packet leaves, as
``ConnectionRefusedError``; a name that is not loopback's is not resolved (``gaierror``, as
offline) so no DNS query leaves either. Both are recorded, and ``tests/conftest.py`` fails the
test that caused them, even when the code under test swallowed the error. A test that needs a
name to resolve gives it an address with ``names`` (a hosts file).

Literals used only as data (scope, SSRF or private-address classification) never reach either
function and stay allowed. Subprocesses (lab services, Chromium, CLI runs) are not covered
here: the lab's own outbound guard refuses every non-loopback URL, and the browser tests
resolve no name.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
_INET = (socket.AF_INET, socket.AF_INET6)

attempts: list[str] = []
"""What a test tried to contact outside loopback, since the last ``attempts.clear()``."""

_hosts: dict[str, str] = {}  # name -> address, answered without a query (``names``)

_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex
_getaddrinfo = socket.getaddrinfo


def _address(host: object) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = host.decode() if isinstance(host, bytes) else str(host)
    try:
        found = ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        return found.ipv4_mapped
    return found


def is_loopback(host: object) -> bool:
    """True for a loopback address or one of loopback's own names."""
    address = _address(host)
    if address is not None:
        return address.is_loopback
    name = (host.decode() if isinstance(host, bytes) else str(host)).lower().rstrip(".")
    return name in _LOOPBACK_NAMES or name.endswith(".localhost")


def _refused(sock: socket.socket, address: Any) -> str | None:
    if sock.family not in _INET or not isinstance(address, tuple) or is_loopback(address[0]):
        return None
    said = f"connect to {address[0]}:{address[1]}"
    attempts.append(said)
    return said


def _guarded_connect(self: socket.socket, address: Any) -> None:
    said = _refused(self, address)
    if said is not None:
        raise ConnectionRefusedError(f"the tests contact loopback only; refused to {said}")
    _connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    if _refused(self, address) is not None:
        return 111  # ECONNREFUSED
    return _connect_ex(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if isinstance(host, str | bytes) and host:
        name = (host.decode() if isinstance(host, bytes) else host).lower().rstrip(".")
        if name in _hosts:
            return _getaddrinfo(_hosts[name], *args, **kwargs)
    if host not in (None, "", b"") and _address(host) is None and not is_loopback(host):
        attempts.append(f"resolve {host!r}")
        raise socket.gaierror(
            socket.EAI_NONAME, f"the tests resolve no name but loopback's: {host}"
        )
    return _getaddrinfo(host, *args, **kwargs)


@contextmanager
def names(table: Mapping[str, str]) -> Iterator[None]:
    """Within the block, each name of ``table`` resolves to its address with no query sent (a
    hosts file for the tests); a literal address is data, and nothing connects to it unless
    it is loopback's."""
    _hosts.update({name.lower(): address for name, address in table.items()})
    try:
        yield
    finally:
        for name in table:
            _hosts.pop(name.lower(), None)


def install() -> None:
    """Guard this process's sockets and name resolution (idempotent)."""
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _guarded_getaddrinfo
