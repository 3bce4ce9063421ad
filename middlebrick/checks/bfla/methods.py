"""BFLA, active: writes to other users' account records by an identity without admin rights."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from middlebrick.checks._privilege import Standing, ordinary
from middlebrick.checks._probe import current_value, with_parameter
from middlebrick.checks._properties import (
    flat,
    is_privileged_input,
    is_role,
    names_principal,
    owner_values,
    sensitivity,
    shown,
)
from middlebrick.checks._schemas import shape
from middlebrick.checks._writes import Change, fresh, json_media, read_twin, record_of
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Exchange, Request
from middlebrick.spec.model import Operation, Parameter
from middlebrick.spec.values import harvest_ids

_METHOD = "bfla.privileged-method-allowed"

_ACCOUNT_WORDS = {
    "user", "users", "member", "members", "account", "accounts", "profile", "profiles",
    "customer", "customers", "employee", "employees", "staff",
}  # fmt: skip
_KEY_LIKE = {"id", "pk", "sk", "key", "uuid", "createdat", "updatedat", "version", "etag"}


@check(category="bfla", emits={_METHOD}, mode="active", per_operation=5)
async def privileged_methods(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Other users' account records changed by an identity without administrative rights.

    Acts as the first identity known to be an ordinary user (its token's ``role`` / ``groups``
    / ``scope`` claims or its own record say so, nothing grants administration), the scan's own
    identity preferred; without one the check sends nothing. For each PATCH operation on an
    account resource — its GET twin (same path) answered the baseline with a record that names
    a user (``user_id``, ``email`` …) or its path speaks of users, members, accounts, profiles
    — it takes another record's id from the baseline of the parent list (``/members`` for
    ``/members/{member_id}``) and, as that identity, at most five requests:

    1. reads the other record (GET); it must answer 2xx and not name the acting identity;
    2. PATCHes one harmless field the request schema declares and the record shows: to another
       value of its ``enum`` when it has one (``status: active`` -> ``away``), else to the value
       it already has (a no-op); roles, flags, owners, keys and sensitive fields are never
       chosen;
    3. reads it back, writes the original value back and reads once more.

    Confirmed when the new value is read back; firm when a no-op write of another user's record
    answered 2xx. The detail names the acting identity and how its rights are known, the record,
    the change and whether restoring the original value was confirmed.
    """
    actor = ordinary(ctx)
    if actor is None:
        return
    as_actor = None if actor.identity is ctx.identities.primary else actor.identity.name
    async for operation in ctx.each(ctx.surface.operations):
        if operation.method != "PATCH" or not operation.params("path"):
            continue
        twin = read_twin(ctx, operation)
        if twin is None or not _account_resource(twin[0], record_of(twin[1])):
            continue
        read_op, read = twin
        parameter = read_op.params("path")[-1]
        target = _other_id(ctx, read_op, parameter, current_value(read.request, read_op, parameter))
        if target is None:
            continue
        request = with_parameter(read.request, read_op, parameter, target)
        if request is None:
            continue
        if as_actor is not None:
            request = request.as_identity(as_actor)
        finding = await _try_change(ctx, operation, request, actor)
        if finding is not None:
            yield finding


async def _try_change(
    ctx: CheckContext, operation: Operation, read: Request, actor: Standing
) -> Finding | None:
    """Change one harmless field of another user's record as ``actor``; the finding, if any."""
    before_exchange = await ctx.send(fresh(read, 0))
    before = record_of(before_exchange)
    if before is None or owner_values(before) & set(actor.identity.self_ids):
        return None
    planned = _harmless_change(operation, before)
    if planned is None:
        return None
    key, new = planned
    change = Change(read, json_media(operation), original={key: before[key]}, wanted={key: new})
    if not await change.apply(ctx):
        return None
    whose = _whose(ctx, before)
    evidence: list[tuple[str, Exchange]] = [("read other's record", before_exchange)]
    evidence += change.exchanges
    if change.stuck:
        what = f"set `{key}` from {shown(before[key])} to {shown(new)}, and a GET read it back"
        confidence = Confidence.confirmed
    elif new == before[key]:
        what = f"wrote `{key}`={shown(new)} (its current value) and was answered 2xx"
        confidence = Confidence.firm
    else:
        return None
    return ctx.finding(
        _METHOD,
        operation,
        detail=f"as {actor.who}, `PATCH {read.url}` ({whose}) {what}; {change.restore_sentence()}",
        evidence=evidence,
        confidence=confidence,
    )


def _account_resource(read_op: Operation, record: Mapping[str, Any] | None) -> bool:
    """True when the records behind ``read_op`` are accounts: they name a user, or the path says."""
    if record is None:
        return False
    words = {segment.lower() for segment in read_op.path.split("/") if "{" not in segment}
    return names_principal(record) or bool(words & _ACCOUNT_WORDS)


def _other_id(
    ctx: CheckContext, read_op: Operation, parameter: Parameter, own: str | None
) -> str | None:
    """Another record's id, from the parent list's baseline (``/members`` for ``/members/{id}``)."""
    parent = read_op.path.rsplit("/", 1)[0] or "/"
    exchange = ctx.baseline.get(f"GET {parent}")
    if exchange is None or not exchange.ok or exchange.response is None:
        return None
    found = harvest_ids(exchange.response.json)
    for key in (parameter.name, "id"):
        for value in found.get(key, []):
            if value != own:
                return value
    return None


def _harmless_change(operation: Operation, record: Mapping[str, Any]) -> tuple[str, Any] | None:
    """A field the write declares and the record shows, and the value to write to it."""
    body = operation.request_body
    declared = shape(body.schema).properties if body is not None else {}
    fallback: tuple[str, Any] | None = None
    for key, schema in declared.items():
        value = record.get(key)
        if not _harmless(key, value, record):
            continue
        other = next(
            (
                option
                for option in schema.get("enum") or ()
                if option != value and isinstance(option, type(value))
            ),
            None,
        )
        if other is not None:
            return key, other
        fallback = fallback or (key, value)
    return fallback


def _harmless(key: str, value: Any, record: Mapping[str, Any]) -> bool:
    if not isinstance(value, str | int) or isinstance(value, bool) or value == "":
        return False
    name = flat(key)
    return not (
        name in _KEY_LIKE
        or name.endswith("id")
        or is_privileged_input(key)
        or is_role(key, value, record)
        or sensitivity(key, value) is not None
    )


def _whose(ctx: CheckContext, record: Mapping[str, Any]) -> str:
    for value in sorted(owner_values(record)):
        owner = ctx.identities.owner_of(value)
        if owner is not None:
            return f"the record of identity {owner.name}"
    return "another user's record"
