"""Resources: page sizes the client may raise without bound (up to DynamoDB's ``Limit``), and
responses too large to serve a few at once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial

from middlebrick.checks._exposure import sources
from middlebrick.checks._probe import with_parameter
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
from middlebrick.http.exchange import Exchange, Response
from middlebrick.spec.model import Operation, Parameter

_PAGE_SIZE = "rate_limiting.unbounded-page-size"
_DYNAMO_LIMIT = "rate_limiting.dynamodb-unbounded-limit"
_OVERSIZED = "rate_limiting.oversized-response"

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
    status = zero.response.status if zero.response is not None else None
    return ctx.finding(
        _DYNAMO_LIMIT,
        probed.operation,
        parameter=name,
        detail=f"{name}=0 made `{key}` answer {status} with {refusal[0].match!r}: the "
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


def _size(resp: Response) -> int:
    announced = resp.headers.get("content-length") or ""
    return max(len(resp.body), int(announced) if announced.strip().isdigit() else 0)
