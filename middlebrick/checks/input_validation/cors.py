"""CORS: which origins the API lets browsers read it from, with or without credentials."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Exchange, Request

_REFLECTED = "input_validation.cors-reflected-origin"
_NULL = "input_validation.cors-null-origin"
_WILDCARD = "input_validation.cors-wildcard-origin"

PROBE_ORIGIN = "https://mbzq-cors-probe.example"
"""An origin no allow-list holds: echoed back, it shows reflection."""

CONTROL_ORIGIN = "https://mbzq-cors-control.example"
"""A second such origin: echoed too, the reflection is of any origin, not a listed one."""

TARGETS = 2
"""URLs tested: an operation that answered 2xx (preferably one that needs credentials), the root."""

_PER_TARGET = 4  # probe, control, null, preflight


@dataclass(frozen=True)
class _Answer:
    """What one CORS response allowed."""

    origin: str | None
    credentials: bool

    @classmethod
    def of(cls, exchange: Exchange) -> _Answer:
        resp = exchange.response
        if resp is None:
            return cls(None, False)
        origin = resp.headers.get("access-control-allow-origin")
        credentials = (resp.headers.get("access-control-allow-credentials") or "").strip()
        return cls(origin.strip() if origin else None, credentials.lower() == "true")

    def header_text(self) -> str:
        text = f"Access-Control-Allow-Origin: {self.origin}"
        return text + (" with Access-Control-Allow-Credentials: true" if self.credentials else "")


@check(
    category="input_validation",
    emits={_REFLECTED, _NULL, _WILDCARD},
    max_requests=TARGETS * _PER_TARGET,
)
async def cors(ctx: CheckContext) -> AsyncIterator[Finding]:
    """CORS that reflects any origin, allows ``null``, or answers with a wildcard.

    Tests up to two URLs: the first operation whose baseline answered 2xx (one that needs
    credentials first) and the target's root. Each is re-sent (as in the baseline, credentials
    included) with ``Origin: https://mbzq-cors-probe.example``; if that origin comes back in
    ``Access-Control-Allow-Origin``, a control with ``Origin: https://mbzq-cors-control.example``
    must come back too (any origin is reflected, not one that happens to be listed). If the
    plain request shows no reflection, a preflight (``OPTIONS`` with
    ``Access-Control-Request-Method: GET`` and ``Access-Control-Request-Headers:
    authorization``) is tried the same way. Then ``Origin: null``, reported when answered with
    ``Access-Control-Allow-Origin: null``; and ``Access-Control-Allow-Origin: *`` on any of
    these answers is a wildcard.

    Severity: reflected or null origin with ``Access-Control-Allow-Credentials: true`` is
    high when the API authenticates with cookies (a scan identity or the default headers send
    a ``Cookie``, the spec declares an ``apiKey`` in a cookie, or an answer of the scan set a
    cookie): the browser attaches those to the foreign page's request. With header credentials
    only (``Authorization``, an API-key header) it is low: the browser never attaches them, so
    the foreign page reads what an anonymous request reads unless a cookie appears later.
    Without it, and for a wildcard, it is informational: the browser sends no cookies
    or credentials with such a request, and a foreign page cannot add an ``Authorization`` it
    does not know, so it reads only what an anonymous request reads. One finding of each kind
    for the whole target (operation ``*``); the evidence holds the baseline (no Origin), the
    probe and the control.
    """
    reported: set[str] = set()
    for baseline in _targets(ctx):
        for finding in await _test(ctx, baseline, reported):
            reported.add(finding.type_id)
            yield finding
        if reported >= {_REFLECTED, _NULL}:
            return


def _targets(ctx: CheckContext) -> list[Exchange]:
    ok = sorted(ctx.baseline.successful(), key=lambda pair: not pair[0].requires_auth)
    picked = [exchange for _, exchange in ok[:1]]
    root = ctx.baseline.root
    if root is not None and root.response is not None:
        picked.append(root)
    unique: dict[str, Exchange] = {}
    for exchange in picked:
        unique.setdefault(exchange.request.url, exchange)
    return list(unique.values())[:TARGETS]


async def _test(ctx: CheckContext, baseline: Exchange, reported: set[str]) -> list[Finding]:
    found: list[Finding] = []
    request = baseline.request
    probe = await ctx.send(request.with_header("Origin", PROBE_ORIGIN))
    answer = _Answer.of(probe)
    if answer.origin != PROBE_ORIGIN:
        preflight = await ctx.send(_preflight(request, PROBE_ORIGIN))
        if _Answer.of(preflight).origin == PROBE_ORIGIN:
            probe, answer = preflight, _Answer.of(preflight)
    if answer.origin == PROBE_ORIGIN and _REFLECTED not in reported:
        control = await ctx.send(_same_kind(probe.request, CONTROL_ORIGIN))
        if _Answer.of(control).origin == CONTROL_ORIGIN:
            found.append(
                ctx.finding(
                    _REFLECTED,
                    "*",
                    detail=f"{_what(probe)} with Origin: {PROBE_ORIGIN} was answered with "
                    f"{answer.header_text()}, and with Origin: {CONTROL_ORIGIN} with that origin "
                    "in turn: any origin is reflected"
                    + _baseline_note(baseline)
                    + _credentials_note(ctx, answer),
                    evidence=[("baseline", baseline), ("probe", probe), ("control", control)],
                    severity=_severity(ctx, answer),
                    confidence=Confidence.confirmed,
                )
            )
    if answer.origin == "*" and _WILDCARD not in reported:
        found.append(_wildcard(ctx, baseline, probe, answer))
    if _NULL not in reported:
        null = await ctx.send(_same_kind(probe.request, "null"))
        null_answer = _Answer.of(null)
        if null_answer.origin == "null":
            found.append(
                ctx.finding(
                    _NULL,
                    "*",
                    detail=f"{_what(null)} with Origin: null was answered with "
                    f"{null_answer.header_text()}: sandboxed iframes and data: URLs of any "
                    "site get that origin"
                    + _baseline_note(baseline)
                    + _credentials_note(ctx, null_answer),
                    evidence=[("baseline", baseline), ("probe", null), ("control", probe)],
                    severity=_severity(ctx, null_answer),
                    confidence=Confidence.confirmed,
                )
            )
    return found


def _wildcard(ctx: CheckContext, baseline: Exchange, probe: Exchange, answer: _Answer) -> Finding:
    return ctx.finding(
        _WILDCARD,
        "*",
        detail=f"{_what(probe)} with Origin: {PROBE_ORIGIN} was answered with "
        f"{answer.header_text()}: every site may read what the API serves without credentials, "
        "which is what anyone reads (browsers never send credentials to a wildcard)",
        evidence=[("baseline", baseline), ("probe", probe)],
        confidence=Confidence.firm,
    )


def _preflight(request: Request, origin: str) -> Request:
    preflight = Request("OPTIONS", request.url, identity=request.identity)
    preflight = preflight.with_header("Origin", origin)
    preflight = preflight.with_header("Access-Control-Request-Method", "GET")
    return preflight.with_header("Access-Control-Request-Headers", "authorization")


def _same_kind(request: Request, origin: str) -> Request:
    """The same request (plain or preflight) with another Origin."""
    return request.with_header("Origin", origin)


def _what(exchange: Exchange) -> str:
    method = exchange.request.method
    return "a preflight (OPTIONS)" if method == "OPTIONS" else f"a {method} request"


def _severity(ctx: CheckContext, answer: _Answer) -> Severity | None:
    """Catalogue severity (high) with cookies; low with header credentials; info without."""
    if not answer.credentials:
        return Severity.info
    return None if _cookie_auth(ctx) else Severity.low


def _cookie_auth(ctx: CheckContext) -> bool:
    """True when a browser would attach this API's credentials by itself: cookies."""
    scan = ctx.scan
    sent = [*scan.headers, *(h for c in scan.identities.values() for h in c.headers)]
    if any(name.lower() == "cookie" for name, _ in sent):
        return True
    spec = ctx.surface.spec
    schemes = spec.security_schemes.values() if spec is not None else ()
    if any(s.type == "apiKey" and (s.location or "").lower() == "cookie" for s in schemes):
        return True
    return any(
        e.response is not None and e.response.headers.get_all("set-cookie")
        for e in ctx.baseline.responses()
    )


def _credentials_note(ctx: CheckContext, answer: _Answer) -> str:
    if answer.credentials and _cookie_auth(ctx):
        return ": the browser sends the user's cookies and the page reads the answer"
    if answer.credentials:
        return (
            "; the API takes its credentials in a header, not a cookie (no identity sends "
            "a Cookie, none is declared, no answer set one), and a browser never attaches "
            "a header credential to a foreign page's request: a foreign page reads what an "
            "anonymous request reads until the API authenticates with a cookie"
        )
    return (
        "; without Access-Control-Allow-Credentials: true the browser sends no credentials, "
        "so a foreign page reads only what an anonymous request reads"
    )


def _baseline_note(baseline: Exchange) -> str:
    before = _Answer.of(baseline).origin
    if before is None:
        return " (without Origin the answer had no Access-Control-Allow-Origin)"
    return f" (without Origin it answered Access-Control-Allow-Origin: {before})"
