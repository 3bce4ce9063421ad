"""BOLA by a query parameter that names the owner: ``?user_id=`` replaces the caller."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

from middlebrick.checks._compare import same_shape
from middlebrick.checks._owners import (
    Owners,
    claims,
    counterpart,
    is_collection,
    owner_fields,
    parent_of,
    readable,
    record_ids,
    records,
    scalar,
)
from middlebrick.checks._probe import with_parameter
from middlebrick.checks.bola._foreign import foreign_object
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Exchange
from middlebrick.identities import Identity
from middlebrick.spec.model import Operation, Parameter

_OVERRIDE = "bola.owner-override-parameter"
_OWNER_PARAM = re.compile(
    r"(?i)^(?:owner|owner_?id|user_?id|uid|account_?id|customer_?id|as_?user|"
    r"for_?user|on_?behalf_?of|impersonate)$"
)
_GUESSES = ("user_id", "owner_id", "owner")


@check(category="bola", emits={_OVERRIDE}, per_operation=5)
async def owner_override(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Whether a query parameter naming a user makes the API read that user's objects.

    Needs two identities. The parameters tried are the operation's declared query parameters
    named like an owner (``user_id``, ``owner``, ``owner_id``, ``account_id``…); when none is
    declared, ``user_id``, ``owner_id`` and ``owner`` are guessed, only on operations whose
    baseline records name the primary identity as owner and no one else. The value is the
    other identity's id of the same kind (its record's owner field, else its token's claim
    matching the primary's owner value, else its ``sub``).

    - Object operations (``/items/{item_id}``): another identity's object is taken from the
      parent collection's baseline (records naming it) or from the parent collection read as
      that identity (one request). The object is requested as the primary without override
      (the control: it must be denied) and then with each parameter: reported, confirmed,
      when the override returns the object (the same shape as the baseline, its id or owner
      field naming the other identity).
    - Collections: the baseline request plus the parameter; confirmed when the records now
      name the other identity and no longer the primary.

    At most 5 requests per operation.
    """
    primary = ctx.identities.primary
    if primary is None or not ctx.identities.others:
        return
    owners = Owners.of(ctx.identities)
    async for op, baseline in ctx.each(ctx.baseline.successful()):
        if not readable(baseline) or baseline.response is None:
            continue
        body = baseline.response.json
        names = [p.name for p in op.params("query") if _OWNER_PARAM.match(p.name)][:3]
        if not names and owners.names_primary(body) and not owners.names_other(body):
            names = list(_GUESSES)
        if not names:
            continue
        if parent_of(op.path) is not None:
            finding = await _override_object(ctx, op, baseline, names, owners, primary)
        elif is_collection(body):
            finding = await _override_collection(ctx, op, baseline, names, owners, primary)
        else:
            finding = None
        if finding is not None:
            yield finding


async def _override_object(
    ctx: CheckContext,
    op: Operation,
    baseline: Exchange,
    names: list[str],
    owners: Owners,
    primary: Identity,
) -> Finding | None:
    foreign = await foreign_object(ctx, op, baseline, owners)
    if foreign is None or readable(foreign.control) or baseline.response is None:
        return None
    value = _value(ctx, owners, foreign.owner, foreign.record, baseline)
    wanted = foreign.id
    for name in names:
        probe_request = with_parameter(foreign.control.request, op, Parameter(name, "query"), value)
        if probe_request is None:
            continue
        probe = await ctx.send(probe_request)
        got = probe.response
        if not readable(probe) or got is None or not same_shape(baseline.response.json, got.json):
            continue
        ids = {v for _, v in record_ids(got.json)}
        named = owners.names_other(got.json)
        if wanted not in ids and (named is None or named.name != foreign.owner.name):
            continue
        control_status = foreign.control.response.status if foreign.control.response else "?"
        return ctx.finding(
            _OVERRIDE,
            op,
            parameter=name,
            detail=f"as {primary.name!r}, an object of {foreign.owner.name!r} ({wanted}) was "
            f"denied ({control_status}) but returned ({got.status}) once `?{name}=` named "
            f"{foreign.owner.name!r}: the query parameter replaces the caller as the owner",
            evidence=[("control: no override", foreign.control), (f"?{name}= override", probe)],
            confidence=Confidence.confirmed,
        )
    return None


async def _override_collection(
    ctx: CheckContext,
    op: Operation,
    baseline: Exchange,
    names: list[str],
    owners: Owners,
    primary: Identity,
) -> Finding | None:
    other = ctx.identities.others[0]
    value = _value(ctx, owners, other, {}, baseline)
    for name in names:
        probe_request = with_parameter(baseline.request, op, Parameter(name, "query"), value)
        if probe_request is None:
            continue
        probe = await ctx.send(probe_request)
        got = probe.response
        if not readable(probe) or got is None:
            continue
        named = owners.names_other(got.json)
        if named is None or owners.names_primary(got.json):
            continue
        return ctx.finding(
            _OVERRIDE,
            op,
            parameter=name,
            detail=f"as {primary.name!r}, adding `?{name}=` with the id of {named.name!r} "
            f"turned the list of records of {primary.name!r} into the records of {named.name!r} "
            f"({len(records(got.json))} records whose owner field names {named.name!r})",
            evidence=[(f"as {primary.name}", baseline), (f"?{name}= override", probe)],
            confidence=Confidence.confirmed,
        )
    return None


def _value(
    ctx: CheckContext,
    owners: Owners,
    other: Identity,
    record: dict[str, Any],
    baseline: Exchange,
) -> str:
    """The other identity's id of the kind the API uses for owners."""
    for value in owner_fields(record).values():
        who = owners.by_value.get(value)
        if who is not None and who.name == other.name:
            return value
    primary = owners.primary
    mine = claims(ctx.scan, primary.name if primary else None, primary=True)
    theirs = claims(ctx.scan, other.name, primary=False)
    body = baseline.response.json if baseline.response is not None else None
    for row in records(body):
        for value in owner_fields(row).values():
            match = counterpart(value, mine, theirs)
            if match is not None:
                return match
    sub = scalar(theirs.get("sub"))
    if sub is not None:
        return sub
    values = owners.values_of(other)
    return values[0] if values else other.name
