"""Rate limiting: whether a costly read is rate limited, by a short bounded burst.

Page sizes, DynamoDB's ``Limit`` and response sizes are in ``sizes``."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

from middlebrick.checks._exposure import sources
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Exchange, Request, Response
from middlebrick.http.wording import authenticates, words
from middlebrick.knowledge import rate_limit_words
from middlebrick.spec.model import Operation

_NO_LIMIT = "rate_limiting.no-rate-limit"

MAX_BURST = 100  # the most a configured burst (--burst) may send
"""Requests of the rate-limit burst. Small on purpose; --rate and --concurrency still bound it."""

MIN_BURST_RATE = 5.0
"""Requests per second below which a burst measures nothing (it is not reported)."""

STRONG_BURST, STRONG_BURST_RATE = 100, 20.0
"""A burst of at least this many requests at this rate makes the finding medium and firm."""

clock = time.monotonic
"""When each burst answer came back (seconds)."""

_SIGNAL_HEADER = re.compile(r"(?i)(?:x-)?rate-?limit(?:$|-)|retry-after$")
_THROTTLED = re.compile(r"answered 429")


@check(category="rate_limiting", emits={_NO_LIMIT}, max_requests=MAX_BURST)
async def rate_limit_signals(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Whether a costly read (a search, export, query, report or download) is rate limited.

    First reads every baseline response: a ``RateLimit-*`` / ``X-RateLimit-*`` /
    ``X-Rate-Limit-*`` or ``Retry-After`` header, or a 429, anywhere means the API limits rates
    and nothing is sent. Otherwise it picks the burst's target among the readable GET
    operations where a limit matters (``knowledge/rate_limits.yaml``): one whose path names a
    search, query, lookup, export, report or download (or whose operationId or summary starts
    with one: ``searchUsers``, "Export …"), or that
    takes a search parameter (``q``, ``query``, ``search``, ``filter`` …) — the smallest 2xx
    baseline answer among them, never an authentication operation (a burst there could lock
    an account; the brute-force probe measures those), a health, heartbeat, metrics or static
    route, or an HTML page. Where the surface has none, nothing is sent and the report says
    that rate limiting was not measured. The target is sent ``--burst`` times (30 by default,
    at most 100; 0 turns the burst off) at once, each copy with its own ``X-Request-ID`` so
    that none is answered from the scan's cache, as fast as ``--concurrency`` and ``--rate``
    allow (not at the adaptive pace, which would smooth it away); a 429 is kept as its answer.

    Reported (operation ``*``) when every request was answered with the baseline's status,
    none with 429, and no answer carried a rate-limit header; the detail says how many
    requests went to which operation in what time, and its peak rate: the most requests that
    went on the wire within one second (when each was sent, read as its answer's time less
    its time on the wire). The peak is what a limiter in front of the server counts; the
    average also counts the waits of a slow server (and of the scan's other requests for a
    place), which a limiter never sees. A burst whose peak is under 5 requests in a second
    measures nothing: not reported, said in a note. The size decides the weight: fewer than
    100 requests cannot tell a missing limit from a limit of a few hundred a minute, so the
    default burst (30) gives ``info`` (tentative); 100 requests (``--burst 100``) with 20 or
    more of them within one second is ``medium`` and firm.
    A burst that met transport errors or 5xx answers is inconclusive and not reported.
    """
    size = ctx.scan.limits.burst
    seen = [s.exchange for s in sources(ctx)]
    if size == 0 or any(_signals(ex) for ex in seen):
        return
    target = _burst_target(ctx)
    if target is None:
        ctx.note(
            "rate limiting was not measured: no search, export, query, report or download "
            "operation answered the baseline (a burst elsewhere measures nothing)"
        )
        return
    request = replace(target.request, burst=True)  # at the caps: the adaptive pace smooths it

    async def send(n: int) -> tuple[Exchange, float]:
        exchange = await ctx.send(request.with_header("X-Request-ID", f"middlebrick-burst-{n}"))
        return exchange, clock()

    started = clock()
    sent = await asyncio.gather(*(send(n + 1) for n in range(size)))
    elapsed = max(clock() - started, 1e-3)
    burst = [ex for ex, _ in sent]
    if any(_signals(ex) or _status(ex) != target.status for ex in burst):
        return
    peak = peak_rate([at - _on_wire(ex) for ex, at in sent])
    measured = (
        f"{size} requests to `{target.key}` ({target.why}) in {elapsed:.1f} s "
        f"({size / elapsed:.0f}/s on average, {peak} of them reaching the server within one "
        "second)"
    )
    if peak < MIN_BURST_RATE:
        ctx.note(f"rate limiting was not measured: {measured} is too slow to meet a limit")
        return
    strong = size >= STRONG_BURST and peak >= STRONG_BURST_RATE
    yield ctx.finding(
        _NO_LIMIT,
        "*",
        detail=f"{measured} all answered {target.status}: none was refused with 429, and no "
        f"response, these or the {len(seen)} baseline answers, carried a RateLimit-*, "
        "X-RateLimit-* or Retry-After header" + _weak_burst(size, strong),
        evidence=[("burst 1", burst[0]), (f"burst {size}", burst[-1])],
        severity=None if strong else Severity.info,
        confidence=Confidence.firm if strong else Confidence.tentative,
    )


@dataclass(frozen=True)
class _BurstTarget:
    key: str
    request: Request
    status: int
    why: str


def _burst_target(ctx: CheckContext) -> _BurstTarget | None:
    """The smallest 2xx GET baseline answer of an operation where a rate limit matters."""
    found: list[tuple[int, _BurstTarget]] = []
    for op, ex in ctx.baseline.successful():
        resp = ex.response
        if op.method != "GET" or resp is None or authenticates(op.path) or _is_page(resp):
            continue
        why = _costly(op)
        if why is not None:
            found.append((len(resp.body), _BurstTarget(op.key, ex.request, resp.status, why)))
    return min(found, key=lambda pair: pair[0])[1] if found else None


def _costly(op: Operation) -> str | None:
    """Why ``op`` is a read where a limit matters (a sentence fragment), or None."""
    known = rate_limit_words()
    literal = [w for segment in op.path.split("/") if "{" not in segment for w in words(segment)]
    if set(literal) & set(known.not_measured):
        return None
    sources = [("its path", literal), ("its operationId", list(words(op.operation_id or ""))[:1])]
    sources.append(("its summary", list(words(" ".join((op.summary or "").split()[:1])))))
    for where, found in sources:
        hit = next((w for w in found if w in known.costly_reads), None)
        if hit is not None:
            return f"{where} names `{hit}`"
    for parameter in op.params("query"):
        if re.sub(r"[_\-]", "", parameter.name.lower()) in known.search_parameters:
            return f"it takes the search parameter `{parameter.name}`"
    return None


def _is_page(resp: Response) -> bool:
    """An HTML page (a UI shell, a docs page): not where an API's limit is measured."""
    return "html" in (resp.headers.get("content-type") or "").lower()


def _signals(exchange: Exchange) -> bool:
    resp = exchange.response
    if resp is None:
        return False
    if resp.status == 429 or _THROTTLED.search(resp.note or ""):
        return True
    return any(_SIGNAL_HEADER.match(name) for name, _ in resp.headers)


def _weak_burst(size: int, strong: bool) -> str:
    """What a burst too small or too slow to be firm could not tell (the detail's end)."""
    if strong:
        return ""
    if size < STRONG_BURST:
        return (
            f"; {size} requests cannot tell a missing limit from one of a few hundred a minute "
            f"(send --burst {STRONG_BURST} to measure one)"
        )
    return (
        f"; fewer than {STRONG_BURST_RATE:g} requests within one second cannot tell a missing "
        "limit from one of a few hundred a minute"
    )


def peak_rate(sent_at: list[float], window: float = 1.0) -> int:
    """The most requests sent within any ``window`` seconds: the rate a limiter in front of the
    server saw at its highest, whatever the pace of the answers."""
    times = sorted(sent_at)
    most, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= window:
            first += 1
        most = max(most, last - first + 1)
    return most


def _on_wire(exchange: Exchange) -> float:
    """Seconds the request spent on the wire (0 without an answer)."""
    return exchange.response.elapsed_ms / 1000 if exchange.response is not None else 0.0


def _status(exchange: Exchange) -> int | None:
    return exchange.response.status if exchange.response else None
