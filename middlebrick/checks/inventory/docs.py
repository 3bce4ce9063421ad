"""Inventory: interactive API documentation (Swagger UI, ReDoc …) served to anyone."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from middlebrick.checks._net import origin
from middlebrick.checks._signatures import ScanEnv, scan_exchange, signatures_for
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.discovery.undocumented import control_token
from middlebrick.errors import ScopeViolation
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Exchange, Request
from middlebrick.knowledge import discovery_paths

_DOCS = "inventory.docs-exposed"

_PAGES_CAP = 24  # documentation paths tried, below the base URL and the origin together
_NOT_PRODUCTION = re.compile(
    r"(?:^|[.-])(?:dev|development|staging|stage|stg|test|testing|qa|uat|sandbox|preview|local)"
    r"(?:[.-]|$)",
    re.I,
)


@check(category="inventory", emits={_DOCS}, max_requests=_PAGES_CAP + 1)
async def docs_exposed(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Interactive API documentation pages served without credentials.

    Fetches, without any credentials, each path of ``docs_pages`` in
    ``knowledge/discovery_paths.yaml`` (``/docs``, ``/redoc``, ``/swagger-ui``,
    ``/swagger-ui.html``, ``/apidocs``, ``/api-docs`` …) below the API's base URL and, when
    that has a path, below the origin too (at most 24 requests), plus one control path that
    cannot exist. A page counts when it answers 2xx with a Swagger UI, ReDoc, RapiDoc,
    Stoplight Elements or Scalar page (``knowledge/signatures/inventory.yaml``) and the
    control does not answer the same body (a single-page app that embeds a docs viewer on
    every route is not reported).

    One finding for the target listing the pages, informational: a map of the operations is
    inventory, not a flaw (the description of an open-source server is public knowledge, and
    every operation it lists must hold without it); the detail says when the host is named
    like a development environment (``dev``, ``staging``, ``test``, ``sandbox``, ``qa``,
    ``uat``, ``preview``, ``local`` labels). A raw OpenAPI document served alone is not
    reported: publishing it is often intended.
    """
    urls = _page_urls(ctx)
    control = await _anonymous(ctx, ctx.url(f"/{control_token(ctx.base_url)}/docs"))
    sigs = signatures_for({_DOCS})
    env = ScanEnv.of(ctx.scan, ctx.base_url)
    found: list[tuple[Exchange, str]] = []
    for url in urls:
        exchange = await _anonymous(ctx, url)
        if exchange is None or not exchange.ok or _same_body(exchange, control):
            continue
        hits = scan_exchange(exchange, sigs, env)
        if hits:
            found.append((exchange, hits[0].match))
    if not found:
        return
    _, host, _ = origin(ctx.scan.target)
    development = bool(_NOT_PRODUCTION.search(host))
    pages = ", ".join(str(exchange.request.url) for exchange, _ in found)
    where = (
        f"; {host} is named like a development environment, where documentation is expected"
        if development
        else ""
    )
    evidence: list[Exchange | tuple[str, Exchange]] = [("docs page", found[0][0])]
    if control is not None:
        evidence.append(("control", control))
    yield ctx.finding(
        _DOCS,
        "*",
        detail=f"interactive API documentation answers without credentials at {pages} "
        f"(recognised by {found[0][1][:60]!r}){where}",
        evidence=evidence,
        match=found[0][1],
        confidence=Confidence.confirmed,
    )


def _page_urls(ctx: CheckContext) -> list[str]:
    """Each documentation path below the base URL, then below the origin, without repeats."""
    parts = urlsplit(ctx.base_url)
    bases = [ctx.base_url.rstrip("/"), f"{parts.scheme}://{parts.netloc}"]
    pages = discovery_paths().docs_pages
    return list(dict.fromkeys(base + page for base in bases for page in pages))[:_PAGES_CAP]


async def _anonymous(ctx: CheckContext, url: str) -> Exchange | None:
    try:
        return await ctx.send(Request("GET", url).without_credentials())
    except ScopeViolation:
        return None


def _same_body(exchange: Exchange, control: Exchange | None) -> bool:
    """True when the control path answered 2xx with this very body (a catch-all page)."""
    if control is None or control.response is None or not control.ok:
        return False
    return exchange.response is not None and exchange.response.body == control.response.body
