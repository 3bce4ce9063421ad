"""The scanner's one network path: ``HttpClient`` sends requests within scope and limits.

It applies credentials at send time from ``Request.identity``, sends URLs byte-exact, caps every
body (also after decompression), follows redirects only inside the scope, retries resets and
honours short ``Retry-After`` waits, answers identical GETs from a per-scan cache (one request on
the wire for concurrent duplicates), and turns transport failures into
``Exchange(response=None, error=...)``. What limited the scan is kept in ``notes``.

Timeouts: connecting may take ``connect_timeout``; a whole exchange (connect, response, body)
at most ``connect_timeout + read_timeout``, so neither a stall nor a trickling body holds a
request longer. Both shrink to the time budget left, whose end raises ``TimeBudgetExhausted``.

Each attempt goes over the ``http.wire.Wire`` (the pooled session, caps and timeouts); the
cache of answered GETs is ``http.cache.ExchangeCache``.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from yarl import URL

from middlebrick.config import ScanRequest
from middlebrick.errors import ScanInterrupted, ScopeViolation
from middlebrick.findings import Evidence
from middlebrick.http.cache import ExchangeCache
from middlebrick.http.credentials import Credentials, with_query
from middlebrick.http.evidence import Redactor, to_evidence
from middlebrick.http.exchange import (
    ANONYMOUS,
    Exchange,
    Request,
    Response,
)
from middlebrick.http.health import Health
from middlebrick.http.journal import RUNNING, Journal, is_write
from middlebrick.http.limits import Clock, ScanLimiter, Sleep, retry_after
from middlebrick.http.scope import REDIRECT_STATUSES, Scope, redirect_target
from middlebrick.http.wire import Failure, Wire, request_line

_RETRY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_MAX_RETRY_AFTER = 10.0  # longest single wait a 429's Retry-After may ask for
_BACKOFF = 0.1  # first retry delay in seconds; doubles on each retry
_THROTTLES = frozenset({429, 503})  # answers that say "slower"
_THROTTLE_RETRIES = 4  # times one throttled request is sent again
_THROTTLE_BACKOFF = 0.5  # first wait after a throttle without Retry-After; doubles each time
_MAX_REFUSED = 200  # refused requests remembered for the report
_EXAMPLES = 3  # requests a grouped note names
_Hop = tuple[URL, str, bytes | None]  # the URL, method and body of one request of a chain


@dataclass
class ClientStats:
    """Counters of one client: requests on the wire, cache answers, retries, transport errors."""

    requests: int = 0
    cache_hits: int = 0
    retries: int = 0
    errors: int = 0


class HttpClient:
    """Sends the requests of one scan; an async context manager owning one pooled session.

    ``clock`` and ``sleep`` drive the limits (time budget, rate, retry waits) and may be
    replaced in tests.
    """

    def __init__(
        self,
        scan: ScanRequest,
        *,
        scope: Scope | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        stop: asyncio.Event | None = None,
    ) -> None:
        self.scan = scan
        self.limits = scan.limits
        self.scope = scope if scope is not None else Scope.for_scan(scan)
        self.limiter = ScanLimiter(scan.limits, clock=clock, sleep=sleep)
        self.redactor = Redactor.for_scan(scan)
        self.stats = ClientStats()
        self.notes: list[str] = []
        self._noted: set[str] = set()
        # sentences that differ only in the request they name: (before, after) -> their slot
        # in ``notes`` and the requests, so a target that fails alike everywhere gives one note
        self._grouped: dict[tuple[str, str], tuple[int, dict[str, None]]] = {}
        self.journal = Journal(self._unjournaled, self.scope.policy)
        self.health = Health(self._unjournaled, clock=clock)
        self.refused: dict[str, str] = {}  # "METHOD /path" -> why the policy refused it
        self.credentials = Credentials(scan)
        self._cache = ExchangeCache(self.stats)
        self.writes: list[float] = []  # when (time.monotonic) each write was handed on
        self._recorded: dict[str, Request] = {}  # evidence curl -> the request it shows
        self._wire = Wire(scan, self.limiter, stop)

    async def __aenter__(self) -> HttpClient:
        await self._wire.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session and its pooled connections."""
        await self._wire.close()

    def note(self, sentence: str, *, where: str | None = None) -> None:
        """Keep a plain sentence about what limited the scan (redacted, once).

        With ``where`` (the request it names, ``GET /path``), sentences alike but for it are
        one note: the cause, how many requests and three of them.
        """
        sentence = self.redactor(sentence)
        before, found, after = sentence.partition(self.redactor(where)) if where else ("", "", "")
        if found:
            index, wheres = self._grouped.setdefault((before, after), (len(self.notes), {}))
            if index == len(self.notes):
                self.notes.append(sentence)
            wheres[found] = None
            self.notes[index] = _grouped(before, after, wheres)
            return
        if sentence not in self._noted:
            self._noted.add(sentence)
            self.notes.append(sentence)

    async def send(self, request: Request, *, follow_redirects: bool = True) -> Exchange:
        """Send within scope, limits and budget; transport errors come back in the exchange.

        Raises ``ScopeViolation`` for a request outside the scope, ``BudgetExhausted`` or
        ``TimeBudgetExhausted`` when a budget is spent, ``UsageError`` for an unknown identity,
        ``SessionBroken`` for a request as an identity whose session broke. A request the safety
        policy refuses is not sent: its exchange has no response and says why. Writes go through
        the journal (``http.journal``), which records and later undoes them.
        """
        try:
            url = self.scope.check(request.method, request.url)
        except ScopeViolation as exc:
            raise ScopeViolation(self.redactor(str(exc))) from None
        self.credentials.headers(request.identity)  # an unknown identity fails here
        self.health.guard(request)
        refusal = self.scope.policy.refusal(
            request.method,
            request.url,
            anonymous=request.identity == ANONYMOUS,
            incomplete=request.incomplete,
        )
        if refusal is not None:
            return self._refuse(request, refusal)
        if is_write(request.method):
            self.writes.append(time.monotonic())
            running = RUNNING.get()
            owner = running.name if running is not None else "scan"
            send = functools.partial(self._unjournaled, follow=follow_redirects, watch=True)
            return await self.journal.send(request, owner, send)
        future: asyncio.Future[Exchange] | None = None
        cacheable = request.cache_key
        if cacheable is not None:
            key = (cacheable, follow_redirects)
            claimed = await self._cache.claim(key)
            if isinstance(claimed, Exchange):
                return claimed
            future = claimed
        try:
            exchange = await self._send(request, url, follow_redirects)
            await self.health.observe(exchange)
        except BaseException as exc:
            if isinstance(exc, ScanInterrupted):
                self.note(str(exc))
            if future is not None:
                self._cache.fail(key, future, exc)
            raise
        if future is not None:
            self._cache.keep(key, future, exchange)
        return exchange

    def record(
        self, exchange: Exchange, *, label: str | None = None, match: str | None = None
    ) -> Evidence:
        """The exchange as redacted, bounded evidence with a curl command."""
        request = original = exchange.request
        names = self.credentials.secret_names(request.headers, request.identity)
        query = [name for name, _ in self.credentials.query(request.identity)]
        evidence = to_evidence(
            exchange,
            self.redactor,
            label=label,
            match=match,
            credential_headers=names,
            credential_query=query,
        )
        self._recorded.setdefault(evidence.curl, original)
        return evidence

    def request_of(self, evidence: Evidence) -> Request | None:
        """The request (credentials and all) that ``record`` turned into ``evidence``."""
        return self._recorded.get(evidence.curl)

    def cached(self, request: Request) -> Exchange | None:
        """The answer the scan's cache holds for ``request``, without sending anything."""
        return self._cache.cached(request)

    async def _unjournaled(
        self, request: Request, *, follow: bool = True, watch: bool = False
    ) -> Exchange:
        """Send past the cache and the journal: the journal's and the watch's own requests, and
        the writes the journal sends on (``watch``: shown to the session watch)."""
        exchange = await self._send(request, self.scope.check(request.method, request.url), follow)
        if watch:
            await self.health.observe(exchange)
        return exchange

    def _refuse(self, request: Request, refusal: str) -> Exchange:
        """The exchange of a request the safety policy refused (nothing is sent)."""
        refusal = self.redactor(refusal)
        where = request_line(request.method, URL(request.url, encoded=True))
        if where not in self.refused and len(self.refused) < _MAX_REFUSED:
            self.refused[where] = refusal
        return Exchange(request, None, f"not sent: {refusal}")

    async def _send(self, request: Request, url: URL, follow_redirects: bool) -> Exchange:
        """Send one request and, when asked, follow its redirects inside the scope."""
        method, body, identity = request.method, request.body, request.identity
        url_text = request.url
        query = self.credentials.query(identity)
        if query:  # an API key in the query string, added on the wire only
            url_text = with_query(url_text, query)
            url = URL(url_text, encoded=True)
        hops: list[str] = []
        notes: list[str] = []
        marks: list[str] = []
        while True:
            pairs = self.credentials.merged(request.headers, identity)
            result = await self._attempts(
                method, url, url_text, pairs, body, notes, marks, request.burst, request.max_body
            )
            if isinstance(result, str):
                self.stats.errors += 1
                return Exchange(request, None, self.redactor(result))
            response = result
            if not follow_redirects or response.status not in REDIRECT_STATUSES:
                break
            hop = self._redirect(request, response, (url, method, body), hops, notes)
            if hop is None:
                break
            if _origin(hop[0]) != _origin(url):
                identity = ANONYMOUS  # credentials never travel to another origin
            (url, method, body), url_text = hop, hops[-1]
        for sentence in notes:
            self.note(sentence)
        if hops or notes or marks:
            note = self.redactor("; ".join(filter(None, [response.note, *notes, *marks])))
            response = replace(response, redirects=tuple(hops), note=note or None)
        return Exchange(request, response)

    def _redirect(
        self, request: Request, response: Response, hop: _Hop, hops: list[str], notes: list[str]
    ) -> _Hop | None:
        """The next hop (URL, method, body) of a redirect, or ``None`` (with a note) to stop."""
        location = response.headers.get("location")
        if not location:
            return None
        url, method, body = hop
        where = request_line(method, url)
        try:
            target, method, body = redirect_target(url, response.status, location, method, body)
        except ValueError:
            notes.append(f"redirect of {where} to an invalid Location not followed")
            return None
        hops.append(str(target))
        if len(hops) > self.limits.max_redirects:
            notes.append(f"{where} not followed after {len(hops) - 1} redirects (the limit)")
        elif not self.scope.allows(method, target):
            notes.append(f"redirect of {where} to {_origin(target)} not followed: off scope")
        elif hops[-1] in {str(URL(request.url, encoded=True)), *hops[:-1]}:
            notes.append(f"redirect loop at {request_line(method, target)} not followed")
        else:
            return target, method, body
        return None

    async def _attempts(
        self,
        method: str,
        url: URL,
        url_text: str,
        pairs: Sequence[tuple[str, str]],
        body: bytes | None,
        notes: list[str],
        marks: list[str],
        burst: bool,
        cap: int | None = None,
    ) -> Response | str:
        """One request with its retries: resets, then 429 and 503 answers after a wait.

        A throttled request waits what its ``Retry-After`` asks (every request waits with it),
        else 0.5 s, doubling; a request of the rate-limit burst keeps its 429 as the answer.
        ``notes`` collects what the report should say, ``marks`` what only the response says.
        """
        limiter, adaptive = self.limiter, not burst
        resets = throttles = 0
        while True:
            await limiter.acquire(adaptive=adaptive)
            try:
                await limiter.wait_turn(adaptive=adaptive)
                limiter.reserve()
                self.stats.requests += 1
                token = limiter.pace.sent()
                result = await self._wire.once(method, url, url_text, pairs, body, cap)
            finally:
                limiter.release(adaptive=adaptive)
            if isinstance(result, Failure):
                limiter.pace.answered(token, None, None)
                if (
                    result.retryable
                    and method in _RETRY_METHODS
                    and resets < self.limits.retries
                    and limiter.can_send()
                    and await limiter.wait(_BACKOFF * 2**resets)
                ):
                    resets += 1
                    self.stats.retries += 1
                    continue
                if result.partial is None:
                    if result.timed_out:
                        where = request_line(method, url)
                        self.note(f"{where}: {result.error}", where=where)
                    return result.error
                result = result.partial
            else:
                asked = _retry_after(result)
                limiter.pace.answered(
                    token, result.elapsed_ms / 1000, result.status, retry_after=asked is not None
                )
                if asked is not None:  # every request waits with this one
                    limiter.hold(min(asked, _MAX_RETRY_AFTER))
                if _waits_out(method, result.status, burst) and throttles < _THROTTLE_RETRIES:
                    wait = asked if asked is not None else _THROTTLE_BACKOFF * 2**throttles
                    where = f"{request_line(method, url)} answered {result.status}"
                    if asked is not None and asked > _MAX_RETRY_AFTER:
                        notes.append(f"{where} asking to wait {asked:g} s; not retried")
                    elif limiter.can_send() and wait < limiter.remaining():
                        throttles += 1
                        self.stats.retries += 1
                        asked_for = "as Retry-After asked" if asked is not None else "and retried"
                        marks.append(f"{where}; waited {wait:g} s {asked_for}")
                        if asked is None:  # else the hold makes it wait
                            await limiter.wait(wait)
                        continue
                elif throttles and result.status in _THROTTLES:
                    notes.append(
                        f"{request_line(method, url)} still answered {result.status} after "
                        f"{throttles} waits; kept as its answer"
                    )
            if result.note:
                self.note(result.note, where=request_line(method, url))
            return result


def _grouped(before: str, after: str, wheres: dict[str, None]) -> str:
    """One sentence for the requests ``wheres`` that met the same fate."""
    if len(wheres) == 1:
        return before + next(iter(wheres)) + after
    shown = list(wheres)[:_EXAMPLES]
    more = f" and {len(wheres) - len(shown)} more" if len(wheres) > len(shown) else ""
    return f"{before}{len(wheres)} requests{after} ({', '.join(shown)}{more})"


def _waits_out(method: str, status: int, burst: bool) -> bool:
    """Whether a 429 or 503 answer is waited out and sent again (never within the burst)."""
    return not burst and (status == 429 or (status == 503 and method in _RETRY_METHODS))


def _retry_after(response: Response) -> float | None:
    """The seconds a non-redirect answer's ``Retry-After`` asks to wait, if it asks."""
    if response.status in REDIRECT_STATUSES or "retry-after" not in response.headers:
        return None
    return retry_after(response.headers.get("retry-after"))


def _origin(url: URL) -> str:
    return f"{url.scheme}://{url.raw_host}:{url.port}"
