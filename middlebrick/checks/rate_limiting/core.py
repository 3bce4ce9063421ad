"""Rate limiting and resources: request rates on costly reads, page sizes, DynamoDB ``Limit``,
response sizes."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from functools import partial

from middlebrick.checks._exposure import sources
from middlebrick.checks._probes import with_parameter
from middlebrick.checks._signatures import ScanEnv, scan_exchange, signatures_for
from middlebrick.checks.context import CheckContext
from middlebrick.checks.rate_limiting._paging import (
    Page,
    declared_maximum,
    is_dynamodb_key,
    is_page_size,
    page_of,
)
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Exchange, Request, Response
from middlebrick.http.wording import authenticates, words
from middlebrick.knowledge import rate_limit_words
from middlebrick.spec.model import Operation, Parameter

_NO_LIMIT = "rate_limiting.no-rate-limit"
_PAGE_SIZE = "rate_limiting.unbounded-page-size"
_DYNAMO_LIMIT = "rate_limiting.dynamodb-unbounded-limit"
_OVERSIZED = "rate_limiting.oversized-response"

MAX_BURST = 100  # the most a configured burst (--burst) may send
"""Requests of the rate-limit burst. Small on purpose; --rate and --concurrency still bound it."""

MIN_BURST_RATE = 5.0
"""Requests per second below which a burst measures nothing (it is not reported)."""

STRONG_BURST, STRONG_BURST_RATE = 100, 20.0
"""A burst of at least this many requests at this rate makes the finding medium and firm."""

HUGE_PAGE = 100_000
"""The page size asked for when testing whether page sizes are bounded."""

LARGE_RESPONSE_BYTES = 1_000_000
"""Response bodies at least this large are reported as oversized."""

COMMON_CAPS = frozenset(
    {10, 20, 25, 30, 40, 50, 64, 75, 100, 128, 150, 200, 250, 256, 300, 500, 512, 1000, 1024}
    | {2000, 2500, 5000, 10_000}
)
"""Page lengths that look like a server's cap rather than the end of the data."""

_SHORT_PAGE = (
    "; but the page is short enough to be the whole table under a cap, so the bound could not "
    "be assessed"
)
EVIDENT_PAGE = 1000
"""Without a declared maximum, a page is shown unbounded only when it is longer than this: the
caps servers commonly set (DRF's and Django Ninja's ``max_limit``, GitHub's 100, Stripe's 100)
are at or below it, so a shorter page may be the whole collection under a cap."""

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
class _PageProbe:
    operation: Operation
    parameter: Parameter
    baseline: Exchange
    page: Page


@check(category="rate_limiting", emits={_PAGE_SIZE, _DYNAMO_LIMIT}, per_operation=2)
async def page_sizes(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Whether page-size parameters accept any value, up to DynamoDB's ``Limit``.

    For each readable operation whose 2xx JSON baseline holds a list and which declares a
    page-size query parameter (``limit``, ``page_size``, ``per_page``, ``max_results``,
    ``top``, ``take`` …; the first one), it re-sends the baseline with that parameter set to
    100000, then to 0 (two requests).

    - unbounded-page-size: the 100000 page is longer than the baseline's page, is longer than
      the parameter's declared ``maximum`` when there is one, announces no next page (unless
      it holds all 100000), and, without a declared maximum, its length is not a common cap
      (10, 20, 25, 50, 100, 128, 250, 500, 1000 …). A page larger than the server's cap must
      actually come back: confirmed when the declared maximum was exceeded; firm when, with
      no maximum declared, more than 1000 records came back; otherwise (a short collection
      returned whole, which a cap above its size would return too) informational and
      tentative. A schema without ``maximum`` is never enough.
    - dynamodb-unbounded-limit: the 0 probe brings back DynamoDB's (or botocore's) own
      refusal of ``Limit`` (``Value '0' at 'limit' failed to satisfy constraint``), so the
      client's value reaches the query unchecked (confirmed); or the page size is unbounded
      and the baseline's next-page token is DynamoDB's ``LastEvaluatedKey`` (by name, or a raw
      key as JSON / base64 JSON) that the long page no longer returns (firm).
    """
    async for finding in ctx.each_at_once(ctx.baseline.successful(), partial(_page_probe, ctx)):
        yield finding


async def _page_probe(
    ctx: CheckContext, item: tuple[Operation, Exchange]
) -> AsyncIterator[Finding]:
    """The page-size findings of one operation (``page_sizes``)."""
    operation, exchange = item
    resp = exchange.response
    page = page_of(resp.json) if resp is not None else None
    parameter = next((p for p in operation.params("query") if is_page_size(p)), None)
    if page is None or parameter is None or page.count < 1:
        return
    huge_request = with_parameter(exchange.request, operation, parameter, str(HUGE_PAGE))
    zero_request = with_parameter(exchange.request, operation, parameter, "0")
    if huge_request is None or zero_request is None:
        return
    probed = _PageProbe(operation, parameter, exchange, page)
    huge = await ctx.send(huge_request)
    zero = await ctx.send(zero_request)
    unbounded = _unbounded(ctx, probed, huge)
    if unbounded is not None:
        yield unbounded
    refused = _dynamo_refusal(ctx, probed, zero)
    if refused is not None:
        yield refused
    elif unbounded is not None and _dynamo_paged(probed, huge):
        field = probed.page.continuation[0] if probed.page.continuation else "?"
        yield ctx.finding(
            _DYNAMO_LIMIT,
            operation,
            parameter=parameter.name,
            detail=f"the baseline's `{field}` is DynamoDB's LastEvaluatedKey and "
            f"{parameter.name}={HUGE_PAGE} made it disappear with every record returned: "
            "the client's page size reaches DynamoDB's Limit without bounds"
            + ("" if unbounded.severity != Severity.info else _SHORT_PAGE),
            evidence=[("probe", huge), ("baseline", exchange)],
            severity=Severity.info if unbounded.severity == Severity.info else None,
        )


@check(category="rate_limiting", emits={_OVERSIZED})
async def response_sizes(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Responses so large that a few concurrent calls exhaust memory or bandwidth.

    Reads every baseline response; sends no requests. A response is oversized when its body,
    or the size its Content-Length announces, is at least 1,000,000 bytes, or when the scan had
    to cut its body at a cap of at least that size. One finding per operation, firm.
    """
    async for source in ctx.each(sources(ctx)):
        resp = source.exchange.response
        if resp is None:
            continue
        size = _size(resp)
        cap = ctx.scan.limits.max_body_bytes
        cut = resp.truncated and cap >= LARGE_RESPONSE_BYTES
        if size < LARGE_RESPONSE_BYTES and not cut:
            continue
        said = f"more than {cap} bytes (the body was cut there)" if cut else f"{size} bytes"
        yield ctx.finding(
            _OVERSIZED,
            source.operation or source.key,
            detail=f"`{source.key}` answered {resp.status} with {said}; responses of "
            f"{LARGE_RESPONSE_BYTES} bytes or more are expected to be paginated",
            evidence=[source.exchange],
        )


def _unbounded(ctx: CheckContext, probed: _PageProbe, huge: Exchange) -> Finding | None:
    """The unbounded-page-size finding when the 100000 page shows no bound on the page size."""
    page = page_of(huge.response.json, probed.page.field) if huge.response else None
    if page is None or huge.response is None or not huge.response.ok:
        return None
    if page.count <= probed.page.count:
        return None
    if page.continuation is not None and page.count < HUGE_PAGE:
        return None  # cut at a cap, with more to come
    maximum = declared_maximum(probed.parameter)
    if maximum is not None and page.count <= maximum:
        return None
    severity: Severity | None = None
    if maximum is not None:
        confidence, reason = Confidence.confirmed, f"the declared maximum is {maximum:g}"
    elif page.count in COMMON_CAPS:
        return None
    elif page.count > EVIDENT_PAGE:
        confidence = Confidence.firm
        reason = f"no maximum is declared, and no common cap ({EVIDENT_PAGE} or less) held it"
    else:
        # As many records as there are, it seems: a cap above that cannot be shown.
        severity, confidence = Severity.info, Confidence.tentative
        reason = (
            "no maximum is declared, but a page this short may be the whole collection under "
            "a cap the data never reached: the bound could not be assessed"
        )
    name, key = probed.parameter.name, probed.operation.key
    return ctx.finding(
        _PAGE_SIZE,
        probed.operation,
        parameter=name,
        detail=f"{name}={HUGE_PAGE} made `{key}` return {page.count} records where the "
        f"baseline page held {probed.page.count}; {reason}",
        evidence=[("probe", huge), ("baseline", probed.baseline)],
        confidence=confidence,
        severity=severity,
    )


def _dynamo_refusal(ctx: CheckContext, probed: _PageProbe, zero: Exchange) -> Finding | None:
    """The DynamoDB finding when the 0 probe brought back DynamoDB's refusal of ``Limit``."""
    sigs = signatures_for({_DYNAMO_LIMIT})
    env = ScanEnv.of(ctx.scan, ctx.base_url)
    known = {hit.signature for hit in scan_exchange(probed.baseline, sigs, env)}
    refusal = [hit for hit in scan_exchange(zero, sigs, env) if hit.signature not in known]
    if not refusal:
        return None
    name, key = probed.parameter.name, probed.operation.key
    return ctx.finding(
        _DYNAMO_LIMIT,
        probed.operation,
        parameter=name,
        detail=f"{name}=0 made `{key}` answer {_status(zero)} with {refusal[0].match!r}: the "
        "client's page size is passed to DynamoDB's Limit without bounds",
        evidence=[("probe", zero)],
        confidence=Confidence.confirmed,
        match=refusal[0].match,
    )


def _dynamo_paged(probed: _PageProbe, huge: Exchange) -> bool:
    if probed.page.continuation is None or huge.response is None:
        return False
    page = page_of(huge.response.json, probed.page.field)
    name, value = probed.page.continuation
    return page is not None and page.continuation is None and is_dynamodb_key(name, value)


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


def _size(resp: Response) -> int:
    announced = resp.headers.get("content-length") or ""
    return max(len(resp.body), int(announced) if announced.strip().isdigit() else 0)


def _status(exchange: Exchange) -> int | None:
    return exchange.response.status if exchange.response else None
