"""The shared driver of signature-based checks: scan the baseline, group hits, build findings."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote_plus, urlsplit
from weakref import WeakKeyDictionary

from middlebrick.baseline import Baseline
from middlebrick.checks._signatures import Hit, ScanEnv, scan_exchange, signatures_for
from middlebrick.checks.context import CheckContext
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Exchange
from middlebrick.spec.model import Operation

Keep = Callable[[Hit, "Source"], bool]
"""A check's own judgement on a hit, given where it was found."""


@dataclass(frozen=True)
class Source:
    """One response to scan: its operation (or the root's ``GET /path`` key) and exchange."""

    key: str
    operation: Operation | None
    exchange: Exchange

    @property
    def status(self) -> int | None:
        """The response status."""
        return self.exchange.response.status if self.exchange.response else None


@dataclass
class Group:
    """Hits of one finding type on one operation and parameter: one finding."""

    source: Source
    first: Hit
    hits: list[Hit] = field(default_factory=list)

    def values(self, limit: int = 3) -> list[str]:
        """Distinct hit values in order, at most ``limit``."""
        return list(dict.fromkeys(h.value for h in self.hits))[:limit]

    @property
    def signature_ids(self) -> list[str]:
        """Distinct signature ids that hit, in order."""
        return list(dict.fromkeys(h.signature for h in self.hits))

    @property
    def body_match(self) -> str | None:
        """The first body hit's matched text, for the evidence excerpt."""
        return next((h.match for h in self.hits if h.part == "body"), None)


def sources(ctx: CheckContext) -> Sequence[Source]:
    """Every baseline response once: the root first, then each operation in surface order.

    Built once per baseline and shared by the checks that read it.
    """
    found = _SOURCES.get(ctx.baseline)
    if found is None:
        found = _SOURCES[ctx.baseline] = tuple(_sources(ctx.baseline))
    return found


_SOURCES: WeakKeyDictionary[Baseline, tuple[Source, ...]] = WeakKeyDictionary()


def _sources(baseline: Baseline) -> Iterator[Source]:
    seen: set[int] = set()
    root = baseline.root
    if root is not None and root.response is not None:
        seen.add(id(root))
        key = root.operation or f"GET {urlsplit(root.request.url).path or '/'}"
        yield Source(key, baseline.operations.get(key), root)
    for operation, exchange in baseline.items():
        if exchange.response is None or id(exchange) in seen:
            continue
        seen.add(id(exchange))
        yield Source(operation.key, operation, exchange)


async def group_hits(
    ctx: CheckContext,
    findings: Collection[str],
    *,
    parameter: Callable[[Hit], str | None],
    keep: Keep | None = None,
    skip: Callable[[Source], bool] | None = None,
) -> list[Group]:
    """Scan every baseline response for ``findings`` and group the kept hits.

    One group per (finding type, operation, parameter), in the order first seen.
    """
    sigs = signatures_for(findings)
    env = ScanEnv.of(ctx.scan, ctx.base_url)
    groups: dict[tuple[str, str, str | None], Group] = {}
    async for source in ctx.each(sources(ctx)):
        if skip is not None and skip(source):
            continue
        for hit in scan_exchange(source.exchange, sigs, env):
            if keep is not None and not keep(hit, source):
                continue
            key = (hit.finding, source.key, parameter(hit))
            group = groups.get(key)
            if group is None:
                group = groups[key] = Group(source, hit)
            group.hits.append(hit)
    return list(groups.values())


def finding_of(
    ctx: CheckContext,
    group: Group,
    *,
    parameter: str | None,
    detail: str,
    confidence: Confidence = Confidence.firm,
    label: str | None = None,
    severity: Severity | None = None,
) -> Finding:
    """The finding for one group, with the first hit marked in the evidence."""
    exchange = group.source.exchange
    return ctx.finding(
        group.first.finding,
        group.source.operation or group.source.key,
        detail=detail,
        evidence=[(label, exchange) if label else exchange],
        parameter=parameter,
        confidence=confidence,
        severity=severity,
        match=group.body_match,
    )


def reflected(value: str, exchange: Exchange) -> bool:
    """True when ``value`` was in the request itself (its URL, headers or body): an echo."""
    request = exchange.request
    if value in request.url or value in unquote_plus(request.url):
        return True
    if any(value in header for _, header in request.headers):
        return True
    return request.body is not None and value in request.body.decode("utf-8", "replace")


def mask(finding: str, value: str) -> str:
    """A value as shown in a detail sentence: enough to recognise it, not to reuse it."""
    if finding == "data_exposure.email-address":
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    if finding == "data_exposure.card-number":
        digits = re.sub(r"\D", "", value)
        return f"{digits[:6]}{'*' * (len(digits) - 10)}{digits[-4:]}"
    if finding in ("data_exposure.phone-number", "data_exposure.ssn"):
        keep = 2 if finding == "data_exposure.phone-number" else 4
        count = sum(ch.isdigit() for ch in value)
        out, seen = [], 0
        for ch in value:
            if ch.isdigit():
                seen += 1
                out.append(ch if seen > count - keep else "*")
            else:
                out.append(ch)
        return "".join(out)
    if finding == "data_exposure.private-key":
        return value
    return f"{value[:8]}…" if len(value) > 12 else "****"


def where(hit: Hit) -> str:
    """Where a hit sits, for a detail sentence: `field \\`x\\``, `header X`, or `body`."""
    if hit.part == "header":
        return f"header {hit.where}"
    if hit.part == "url":
        return f"redirect URL {hit.where}"
    return f"field `{hit.key}`" if hit.key else "body"
