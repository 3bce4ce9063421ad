"""Data exposure in URLs: personal data and credentials where logs, history and Referers see them.

A query parameter is judged as the JSON field ``"name": "value"`` would be, by the same
signatures and validators (``knowledge/signatures/pii.yaml``, ``secrets.yaml``), so the rules
for field names (an SSN needs an ssn-like name or a medical/financial context, a bare number
needs a phone-like name) hold for parameter names too.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator, Collection, Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from middlebrick.checks._exposure import Source, mask, reflected, sources
from middlebrick.checks._field_names import key_tokens
from middlebrick.checks._signatures import (
    CompiledSignature,
    Hit,
    ScanEnv,
    body_segments,
    scan_text,
    signature,
    signatures_for,
)
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Finding, Severity
from middlebrick.knowledge import catalogue

_URL = "data_exposure.sensitive-data-in-url"
_CONTENT = (
    "data_exposure.email-address",
    "data_exposure.phone-number",
    "data_exposure.card-number",
    "data_exposure.ssn",
    "data_exposure.secret-token",
    "data_exposure.private-key",
    "data_exposure.jwt-in-body",
    _URL,
)
_JWT = "data_exposure.jwt-in-body"

MAX_URLS = 50
"""URLs read per response (headers, redirect hops and body links together)."""

_MAX_QUERY = 4096  # characters of a query string (and of a fragment) that are judged
_BY_DESIGN = frozenset({"google-api-key"})  # browser keys sit in map and font URLs on purpose
# Parameters whose JWT-like value is a paging cursor or OAuth state, not a credential.
_STATE_WORDS = frozenset(
    {"cursor", "page", "next", "after", "before", "continuation", "marker", "state", "offset"}
)
# Signatures that decide by a field's name, each with a stand-in value it accepts: they judge
# a parameter's name alone. With what the name says it holds.
_STAND_INS = (
    ("url-credential-parameter", "q7Vx2LmP9sKd4RtZ8wYb", "a credential"),
    ("ssn-field", "219099999", "an SSN"),
    ("phone-field", "4155552671", "a phone number"),
)
_BODY_URL = re.compile(
    r"""(?:https?://|(?<=["'])/)[^\s"'<>\\?#]{0,2000}[?#][^\s"'<>\\]{1,4000}""", re.I
)
_LINK_TARGET = re.compile(r"<([^>]{1,4000})>")
_REFRESH_TARGET = re.compile(r"url\s*=\s*['\"]?([^'\"\s]{1,4000})", re.I)


@dataclass(frozen=True)
class _Place:
    """A URL the API handed out, and where in its response."""

    url: str
    where: str  # "Location header", "redirect", "link in the body"
    in_body: bool = False


@check(category="data_exposure", emits={_URL})
async def sensitive_urls(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Personal data and credentials in URLs: the API's redirects and links, and its parameters.

    Sends no requests. Reads, in every baseline response and the target's root, the URLs the
    API hands out — ``Location``, ``Content-Location``, ``Link`` and ``Refresh`` headers, the
    redirect hops the baseline followed, and links in bodies (up to 50 URLs per response) —
    and judges each query-string and fragment parameter as a JSON field of the same name: an
    email address, a phone number, a Luhn-valid card number, an SSN (in context), a secret key,
    a JWT, or a parameter named for a credential (``access_token``, ``api_key``, ``password``,
    ``client_secret``, ``session_id`` …) with a real value. A value that was in the request
    itself (an echo of the scan's own input) is not the API's doing and is skipped; paging
    cursors and OAuth ``state`` are not credentials; Google API keys are browser keys by design.

    It also reads the query parameters of every operation the baseline reached (2xx): those
    the spec declares and those the baseline's request sent. One named for a credential, an
    SSN or a phone number means the API asks its clients to put that in URLs; a name alone
    (a search filter named ``phone`` may hold anything) is informational.

    URLs end up in server, proxy and CDN logs, browser history and Referer headers. One finding
    per operation and parameter; its severity is the one the same data has in a body (an
    email address low, an SSN high, a secret key critical), medium for a credential named
    parameter.
    """
    env = ScanEnv.of(ctx.scan, ctx.base_url)
    sigs = tuple(s for s in signatures_for(_CONTENT) if s.id not in _BY_DESIGN)
    reported: set[tuple[str, str]] = set()
    async for source in ctx.each(sources(ctx)):
        for place in _places(source):
            for name, value in _parameters(place.url):
                if (source.key, name) in reported or reflected(value, source.exchange):
                    continue
                hit = _worst(_judge(name, value, sigs, env))
                if hit is None:
                    continue
                reported.add((source.key, name))
                yield _url_finding(ctx, source, place, name, hit)
    for finding in _requested(ctx, env, reported):
        yield finding


def _requested(
    ctx: CheckContext, env: ScanEnv, reported: set[tuple[str, str]]
) -> Iterator[Finding]:
    """Query parameters of reached operations that are named for a credential, SSN or phone."""
    for operation, exchange in ctx.baseline.successful():
        sent = [name for name, _ in _parameters(exchange.request.url)]
        declared = [p.name for p in operation.params("query")]
        for name in dict.fromkeys([*declared, *sent]):
            if (operation.key, name) in reported:
                continue
            kind = _named_kind(name, env)
            if kind is None:
                continue
            reported.add((operation.key, name))
            how = "declares" if name in declared else "took"
            status = exchange.response.status if exchange.response else None
            yield ctx.finding(
                _URL,
                operation,
                parameter=name,
                detail=f"`{operation.key}` {how} `{name}` as a query parameter ({kind}; the "
                f"baseline's request answered {status}): clients must put it in the URL, "
                "where logs, browser history and Referer headers keep it; the name alone says "
                f"so (a filter named like {kind} may hold anything), so this is information",
                evidence=[exchange],
                severity=Severity.info,
            )


def _named_kind(name: str, env: ScanEnv) -> str | None:
    """What a parameter's name alone says it holds."""
    for signature_id, stand_in, kind in _STAND_INS:
        if scan_text(json.dumps({name: stand_in}), "body", [signature(signature_id)], env):
            return kind
    return None


def _places(source: Source) -> Iterator[_Place]:
    """The URLs one response hands out: in its URL headers, its redirects and its body."""
    resp = source.exchange.response
    if resp is None:
        return
    count = 0
    found: list[_Place] = []
    for name, value in resp.headers:
        low = name.lower()
        if low in ("location", "content-location"):
            found.append(_Place(value.strip(), f"{name} header"))
        elif low == "link":
            found += [_Place(u, "Link header") for u in _LINK_TARGET.findall(value)]
        elif low == "refresh":
            found += [_Place(u, "Refresh header") for u in _REFRESH_TARGET.findall(value)]
    found += [_Place(hop, "redirect") for hop in resp.redirects]
    for place in found:
        yield place
        count += 1
    for segment in body_segments(source.exchange):
        for match in _BODY_URL.finditer(segment):
            if count >= MAX_URLS:
                return
            count += 1
            yield _Place(match.group(0), "link in the body", in_body=True)


def _parameters(url: str) -> list[tuple[str, str]]:
    """Query-string and fragment parameters of a URL, decoded (``&amp;`` of HTML too)."""
    try:
        parts = urlsplit(html.unescape(url))
    except ValueError:
        return []
    pairs: list[tuple[str, str]] = []
    for text in (parts.query, parts.fragment):
        if "=" in text:
            pairs += parse_qsl(text[:_MAX_QUERY])
    return pairs


def _judge(name: str, value: str, sigs: Collection[CompiledSignature], env: ScanEnv) -> list[Hit]:
    """The hits of one parameter, judged as the JSON field ``"name": "value"``."""
    hits = scan_text(json.dumps({name: value}), "body", sigs, env)
    if key_tokens(name) & _STATE_WORDS:
        hits = [hit for hit in hits if hit.finding != _JWT]
    return hits


def _worst(hits: list[Hit]) -> Hit | None:
    """The hit whose data is the most severe to expose."""
    return max(hits, key=lambda hit: _severity(hit.finding).rank, default=None)


def _severity(finding: str) -> Severity:
    return catalogue()[finding].severity


def _url_finding(ctx: CheckContext, source: Source, place: _Place, name: str, hit: Hit) -> Finding:
    value = mask(hit.finding, hit.value)
    what = catalogue()[hit.finding].title.lower() if hit.finding != _URL else "a credential"
    return ctx.finding(
        _URL,
        source.operation or source.key,
        parameter=name,
        detail=f"`{name}={value}` ({what}, {hit.signature}) in a URL the API handed out: the "
        f"{place.where} of the {source.status} response to `{source.key}` ({_bare(place.url)})",
        evidence=[source.exchange],
        severity=_severity(hit.finding),
        match=place.url if place.in_body else None,
    )


def _bare(url: str) -> str:
    """The URL without its query and fragment, which the detail must not repeat unmasked."""
    parts = urlsplit(html.unescape(url))
    bare = parts._replace(query="", fragment="").geturl()
    return (bare if len(bare) <= 120 else bare[:119] + "…") + "?…"
