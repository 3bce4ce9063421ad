"""Authentication: the caller's identity taken from a client-sent header (X-User-ID and alike).

Services behind a gateway often trust a header the gateway sets (``X-User-ID``,
``X-Forwarded-User``, ALB's ``x-amzn-oidc-identity``); reachable directly, anybody can set it.
The check swaps the identity such a header names and watches whose data comes back.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from middlebrick.checks._compare import is_denied, is_empty_json, looks_like_denial, same_shape
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import ANONYMOUS, DEFAULT_IDENTITY, Exchange, Request, Response
from middlebrick.identities import Identity
from middlebrick.spec.model import Operation
from middlebrick.spec.values import harvest_ids
from middlebrick.tokens import bearer_token, decode_jwt

_FINDING = "authentication.identity-from-header"
_HEADERS = ("X-User-ID", "X-Forwarded-User", "X-Remote-User", "X-Amzn-Oidc-Identity")
_DECLARED = re.compile(
    r"x-(?:forwarded-|remote-|auth-|authenticated-|amzn-oidc-)?"
    r"(?:user|customer|member|owner|principal|identity)(?:[-_]?(?:id|name|email))?",
    re.I,
)
_USER_CLAIMS = ("sub", "user_id", "userId", "uid", "username", "preferred_username")
_TENANT_CLAIMS = ("tenant", "tenant_id", "tenantId", "tid", "org", "org_id", "orgId")
_OWNER_KEYS = frozenset(
    {"owner_id", "ownerId", "user_id", "userId", "uid", "account_id", "accountId"}
    | {"customer_id", "customerId", "created_by", "createdBy", "author_id", "member_id"}
)
_MAX_LEAVES = 5000
_MIN_TEXT_MATCH = 6
_MAX_HEADERS = 5
# the swap, the anonymous control, the header-only request, then one header at a time
_PER_OPERATION = 3 + _MAX_HEADERS


@dataclass(frozen=True)
class _Who:
    """A user as a header can name it: its identity (None: an id harvested) and user id."""

    identity: str | None
    user: str

    def __str__(self) -> str:
        if self.identity is None:
            return f"the owner {self.user}"
        return "the scan's identity" if self.identity == DEFAULT_IDENTITY else self.identity


@check(category="authentication", emits={_FINDING}, per_operation=_PER_OPERATION)
async def identity_from_header(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Whether a client-sent header (X-User-ID, X-Forwarded-User, …) decides who the caller is.

    Needs credentials. Headers tried: those the spec declares with a user-naming name
    (``X-User-Id``, ``X-Member-ID``, ``X-Authenticated-User`` …), then ``X-User-ID``,
    ``X-Forwarded-User``, ``X-Remote-User`` and ``X-Amzn-Oidc-Identity`` (five at most), each
    set to a user id (tenant headers are the BOLA category's tenant-switching test). For each
    GET operation whose baseline answered 2xx:

    1. *Swap*: when the baseline names the primary identity (its user id, e-mail …), the same
       request is re-sent with every header set to another identity's user id (its token's
       ``sub``; without a second identity, an owner id harvested from baseline records). The
       header is reported when the answer has the baseline's shape, names the other user and
       no longer names the primary: confirmed for a verified identity, firm for a harvested id.
    2. *Alone*: when the operation refuses an anonymous request (401/403 or a denial body),
       an anonymous request carrying the headers with the primary's own ids is sent. The
       header is reported when it gets the primary's content (identical body, or the same
       shape naming the primary): the header alone authenticates. Confirmed.

    A positive combined probe is attributed by re-sending one header at a time; one finding
    per operation and header (``parameter`` = the header). A service that ignores the headers
    answers exactly as before and stays quiet. At most 8 requests per operation, usually 2–3.
    """
    primary_identity = ctx.identities.primary
    primary = _who(ctx, primary_identity, primary=True) if primary_identity else None
    if primary_identity is None or primary is None:
        return
    mine = _distinctive(ctx, primary_identity, primary.user)
    other = _other_user(ctx, primary, mine)
    async for operation, exchange in ctx.each(ctx.baseline.successful()):
        if operation.method != "GET" or exchange.request.identity == ANONYMOUS:
            continue
        headers = _headers_for(operation)
        finding = None
        response = exchange.response
        if other is not None and response is not None and _names_any(response, mine):
            finding = await _swap(ctx, operation, exchange, headers, primary, other, mine)
        if finding is None:
            finding = await _alone(ctx, operation, exchange, headers, primary, mine)
        if finding is not None:
            yield finding


async def _swap(
    ctx: CheckContext,
    operation: Operation,
    exchange: Exchange,
    headers: Sequence[str],
    primary: _Who,
    other: _Who,
    mine: frozenset[str],
) -> Finding | None:
    """The primary's request naming another user in the headers: does its data come back?"""

    def switched(probe: Exchange) -> bool:
        return _switched(exchange, probe, other, mine)

    found = await _attribute(ctx, exchange.request, headers, other, switched)
    if found is None:
        return None
    names, probe = found
    status = probe.response.status if probe.response else None
    return ctx.finding(
        _FINDING,
        operation,
        parameter=names,
        detail=f"with {names} naming {other} ({other.user}) on {primary}'s own request, "
        f"`{operation.key}` answered {status} with the other user's record: the baseline's "
        f"shape, naming {other.user} and no longer {primary}; the header, not the credentials, "
        "decides whose data comes back",
        evidence=[(f"as {primary}", exchange), (f"as {primary} with {names}", probe)],
        confidence=Confidence.confirmed if other.identity else Confidence.firm,
    )


async def _alone(
    ctx: CheckContext,
    operation: Operation,
    exchange: Exchange,
    headers: Sequence[str],
    primary: _Who,
    mine: frozenset[str],
) -> Finding | None:
    """An anonymous request naming the primary in the headers: is it let in as the primary?"""
    anonymous = await ctx.send(exchange.request.without_credentials())
    if not is_denied(anonymous):
        return None

    def admitted(probe: Exchange) -> bool:
        return _admitted(exchange, probe, mine)

    found = await _attribute(ctx, anonymous.request, headers, primary, admitted)
    if found is None:
        return None
    names, probe = found
    statuses = [ex.response.status if ex.response else None for ex in (anonymous, probe)]
    return ctx.finding(
        _FINDING,
        operation,
        parameter=names,
        detail=f"an anonymous request to `{operation.key}` got {statuses[0]}; the same request "
        f"with {names}: {primary.user} (no credentials) got {statuses[1]} with the content "
        f"{primary} gets: the header alone authenticates the caller",
        evidence=[
            ("anonymous", anonymous),
            (f"anonymous with {names}", probe),
            (f"as {primary}", exchange),
        ],
        confidence=Confidence.confirmed,
    )


async def _attribute(
    ctx: CheckContext,
    request: Request,
    headers: Sequence[str],
    user: _Who,
    effect: Callable[[Exchange], bool],
) -> tuple[str, Exchange] | None:
    """Send every header at once; when ``effect`` shows, find the one header that causes it."""
    combined = await ctx.send(_naming(request, headers, user))
    if not effect(combined):
        return None
    if len(headers) == 1:
        return headers[0], combined
    for header in headers:
        single = await ctx.send(_naming(request, [header], user))
        if effect(single):
            return header, single
    return ", ".join(headers), combined


def _naming(request: Request, headers: Iterable[str], user: _Who) -> Request:
    for header in headers:
        request = request.with_header(header, user.user)
    return request


def _switched(baseline: Exchange, probe: Exchange, other: _Who, mine: frozenset[str]) -> bool:
    base, resp = baseline.response, probe.response
    if base is None or resp is None or not resp.ok or not resp.is_json or resp.body == base.body:
        return False
    if not same_shape(base.json, resp.json) or is_empty_json(resp.json):
        return False
    return _mentions(resp, other.user) and not _names_any(resp, mine)


def _admitted(baseline: Exchange, probe: Exchange, mine: frozenset[str]) -> bool:
    base, resp = baseline.response, probe.response
    if base is None or resp is None or not resp.ok or looks_like_denial(resp):
        return False
    if resp.body == base.body:
        return bool(resp.body)
    if not (base.is_json and resp.is_json and same_shape(base.json, resp.json)):
        return False
    return not is_empty_json(resp.json) and _names_any(resp, mine)


def _headers_for(operation: Operation) -> list[str]:
    declared = [p.name for p in operation.params("header") if _DECLARED.fullmatch(p.name)]
    names: list[str] = []
    for name in (*declared, *_HEADERS):
        if name.lower() not in {n.lower() for n in names}:
            names.append(name)
    return names[:_MAX_HEADERS]


def _who(ctx: CheckContext, identity: Identity, *, primary: bool) -> _Who | None:
    """How ``identity`` is named: its token's subject, else its longest verified self id."""
    user = _claim(_claims(ctx, identity, primary=primary), _USER_CLAIMS)
    if user is None:
        plain = sorted((v for v in identity.self_ids if "@" not in v), key=lambda v: (-len(v), v))
        user = plain[0] if plain else None
    return _Who(identity.name, user) if user else None


def _claims(ctx: CheckContext, identity: Identity, *, primary: bool) -> dict[str, Any]:
    headers: tuple[tuple[str, str], ...] = tuple(ctx.scan.headers) if primary else ()
    if not bearer_token(headers) and identity.name in ctx.scan.identities:
        headers = ctx.scan.identities[identity.name].headers
    token = bearer_token(headers)
    jwt = decode_jwt(token) if token else None
    return jwt.claims if jwt is not None else {}


def _distinctive(ctx: CheckContext, primary: Identity, user: str) -> frozenset[str]:
    """The values naming the primary alone: its self ids but its tenant and what others share."""
    mine = {*primary.self_ids, user}
    claims = _claims(ctx, primary, primary=True)
    mine -= {str(claims[name]) for name in _TENANT_CLAIMS if name in claims}
    for other in ctx.identities.others:
        mine -= other.self_ids
    return frozenset(v for v in mine if len(v) >= 2)


def _other_user(ctx: CheckContext, primary: _Who, mine: frozenset[str]) -> _Who | None:
    """Another identity's ids; without one, an owner id of a baseline record not the primary's."""
    for identity in ctx.identities.others:
        other = _who(ctx, identity, primary=False)
        if other is not None and other.user not in mine and other.user != primary.user:
            return other
    for exchange in ctx.baseline.responses():
        body = exchange.response.json if exchange.response is not None else None
        if body is None or not exchange.ok:
            continue
        for key, values in harvest_ids(body).items():
            for value in values:
                if key in _OWNER_KEYS and value not in mine and value != primary.user:
                    return _Who(None, value)
    return None


def _names_any(response: Response, values: Iterable[str]) -> bool:
    return any(_mentions(response, value) for value in values)


def _mentions(response: Response, value: str) -> bool:
    """True when a JSON leaf equals ``value``, or (for a long value) the body contains it."""
    if value in _leaves(response.json):
        return True
    return len(value) >= _MIN_TEXT_MATCH and value in response.text


def _leaves(data: Any) -> set[str]:
    found: set[str] = set()
    stack = [data]
    while stack and len(found) < _MAX_LEAVES:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node[:200])
        elif isinstance(node, str | int) and not isinstance(node, bool):
            found.add(str(node))
    return found


def _claim(claims: dict[str, Any], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = claims.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)
    return None
