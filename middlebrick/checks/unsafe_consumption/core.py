"""Unsafe consumption: open redirects, third-party content relayed as is, callback URLs."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from urllib.parse import urljoin

from middlebrick.checks._canary import UNREACHABLE, Canary, Probe, reachable_from
from middlebrick.checks._net import origin
from middlebrick.checks._urlinputs import UrlInput, body_request, url_inputs, with_input
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Evidence, Finding, Severity
from middlebrick.http.exchange import Exchange, Request, Response

_REDIRECT = "unsafe_consumption.open-redirect"
_RELAY = "unsafe_consumption.unsanitised-relay"
_CALLBACK = "unsafe_consumption.callback-url-parameter"

OFF_SCOPE = "127.0.0.2:9"
"""Where redirect probes point: loopback, never the target, never contacted by the scanner."""

_PROBED = 2  # inputs probed per operation
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_RENDERED = ("text/html", "application/xhtml+xml", "image/svg+xml")


@check(category="unsafe_consumption", emits={_REDIRECT}, per_operation=2 * _PROBED)
async def open_redirects(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Whether redirect parameters send clients to any site they name.

    Probes the redirect-target query parameters of readable operations (named ``next``,
    ``redirect``, ``redirect_uri``, ``return_to``, ``continue``, ``goto`` …, or URL parameters
    whose baseline answer was a redirect), two per operation: the baseline request with the
    parameter set to ``http://127.0.0.2:9/<token>``, then, if that did not lead off-site, to
    the protocol-relative ``//127.0.0.2:9/<token>``. Redirects are never followed.

    Reported (confirmed) when the answer is a redirect (or carries a ``Refresh`` header) whose
    ``Location``, resolved against the request URL as a browser would (backslashes read as
    slashes), points at that host with the probe's token.
    """
    async for operation, exchange in ctx.each(ctx.baseline.items()):
        if exchange.response is None or exchange.response.status in (401, 403):
            continue
        redirected = bool(exchange.response.redirects) or _is_redirect(exchange.response)
        inputs = [
            i
            for i in url_inputs(operation, exchange.request)
            if i.where == "query" and (i.kind == "redirect" or (i.kind == "fetch" and redirected))
        ]
        for item in inputs[:_PROBED]:
            token = secrets.token_hex(8)
            for value in (f"http://{OFF_SCOPE}/{token}", f"//{OFF_SCOPE}/{token}"):
                request = with_input(exchange.request, item, value)
                if request is None:
                    break
                answer = await ctx.send(request, follow_redirects=False)
                sent_to = _off_site(answer, token)
                if sent_to is not None:
                    header, location = sent_to
                    yield ctx.finding(
                        _REDIRECT,
                        operation,
                        parameter=item.name,
                        detail=f"{item.name}={value} made `{operation.key}` answer "
                        f"{answer.response.status if answer.response else '?'} with {header} "
                        f"{location!r}: clients are sent to any site the link names (not "
                        "followed by the scanner)",
                        evidence=[("probe", answer)],
                        confidence=Confidence.confirmed,
                    )
                    break


@check(category="unsafe_consumption", emits={_RELAY}, per_operation=_PROBED)
async def relayed_content(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Whether the API passes third-party content on to its callers without sanitising it.

    For readable operations with URL query or path parameters the server fetches (the
    ``fetch`` inputs of the ssrf check; two per operation, baseline refused with 401/403
    skipped), it sends the parameter set to a URL of its loopback canary, which answers with
    an HTML page holding a ``<script>`` carrying a secret marker. Only on loopback targets:
    elsewhere the canary cannot be reached.

    Reported (confirmed) when the 2xx answer holds that script verbatim: at its catalogue
    severity when served as HTML (``text/html``, XHTML or SVG, where it runs on the API's
    origin), medium when inside JSON, where it runs in whatever renders it.
    """
    candidates = _relay_candidates(ctx)
    if not candidates or not reachable_from(ctx.base_url):
        return
    async with Canary() as canary:
        for item, exchange in candidates:
            probe = canary.probe("html")
            request = with_input(exchange.request, item, probe.url)
            if request is None:
                continue
            answer = await ctx.send(request, follow_redirects=False)
            finding = _relay_finding(ctx, canary, item, probe, answer)
            if finding is not None:
                yield finding


@check(category="unsafe_consumption", emits={_CALLBACK})
async def callback_parameters(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Inputs that register a URL the server will call later: webhooks and callbacks.

    Reads the surface; sends no requests. Query parameters and JSON/form body fields named
    like a callback or webhook URL (``callback_url``, ``webhook``, ``notify_url`` …) are
    reported as info: the server will make requests to wherever they point. An active scan
    confirms them (``callback_deliveries``).
    """
    if reachable_from(ctx.base_url):
        confirm = "an active scan reports it confirmed when the server calls the scanner's canary"
    else:
        confirm = UNREACHABLE
    async for operation in ctx.each(ctx.surface.operations):
        exchange = ctx.baseline.get(operation.key)
        request = exchange.request if exchange is not None else None
        for item in url_inputs(operation, request):
            if item.kind != "callback":
                continue
            yield ctx.finding(
                _CALLBACK,
                operation,
                parameter=item.name,
                detail=f"`{operation.key}` takes a callback URL in {item.label} "
                f"({item.reason}); {confirm}",
                severity=Severity.info,
                confidence=Confidence.tentative,
            )


@check(category="unsafe_consumption", emits={_CALLBACK}, mode="active", per_operation=_PROBED)
async def callback_deliveries(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Whether the API calls any callback URL it is given (active mode).

    For each operation with callback inputs (see ``callback_parameters``; two per operation)
    it sends the operation once with the input set to a URL of its loopback canary: a JSON or
    form body built from the spec's example or schema for body fields, the baseline request
    for query parameters. It waits up to a second after its last probe. Only on loopback
    targets: elsewhere the canary cannot be reached.

    Reported (confirmed) when the canary received a request for the probe's token: the
    server calls whatever URL a client registers. The evidence holds the probe and the
    request the canary received.
    """
    candidates = _callback_candidates(ctx)
    if not candidates or not reachable_from(ctx.base_url):
        return
    sent: list[tuple[UrlInput, Probe, Exchange]] = []
    async with Canary() as canary:
        for item, baseline in candidates:
            probe = canary.probe()
            built = _callback_request(ctx, item, baseline, probe.url)
            if built is not None:
                sent.append((item, probe, await ctx.send(built, follow_redirects=False)))
        await canary.settle()
        for item, probe, answer in sent:
            hits = canary.hits(probe)
            if not hits:
                continue
            yield ctx.finding(
                _CALLBACK,
                item.operation,
                parameter=item.name,
                detail=f"{item.name}={probe.url} made `{item.operation.key}` answer "
                f"{answer.response.status if answer.response else '?'} and the scanner's "
                f"canary received {hits[0].describe()}: the server calls any URL it is given",
                evidence=[("probe", answer), canary.evidence(hits[0])],
                confidence=Confidence.confirmed,
            )


def _relay_candidates(ctx: CheckContext) -> list[tuple[UrlInput, Exchange]]:
    """Fetch inputs in the query or path of readable operations, two per operation."""
    found: list[tuple[UrlInput, Exchange]] = []
    for operation, exchange in ctx.baseline.items():
        if exchange.response is None or exchange.response.status in (401, 403):
            continue
        inputs = url_inputs(operation, exchange.request)
        fetched = [i for i in inputs if i.kind == "fetch" and i.where != "body"]
        found += [(item, exchange) for item in fetched[:_PROBED]]
    return found


def _callback_candidates(ctx: CheckContext) -> list[tuple[UrlInput, Request | None]]:
    """Callback inputs of every operation, two per operation, with its baseline request."""
    found: list[tuple[UrlInput, Request | None]] = []
    for operation in ctx.surface.operations:
        exchange = ctx.baseline.get(operation.key)
        request = exchange.request if exchange is not None else None
        callbacks = [i for i in url_inputs(operation, request) if i.kind == "callback"]
        found += [(item, request) for item in callbacks[:_PROBED]]
    return found


def _callback_request(
    ctx: CheckContext, item: UrlInput, baseline: Request | None, url: str
) -> Request | None:
    if item.where == "body":
        return body_request(item, ctx.base_url, url)
    return with_input(baseline, item, url) if baseline is not None else None


def _relay_finding(
    ctx: CheckContext, canary: Canary, item: UrlInput, probe: Probe, answer: Exchange
) -> Finding | None:
    resp = answer.response
    if resp is None or not resp.ok or probe.marker not in resp.text:
        return None
    rendered = resp.content_type in _RENDERED
    if not rendered and not resp.is_json and not resp.content_type.endswith("json"):
        return None
    served = f"served as {resp.content_type or 'no content type'}"
    hits = canary.hits(probe)
    evidence: list[tuple[str, Exchange] | Evidence] = [("probe", answer)]
    if hits:
        evidence.append(canary.evidence(hits[0]))
    return ctx.finding(
        _RELAY,
        item.operation,
        parameter=item.name,
        detail=f"{item.name}={probe.url} made `{item.operation.key}` answer {resp.status} "
        f"with the canary's HTML page and its <script> verbatim, {served}",
        evidence=evidence,
        confidence=Confidence.confirmed,
        severity=None if rendered else Severity.medium,
        match=probe.marker,
    )


def _is_redirect(resp: Response) -> bool:
    return resp.status in _REDIRECT_STATUSES or "refresh" in resp.headers


def _off_site(answer: Exchange, token: str) -> tuple[str, str] | None:
    """``(header, URL)`` when ``answer`` sends the client to the probe's host and token."""
    resp = answer.response
    if resp is None:
        return None
    candidates = []
    if resp.status in _REDIRECT_STATUSES:
        candidates.append(("Location", resp.headers.get("location") or ""))
    refresh = resp.headers.get("refresh") or ""
    if "url=" in refresh.lower():
        candidates.append(("Refresh", refresh[refresh.lower().index("url=") + 4 :].strip(" '\"")))
    for header, location in candidates:
        if not location:
            continue
        resolved = urljoin(answer.request.url, location.strip().replace("\\", "/"))
        _, host, port = origin(resolved)
        if f"{host}:{port}" == OFF_SCOPE and token in resolved:
            return header, location
    return None
