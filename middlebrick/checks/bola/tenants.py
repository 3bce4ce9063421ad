"""BOLA across tenants: a header or query parameter names the tenant, and nothing checks it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

from middlebrick.checks._compare import same_shape
from middlebrick.checks._owners import (
    Owners,
    claims,
    is_tenant_name,
    parent_of,
    readable,
    record_ids,
    records,
    row_id,
    tenant_of,
    tenant_values,
)
from middlebrick.checks._probe import with_parameter
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Exchange, Request
from middlebrick.identities import Identity
from middlebrick.spec.model import Operation, Parameter

_SWITCH = "bola.tenant-switch"
_GUESSES: tuple[tuple[Literal["header", "query"], str], ...] = (
    ("header", "X-Tenant-ID"),
    ("header", "X-Tenant"),
    ("query", "tenant"),
)

_GUESS_OPS = 3

Carrier = tuple[Literal["header", "query"], str]


@dataclass
class _Switch:
    """What one scan knows about switching tenants: whose tenant to ask for, what worked."""

    other: Identity  # a user of another tenant
    own_tenant: str
    tenant: str  # the other tenant's value
    members: frozenset[str]  # names of the identities in that tenant
    guesses_left: int = _GUESS_OPS  # operations the guessed carriers may still be tried on
    worked: list[Carrier] = field(default_factory=list)
    switched: dict[str, Exchange] = field(default_factory=dict)  # collection path -> probe


@check(category="bola", emits={_SWITCH}, per_operation=6)
async def tenant_switch(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Whether naming another tenant in a header or query parameter reads that tenant's data.

    Needs two identities of different tenants, told apart by a tenant claim of their tokens
    (``tenant``, ``tenant_id``, ``org_id``…). The carriers tried are the operation's declared
    header and query parameters named like a tenant (``X-Tenant-ID``, ``tenant``…); when none
    is declared, one that worked on another operation; else ``X-Tenant-ID``, ``X-Tenant`` and
    ``?tenant=`` are guessed, on at most 3 operations whose answers show the caller's tenant
    or own records. Each carries the other tenant's value on the primary's baseline request.

    - Collections: reported when the answer keeps the baseline's shape but its records now
      carry the other tenant (a tenant field with its value, an owner field naming one of its
      users) and no longer the caller's; or, once per operation, when it equals what a user
      of that tenant gets for the same request and differs from what the caller gets at the
      same time (two requests).
    - Objects (``/members/{member_id}``): an object of the other tenant is taken from the
      switched collection (or the collection read as that tenant's user); it must be denied
      to the primary without the carrier (the control) and returned with it.

    All findings are confirmed: the content shows the other tenant. At most 6 requests per
    operation. Tenants chosen by subdomain (``globex.api.example.com``) are not probed: that
    is another host, outside the scan's scope.
    """
    primary = ctx.identities.primary
    switch = _plan(ctx, primary)
    if primary is None or switch is None:
        return
    owners = Owners.of(ctx.identities)
    ordered = sorted(ctx.baseline.successful(), key=lambda pair: pair[0].path.count("{"))
    for op, baseline in ordered:
        if not readable(baseline) or baseline.response is None:
            continue
        carriers = _carriers(op, baseline.response.json, switch, owners)
        if not carriers:
            continue
        if parent_of(op.path) is None:
            finding = await _switch_collection(ctx, op, baseline, carriers, switch, owners)
        else:
            finding = await _switch_object(ctx, op, baseline, carriers, switch, owners)
        if finding is not None:
            yield finding


def _plan(ctx: CheckContext, primary: Identity | None) -> _Switch | None:
    if primary is None:
        return None
    own = tenant_of(claims(ctx.scan, primary.name, primary=True))
    if own is None:
        return None
    tenants = {
        other.name: tenant_of(claims(ctx.scan, other.name, primary=False))
        for other in ctx.identities.others
    }
    for other in ctx.identities.others:
        theirs = tenants[other.name]
        if theirs is not None and theirs[1] != own[1]:
            members = frozenset(
                name for name, t in tenants.items() if t is not None and t[1] == theirs[1]
            )
            return _Switch(other, own[1], theirs[1], members)
    return None


def _carriers(op: Operation, body: Any, switch: _Switch, owners: Owners) -> list[Carrier]:
    """Declared tenant parameters; else what worked before; else guesses, on a few operations.

    Guesses are tried only where the answer shows the caller's tenant or its own records, on
    at most ``_GUESS_OPS`` operations: an API that ignores them there ignores them anywhere.
    """
    declared: list[Carrier] = [
        (p.location, p.name)
        for p in op.parameters
        if p.location in ("header", "query") and is_tenant_name(p.name)
    ]
    if declared:
        return sorted(declared, key=lambda c: c not in switch.worked)[: len(_GUESSES)]
    if switch.worked:
        return list(switch.worked)
    shows = switch.own_tenant in tenant_values(body) or owners.names_primary(body)
    if switch.guesses_left <= 0 or not shows:
        return []
    switch.guesses_left -= 1
    return list(_GUESSES)


def _carry(request: Request, op: Operation, carrier: Carrier, value: str) -> Request | None:
    location, name = carrier
    if location == "header":
        return request.with_header(name, value)
    return with_parameter(request, op, Parameter(name, "query"), value)


def _shows_tenant(body: Any, baseline: Any, switch: _Switch, owners: Owners) -> bool:
    """True when a body moved to the other tenant: its value or users appear, the caller's go.

    Differential: the other tenant's value (or one of its users) must be new against the
    baseline, and the caller's tenant and own records absent.
    """
    values, before = tenant_values(body), tenant_values(baseline)
    users = {who.name for who in owners.named(body)} & switch.members
    users_before = {who.name for who in owners.named(baseline)} & switch.members
    arrived = (switch.tenant in values and switch.tenant not in before) or bool(
        users - users_before
    )
    left = switch.own_tenant not in values and not owners.names_primary(body)
    return arrived and left


async def _switch_collection(
    ctx: CheckContext,
    op: Operation,
    baseline: Exchange,
    carriers: list[Carrier],
    switch: _Switch,
    owners: Owners,
) -> Finding | None:
    base = baseline.response
    if base is None:
        return None
    compared = False
    for carrier in carriers:
        request = _carry(baseline.request, op, carrier, switch.tenant)
        if request is None:
            continue
        probe = await ctx.send(request)
        got = probe.response
        if not readable(probe) or got is None or got.body == base.body:
            continue
        if not same_shape(base.json, got.json):
            continue
        proof = "its records carry the other tenant"
        if not _shows_tenant(got.json, base.json, switch, owners):
            if compared:
                continue
            compared = True
            if not await _matches_other_tenant(ctx, baseline, got.body, switch):
                continue
            proof = f"its body is the one {switch.other.name!r} gets, not the caller's"
        switch.switched[op.path] = probe
        evidence = [("baseline", baseline), ("switched", probe)]
        return _finding(ctx, op, carrier, switch, evidence, proof)
    return None


async def _matches_other_tenant(
    ctx: CheckContext, baseline: Exchange, body: bytes, switch: _Switch
) -> bool:
    """True when ``body`` is what the other tenant's user gets now, and not what the caller gets.

    Two requests: the baseline again (uncached) as the caller, and as the other tenant's user.
    """
    again = await ctx.send(baseline.request.with_header("Cache-Control", "no-cache"))
    if again.response is None or again.response.body == body:
        return False
    theirs = await ctx.send(baseline.request.as_identity(switch.other.name))
    return theirs.response is not None and readable(theirs) and theirs.response.body == body


async def _switch_object(
    ctx: CheckContext,
    op: Operation,
    baseline: Exchange,
    carriers: list[Carrier],
    switch: _Switch,
    owners: Owners,
) -> Finding | None:
    base = baseline.response
    if base is None:
        return None
    target = await _other_tenant_object(ctx, op, baseline, switch)
    if target is not None and readable(target):
        return None  # read without any carrier: plain cross-access, not a tenant switch
    start = target.request if target is not None else baseline.request
    for carrier in carriers:
        request = _carry(start, op, carrier, switch.tenant)
        if request is None:
            continue
        probe = await ctx.send(request)
        got = probe.response
        if not readable(probe) or got is None or got.body == base.body:
            continue
        if not same_shape(base.json, got.json):
            continue
        if not _shows_tenant(got.json, base.json, switch, owners):
            continue
        evidence = [("baseline", baseline)]
        evidence += [("control: no tenant", target)] if target is not None else []
        evidence.append(("switched", probe))
        proof = "the object belongs to the other tenant"
        if target is not None:
            status = target.response.status if target.response is not None else "no answer"
            proof += f" and was denied ({status}) without the carrier"
        return _finding(ctx, op, carrier, switch, evidence, proof)
    return None


async def _other_tenant_object(
    ctx: CheckContext, op: Operation, baseline: Exchange, switch: _Switch
) -> Exchange | None:
    """The primary's request for an object of the other tenant, sent without any carrier."""
    parent, name = parent_of(op.path)  # type: ignore[misc]
    own = ctx.baseline.get(f"GET {parent}")
    own_body = own.response.json if own is not None and own.response is not None else None
    mine = {value for _, value in record_ids(own_body)}
    listed = switch.switched.get(parent)
    if listed is None:
        if own is None or not readable(own):
            return None
        listed = await ctx.send(own.request.as_identity(switch.other.name))
    body = listed.response.json if listed.response is not None and readable(listed) else None
    ids = [row_id(r, name) for r in records(body)]
    wanted = next((i for i in ids if i is not None and i not in mine), None)
    if wanted is None:
        return None
    request = with_parameter(baseline.request, op, Parameter(name, "path"), wanted)
    return await ctx.send(request) if request is not None else None


def _finding(
    ctx: CheckContext,
    op: Operation,
    carrier: Carrier,
    switch: _Switch,
    evidence: list[tuple[str, Exchange]],
    proof: str,
) -> Finding:
    location, name = carrier
    if carrier not in switch.worked:
        switch.worked.append(carrier)
    how = f"header `{name}: {switch.tenant}`" if location == "header" else f"`?{name}=`"
    primary = ctx.identities.primary
    who = primary.name if primary is not None else "the scan"
    return ctx.finding(
        _SWITCH,
        op,
        parameter=name,
        detail=f"as {who!r} (tenant {switch.own_tenant!r}), the {how} read the data of tenant "
        f"{switch.tenant!r} (the tenant of {switch.other.name!r}): {proof}; the "
        "tenant is taken from the request, not from the token",
        evidence=evidence,
        confidence=Confidence.confirmed,
    )
