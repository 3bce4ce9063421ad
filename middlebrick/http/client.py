"""The scanner's one network path: ``HttpClient`` sends requests within scope and limits.

It applies credentials at send time from ``Request.identity``, sends URLs byte-exact, caps every
body (also after decompression), follows redirects only inside the scope, retries resets and
honours short ``Retry-After`` waits, answers identical GETs from a per-scan cache (one request on
the wire for concurrent duplicates), and turns transport failures into
``Exchange(response=None, error=...)``. What limited the scan is kept in ``notes``.

Timeouts: connecting may take ``connect_timeout``; a whole exchange (connect, response, body)
at most ``connect_timeout + read_timeout``, so neither a stall nor a trickling body holds a
request longer. Both shrink to the time budget left, whose end raises ``TimeBudgetExhausted``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
from yarl import URL

from middlebrick import __version__
from middlebrick.config import ScanRequest
from middlebrick.errors import ScanInterrupted, ScopeViolation
from middlebrick.findings import Evidence
from middlebrick.http.credentials import Credentials, with_query
from middlebrick.http.evidence import Redactor, describe_error, to_evidence
from middlebrick.http.exchange import (
    ANONYMOUS,
    Exchange,
    Request,
    Response,
    decode_headers,
)
from middlebrick.http.health import Health
from middlebrick.http.journal import RUNNING, Journal, is_write
from middlebrick.http.limits import Clock, ScanLimiter, Sleep, read_body, retry_after
from middlebrick.http.scope import REDIRECT_STATUSES, Scope, redirect_target

_RETRY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_MAX_RETRY_AFTER = 10.0  # longest single wait a 429's Retry-After may ask for
_BACKOFF = 0.1  # first retry delay in seconds; doubles on each retry
_THROTTLES = frozenset({429, 503})  # answers that say "slower"
_THROTTLE_RETRIES = 4  # times one throttled request is sent again
_THROTTLE_BACKOFF = 0.5  # first wait after a throttle without Retry-After; doubles each time
_CACHE_BYTES = 16 * 1024 * 1024  # memory the cache may hold: bodies plus what each entry costs
_ENTRY_BYTES = 2048  # what one cached exchange costs besides its body
_MAX_REFUSED = 200  # refused requests remembered for the report
_EXAMPLES = 3  # requests a grouped note names
_Hop = tuple[URL, str, bytes | None]  # the URL, method and body of one request of a chain
_DEFAULT_HEADERS = {"User-Agent": f"middlebrick/{__version__}", "Accept-Encoding": "gzip, deflate"}


@dataclass
class ClientStats:
    """Counters of one client: requests on the wire, cache answers, retries, transport errors."""

    requests: int = 0
    cache_hits: int = 0
    retries: int = 0
    errors: int = 0


@dataclass
class _Failure:
    """A transport failure of one attempt, with the response that had begun to arrive."""

    error: str
    retryable: bool
    partial: Response | None = None
    timed_out: bool = False


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
        self._stop = stop  # set (Ctrl-C): the time budget ends and requests in flight are cut
        self._stopper: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Timeout] = set()
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
        self._cache: dict[Any, Exchange | asyncio.Future[Exchange]] = {}
        self._cache_bytes = 0
        self.writes: list[float] = []  # when (time.monotonic) each write was handed on
        self._recorded: dict[str, Request] = {}  # evidence curl -> the request it shows
        self._session: aiohttp.ClientSession | None = None
        connect = scan.limits.connect_timeout
        self._max_exchange = connect + scan.limits.read_timeout  # bounds one whole exchange
        self._timeout = aiohttp.ClientTimeout(self._max_exchange, sock_connect=connect)

    async def __aenter__(self) -> HttpClient:
        connector = aiohttp.TCPConnector(
            limit=self.limits.concurrency,
            limit_per_host=0,
            ssl=self.scan.verify_tls,  # True: verify certificates (the default); False: -k
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),  # identities never share cookies
            headers=_DEFAULT_HEADERS,
            trust_env=False,  # no proxy or netrc from the environment
        )
        # aiohttp silently resends idempotent requests once on a dropped connection; retries
        # are ours to count against the budget (aiohttp's own test client does the same).
        self._session._retry_connection = False
        if self._stop is not None:
            self._stopper = asyncio.create_task(self._interrupt_on(self._stop))
        return self

    async def _interrupt_on(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self.limiter.interrupt()
        now = asyncio.get_running_loop().time()
        for timeout in list(self._in_flight):  # their TimeoutError becomes Interrupted
            with contextlib.suppress(RuntimeError):  # not entered yet, or already left
                timeout.reschedule(now)

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session and its pooled connections."""
        if self._stopper is not None:
            self._stopper.cancel()
            self._stopper = None
        if self._session is not None:
            await self._session.close()
            self._session = None

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
            while (entry := self._cache.get(key)) is not None:
                self.stats.cache_hits += 1
                if isinstance(entry, Exchange):
                    return entry
                try:
                    return await asyncio.shield(entry)
                except asyncio.CancelledError:
                    task = asyncio.current_task()
                    if not entry.cancelled() or (task is not None and task.cancelling()):
                        raise
                    self.stats.cache_hits -= 1  # its sender was cancelled: send it ourselves
            future = asyncio.get_running_loop().create_future()
            self._cache[key] = future  # concurrent duplicates wait for this one's answer
        try:
            exchange = await self._send(request, url, follow_redirects)
            await self.health.observe(exchange)
        except BaseException as exc:
            if isinstance(exc, ScanInterrupted):
                self.note(str(exc))
            if future is not None:
                del self._cache[key]
                if isinstance(exc, asyncio.CancelledError):
                    future.cancel()
                else:
                    future.set_exception(exc)
                    future.exception()  # there may be no waiter: mark it retrieved
            raise
        if future is not None:
            future.set_result(exchange)
            self._keep(key, exchange)
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
        key = request.cache_key
        entry = self._cache.get((key, True)) if key is not None else None
        return entry if isinstance(entry, Exchange) else None

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
        where = _where(request.method, URL(request.url, encoded=True))
        if where not in self.refused and len(self.refused) < _MAX_REFUSED:
            self.refused[where] = refusal
        return Exchange(request, None, f"not sent: {refusal}")

    def _keep(self, key: Any, exchange: Exchange) -> None:
        """Cache an answered GET (errors are not: a retry may succeed); when the cache is full,
        drop the oldest half, so memory stays bounded however many requests a scan sends."""
        if exchange.response is None:
            del self._cache[key]
            return
        # A copy without what readers parse and keep on the response (its JSON, its text):
        # the sender's copy holds those while it is in use, the cache only the bytes.
        self._cache[key] = replace(exchange, response=replace(exchange.response))
        self._cache_bytes += len(exchange.response.body) + _ENTRY_BYTES
        if self._cache_bytes <= _CACHE_BYTES:
            return
        for old_key, entry in list(self._cache.items()):
            if self._cache_bytes <= _CACHE_BYTES // 2:
                break
            if isinstance(entry, Exchange) and entry.response is not None:
                del self._cache[old_key]
                self._cache_bytes -= len(entry.response.body) + _ENTRY_BYTES

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
        where = _where(method, url)
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
            notes.append(f"redirect loop at {_where(method, target)} not followed")
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
                result = await self._once(method, url, url_text, pairs, body, cap)
            finally:
                limiter.release(adaptive=adaptive)
            if isinstance(result, _Failure):
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
                        where = _where(method, url)
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
                    where = f"{_where(method, url)} answered {result.status}"
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
                        f"{_where(method, url)} still answered {result.status} after "
                        f"{throttles} waits; kept as its answer"
                    )
            if result.note:
                self.note(result.note, where=_where(method, url))
            return result

    async def _once(
        self,
        method: str,
        url: URL,
        url_text: str,
        headers: Sequence[tuple[str, str]],
        body: bytes | None,
        cap: int | None = None,
    ) -> Response | _Failure:
        """One attempt on the wire (its body read up to ``cap``, else the scan's cap); its
        timeouts never outlast the time budget."""
        assert self._session is not None, "use HttpClient as an async context manager"
        remaining = self.limiter.remaining()
        if remaining <= 0:
            raise self.limiter.time_spent()
        limits = self.limits
        timeout = self._timeout
        if remaining < self._max_exchange:  # near the end of the time budget
            timeout = aiohttp.ClientTimeout(
                total=remaining,
                sock_connect=min(limits.connect_timeout, remaining),
            )
        started = time.perf_counter()
        cut = asyncio.timeout(None)  # an interrupt cuts the exchange, unless it undoes a write
        if not self.limiter.in_overtime:
            self._in_flight.add(cut)
        try:
            async with (
                cut,
                self._session.request(
                    method, url, headers=headers, data=body, allow_redirects=False, timeout=timeout
                ) as resp,
            ):
                read = await read_body(resp, cap or limits.max_body_bytes)
                if read.truncated:
                    resp.close()  # the rest is not wanted: drop the connection, not reuse it
                response = Response(
                    status=resp.status,
                    headers=decode_headers(resp.raw_headers),
                    body=read.body,
                    url=url_text,
                    elapsed_ms=(time.perf_counter() - started) * 1000,
                    truncated=read.truncated,
                )
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
            return self._failure(exc)
        finally:
            self._in_flight.discard(cut)
        if not read.truncated and read.undecodable is None:
            return response
        failure = self._failure(read.failure) if read.failure is not None else None
        note = read.note(_where(method, url), failure.error if failure else None)
        response = replace(response, note=note)
        if failure is None:
            return response
        failure.partial = response
        return failure

    def _failure(self, exc: BaseException) -> _Failure:
        """A short plain text for a transport failure; raises when the time budget ran out."""
        timed_out = isinstance(exc, TimeoutError)
        if timed_out and self.limiter.remaining() < 0.05:
            raise self.limiter.time_spent() from exc
        text, retryable = describe_error(exc, self.limits.connect_timeout, self._max_exchange)
        return _Failure(text, retryable, timed_out=timed_out)


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


def _where(method: str, url: URL) -> str:
    """``GET /path`` for notes: no query, bounded length."""
    path = url.raw_path or "/"
    return f"{method} {path if len(path) <= 120 else path[:120] + '…'}"


def _origin(url: URL) -> str:
    return f"{url.scheme}://{url.raw_host}:{url.port}"
