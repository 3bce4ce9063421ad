"""Data exposure: personal data, secrets, error internals and internal addresses in responses.

The checks read the baseline (every operation's response and the target's root); only
``error_details`` also sends probes, to provoke errors. Patterns live in
``knowledge/signatures/`` (pii, secrets, errors, debug_pages, dynamodb, network);
``_validators`` adds the judgement a regex cannot make.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

from middlebrick.checks._exposure import Group, Source, finding_of, group_hits, mask, where
from middlebrick.checks._field_names import key_tokens
from middlebrick.checks._probe import BREAKER, current_value, with_parameter
from middlebrick.checks._signatures import Hit, ScanEnv, scan_exchange, signatures_for
from middlebrick.checks._validators import phone_key, ssn_key
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import ANONYMOUS, Exchange
from middlebrick.identities import primary_name
from middlebrick.spec.model import Operation, Parameter

_EMAIL = "data_exposure.email-address"
_PHONE = "data_exposure.phone-number"
_CARD = "data_exposure.card-number"
_SSN = "data_exposure.ssn"
_SECRET = "data_exposure.secret-token"
_PRIVATE_KEY = "data_exposure.private-key"
_JWT = "data_exposure.jwt-in-body"
_STACK = "data_exposure.stack-trace"
_DEBUG = "data_exposure.debug-page"
_DYNAMO_ERROR = "data_exposure.dynamodb-error-text"
_DYNAMO_RAW = "data_exposure.dynamodb-raw-attributes"
_INTERNAL = "data_exposure.internal-address"

_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_PAGE_SIZE = re.compile(
    r"(?i)limit|size|page_?size|per_?page|page_?limit|max_?(?:results|items|keys)|count|top|take"
)
_MEMBERS_ONLY = (
    "; returned to an authenticated caller: its own record or a directory the API's members "
    "share, information unless an anonymous caller or another tenant gets it"
)
_PROBED_PARAMETERS = 2

_LOGIN_OPERATION = re.compile(r"log-?in|sign-?in|sign_in|token|oauth|auth|session|refresh", re.I)


@check(category="data_exposure", emits={_EMAIL, _PHONE, _CARD, _SSN})
async def personal_data(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Personal data in responses: email addresses, phone numbers, card numbers, SSNs.

    Reads every baseline response body; sends no requests. A card number must be 13–19
    digits, pass Luhn, start like a real card (IIN) and not sit in an id, order or timestamp
    field. An SSN needs context: an ``ssn`` / ``social_security`` / ``tax_id`` field or
    nearby label, or, for the dashed ``123-45-6789`` form only, a scan ``--context`` of
    medical or financial; a bare 9-digit number counts only in such a field or after such a
    label, whatever the context. Phone numbers need an international ``+`` form, a valid
    North-American form or a phone field; UUIDs, dates and version strings are not phones.
    Role mailboxes (support@, noreply@ …), file names such as ``logo@2x.png`` and URL
    credentials are not personal emails, and served API descriptions (their contact email)
    are skipped.

    One finding per type, operation and JSON field. Confidence is firm, or tentative for a
    single email address behind authentication (often the caller's own) and for phone numbers
    or SSNs recognised from format and scan context alone.

    An email address returned to an authenticated caller is informational: it is the caller's
    own record, or a directory the API's members share by design (a project's creator, a team's
    member list). It is low only when the answer was anonymous (the scan had no credentials,
    or the baseline request was sent without them); another tenant's data is the BOLA checks'
    business.
    """
    groups = await group_hits(
        ctx, {_EMAIL, _PHONE, _CARD, _SSN}, parameter=lambda hit: hit.key, skip=_is_api_description
    )
    anonymous_scan = primary_name(ctx.scan) is None
    for group in groups:
        first = group.first
        masked = ", ".join(mask(first.finding, value) for value in group.values())
        member_only = (
            first.finding == _EMAIL
            and not anonymous_scan
            and group.source.exchange.request.identity != ANONYMOUS
        )
        yield finding_of(
            ctx,
            group,
            parameter=first.key,
            detail=f"{masked} in the {where(first)} of the {group.source.status} response "
            f"to `{group.source.key}`" + (_MEMBERS_ONLY if member_only else ""),
            confidence=_pii_confidence(group, ctx.scan.context.value),
            severity=Severity.info if member_only else None,
        )


@check(category="data_exposure", emits={_SECRET, _PRIVATE_KEY, _JWT})
async def secrets(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Secrets in responses: cloud, payment and SaaS keys, private keys, and stray JWTs.

    Reads every baseline response body; sends no requests. Recognises AWS access key ids
    (AKIA/ASIA…) and secret keys next to their name, Stripe live keys (sk_live/rk_live),
    GitHub tokens (ghp_/gho_/ghs_/github_pat_), Slack tokens and webhooks, Google API keys,
    high-entropy values in ``api_key`` / ``*secret*`` / ``access_key`` fields, and PEM private
    keys. Documentation placeholders (AKIA…EXAMPLE, xxxx, ****), low-entropy values and the
    scan's own credentials echoed back are ignored. A JWT is reported when it is not in the
    token field of a login or token operation.

    One finding per type, operation and field (or signature, outside JSON fields).
    """
    groups = await group_hits(
        ctx,
        {_SECRET, _PRIVATE_KEY, _JWT},
        parameter=lambda hit: hit.key or hit.signature,
        keep=_not_issued_token,
    )
    for group in groups:
        first = group.first
        masked = ", ".join(mask(first.finding, value) for value in group.values())
        yield finding_of(
            ctx,
            group,
            parameter=first.key or first.signature,
            detail=f"{masked} ({', '.join(group.signature_ids)}) in the {where(first)} of the "
            f"{group.source.status} response to `{group.source.key}`",
        )


@check(
    category="data_exposure",
    emits={_STACK, _DEBUG, _DYNAMO_ERROR, _DYNAMO_RAW},
    per_operation=_PROBED_PARAMETERS,
)
async def error_details(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Internals in responses: stack traces, debug pages, DynamoDB errors and wire format.

    Reads every baseline response, error responses included. Finds Python tracebacks and
    Java, Node.js, .NET and Go stack traces; the Werkzeug debugger, Django's DEBUG=True
    technical 500/404 pages (either apostrophe), Starlette/FastAPI's debug traceback page,
    Rails and Laravel debug pages; botocore ``ClientError`` text (``An error occurred
    (ValidationException) when calling the Query operation``), DynamoDB messages, table ARNs
    and exception names; raw AttributeValue JSON (``{"S": "…"}``), ``ResponseMetadata``,
    ``LastEvaluatedKey``, ``ConsumedCapacity``.

    Then it provokes errors: for each readable operation (not refused with 401/403) it re-sends
    the baseline request with one parameter (its first two path or query parameters, one
    request each) set to ``'")(`` (for a JSON-valued parameter: the same JSON with every string
    replaced by it; for a page size such as ``limit``: ``0``), and reads the answer for the
    same signatures. What a probe reveals
    is reported with ``parameter`` = the probed parameter, unless the baseline already showed
    the same kind of leak on that operation.

    One finding per type, operation and parameter; a debug page that shows a traceback gives
    both a debug-page and a stack-trace finding.
    """
    groups = await group_hits(ctx, {_STACK, _DEBUG, _DYNAMO_ERROR, _DYNAMO_RAW}, parameter=_none)
    for group in groups:
        yield finding_of(
            ctx,
            group,
            parameter=None,
            detail=f"the {group.source.status} response to `{group.source.key}` contains "
            f"{_excerpt(group.first.match)!r} ({', '.join(group.signature_ids)})",
        )
    shown = {(g.first.finding, g.source.key) for g in groups}
    provoke = partial(_provoke_errors, ctx, shown)
    async for finding in ctx.each_at_once(ctx.baseline.items(), provoke):
        yield finding


async def _provoke_errors(
    ctx: CheckContext, shown: set[tuple[str, str]], item: tuple[Operation, Exchange]
) -> AsyncIterator[Finding]:
    """The internals one operation shows when its parameters are broken (``error_details``)."""
    operation, exchange = item
    resp = exchange.response
    if operation.method not in _SAFE_METHODS or resp is None or resp.status in (401, 403):
        return
    sigs = signatures_for({_STACK, _DEBUG, _DYNAMO_ERROR})
    env = ScanEnv.of(ctx.scan, ctx.base_url)
    for parameter in probe_parameters(operation, _PROBED_PARAMETERS):
        value = broken_value(parameter, current_value(exchange.request, operation, parameter))
        request = with_parameter(exchange.request, operation, parameter, value)
        if request is None:
            continue
        probe = await ctx.send(request)
        source = Source(operation.key, operation, probe)
        for group in _by_finding(scan_exchange(probe, sigs, env), source):
            if (group.first.finding, operation.key) in shown:
                continue
            yield finding_of(
                ctx,
                group,
                parameter=parameter.name,
                detail=f"{parameter.name}={value!r} made `{operation.key}` answer "
                f"{source.status} with {_excerpt(group.first.match)!r} "
                f"({', '.join(group.signature_ids)})",
                label="probe",
            )


@check(category="data_exposure", emits={_INTERNAL})
async def internal_addresses(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Internal network addresses in responses: private IPs, internal hosts, loopback URLs.

    Reads every baseline response's body, headers and redirect URLs; sends no requests. Finds
    RFC 1918 and link-local IPv4 addresses, ``*.internal`` / ``*.intranet`` host names (EC2's
    ``ip-10-….ec2.internal``), ``*.local`` / ``*.lan`` / ``*.corp`` hosts inside URLs, and
    loopback service URLs (``redis://localhost``, ``http://127.0.0.1:9000``). The scan's own
    target host (and, for a loopback target, its own port) is never reported; version strings
    such as ``10.2.0.1`` next to "version" are not addresses.

    One finding per operation and field or header.
    """
    groups = await group_hits(ctx, {_INTERNAL}, parameter=lambda hit: hit.key)
    for group in groups:
        first = group.first
        yield finding_of(
            ctx,
            group,
            parameter=first.key,
            detail=f"{', '.join(group.values())} in the {where(first)} of the "
            f"{group.source.status} response to `{group.source.key}`",
        )


def _none(hit: Hit) -> None:
    return None


def _by_finding(hits: list[Hit], source: Source) -> list[Group]:
    """Hits of one response grouped by finding type, in the order first seen."""
    groups: dict[str, Group] = {}
    for hit in hits:
        groups.setdefault(hit.finding, Group(source, hit)).hits.append(hit)
    return list(groups.values())


def _is_api_description(source: Source) -> bool:
    """A served OpenAPI/Swagger document: its contact email is not a leak."""
    resp = source.exchange.response
    doc = resp.json if resp is not None else None
    return isinstance(doc, dict) and ("openapi" in doc or "swagger" in doc) and "paths" in doc


def _not_issued_token(hit: Hit, source: Source) -> bool:
    """Drop a JWT in the token field of a login / token-issuing operation (its job)."""
    if hit.finding != _JWT:
        return True
    operation = source.operation
    text = source.key
    if operation is not None:
        text += f" {operation.operation_id or ''} {operation.summary} {' '.join(operation.tags)}"
    tokens = key_tokens(hit.key)
    token_field = hit.key is None or bool(tokens & {"token", "jwt", "bearer"})
    return not (token_field and _LOGIN_OPERATION.search(text))


def _pii_confidence(group: Group, context: str) -> Confidence:
    first = group.first
    if first.finding == _EMAIL:
        operation = group.source.operation
        public = operation is None or not operation.requires_auth
        return Confidence.firm if public or len(group.values()) > 1 else Confidence.tentative
    if first.finding == _PHONE:
        labelled = phone_key(first.key) or first.signature == "phone-international"
        return Confidence.firm if labelled else Confidence.tentative
    if first.finding == _SSN and not ssn_key(first.key) and context in ("medical", "financial"):
        return Confidence.tentative  # the scan's context may be all that made it an SSN
    return Confidence.firm


def _excerpt(text: str, size: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 1] + "…"


def probe_parameters(operation: Operation, limit: int) -> list[Parameter]:
    """The operation's path then query parameters, at most ``limit`` of them."""
    return [*operation.params("path"), *operation.params("query")][:limit]


def broken_value(parameter: Parameter, current: str | None) -> str:
    """The value most likely to break what ``parameter`` feeds, without changing data.

    ``0`` for a page-size parameter (``limit``, ``page_size`` …: a database rejects a page of
    nothing), the same JSON with every string replaced by ``BREAKER`` for a JSON-valued
    parameter, else ``BREAKER``.
    """
    if _PAGE_SIZE.fullmatch(parameter.name):
        return "0"
    if current and current.lstrip()[:1] in ("{", "["):
        try:
            document = json.loads(current)
        except ValueError:
            return BREAKER
        return json.dumps(_break_strings(document), separators=(",", ":"))
    return BREAKER


def _break_strings(value: Any) -> Any:
    if isinstance(value, str):
        return BREAKER
    if isinstance(value, list):
        return [_break_strings(v) for v in value]
    if isinstance(value, dict):
        return {k: _break_strings(v) for k, v in value.items()}
    return value
