"""Data exposure: personal data, secrets, error internals and internal addresses in responses.

The checks read the baseline (every operation's response and the target's root) and send no
requests. Patterns live in ``knowledge/signatures/`` (pii, secrets, errors, debug_pages,
dynamodb, network); ``_validators`` adds the judgement a regex cannot make.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from middlebrick.checks._exposure import Group, Source, finding_of, group_hits, where
from middlebrick.checks._signatures import Hit
from middlebrick.checks._validators import key_tokens
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding

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

_LOGIN_OPERATION = re.compile(r"log-?in|sign-?in|sign_in|token|oauth|auth|session|refresh", re.I)


@check(category="data_exposure", emits={_EMAIL, _PHONE, _CARD, _SSN})
async def personal_data(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Personal data in responses: email addresses, phone numbers, card numbers, SSNs.

    Reads every baseline response (body and headers); sends no requests. A card number must be
    13–19 digits, pass Luhn, start like a real card (IIN) and not sit in an id, order or
    timestamp field. An SSN needs context: an ``ssn`` / ``social_security`` / ``tax_id`` field
    or nearby label, or a scan ``--context`` of medical or financial. Phone numbers need an
    international ``+`` form, a valid North-American form or a phone field; UUIDs, dates and
    version strings are not phones. Role mailboxes (support@, noreply@ …), file names such as
    ``logo@2x.png`` and URL credentials are not personal emails, and served API descriptions
    (their contact email) are skipped.

    One finding per type, operation and JSON field. Confidence is firm, or tentative for a
    single email address behind authentication (often the caller's own) and for phone numbers
    or SSNs recognised from format and scan context alone.
    """
    groups = group_hits(
        ctx, {_EMAIL, _PHONE, _CARD, _SSN}, parameter=lambda hit: hit.key, skip=_is_api_description
    )
    for group in groups:
        first = group.first
        masked = ", ".join(_mask(first.finding, value) for value in group.values())
        yield finding_of(
            ctx,
            group,
            parameter=first.key,
            detail=f"{masked} in the {where(first)} of the {group.source.status} response "
            f"to `{group.source.key}`",
            confidence=_pii_confidence(group),
        )


@check(category="data_exposure", emits={_SECRET, _PRIVATE_KEY, _JWT})
async def secrets(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Secrets in responses: cloud, payment and SaaS keys, private keys, and stray JWTs.

    Reads every baseline response (body and headers); sends no requests. Recognises AWS access
    key ids (AKIA/ASIA…) and secret keys next to their name, Stripe live keys (sk_live/rk_live),
    GitHub tokens (ghp_/gho_/ghs_/github_pat_), Slack tokens and webhooks, Google API keys,
    high-entropy values in ``api_key`` / ``*secret*`` / ``access_key`` fields, and PEM private
    keys. Documentation placeholders (AKIA…EXAMPLE, xxxx, ****), low-entropy values and the
    scan's own credentials echoed back are ignored. A JWT is reported when it is not in the
    token field of a login or token operation.

    One finding per type, operation and field (or signature, outside JSON fields).
    """
    groups = group_hits(
        ctx,
        {_SECRET, _PRIVATE_KEY, _JWT},
        parameter=lambda hit: hit.key or hit.signature,
        keep=_not_issued_token,
    )
    for group in groups:
        first = group.first
        masked = ", ".join(_mask(first.finding, value) for value in group.values())
        yield finding_of(
            ctx,
            group,
            parameter=first.key or first.signature,
            detail=f"{masked} ({', '.join(group.signature_ids)}) in the {where(first)} of the "
            f"{group.source.status} response to `{group.source.key}`",
        )


@check(category="data_exposure", emits={_STACK, _DEBUG, _DYNAMO_ERROR, _DYNAMO_RAW})
async def error_details(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Internals in responses: stack traces, debug pages, DynamoDB errors and wire format.

    Reads every baseline response, error responses included; sends no requests. Finds Python
    tracebacks and Java, Node.js, .NET and Go stack traces; the Werkzeug debugger, Django's
    DEBUG=True technical 500/404 pages (either apostrophe), Starlette/FastAPI's debug
    traceback page, Rails and Laravel debug pages; botocore ``ClientError`` text (``An error
    occurred (ValidationException) when calling the Query operation``), DynamoDB messages,
    table ARNs and exception names; raw AttributeValue JSON (``{"S": "…"}``),
    ``ResponseMetadata``, ``LastEvaluatedKey``, ``ConsumedCapacity``.

    One finding per type and operation; a debug page that shows a traceback gives both a
    debug-page and a stack-trace finding. Only errors the baseline itself met are seen: the
    input-validation checks are the ones that provoke errors on purpose.
    """
    groups = group_hits(ctx, {_STACK, _DEBUG, _DYNAMO_ERROR, _DYNAMO_RAW}, parameter=_none)
    for group in groups:
        first = group.first
        yield finding_of(
            ctx,
            group,
            parameter=None,
            detail=f"the {group.source.status} response to `{group.source.key}` contains "
            f"{_excerpt(first.match)!r} ({', '.join(group.signature_ids)})",
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
    groups = group_hits(ctx, {_INTERNAL}, parameter=lambda hit: hit.key)
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


def _pii_confidence(group: Group) -> Confidence:
    first = group.first
    if first.finding == _EMAIL:
        operation = group.source.operation
        public = operation is None or not operation.requires_auth
        return Confidence.firm if public or len(group.values()) > 1 else Confidence.tentative
    if first.finding in (_PHONE, _SSN):
        keyed = any(h.signature in ("phone-field", "ssn-field") for h in group.hits)
        return Confidence.firm if keyed or first.key else Confidence.tentative
    return Confidence.firm


def _mask(finding: str, value: str) -> str:
    """A value as shown in a detail sentence: enough to recognise it, not to reuse it."""
    if finding == _EMAIL:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    if finding == _CARD:
        digits = re.sub(r"\D", "", value)
        return f"{digits[:6]}{'*' * (len(digits) - 10)}{digits[-4:]}"
    if finding in (_PHONE, _SSN):
        keep = 2 if finding == _PHONE else 4
        count = sum(ch.isdigit() for ch in value)
        out, seen = [], 0
        for ch in value:
            if ch.isdigit():
                seen += 1
                out.append(ch if seen > count - keep else "*")
            else:
                out.append(ch)
        return "".join(out)
    if finding == _PRIVATE_KEY:
        return value
    return f"{value[:8]}…" if len(value) > 12 else "****"


def _excerpt(text: str, size: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 1] + "…"
