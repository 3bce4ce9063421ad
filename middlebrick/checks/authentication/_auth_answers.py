"""Answers of authentication operations: failed or not, refused by a limiter, held back.

Shared by the login and verification-code checks (``login``,
``codes``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from middlebrick.checks._validators import shannon_entropy
from middlebrick.http.exchange import Exchange, Request
from middlebrick.http.wording import words
from middlebrick.tokens import find_jwts

# A failed login that answers 2xx counts as failed only when it carries no credential: no JWT,
# no token / session field in the body, no credential header, no session cookie.
_CREDENTIAL_WORDS = ("token", "jwt", "session", "sid", "apikey", "auth", "bearer", "secret")
_TOKEN_LENGTH = 20  # a random string this long (and this varied) is a token
_TOKEN_ENTROPY = 3.5
_SLOWED = 3.0  # the slowest attempt this many times slower than the fastest: a tarpit
_SLOW_S = 1.0  # ... and at least this slow


def plain(name: str) -> str:
    """A name's words run together, lower-case (``userName`` and ``user_name``: ``username``)."""
    return "".join(words(name))


def failed(exchange: Exchange) -> bool:
    """A login that failed: a 4xx/5xx answer, or a 2xx one (``{"status": "fail", …}``) that
    carries no credential — no JWT, no token or session field, no session cookie."""
    code = status(exchange)
    if code is None or 300 <= code < 400:
        return False
    if not 200 <= code < 300:
        return True
    return not carries_credential(exchange)


def carries_credential(exchange: Exchange) -> bool:
    resp = exchange.response
    if resp is None:
        return False
    for name, value in resp.headers:
        plain = name.lower()
        if plain == "set-cookie" and value.partition("=")[2].partition(";")[0].strip('" '):
            return True  # any cookie set by a login answer may be its session
        if plain == "authorization" or (
            plain.startswith("x-") and credential_name(plain) and value.strip()
        ):
            return True
    text = resp.text[:65536]
    if find_jwts(text, limit=1):
        return True
    for key, value in pairs(resp.json):
        if credential_name(key) and value.strip():
            return True
        if token_like(value):
            return True
    return False


def credential_name(name: str) -> bool:
    joined = plain(name)
    return any(word in joined for word in _CREDENTIAL_WORDS) and "author" not in joined


def token_like(value: str) -> bool:
    """A long random string without spaces: a token, whatever its field is called."""
    value = value.strip()
    if len(value) < _TOKEN_LENGTH or any(ch.isspace() for ch in value):
        return False
    return shannon_entropy(value) >= _TOKEN_ENTROPY


def pairs(doc: Any, depth: int = 0) -> Iterator[tuple[str, str]]:
    """(key, string value) pairs of a JSON document, nested objects included (3 levels)."""
    if depth > 3:
        return
    if isinstance(doc, dict):
        for key, value in doc.items():
            if isinstance(value, str):
                yield key, value
            else:
                yield from pairs(value, depth + 1)


def limited(exchange: Exchange) -> bool:
    """A limiter refused: 429, 423 (locked), or Retry-After (or no answer at all)."""
    resp = exchange.response
    if resp is None:
        return True
    return resp.status in (429, 423) or resp.headers.get("retry-after") is not None


def budget(exchange: Exchange) -> int | None:
    """The requests a rate-limit header says are left (-1: a header without a number;
    None: no rate-limit header)."""
    resp = exchange.response
    announced = False
    for name, value in resp.headers if resp is not None else ():
        plain = name.lower().replace("-", "").replace("_", "")
        if "ratelimit" not in plain:
            continue
        announced = True
        if plain.endswith("remaining") and value.strip().isdigit():
            return int(value.strip())
        found = re.search(r"(?:^|[,;\s])r(?:emaining)?=(\d+)", value)
        if plain in ("ratelimit",) and found:
            return int(found.group(1))
    return -1 if announced else None


@dataclass(frozen=True)
class Timed:
    """One attempt: its exchange, how long it took and when its answer came back."""

    exchange: Exchange
    took: float
    ended: float


async def timed(send: Callable[[Request], Awaitable[Exchange]], request: Request) -> Timed:
    """Send ``request`` and time it (``time.monotonic``)."""
    begun = time.monotonic()
    exchange = await send(request)
    ended = time.monotonic()
    return Timed(exchange, ended - begun, ended)


def held_back(burst: Sequence[Timed], alone: float) -> bool:
    """``slowed`` for a burst sent at once after a lone attempt that took ``alone``."""
    return slowed([t.took for t in burst], [t.ended for t in burst], alone)


def slowed(times: list[float], ends: list[float] | None = None, alone: float | None = None) -> bool:
    """Some answers held back: the slowest at least 1 s and three times the fastest (a tarpit).

    With ``ends`` (when each answer came back) and ``alone`` (the time one attempt took on its
    own, just before), a server that answers one attempt after another is told apart from a
    tarpit: its answers come back at its own pace, each within three times a lone attempt's
    time of the one before, so the last one waited only for the others. A tarpit's wait is
    longer than the server's own time: some answer comes back later than that after the one
    before it.
    """
    if not (max(times) >= _SLOW_S and max(times) >= _SLOWED * max(min(times), 1e-3)):
        return False
    if ends is None or alone is None or len(ends) < 2:
        return True
    longest = max(later - sooner for sooner, later in pairwise(sorted(ends)))
    return longest >= _SLOWED * max(alone, 1e-3)


def status(exchange: Exchange) -> int | None:
    return exchange.response.status if exchange.response is not None else None
