"""Outbound HTTP for the lab's URL-fetch and webhook endpoints: loopback only, by construction.

A URL whose host is not literally loopback (127.0.0.0/8, ::1 or ``localhost``) is refused with
``NotLoopback`` before any connection or name resolution; redirects are never followed.
"""

from __future__ import annotations

import http.client
import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

REFUSAL = "only loopback URLs are allowed in the lab"
_MAX_BODY = 256 * 1024
_TIMEOUT_S = 3.0


class NotLoopback(ValueError):
    """The URL is not an http(s) URL on a loopback host; nothing was contacted."""


@dataclass(frozen=True)
class Fetched:
    """What a fetch brought back."""

    status: int
    content_type: str
    body: bytes


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_loopback(url: str) -> tuple[str, str, int, str]:
    """Return (scheme, host, port, path) of ``url``, or raise ``NotLoopback``."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise NotLoopback(REFUSAL) from exc
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not _is_loopback(host):
        raise NotLoopback(REFUSAL)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path


def request(url: str, *, method: str = "GET", body: bytes | None = None) -> Fetched:
    """Send one request to a loopback ``url`` (no redirects followed); raise ``NotLoopback``."""
    scheme, host, port, path = check_loopback(url)
    connection_class = (
        http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(host, port, timeout=_TIMEOUT_S)
    try:
        headers = {"User-Agent": "items-fetcher/1.4", "Accept": "*/*"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read(_MAX_BODY)
        content_type = response.getheader("Content-Type") or "application/octet-stream"
        return Fetched(response.status, content_type, data)
    finally:
        connection.close()
