"""Authentication: declared security that is not enforced, 401 hygiene, security headers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import Enum

from middlebrick.checks._compare import is_empty_json, looks_like_denial, same_shape, similar_text
from middlebrick.checks._exposure import sources
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import ANONYMOUS, Exchange, Headers
from middlebrick.identities import primary_name
from middlebrick.spec.model import Operation

_DECLARED = "authentication.declared-not-enforced"
_SCHEME = "authentication.scheme-not-enforced"
_WWW = "authentication.missing-www-authenticate"
_HEADERS = "authentication.missing-security-headers"

_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_EXAMPLES = 3
_SAMESITE_NONE = re.compile(r";\s*samesite\s*=\s*none\b", re.I)
_ACTIVE_HTML = re.compile(r"<(?:form|button)\b", re.I)
_NO_IMPACT = {
    "X-Content-Type-Options": "every such answer declares its Content-Type, so there is "
    "nothing for a browser to sniff: hardening only",
    "X-Frame-Options": "no cookie is set with SameSite=None, so a cross-site frame loads "
    "logged out: hardening only",
}


class _Verdict(Enum):
    open = "open"  # answered like the authenticated request
    enforced = "enforced"  # refused, or answered with a login / denial page
    unknown = "unknown"  # no usable answer, or an answer that is not the same content


@dataclass(frozen=True)
class _Outcome:
    operation: Operation
    baseline: Exchange
    anonymous: Exchange
    verdict: _Verdict
    confidence: Confidence = Confidence.firm
    reason: str = ""


@check(category="authentication", emits={_DECLARED, _SCHEME, _WWW}, per_operation=1)
async def declared_security(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Whether operations that the spec secures refuse requests without credentials.

    For each readable (GET/HEAD/OPTIONS) operation whose spec requires credentials and whose
    baseline, sent with the scan's credentials, answered 2xx, it re-sends the same request
    without credentials (one request per such operation). When the scan has no credentials the
    baseline itself is the anonymous request and nothing is re-sent.

    - declared-not-enforced: the anonymous request still gets 2xx with the same content:
      confirmed when its JSON has the baseline's shape (or the bodies are identical), firm
      when the content merely looks alike or when there was no credentialed baseline to
      compare. A 401/403, a redirect to a login page, a login form or a small "unauthorized"
      body count as enforced; a different-looking 2xx body is not reported.
    - scheme-not-enforced: a declared security scheme whose every tested operation answered
      anonymously (one finding on operation "*", parameter = the scheme's name).
    - missing-www-authenticate: 401 answers (baseline or these probes) without a
      WWW-Authenticate header; one finding for the target listing examples.
    """
    anonymous_scan = primary_name(ctx.scan) is None
    outcomes: dict[str, _Outcome] = {}
    unauthorized: list[tuple[str, Exchange]] = [
        (s.key, s.exchange) for s in sources(ctx) if _status(s.exchange) == 401
    ]
    async for operation, exchange in ctx.each(ctx.baseline.items()):
        if not operation.requires_auth or operation.method not in _SAFE_METHODS:
            continue
        if exchange.response is None:
            continue
        if anonymous_scan or exchange.request.identity == ANONYMOUS:
            outcome = _judge_unauthenticated(operation, exchange)
        elif exchange.answered:
            anonymous = await ctx.send(exchange.request.without_credentials())
            if _status(anonymous) == 401:
                unauthorized.append((operation.key, anonymous))
            outcome = _judge(operation, exchange, anonymous)
        else:
            continue
        outcomes[operation.key] = outcome
        if outcome.verdict is _Verdict.open:
            evidence: list[Exchange | tuple[str, Exchange]] = [("anonymous", outcome.anonymous)]
            if outcome.anonymous is not outcome.baseline:
                evidence.append(("baseline", outcome.baseline))
            yield ctx.finding(
                _DECLARED,
                operation,
                detail=f"expected 401 without credentials, got {_status(outcome.anonymous)} "
                f"for `{operation.key}`; {outcome.reason}",
                evidence=evidence,
                confidence=outcome.confidence,
            )
    for finding in _schemes_not_enforced(ctx, outcomes):
        yield finding
    missing = [(key, ex) for key, ex in unauthorized if not _has_www_authenticate(ex)]
    if missing:
        keys = list(dict.fromkeys(key for key, _ in missing))
        yield ctx.finding(
            _WWW,
            "*",
            detail=f"401 without a WWW-Authenticate header on {len(keys)} operation(s), e.g. "
            + ", ".join(f"`{k}`" for k in keys[:_EXAMPLES]),
            evidence=[missing[0][1]],
        )


@check(category="authentication", emits={_HEADERS})
async def security_headers(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Whether API responses carry X-Content-Type-Options and framing protection.

    Reads every baseline response (204, 304 and 1xx answers aside); sends no requests. Reports
    ``X-Content-Type-Options`` when a response lacks ``nosniff``, and ``X-Frame-Options`` when
    a response has neither ``X-Frame-Options: DENY/SAMEORIGIN`` nor a Content-Security-Policy
    with ``frame-ancestors``. One finding per header for the whole target (operation "*"),
    naming how many responses lack it and examples.

    A missing hardening header is informational unless it has an impact the answers show:
    ``nosniff`` matters (low) when a body is served with no ``Content-Type`` at all, which a
    browser would sniff; framing matters (low) when an HTML page with a form or button is
    served and the API sets a cookie with ``SameSite=None``, the only kind a cross-site frame
    carries (with Lax or Strict, the framed page loads logged out).
    """
    lacking: dict[str, list[tuple[str, Exchange]]] = {
        "X-Content-Type-Options": [],
        "X-Frame-Options": [],
    }
    impact: dict[str, str] = {}
    total = 0
    cross_site_cookie = False
    async for source in ctx.each(sources(ctx)):
        resp = source.exchange.response
        if resp is None or resp.status < 200 or resp.status in (204, 304):
            continue
        total += 1
        cross_site_cookie = cross_site_cookie or any(
            _SAMESITE_NONE.search(value) for value in resp.headers.get_all("set-cookie")
        )
        if (resp.headers.get("x-content-type-options") or "").strip().lower() != "nosniff":
            lacking["X-Content-Type-Options"].append((source.key, source.exchange))
            if resp.body.strip() and not resp.headers.get("content-type"):
                impact.setdefault(
                    "X-Content-Type-Options",
                    f"`{source.key}` serves a body without any Content-Type, which browsers sniff",
                )
        if not _frame_protected(resp.headers):
            lacking["X-Frame-Options"].append((source.key, source.exchange))
            if _ACTIVE_HTML.search(resp.text[:65536]) and "html" in (resp.content_type or ""):
                impact.setdefault(
                    "X-Frame-Options",
                    f"`{source.key}` serves an HTML page with controls a foreign site may frame",
                )
    if not cross_site_cookie:
        impact.pop("X-Frame-Options", None)
    for header, missing in lacking.items():
        if not missing:
            continue
        expected = (
            "nosniff" if header == "X-Content-Type-Options" else "DENY or CSP frame-ancestors"
        )
        examples = ", ".join(f"`{key}`" for key, _ in missing[:_EXAMPLES])
        why = impact.get(header)
        if why is not None and header == "X-Frame-Options":
            why += ", and a cookie set with SameSite=None travels into the frame"
        yield ctx.finding(
            _HEADERS,
            "*",
            parameter=header,
            detail=f"{len(missing)} of {total} responses lack {header} ({expected}), "
            f"e.g. {examples}; " + (why or _NO_IMPACT[header]),
            evidence=[missing[0][1]],
            severity=Severity.low if why else None,
        )


def _judge(operation: Operation, baseline: Exchange, anonymous: Exchange) -> _Outcome:
    """Compare the credentialed baseline with its anonymous replay."""
    base, anon = baseline.response, anonymous.response
    if anon is None or base is None:
        return _Outcome(operation, baseline, anonymous, _Verdict.unknown)
    if not anon.ok or looks_like_denial(anon):
        verdict = _Verdict.unknown if anon.status >= 500 else _Verdict.enforced
        return _Outcome(operation, baseline, anonymous, verdict)
    if anon.body == base.body:
        return _Outcome(
            operation,
            baseline,
            anonymous,
            _Verdict.open,
            Confidence.confirmed,
            "the anonymous body is identical to the authenticated one",
        )
    if base.is_json and anon.is_json and same_shape(base.json, anon.json):
        if is_empty_json(anon.json):
            return _Outcome(
                operation,
                baseline,
                anonymous,
                _Verdict.open,
                Confidence.firm,
                "the anonymous answer has the authenticated shape but holds no data",
            )
        return _Outcome(
            operation,
            baseline,
            anonymous,
            _Verdict.open,
            Confidence.confirmed,
            "the anonymous body has the same shape as the authenticated one",
        )
    if not base.is_json and not anon.is_json and similar_text(base, anon):
        return _Outcome(
            operation,
            baseline,
            anonymous,
            _Verdict.open,
            Confidence.firm,
            "the anonymous body looks like the authenticated one",
        )
    return _Outcome(operation, baseline, anonymous, _Verdict.unknown)


def _judge_unauthenticated(operation: Operation, exchange: Exchange) -> _Outcome:
    """A baseline sent without credentials: its own answer is the anonymous answer."""
    resp = exchange.response
    if resp is None or resp.status >= 500:
        return _Outcome(operation, exchange, exchange, _Verdict.unknown)
    if not resp.ok or looks_like_denial(resp):
        return _Outcome(operation, exchange, exchange, _Verdict.enforced)
    if resp.is_json and is_empty_json(resp.json):
        return _Outcome(operation, exchange, exchange, _Verdict.unknown)
    return _Outcome(
        operation,
        exchange,
        exchange,
        _Verdict.open,
        Confidence.firm,
        "the scan sent no credentials and the operation answered with data",
    )


def _schemes_not_enforced(ctx: CheckContext, outcomes: dict[str, _Outcome]) -> list[Finding]:
    spec = ctx.surface.spec
    names = list(spec.security_schemes) if spec is not None else []
    for operation in ctx.surface.operations:
        for requirement in operation.security or ():
            names += [n for n in requirement if n not in names]
    findings = []
    for name in names:
        tested = [
            outcome
            for outcome in outcomes.values()
            if outcome.verdict is not _Verdict.unknown
            and any(name in req for req in outcome.operation.security or ())
        ]
        if not tested or any(o.verdict is not _Verdict.open for o in tested):
            continue
        examples = ", ".join(f"`{o.operation.key}`" for o in tested[:_EXAMPLES])
        findings.append(
            ctx.finding(
                _SCHEME,
                "*",
                parameter=name,
                detail=f"all {len(tested)} tested operation(s) requiring `{name}` answered "
                f"without credentials, e.g. {examples}",
                evidence=[("anonymous", o.anonymous) for o in tested[:2]],
                confidence=min((o.confidence for o in tested), key=lambda c: c.rank),
            )
        )
    return findings


def _status(exchange: Exchange) -> int | None:
    return exchange.response.status if exchange.response is not None else None


def _has_www_authenticate(exchange: Exchange) -> bool:
    return exchange.response is not None and "www-authenticate" in exchange.response.headers


def _frame_protected(headers: Headers) -> bool:
    xfo = (headers.get("x-frame-options") or "").strip().lower()
    if xfo in ("deny", "sameorigin") or xfo.startswith("allow-from"):
        return True
    return any(
        "frame-ancestors" in csp.lower() for csp in headers.get_all("content-security-policy")
    )
