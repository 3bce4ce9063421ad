"""Who is asking: API keys (hashed at rest, per-key rate limit) and dashboard sessions with CSRF.

An API key is ``mb_`` and 43 random url-safe characters (256 bits), sent as ``X-API-Key`` or
``Authorization: Bearer``; the store keeps its SHA-256 digest and a short prefix to tell keys
apart. Passwords are scrypt-hashed. A session cookie holds a random token whose digest the store
keeps with the CSRF token every form of that session must carry back.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass

from fastapi import Request

from middlebrick.server.problems import Problem
from middlebrick.store.records import KeyInfo, SessionInfo
from middlebrick.store.repository import Repository

__all__ = [
    "COOKIE",
    "Caller",
    "RateLimiter",
    "check_password",
    "digest",
    "hash_password",
    "new_key",
    "new_token",
]

COOKIE = "mb_session"


def new_key() -> str:
    """A new API key."""
    return "mb_" + secrets.token_urlsafe(32)


def new_token() -> str:
    """A new random token (session cookies, CSRF)."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """The SHA-256 digest kept in place of a key or a session token."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password``."""
    salt = secrets.token_bytes(16)
    derived = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt${salt.hex()}${derived.hex()}"


def check_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches ``stored`` (spends the same time when there is no user)."""
    scheme, _, rest = (stored or f"scrypt${'00' * 16}${'00' * 32}").partition("$")
    salt, _, expected = rest.partition("$")
    derived = hashlib.scrypt(
        password.encode("utf-8"),
        salt=bytes.fromhex(salt),
        n=2**14,
        r=8,
        p=1,
        dklen=32,
    )
    return (
        stored is not None and scheme == "scrypt" and hmac.compare_digest(derived.hex(), expected)
    )


@dataclass(frozen=True)
class Caller:
    """An authenticated API caller: the key and its organisation."""

    key: KeyInfo

    @property
    def org_id(self) -> int:
        """The organisation every query of this request is scoped to."""
        return self.key.org_id


class RateLimiter:
    """A sliding one-minute window of requests per key, in this process."""

    def __init__(self) -> None:
        self._seen: dict[int, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: KeyInfo) -> dict[str, str]:
        """Count one request; the rate-limit headers, or a 429 ``Problem`` over the limit."""
        moment = time.monotonic()
        with self._lock:
            window = self._seen.setdefault(key.id, deque())
            while window and window[0] <= moment - 60:
                window.popleft()
            if len(window) >= key.rate_limit:
                retry = max(1, int(window[0] + 60 - moment) + 1)
                raise Problem(
                    429,
                    f"this API key is limited to {key.rate_limit} requests a minute; "
                    f"try again in {retry} s",
                    headers={**_headers(key.rate_limit, 0, retry), "Retry-After": str(retry)},
                )
            window.append(moment)
            reset = int(window[0] + 60 - moment) + 1
            return _headers(key.rate_limit, key.rate_limit - len(window), reset)


def _headers(limit: int, remaining: int, reset: int) -> dict[str, str]:
    return {
        "RateLimit-Limit": str(limit),
        "RateLimit-Remaining": str(remaining),
        "RateLimit-Reset": str(reset),
    }


def api_caller(request: Request, repo: Repository, limiter: RateLimiter) -> Caller:
    """The caller of an API request, from ``X-API-Key`` or a bearer token; 401 otherwise."""
    key = request.headers.get("x-api-key", "").strip()
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if not key and scheme.lower() == "bearer":
        key = token.strip()
    if not key:
        raise Problem(
            401,
            "this route needs an API key in X-API-Key or Authorization: Bearer; "
            "create one with `middlebrick keys create --org NAME`",
            headers={"WWW-Authenticate": 'Bearer realm="middlebrick"'},
        )
    found = repo.key_by_digest(digest(key)) if key.startswith("mb_") else None
    if found is None:
        raise Problem(
            401,
            "the API key is not valid (unknown or revoked); use a live key of your organisation",
            headers={"WWW-Authenticate": 'Bearer realm="middlebrick", error="invalid_token"'},
        )
    request.state.rate_headers = limiter.hit(found)
    return Caller(found)


def session_of(request: Request, repo: Repository) -> SessionInfo | None:
    """The dashboard session of the request's cookie, if it is live."""
    token = request.cookies.get(COOKIE)
    return repo.session(digest(token)) if token else None


def check_csrf(request: Request, session: SessionInfo, sent: str | None) -> None:
    """Refuse a dashboard form without its session's CSRF token or from another origin."""
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}"
    if origin is not None and origin != own:
        raise Problem(403, "the form was sent from another site; use the dashboard itself")
    if not sent or not hmac.compare_digest(sent, session.csrf):
        raise Problem(403, "the form's CSRF token is missing or stale; reload the page")
