"""Authentication: what an anonymous caller gets — sensitive data, or content behind a variant.

Both checks replay baseline requests without credentials: one reads what the anonymous
answers hold, the other sends variants of requests that the API refuses anonymously (HEAD,
a trailing slash, another letter case, a method-override header) and watches for content.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from urllib.parse import urlsplit

from middlebrick.checks._compare import is_denied, looks_like_denial, same_content
from middlebrick.checks._signatures import Hit, ScanEnv, scan_exchange, signatures_for
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import ANONYMOUS, Exchange, Request
from middlebrick.identities import primary_name
from middlebrick.spec.model import Operation

_SENSITIVE = "authentication.sensitive-data-without-auth"
_BYPASS = "authentication.auth-bypass-variant"

_SECRET_CLASS = frozenset(
    {
        "data_exposure.ssn",
        "data_exposure.card-number",
        "data_exposure.secret-token",
        "data_exposure.private-key",
    }
)
_PII_CLASS = frozenset({"data_exposure.email-address", "data_exposure.phone-number"})
_PRIVATE_WORDS = frozenset(
    {"me", "my", "profile", "profiles", "account", "accounts", "user", "users", "customer"}
    | {"customers", "member", "members", "order", "orders", "payment", "payments", "invoice"}
    | {"invoices", "billing", "export", "exports", "dump", "backup", "admin", "internal"}
    | {"private", "patient", "patients", "employee", "employees", "contact", "contacts"}
)
_WORD = re.compile(r"[a-z]+")
_OVERRIDE = ("X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override")

Variant = Callable[[Request, Operation], Request | None]


@check(category="authentication", emits={_SENSITIVE}, per_operation=1)
async def sensitive_data_without_auth(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Operations that hand personal data or secrets to a caller without credentials.

    For each GET operation whose baseline answered 2xx, the same request is sent without
    credentials (one request; none when the scan has no credentials: the baseline is already
    anonymous). The anonymous answer, when 2xx and not a denial, is read with the data-exposure
    signatures: SSNs, card numbers, API keys and private keys always count; e-mail addresses
    and phone numbers count when the operation looks private (the spec requires credentials,
    or its path names users, accounts, orders, payments, exports, admin …). Served API
    descriptions are skipped.

    One finding per operation, confirmed and high for secrets (the values are in the anonymous
    answer), firm and medium for contact data alone (e-mail addresses, phone numbers); the
    evidence is the anonymous exchange with the first match marked, and the credentialed
    baseline beside it.
    """
    sigs = signatures_for(_SECRET_CLASS | _PII_CLASS)
    env = ScanEnv.of(ctx.scan, ctx.base_url)
    credentials = primary_name(ctx.scan) is not None
    async for operation, exchange in ctx.each(ctx.baseline.successful()):
        if operation.method != "GET" or _is_api_description(exchange):
            continue
        anonymous = exchange
        if credentials and exchange.request.identity != ANONYMOUS:
            anonymous = await ctx.send(exchange.request.without_credentials())
        resp = anonymous.response
        if resp is None or not resp.ok or looks_like_denial(resp):
            continue
        hits = [h for h in scan_exchange(anonymous, sigs, env) if h.part == "body"]
        secrets = [h for h in hits if h.finding in _SECRET_CLASS]
        personal = [h for h in hits if h.finding in _PII_CLASS]
        if not secrets and not (personal and _looks_private(operation)):
            continue
        kept = secrets or personal
        evidence: list[Exchange | tuple[str, Exchange]] = [("anonymous", anonymous)]
        if anonymous is not exchange:
            evidence.append(("with credentials", exchange))
        yield ctx.finding(
            _SENSITIVE,
            operation,
            detail=f"without credentials `{operation.key}` answered {resp.status} with "
            f"{_kinds(kept)}",
            evidence=evidence,
            confidence=Confidence.confirmed if secrets else Confidence.firm,
            severity=None if secrets else Severity.medium,  # contact data alone: medium
            match=kept[0].match,
        )


@check(category="authentication", emits={_BYPASS}, per_operation=5)
async def auth_bypass_variants(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Variants of a refused anonymous request that get the content anyway.

    Needs credentials. For each GET operation whose baseline answered 2xx and whose anonymous
    replay is refused (401/403 or a denial body), four anonymous variants are sent, redirects
    not followed (at most 5 requests per operation):

    - ``HEAD``: the same URL with HEAD; counts when it answers 2xx with the baseline's media
      type and a ``Content-Length`` other than 0 (confirmed when it equals the baseline body's
      length, tentative when it differs or is absent); not sent when the anonymous GET was
      refused inside a 2xx (an error envelope), whose HEAD answers 2xx as well;
    - ``trailing-slash``: the path with a ``/`` appended;
    - ``path-case``: the path's fixed segments in upper case (path values kept);
    - ``X-HTTP-Method-Override``: the GET with ``X-HTTP-Method-Override``, ``X-HTTP-Method`` and
      ``X-Method-Override`` set to ``OPTIONS`` (an authentication rule that exempts preflight
      requests and trusts the override while the router does not).

    The GET variants count when they answer 2xx with the baseline's content (identical body
    or the same JSON shape with data: confirmed; similar non-JSON: firm). One finding per
    operation and variant (``parameter`` = the variant).
    """
    if primary_name(ctx.scan) is None:
        return
    async for operation, exchange in ctx.each(ctx.baseline.successful()):
        if operation.method != "GET" or exchange.request.identity == ANONYMOUS:
            continue
        anonymous = await ctx.send(exchange.request.without_credentials())
        if not is_denied(anonymous):
            continue
        in_body = anonymous.response is not None and anonymous.response.ok
        for name, variant in _VARIANTS:
            request = variant(anonymous.request, operation)
            if request is None or (in_body and request.method == "HEAD"):
                continue  # a refusal inside a 200 has a 2xx HEAD too: HEAD proves nothing
            probe = await ctx.send(request, follow_redirects=False)
            confidence = _served(exchange, probe)
            if confidence is None:
                continue
            statuses = [ex.response.status if ex.response else None for ex in (anonymous, probe)]
            yield ctx.finding(
                _BYPASS,
                operation,
                parameter=name,
                detail=f"`{operation.key}` refused an anonymous request with {statuses[0]}, "
                f"but the {name} variant ({request.method} {urlsplit(request.url).path}) "
                f"answered {statuses[1]} with the authenticated content",
                evidence=[
                    ("anonymous", anonymous),
                    (f"anonymous, {name}", probe),
                    ("with credentials", exchange),
                ],
                confidence=confidence,
            )


def _head(request: Request, operation: Operation) -> Request | None:
    return replace(request, method="HEAD")


def _trailing_slash(request: Request, operation: Operation) -> Request | None:
    parts = urlsplit(request.url)
    if parts.path.endswith("/"):
        return None
    return request.with_url(parts._replace(path=parts.path + "/").geturl())


def _path_case(request: Request, operation: Operation) -> Request | None:
    parts = urlsplit(request.url)
    actual, template = parts.path.split("/"), operation.path.split("/")
    offset = len(actual) - len(template)
    if offset < 0:
        return None
    values = {offset + i for i, seg in enumerate(template) if seg.startswith("{")}
    changed = [s if i in values else s.upper() for i, s in enumerate(actual)]
    if changed == actual:
        return None
    return request.with_url(parts._replace(path="/".join(changed)).geturl())


def _method_override(request: Request, operation: Operation) -> Request | None:
    for header in _OVERRIDE:
        request = request.with_header(header, "OPTIONS")
    return request


_VARIANTS: tuple[tuple[str, Variant], ...] = (
    ("HEAD", _head),
    ("trailing-slash", _trailing_slash),
    ("path-case", _path_case),
    ("X-HTTP-Method-Override", _method_override),
)


def _served(baseline: Exchange, probe: Exchange) -> Confidence | None:
    """How sure it is that ``probe`` got the baseline's content; None: it did not."""
    base, resp = baseline.response, probe.response
    if base is None or resp is None or not resp.ok or looks_like_denial(resp):
        return None
    if probe.request.method == "HEAD":
        if not base.body or resp.content_type != base.content_type:
            return None
        length = resp.headers.get("content-length")
        if length == str(len(base.body)):
            return Confidence.confirmed
        return None if length == "0" else Confidence.tentative
    return same_content(base, resp)


def _looks_private(operation: Operation) -> bool:
    if operation.requires_auth:
        return True
    words = set(_WORD.findall(operation.path.lower()))
    words |= set(_WORD.findall((operation.operation_id or "").lower()))
    return bool(words & _PRIVATE_WORDS)


def _is_api_description(exchange: Exchange) -> bool:
    doc = exchange.response.json if exchange.response is not None else None
    return isinstance(doc, dict) and ("openapi" in doc or "swagger" in doc) and "paths" in doc


def _kinds(hits: list[Hit]) -> str:
    """``ssn in `ssn`, secret-token in `api_key``` for a detail sentence (no values)."""
    seen: dict[tuple[str, str | None], None] = {}
    for hit in hits:
        seen.setdefault((hit.finding.split(".", 1)[1], hit.key), None)
    parts = [f"{kind} in `{key}`" if key else kind for kind, key in list(seen)[:5]]
    more = len(seen) - len(parts)
    return ", ".join(parts) + (f" and {more} more" if more > 0 else "")
