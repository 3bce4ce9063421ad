"""HTTP methods: diagnostic methods the server offers, and method-override headers it obeys."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from middlebrick.checks._compare import same_shape
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Exchange, Request

_DANGEROUS = "input_validation.dangerous-method"
_OVERRIDE = "input_validation.method-override"

TRACE_MARKER = "mbzq-trace-7f3a"
"""Sent in a header of the TRACE probe: an echo of it proves the request came back."""

OVERRIDE_HEADERS = ("X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override")
"""The headers method-override middleware reads."""

_DIAGNOSTIC = re.compile(r"\b(TRACE|TRACK|CONNECT|DEBUG)\b", re.I)


@check(category="input_validation", emits={_DANGEROUS}, max_requests=3)
async def dangerous_methods(ctx: CheckContext) -> AsyncIterator[Finding]:
    """TRACE, TRACK, CONNECT or DEBUG advertised in ``Allow``, or TRACE answered (active mode).

    Safe mode: ``OPTIONS`` on the target's root and on the first operation whose baseline
    answered 2xx; a diagnostic method named in ``Allow`` (or
    ``Access-Control-Allow-Methods``) is reported, confidence firm (the server says it, no
    request proved it). Active mode adds one ``TRACE`` to the root carrying the header
    ``X-Mbzq-Trace: mbzq-trace-7f3a``: an answer that echoes ``TRACE`` and the marker is
    confirmed cross-site-tracing surface; the baseline GET of the root is the control (it must
    not echo the marker). One finding for the target (operation ``*``).
    """
    urls = [ex.request.url for ex in _targets(ctx)]
    advertised: tuple[Exchange, str] | None = None
    for url in urls:
        answer = await ctx.send(Request("OPTIONS", url))
        listed = _listed(answer)
        if listed:
            advertised = answer, listed
            break
    root = ctx.baseline.root
    if ctx.scan.mode == "active" and root is not None and root.response is not None:
        trace_request = Request("TRACE", root.request.url).with_header("X-Mbzq-Trace", TRACE_MARKER)
        trace = await ctx.send(trace_request)
        if _echoes(trace) and not _echoes(root):
            yield ctx.finding(
                _DANGEROUS,
                "*",
                detail=f"TRACE {root.request.url} answered {_status(trace)} echoing the request, "
                f"the X-Mbzq-Trace: {TRACE_MARKER} header included, while the GET of the same URL "
                "did not: TRACE is enabled",
                evidence=[("baseline", root), ("probe", trace)],
                confidence=Confidence.confirmed,
                match=TRACE_MARKER,
            )
            return
    if advertised is not None:
        answer, listed = advertised
        yield ctx.finding(
            _DANGEROUS,
            "*",
            detail=f"OPTIONS {answer.request.url} lists {listed} among the allowed methods",
            evidence=[("probe", answer)],
            confidence=Confidence.firm,
            match=listed,
        )


@check(category="input_validation", emits={_OVERRIDE}, max_requests=4, writes=True)
async def method_override(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Method-override headers (``X-HTTP-Method-Override`` …) that change what a request does.

    Takes the first operation whose GET baseline answered 2xx with a body. Safe mode re-sends
    it with ``X-HTTP-Method-Override``, ``X-HTTP-Method`` and ``X-Method-Override`` set to
    ``OPTIONS``, and as control with the same headers set to ``GET``: the override is honoured
    when the probe is answered as an OPTIONS request (an ``Allow`` header the baseline lacks,
    no body, or 405) while the control matches the baseline. Active mode also sends ``POST``
    to that URL, without (control) and with the headers set to ``GET`` (probe), when the API
    documents no POST there: a 2xx of the GET's shape where the plain POST was refused proves
    the override; neither request can change data, since the plain POST is refused and the
    other one runs as a GET.
    One finding for the target (operation ``*``), confidence confirmed.
    """
    target = _override_target(ctx)
    if target is None:
        return
    baseline = target.request
    probe = await ctx.send(_override(baseline, "OPTIONS"))
    control = await ctx.send(_override(baseline, "GET"))
    if _like(control, target) and _answered_as_options(probe, target):
        yield _override_finding(ctx, target, probe, control, "OPTIONS")
        return
    if ctx.scan.mode != "active" or _has_post(ctx, target):
        return
    post = Request("POST", baseline.url, headers=baseline.headers, identity=baseline.identity)
    refused = await ctx.send(post)
    if refused.response is None or refused.ok:
        return
    overridden = await ctx.send(_override(post, "GET"))
    if _like(overridden, target):
        yield _override_finding(ctx, target, overridden, refused, "GET")


def _targets(ctx: CheckContext) -> list[Exchange]:
    picked: dict[str, Exchange] = {}
    root = ctx.baseline.root
    if root is not None and root.response is not None:
        picked[root.request.url] = root
    for _, exchange in ctx.baseline.successful()[:1]:
        picked.setdefault(exchange.request.url, exchange)
    return list(picked.values())[:2]


def _listed(answer: Exchange) -> str:
    resp = answer.response
    if resp is None:
        return ""
    methods = ", ".join(
        v for name in ("allow", "access-control-allow-methods") for v in resp.headers.get_all(name)
    )
    return ", ".join(dict.fromkeys(m.upper() for m in _DIAGNOSTIC.findall(methods)))


def _echoes(exchange: Exchange) -> bool:
    resp = exchange.response
    if resp is None or not resp.ok:
        return False
    text = resp.text[:65536]
    return TRACE_MARKER in text and "TRACE" in text


def _override_target(ctx: CheckContext) -> Exchange | None:
    for operation, exchange in ctx.baseline.successful():
        if operation.method == "GET" and exchange.response is not None and exchange.response.body:
            return exchange
    return None


def _has_post(ctx: CheckContext, target: Exchange) -> bool:
    path = next((op.path for op, ex in ctx.baseline.items() if ex is target), None)
    return any(op.method == "POST" and op.path == path for op in ctx.surface.operations)


def _override(request: Request, method: str) -> Request:
    for name in OVERRIDE_HEADERS:
        request = request.with_header(name, method)
    return request


def _like(exchange: Exchange, baseline: Exchange) -> bool:
    """True when ``exchange`` answered like the baseline: same status, a body of the same kind."""
    a, b = exchange.response, baseline.response
    if a is None or b is None or a.status != b.status or not a.body:
        return False
    if a.is_json and b.is_json:
        return same_shape(a.json, b.json)
    return a.content_type == b.content_type


def _answered_as_options(probe: Exchange, baseline: Exchange) -> bool:
    """True when the probe was answered as OPTIONS: 405, no body, or an ``Allow`` header."""
    a, b = probe.response, baseline.response
    if a is None or b is None:
        return False
    if a.status == 405 or (a.ok and not a.body):
        return True
    return a.ok and "allow" in a.headers and "allow" not in b.headers


def _override_finding(
    ctx: CheckContext, target: Exchange, probe: Exchange, control: Exchange, method: str
) -> Finding:
    got = _status(probe)
    body = "no body" if probe.response is not None and not probe.response.body else "a body"
    return ctx.finding(
        _OVERRIDE,
        "*",
        detail=f"{probe.request.method} {probe.request.url} with X-HTTP-Method-Override: "
        f"{method} (and X-HTTP-Method, X-Method-Override) answered {got} with {body}, while the "
        f"control {control.request.method} answered {_status(control)}: the server runs the "
        "method the header names",
        evidence=[("baseline", target), ("probe", probe), ("control", control)],
        confidence=Confidence.confirmed,
    )


def _status(exchange: Exchange) -> str:
    return str(exchange.response.status) if exchange.response is not None else "no answer"
