"""Session health: every identity watched through the scan.

The client shows ``Health`` every answer that came over the wire. When a GET or HEAD that had
answered 2xx for an identity now answers 401, 403 or 5xx for it, the identity is re-verified at
once: its verifying request (one the engine registered, known to succeed for it), or, without
one, two other requests that succeeded for it before. If those fail too, the session is broken:
the check whose request showed it stops, every later request as that identity raises
``SessionBroken`` (stopping the other checks that use it), and the report is incomplete and says
which request failed and what the scan sent before it. A re-verification that succeeds clears
the alarm (the URL is no longer watched).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from middlebrick.errors import SessionBroken
from middlebrick.http.exchange import ANONYMOUS, DEFAULT_IDENTITY, Exchange, Request
from middlebrick.http.journal import RUNNING, is_write

Send = Callable[[Request], Awaitable[Exchange]]

_FAILED = frozenset({401, 403})
_MAX_WATCHED = 20_000  # URLs remembered per identity
_MAX_VERIFICATIONS = 6  # re-verifications per identity and scan
_WRITES_KEPT = 20


@dataclass(frozen=True)
class Break:
    """One identity whose session broke during the scan, and what preceded it."""

    identity: str  # as the report names it
    failed: str  # "GET /items answered 500 where it had answered 200"
    check: str | None  # the check that was running
    cause: str  # the writes sent before it, or that none was
    at: float  # monotonic time it was seen

    def sentence(self) -> str:
        """The report's note about this break."""
        during = f" during check {self.check}" if self.check else ""
        return (
            f"the session of {self.identity} broke{during}: {self.failed}, and "
            f"re-verifying it failed; {self.cause}. The scan stopped using it, so its results "
            "are incomplete"
        )


@dataclass
class _Watch:
    shown: str  # how the report names the identity
    ok: dict[tuple[str, str], Exchange] = field(default_factory=dict)  # (method, url) -> 2xx
    verifier: Request | None = None
    verifications: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Health:
    """Watches every identity's answers; ``send`` is the client's unwatched, uncached path."""

    def __init__(self, send: Send, clock: Callable[[], float] = time.monotonic) -> None:
        self._send = send
        self._clock = clock
        self._watches: dict[str, _Watch] = {}
        self._writes: deque[tuple[str, str]] = deque(maxlen=_WRITES_KEPT)  # (write, check)
        self._broken: dict[str, Break] = {}
        self.breaks: list[Break] = []

    def verify_with(self, identity: str | None, request: Request, *, name: str = "") -> None:
        """Re-verify ``identity`` (``None``: the scan's own) with ``request`` when it is suspect;
        ``name`` is the identity's name in the report."""
        watch = self._watch(identity)
        watch.verifier = request.as_identity(identity or DEFAULT_IDENTITY)
        if name:
            watch.shown = _who(name)

    def broken(self, identity: str | None) -> Break | None:
        """The break of ``identity``'s session, if it broke."""
        return self._broken.get(identity or DEFAULT_IDENTITY)

    def guard(self, request: Request) -> None:
        """Raise ``SessionBroken`` for a request as an identity whose session broke."""
        if request.identity == ANONYMOUS or not self._broken:
            return
        found = self.broken(request.identity)
        if found is not None:
            raise SessionBroken(found.sentence())

    async def observe(self, exchange: Exchange) -> None:
        """Learn from one answer; raise ``SessionBroken`` when it shows a broken session."""
        request = exchange.request
        if request.identity == ANONYMOUS:
            return
        running = RUNNING.get()
        if is_write(request.method):
            write = f"{request.method} {_path(request.url)}"
            self._writes.append((write, running.name if running else ""))
            return
        resp = exchange.response
        if request.method not in ("GET", "HEAD") or resp is None:
            return
        watch = self._watch(request.identity)
        key = (request.method, request.url)
        if resp.ok:
            if len(watch.ok) < _MAX_WATCHED:
                watch.ok.setdefault(key, exchange)
            return
        before = watch.ok.get(key)
        if before is None or not (resp.status in _FAILED or resp.status >= 500):
            return
        found = await self._verify(request.identity, watch, exchange, before)
        if found is not None:
            raise SessionBroken(found.sentence())

    async def _verify(
        self, identity: str | None, watch: _Watch, failed: Exchange, before: Exchange
    ) -> Break | None:
        name = identity or DEFAULT_IDENTITY
        async with watch.lock:
            found = self.broken(name)
            if found is not None or watch.verifications >= _MAX_VERIFICATIONS:
                return found
            watch.verifications += 1
            tries = [watch.verifier] if watch.verifier is not None else []
            if not tries:
                others = [ex.request for k, ex in watch.ok.items() if k[1] != failed.request.url]
                tries = others[:2] or [failed.request]
            for request in tries:
                answer = await self._send(_uncached(request))
                status = answer.response.status if answer.response is not None else None
                if status is None or not (status in _FAILED or status >= 500):
                    watch.ok.pop((failed.request.method, failed.request.url), None)
                    return None  # the identity still works: that one URL changed
            running = RUNNING.get()
            assert failed.response is not None and before.response is not None
            self._broken[name] = Break(
                identity=watch.shown,
                failed=f"{failed.request.method} {_path(failed.request.url)} answered "
                f"{failed.response.status} where it had answered {before.response.status}",
                check=running.name if running else None,
                cause=self._cause(),
                at=self._clock(),
            )
            self.breaks.append(self._broken[name])
            return self._broken[name]

    def _cause(self) -> str:
        if not self._writes:
            return "no write preceded it (a request the scan sent, or the target, ended it)"
        write, check = self._writes[-1]
        by = f" by check {check}" if check else ""
        return f"the last write before it was {write}{by}"

    def _watch(self, identity: str | None) -> _Watch:
        name = identity or DEFAULT_IDENTITY
        if name not in self._watches:
            self._watches[name] = _Watch(_who(name))
        return self._watches[name]


def _uncached(request: Request) -> Request:
    return request.with_header("Cache-Control", "no-cache")


def _path(url: str) -> str:
    parts = urlsplit(url)
    path = parts.path or "/"
    return path if len(path) <= 120 else path[:120] + "…"


def _who(name: str) -> str:
    return "the scan's identity" if name == DEFAULT_IDENTITY else f"identity {name!r}"
