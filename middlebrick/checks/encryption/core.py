"""Encryption / transport: plain HTTP, HSTS, cookie flags and mixed content."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from middlebrick.checks._exposure import Source, finding_of, group_hits, sources
from middlebrick.checks._field_names import key_tokens
from middlebrick.checks._net import is_loopback, is_private, origin, same_host
from middlebrick.checks._validators import shannon_entropy
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.errors import ScopeViolation
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Exchange, Request

_PLAIN = "encryption.plain-http"
_HSTS_MISSING = "encryption.hsts-missing"
_HSTS_WEAK = "encryption.hsts-weak"
_COOKIE = "encryption.cookie-missing-flags"
_MIXED = "encryption.mixed-content"

HSTS_MIN_MAX_AGE = 15_552_000
"""180 days: the shortest HSTS max-age not reported as weak."""

_MAX_AGE = re.compile(r"""(?:^|;)\s*max-age\s*=\s*"?(\d+)"?""", re.I)
_INCLUDE_SUBDOMAINS = re.compile(r"(?:^|;)\s*includesubdomains\s*(?:;|$)", re.I)
_CSRF_WORDS = {"csrf", "xsrf", "csrftoken", "xsrftoken"}
# Words of a cookie name that say it authenticates (whole words of the name, split on
# separators and camelCase): the session cookies of the common frameworks (Django's
# `sessionid`, Express's `connect.sid`, Rails' `_app_session`, `remember_token`, JWT cookies)
# and single sign-on (SAML, OIDC).
_SESSION_WORDS = {
    "session", "sessionid", "sess", "sid", "token", "auth", "jwt", "login", "remember",
    "identity", "credential", "credentials", "sso", "saml", "oidc", "bearer", "refresh",
    "access", "userid", "uid",
}  # fmt: skip
_SESSION_FLAT = re.compile(r"sessid|sessionid")  # PHPSESSID, JSESSIONID, ASPSESSIONID…
_NOT_ASSESSED = (
    "; transport could not be assessed: browsers honour the header only over HTTPS, which a "
    "proxy in front of this server may terminate and add it"
)
_LAX = (
    "; browsers treat a cookie without SameSite as Lax, and cross-site writes are the CSRF "
    "defence's business: hardening only"
)
_TOKEN_LENGTH = 24
_TOKEN_ENTROPY = 3.5  # bits per character of a random session id


@check(category="encryption", emits={_PLAIN, _COOKIE}, max_requests=1)
async def plain_http(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Whether the API is served over plain HTTP without a redirect to HTTPS.

    For an http:// target it reads the baseline's answer to the target URL (sending one GET,
    without following redirects, only when the baseline has none) and reports when that
    answer is not a redirect to https://. For an https:// target it sends one GET to
    ``http://<host>`` on port 80 (same path), without following redirects, when the scan's
    scope admits it (it does for a target written without a port), and reports when the API
    answers it with 2xx, 401 or 403 instead of redirecting; no answer, or any other error, is
    fine. When port 80 is outside the scope the redirect is not assessed and the report says
    so in a note. Cookies that the plain-HTTP answer sets are audited as ``cookie_flags``
    audits the baseline's.

    A loopback or private-address target (localhost, 127.0.0.0/8, ::1, RFC 1918, link-local)
    served over http:// gets one informational finding saying transport was not assessed:
    local servers and origins behind a TLS-terminating proxy are expected to speak plain
    HTTP; an https:// loopback target is not probed (port 80 of a development machine is
    usually another program). Confidence is confirmed: the answer over HTTP is the proof.
    """
    target = ctx.scan.target
    scheme, host, _ = origin(target)
    if scheme == "http" and is_private(host):
        root = _target_exchange(ctx)
        where = "a loopback" if is_loopback(host) else "a private"
        yield ctx.finding(
            _PLAIN,
            "*",
            detail=f"transport was not assessed on a local target: {target} is {where} "
            "address, where plain HTTP is expected (TLS is usually terminated in front); scan "
            "the deployed URL to assess it",
            evidence=[root] if root is not None else [],
            severity=Severity.info,
            confidence=Confidence.tentative,
        )
        return
    fetched = None
    if scheme == "http":
        exchange = _target_exchange(ctx)
        if exchange is None:
            exchange = fetched = await _send(ctx, Request("GET", target))
    elif is_loopback(host):
        return
    else:
        counterpart = _http_counterpart(target)
        if not ctx.in_scope(counterpart):
            ctx.note(
                f"the HTTP to HTTPS redirect was not assessed: {origin(counterpart)[1]}:80 is "
                f"outside the scan's scope (the target {target} names its port)",
            )
            return
        exchange = fetched = await _send(ctx, Request("GET", counterpart))
    if fetched is not None and fetched.response is not None:
        path = urlsplit(fetched.request.url).path or "/"
        for finding in _cookie_findings(ctx, [Source(f"GET {path}", None, fetched)]):
            yield finding
    if exchange is None or exchange.response is None or _upgrades(exchange):
        return
    status = exchange.response.status
    if scheme == "https" and not (exchange.response.ok or status in (401, 403)):
        return
    yield ctx.finding(
        _PLAIN,
        "*",
        detail=f"expected a redirect to https://, got {status} over plain HTTP for "
        f"GET {exchange.request.url}",
        evidence=[exchange],
        confidence=Confidence.confirmed,
    )


@check(category="encryption", emits={_HSTS_MISSING, _HSTS_WEAK})
async def hsts(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Whether the API sends a strong Strict-Transport-Security header.

    Reads the baseline's responses from the target host; sends no requests. Over HTTPS, reports
    the header missing when no response carries it, and weak when the first one seen has a
    max-age under 15552000 seconds (180 days) or none; a missing includeSubDomains is noted in
    the detail. A target that answered only over plain HTTP (a local server, or an origin
    behind a TLS-terminating proxy) cannot be judged: browsers ignore the header there and the
    proxy in front usually sets it, so what the plain-HTTP answers show is reported at ``info``.
    """
    _, host, _ = origin(ctx.scan.target)
    answers = [s for s in sources(ctx) if _is_from(s.exchange, host)]
    secure = [s for s in answers if _is_https(s.exchange)]
    assessed = secure or answers
    if not assessed:
        return
    over = "HTTPS" if secure else "plain-HTTP"
    severity = None if secure else Severity.info
    caveat = "" if secure else _NOT_ASSESSED
    with_header = [s for s in assessed if _hsts_value(s.exchange)]
    if not with_header:
        examples = ", ".join(f"`{s.key}`" for s in assessed[:3])
        yield ctx.finding(
            _HSTS_MISSING,
            "*",
            detail=f"no Strict-Transport-Security header on any of {len(assessed)} {over} "
            f"responses (e.g. {examples}){caveat}",
            evidence=[assessed[0].exchange],
            severity=severity,
        )
        return
    source = with_header[0]
    value = _hsts_value(source.exchange) or ""
    found = _MAX_AGE.search(value)
    max_age = int(found.group(1)) if found else None
    if max_age is not None and max_age >= HSTS_MIN_MAX_AGE:
        return
    said = "no max-age" if max_age is None else f"max-age={max_age}"
    note = "" if _INCLUDE_SUBDOMAINS.search(value) else "; includeSubDomains is not set either"
    yield ctx.finding(
        _HSTS_WEAK,
        "*",
        detail=f"Strict-Transport-Security: {value!r} on `{source.key}` has {said}, expected at "
        f"least {HSTS_MIN_MAX_AGE} seconds (180 days){note}{caveat}",
        evidence=[source.exchange],
        severity=severity,
    )


@check(category="encryption", emits={_COOKIE})
async def cookie_flags(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Whether the cookies that authenticate carry Secure, HttpOnly and SameSite.

    Reads every Set-Cookie header of the baseline's responses, error answers and the target's
    root included; sends no requests. Only cookies that carry a session or credential are
    judged: a name whose words say session, sid, token, auth, JWT, login, remember … (whole
    words of the name: ``theme`` or ``fake`` are not), or a value that looks like a token (a
    JWT, or 24+ random characters); never CSRF-token cookies (csrftoken, XSRF-TOKEN), which
    scripts must read. Such a cookie needs HttpOnly and SameSite, and Secure when it is set over
    HTTPS: over plain HTTP (a local server, or an origin behind a TLS-terminating proxy)
    Secure cannot apply and transport is not assessed. Cookies being deleted (Max-Age=0, or
    Expires in the past) are ignored. One finding per cookie name for the whole target,
    listing every flag missing anywhere it is set; informational when only SameSite is
    missing (browsers default to Lax, and CSRF tokens guard writes).
    """
    for finding in _cookie_findings(ctx, sources(ctx)):
        yield finding


@check(category="encryption", emits={_MIXED})
async def mixed_content(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Whether HTTPS responses point clients back to plain HTTP.

    Reads the baseline's https:// responses; sends no requests. Reports HTML that loads
    scripts, styles, images, frames or media, or posts forms, over http://, and JSON or HTML
    that links to the API's own host over http:// (pagination and resource links built behind
    a TLS-terminating proxy). Plain links (``<a href>``) to other sites are not mixed content.
    One finding per operation.
    """
    groups = await group_hits(
        ctx,
        {_MIXED},
        parameter=lambda hit: None,
        skip=lambda source: not _is_https(source.exchange),
    )
    for group in groups:
        urls = ", ".join(group.values(5))
        yield finding_of(
            ctx,
            group,
            parameter=None,
            detail=f"the HTTPS response to `{group.source.key}` refers to {urls}",
        )


def _cookie_findings(ctx: CheckContext, answers: Iterable[Source]) -> list[Finding]:
    """One finding per cookie name set without a flag it needs, in any of ``answers``."""
    reported: dict[str, tuple[list[str], Source]] = {}
    for source in answers:
        resp = source.exchange.response
        if resp is None:
            continue
        scheme = origin(resp.url)[0]
        secure_expected = scheme == "https"
        for raw in resp.headers.get_all("set-cookie"):
            cookie = _parse_cookie(raw)
            if cookie is None or cookie.deleted(resp.headers.get("date")):
                continue
            missing = cookie.missing(secure_expected=secure_expected)
            if not missing:
                continue
            known = reported.setdefault(cookie.name, ([], source))[0]
            known += [flag for flag in missing if flag not in known]
    return [
        ctx.finding(
            _COOKIE,
            "*",
            parameter=name,
            detail=f"cookie `{name}` is set without {', '.join(missing)} (first seen on "
            f"`{source.key}`)" + (_LAX if missing == ["SameSite"] else ""),
            evidence=[source.exchange],
            severity=Severity.info if missing == ["SameSite"] else None,
        )
        for name, (missing, source) in reported.items()
    ]


def _http_counterpart(target: str) -> str:
    """The target's URL on plain HTTP's default port: ``https://h:8443/v1`` -> ``http://h/v1``."""
    parts = urlsplit(target)
    host = parts.hostname or ""
    return parts._replace(scheme="http", netloc=f"[{host}]" if ":" in host else host).geturl()


async def _send(ctx: CheckContext, request: Request) -> Exchange | None:
    try:
        return await ctx.send(request, follow_redirects=False)
    except ScopeViolation:
        return None


def _target_exchange(ctx: CheckContext) -> Exchange | None:
    """The baseline's answer to the target URL, else the first response from its host."""
    root = ctx.baseline.root
    if root is not None and root.response is not None:
        return root
    _, host, _ = origin(ctx.scan.target)
    for exchange in ctx.baseline.responses():
        if same_host(origin(exchange.request.url)[1], host):
            return exchange
    return None


def _upgrades(exchange: Exchange) -> bool:
    """True when the exchange ended on, or was redirected towards, an https:// URL."""
    resp = exchange.response
    if resp is None:
        return False
    if resp.url.startswith("https://") or any(u.startswith("https://") for u in resp.redirects):
        return True
    location = resp.headers.get("location") or ""
    return 300 <= resp.status < 400 and location.lower().startswith("https://")


def _is_https(exchange: Exchange) -> bool:
    return exchange.response is not None and exchange.response.url.startswith("https://")


def _is_from(exchange: Exchange, host: str) -> bool:
    resp = exchange.response
    return resp is not None and same_host(origin(resp.url)[1], host)


def _hsts_value(exchange: Exchange) -> str | None:
    return exchange.response.headers.get("strict-transport-security") if exchange.response else None


@dataclass(frozen=True)
class _Cookie:
    name: str
    value: str
    attributes: dict[str, str]

    def deleted(self, date_header: str | None) -> bool:
        max_age = self.attributes.get("max-age")
        if max_age is not None:
            return max_age.strip().lstrip("-").isdigit() and int(max_age) <= 0
        expires = _parse_date(self.attributes.get("expires"))
        if expires is None:
            return False
        now = _parse_date(date_header) or datetime.now(UTC)
        return expires <= now

    def missing(self, *, secure_expected: bool) -> list[str]:
        """The flags an authenticating cookie lacks; other cookies need none."""
        if not self.session_like():
            return []
        flags = []
        if secure_expected and "secure" not in self.attributes:
            flags.append("Secure")
        if "httponly" not in self.attributes:
            flags.append("HttpOnly")
        if not self.attributes.get("samesite"):
            flags.append("SameSite")
        return flags

    def session_like(self) -> bool:
        """A cookie that authenticates: named like a session or holding a token-like value."""
        named = key_tokens(self.name)
        if named & _CSRF_WORDS:
            return False
        if named & _SESSION_WORDS or _SESSION_FLAT.search(self.name.lower()):
            return True
        value = self.value.strip('"')
        return value.startswith("eyJ") or (
            len(value) >= _TOKEN_LENGTH and shannon_entropy(value) >= _TOKEN_ENTROPY
        )


def _parse_cookie(raw: str) -> _Cookie | None:
    head, *rest = raw.split(";")
    name, sep, value = head.partition("=")
    if not sep or not name.strip():
        return None
    attributes: dict[str, str] = {}
    for part in rest:
        key, _, val = part.partition("=")
        if key.strip():
            attributes[key.strip().lower()] = val.strip()
    return _Cookie(name.strip(), value.strip(), attributes)


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
