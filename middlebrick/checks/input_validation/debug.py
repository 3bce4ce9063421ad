"""Debug modes: the Werkzeug debugger and console, Django's and Starlette's debug pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from middlebrick.checks._injection import NOT_A_NUMBER, first_match, server_error, signature_hits
from middlebrick.checks._probe import BREAKER, numeric_slots, slots
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Exchange, Request

_DEBUG = "input_validation.debug-mode"
_DEBUG_PAGE = "data_exposure.debug-page"  # the framework debug-page signatures (debug_pages.yaml)
_CONSOLE = "werkzeug-console"

MISSING_PAGE = "/mbzq-no-such-page"
"""A path no API serves: what a debug-mode framework answers with its technical 404."""

PROVOCATIONS = 12
"""Requests spent provoking a server error and re-asking for it as HTML."""

_HTML = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@check(category="input_validation", emits={_DEBUG}, max_requests=4 + PROVOCATIONS)
async def debug_mode(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Framework debug modes: Werkzeug debugger and console, Django DEBUG, Starlette debug.

    In order, stopping at the first that shows one:

    1. The Werkzeug debugger: ``GET /console`` (its interactive console) and
       ``GET /?__debugger__=yes&cmd=resource&f=debugger.js`` (its script, served on any path
       while the debugger wraps the app). The console's or the script's own text must be in
       the answer and not in the target's root answer nor in ``GET /mbzq-no-such-page``.
    2. Technical error pages: ``GET /mbzq-no-such-page`` with ``Accept: text/html``; Django's
       technical 404 (``DEBUG = True``, either apostrophe), Rails' and Laravel's debug pages.
    3. A provoked server error: baseline answers that were 5xx, then ``abc`` in a numeric
       parameter and the breaker ``'")(`` in the first parameter of each operation (the
       requests ``type_confusion`` and ``data_exposure.error_details`` send: the cache answers
       them). A 5xx answer is read for debug pages, then re-sent once with
       ``Accept: text/html``, because Starlette/FastAPI's debug traceback (``Starlette
       Debugger``) and Django's HTML technical 500 show only to browsers. At most twelve
       requests in this step.

    One finding for the target (operation ``*``). Severity high; critical when the Werkzeug
    console is reachable.
    """
    root = ctx.baseline.root
    found = await _werkzeug(ctx, root)
    if found is None:
        found = await _missing_page(ctx, root)
    if found is None:
        found = await _provoked(ctx)
    if found is not None:
        yield found


async def _werkzeug(ctx: CheckContext, root: Exchange | None) -> Finding | None:
    origin = _origin(ctx.base_url)
    console = await ctx.send(_html(origin + "/console"))
    control = await ctx.send(_html(origin + MISSING_PAGE))
    shown = _debug_hits(console)
    probe = console
    if _CONSOLE not in shown:
        base = root.request.url if root is not None else ctx.base_url + "/"
        joiner = "&" if urlsplit(base).query else "?"
        probe = await ctx.send(_html(f"{base}{joiner}__debugger__=yes&cmd=resource&f=debugger.js"))
        shown = _debug_hits(probe)
    if not shown or _debug_hits(control) & shown:
        return None
    if root is not None and _debug_hits(root) & shown:
        return None
    console_on = _CONSOLE in shown
    what = (
        "the interactive Werkzeug console (/console)"
        if console_on
        else "the Werkzeug debugger's script (?__debugger__=yes&cmd=resource)"
    )
    evidence = [("baseline", root)] if root is not None else []
    return ctx.finding(
        _DEBUG,
        "*",
        detail=f"{urlsplit(probe.request.url).path or '/'} answered {what} "
        f"({first_match(probe, [_DEBUG])!r}) while {MISSING_PAGE} did not: the app runs "
        "under Werkzeug's debugger" + (", console included" if console_on else ""),
        evidence=[*evidence, ("probe", probe), ("control", control)],
        severity=Severity.critical if console_on else None,
        match=first_match(probe, [_DEBUG]),
    )


async def _missing_page(ctx: CheckContext, root: Exchange | None) -> Finding | None:
    probe = await ctx.send(_html(_origin(ctx.base_url) + MISSING_PAGE))
    match = first_match(probe, [_DEBUG_PAGE])
    if match is None or not _error(probe):
        return None
    evidence = [("baseline", root)] if root is not None else []
    return ctx.finding(
        _DEBUG,
        "*",
        detail=f"GET {MISSING_PAGE} (a page that does not exist) answered "
        f"{probe.response.status if probe.response else '?'} with the framework's technical "
        f"page ({match!r}): debug mode is on",
        evidence=[*evidence, ("probe", probe)],
        confidence=Confidence.firm,
        match=match,
    )


async def _provoked(ctx: CheckContext) -> Finding | None:
    left = PROVOCATIONS
    for baseline, request in _provocations(ctx):
        if left < 2:
            return None
        if request is None:
            error = baseline
        else:
            left -= 1
            error = await ctx.send(request)
        if not server_error(error):
            continue
        page = error
        if not _debug_page(error):
            left -= 1
            page = await ctx.send(_as_html(error.request))
        match = first_match(page, [_DEBUG_PAGE])
        if match is None or not _error(page):
            continue
        shown = "" if page is error else " once asked with Accept: text/html"
        return ctx.finding(
            _DEBUG,
            "*",
            detail=f"{error.request.method} {_path_query(error.request.url)} answered "
            f"{error.response.status if error.response else '?'}{shown} with the framework's "
            f"debug page ({match!r}): debug mode is on",
            evidence=[
                ("baseline", baseline),
                ("provoked error", error),
                *([("as HTML", page)] if page is not error else []),
            ],
            match=match,
        )
    return None


def _provocations(ctx: CheckContext) -> list[tuple[Exchange, Request | None]]:
    """(baseline, request) pairs to try; ``None`` means the baseline itself failed."""
    failed: list[tuple[Exchange, Request | None]] = []
    probes: list[tuple[Exchange, Request | None]] = []
    for operation, exchange in ctx.baseline.items():
        if operation.method not in _SAFE_METHODS or exchange.response is None:
            continue
        if server_error(exchange):
            failed.append((exchange, None))
            continue
        for slot in numeric_slots(operation, exchange)[:1]:
            probes.append((exchange, slot.set(NOT_A_NUMBER)))
        first = next(iter(slots(operation, exchange, include_missing=False)), None)
        if first is not None:
            probes.append((exchange, first.set(BREAKER)))
    return failed + [(b, r) for b, r in probes if r is not None]


def _error(exchange: Exchange) -> bool:
    """True for a 4xx or 5xx answer: where debug pages appear (documentation is a 200)."""
    return exchange.response is not None and exchange.response.status >= 400


def _debug_hits(exchange: Exchange) -> set[str]:
    return set(signature_hits(exchange, [_DEBUG]))


def _debug_page(exchange: Exchange) -> bool:
    return bool(signature_hits(exchange, [_DEBUG_PAGE]))


def _html(url: str) -> Request:
    return Request("GET", url).with_header("Accept", _HTML)


def _as_html(request: Request) -> Request:
    return request.with_header("Accept", _HTML)


def _origin(base_url: str) -> str:
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}"


def _path_query(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
