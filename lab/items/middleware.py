"""Response headers of the items service: CORS, security headers, cookies, rate limiting.

One pure ASGI middleware per variant, so that the difference between the twins is in one place.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ALLOWED_ORIGINS = frozenset({"https://app.acme.example"})
_SECURE_HEADERS = (
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
)
_VULNERABLE_HEADERS = (
    (b"server", b"uvicorn/0.54.0 (Python 3.11)"),
    (b"x-powered-by", b"FastAPI/0.163.2"),
)


class RateLimiter:
    """A fixed-window counter per client address: ``limit`` requests per ``window`` seconds."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[float, int]] = {}

    def hit(self, client: str) -> tuple[bool, int, int]:
        """Count one request; return (allowed, remaining, seconds until the window resets)."""
        now = time.monotonic()
        with self._lock:
            start, count = self._counts.get(client, (now, 0))
            if now - start >= self.window:
                start, count = now, 0
            count += 1
            self._counts[client] = (start, count)
        reset = max(1, int(start + self.window - now + 0.999))
        return count <= self.limit, max(0, self.limit - count), reset


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


class LabHeaders:
    """Adds the variant's CORS, cookie, security and rate-limit behaviour to every response."""

    def __init__(self, app: ASGIApp, *, secure: bool, limiter: RateLimiter | None) -> None:
        self.app = app
        self.secure = secure
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = _header(scope, b"origin")
        has_session = "session=" in (_header(scope, b"cookie") or "")
        extra: list[tuple[bytes, bytes]] = []
        if self.secure:
            extra += _SECURE_HEADERS
            if origin in ALLOWED_ORIGINS:  # FIX: an allow-list of origins
                extra += [(b"access-control-allow-origin", origin.encode()), (b"vary", b"Origin")]
            if self.limiter is not None:
                client = (scope.get("client") or ("?", 0))[0]
                allowed, remaining, reset = self.limiter.hit(str(client))
                extra += [
                    (b"ratelimit-limit", str(self.limiter.limit).encode()),
                    (b"ratelimit-remaining", str(remaining).encode()),
                    (b"ratelimit-reset", str(reset).encode()),
                ]
                if not allowed:
                    await _too_many(send, extra, reset)
                    return
        else:
            extra += _VULNERABLE_HEADERS  # FLAW: versions in Server and X-Powered-By
            if origin is not None:  # FLAW: any origin reflected, with credentials
                extra += [
                    (b"access-control-allow-origin", origin.encode("latin-1")),
                    (b"access-control-allow-credentials", b"true"),
                ]
                if scope["method"] == "OPTIONS" and _header(
                    scope, b"access-control-request-method"
                ):
                    await _preflight(scope, send, extra)
                    return
        if not has_session:
            token = secrets.token_urlsafe(16)
            if self.secure:  # FIX: the session cookie carries its flags
                cookie = f"session={token}; Path=/; Secure; HttpOnly; SameSite=Strict"
            else:  # FLAW: no Secure, HttpOnly or SameSite
                cookie = f"session={token}; Path=/"
            extra.append((b"set-cookie", cookie.encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in (b"server", b"x-powered-by")
                ]
                message["headers"] = headers + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _preflight(scope: Scope, send: Send, extra: list[tuple[bytes, bytes]]) -> None:
    requested = _header(scope, b"access-control-request-headers") or "authorization"
    headers = [
        *extra,
        (b"access-control-allow-methods", b"GET, POST, PUT, PATCH, DELETE, OPTIONS"),
        (b"access-control-allow-headers", requested.encode("latin-1")),
        (b"access-control-max-age", b"86400"),
        (b"content-length", b"0"),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


async def _too_many(send: Send, extra: list[tuple[bytes, bytes]], reset: int) -> None:
    body = b'{"detail":"Too many requests"}'
    headers = [
        *extra,
        (b"retry-after", str(reset).encode()),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})
