"""Session health: every identity watched through the scan.

The client shows ``Health`` every answer that came over the wire. When a GET or HEAD that had
answered 2xx for an identity now answers 401, 403 or 5xx for it, the identity is re-verified at
once: its verifying request (one the engine registered, known to succeed for it), or, without
one, two other requests that succeeded for it before. The engine also re-verifies every
identity after each writing check. If the re-verification fails too, the session is broken:
the check whose request showed it stops, every later request as that identity raises
``SessionBroken`` (stopping the other checks that use it), and the report is incomplete and says
which request failed first and which write came before it. A re-verification that succeeds
clears the alarm (the URL is no longer watched).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from middlebrick.errors import SessionBroken
from middlebrick.http.exchange import ANONYMOUS, DEFAULT_IDENTITY, Exchange, Request
from middlebrick.http.journal import RUNNING, is_write

Send = Callable[[Request], Awaitable[Exchange]]

_MAX_WATCHED = 20_000  # URLs remembered per identity
_MAX_VERIFICATIONS = 6  # re-verifications per identity and scan, on suspicion
_KEPT = 500  # recent answers remembered per identity, to find where the failures began
_WRITES_KEPT = 100


@dataclass(frozen=True)
class Break:
    """One identity whose session broke during the scan, and what preceded it."""

    identity: str  # as the report names it
    failed: str  # "GET /items answered 500 where it had answered 200"
    check: str | None  # the check that was running
    cause: str  # where the failures began and the write before them, or that there was none
    at: float  # monotonic time it was seen

    def sentence(self) -> str:
        """The report's note about this break."""
        during = f" during check {self.check}" if self.check else ""
        return (
            f"the session of {self.identity} broke{during}: {self.failed}, and "
            f"re-verifying it failed; {self.cause}. The scan stopped using it, so its results "
            "are incomplete"
        )


@dataclass(frozen=True)
class _Seen:
    order: int
    what: str  # "PATCH /items/1"
    status: int | None
    check: str | None


@dataclass
class _Watch:
    shown: str  # how the report names the identity
    ok: dict[tuple[str, str], Exchange] = field(default_factory=dict)  # (method, url) -> 2xx
    recent: deque[_Seen] = field(default_factory=lambda: deque(maxlen=_KEPT))
    verifier: Request | None = None
    verifications: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Health:
    """Watches every identity's answers; ``send`` is the client's unwatched, uncached path."""

    def __init__(self, send: Send, clock: Callable[[], float] = time.monotonic) -> None:
        self._send = send
        self._clock = clock
        self._order = itertools.count()
        self._watches: dict[str, _Watch] = {}
        self._writes: deque[_Seen] = deque(maxlen=_WRITES_KEPT)
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
        resp = exchange.response
        status = resp.status if resp is not None else None
        seen = _Seen(
            next(self._order),
            f"{request.method} {_path(request.url)}",
            status,
            running.name if running else None,
        )
        watch = self._watch(request.identity)
        watch.recent.append(seen)
        if is_write(request.method):
            self._writes.append(seen)
            return
        if request.method not in ("GET", "HEAD") or resp is None:
            return
        key = (request.method, request.url)
        if resp.ok:
            if len(watch.ok) < _MAX_WATCHED:
                watch.ok.setdefault(key, exchange)
            return
        before = watch.ok.get(key)
        if before is None or not _failed(status):
            return
        assert before.response is not None
        failed = f"{seen.what} answered {status} where it had answered {before.response.status}"
        found = await self._verify(request.identity, watch, failed, exclude=request.url)
        if found is not None:
            raise SessionBroken(found.sentence())

    async def recheck(self, after: str) -> None:
        """Re-verify every identity that has a verifier (the engine does after each writing
        check, named ``after``); a failure is a break, found before another check stumbles."""
        for key, watch in list(self._watches.items()):
            if watch.verifier is None or key in self._broken:
                continue
            answer = await self._send(_uncached(watch.verifier))
            status = answer.response.status if answer.response is not None else None
            if _failed(status):
                what = f"{watch.verifier.method} {_path(watch.verifier.url)}"
                failed = f"its verifying request {what} answered {status}"
                await self._verify(key, watch, failed, exclude=None, after=after)

    async def _verify(
        self,
        identity: str | None,
        watch: _Watch,
        failed: str,
        *,
        exclude: str | None,
        after: str | None = None,
    ) -> Break | None:
        name = identity or DEFAULT_IDENTITY
        tried = after is not None  # the verifier itself failed: no second opinion to ask
        async with watch.lock:
            found = self.broken(name)
            if found is not None or (not tried and watch.verifications >= _MAX_VERIFICATIONS):
                return found
            if not tried:
                watch.verifications += 1
                for request in self._tries(watch, exclude):
                    answer = await self._send(_uncached(request))
                    if not _failed(answer.response.status if answer.response else None):
                        if exclude is not None:
                            watch.ok = {k: v for k, v in watch.ok.items() if k[1] != exclude}
                        return None  # the identity still works: that one URL changed
            running = RUNNING.get()
            self._broken[name] = Break(
                identity=watch.shown,
                failed=failed,
                check=running.name if running else after,
                cause=self._cause(watch),
                at=self._clock(),
            )
            self.breaks.append(self._broken[name])
            return self._broken[name]

    def _tries(self, watch: _Watch, exclude: str | None) -> list[Request]:
        if watch.verifier is not None:
            return [watch.verifier]
        others = [ex.request for (_, url), ex in watch.ok.items() if url != exclude]
        if others:
            return others[:2]
        return [ex.request for ex in watch.ok.values()][:1]

    def _cause(self, watch: _Watch) -> str:
        """Where this identity's failures began, and the last write answered 2xx before it."""
        first: _Seen | None = None
        for seen in reversed(watch.recent):
            if seen.status is None or not _failed(seen.status):
                break
            first = seen
        began = f"its requests fail since {first.what} ({first.status})" if first else ""
        limit = first.order if first is not None else next(self._order)
        writes = [w for w in self._writes if w.order < limit and w.status and w.status < 300]
        if not writes:
            lead = f"{began}; " if began else ""
            return f"{lead}no write preceded it (a request the scan sent, or the target, ended it)"
        last = writes[-1]
        by = f" by check {last.check}" if last.check else ""
        lead = f"{began}, and " if began else ""
        return f"{lead}the last write before it was {last.what} (answered {last.status}){by}"

    def _watch(self, identity: str | None) -> _Watch:
        name = identity or DEFAULT_IDENTITY
        if name not in self._watches:
            self._watches[name] = _Watch(_who(name))
        return self._watches[name]


def _failed(status: int | None) -> bool:
    return status is not None and (status in (401, 403) or status >= 500)


def _uncached(request: Request) -> Request:
    return request.with_header("Cache-Control", "no-cache")


def _path(url: str) -> str:
    parts = urlsplit(url)
    path = parts.path or "/"
    return path if len(path) <= 120 else path[:120] + "…"


def _who(name: str) -> str:
    return "the scan's identity" if name == DEFAULT_IDENTITY else f"identity {name!r}"
