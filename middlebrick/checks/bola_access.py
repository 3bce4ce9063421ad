"""BOLA across identities: another user reads or changes the primary's objects; mixed lists."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from middlebrick.checks._owners import (
    Owners,
    is_collection,
    is_id_key,
    owner_fields,
    path_parameters,
    readable,
    record_ids,
    records,
    same_object,
)
from middlebrick.checks._properties import flat
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Exchange, Headers, Request
from middlebrick.identities import Identity
from middlebrick.knowledge import safety_words
from middlebrick.spec.model import Operation

_CROSS = "bola.cross-identity-access"
_FOREIGN = "bola.foreign-records-in-list"
_MAX_OTHERS = 3  # other identities tried per operation
_WRITERS = 2  # other identities tried per write operation
_PREFERRED = ("title", "description", "status", "label", "priority", "display_name", "name")


@check(category="bola", emits={_CROSS}, per_operation=_MAX_OTHERS + 1)
async def cross_identity_access(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Whether another user reads the objects the primary identity fetched.

    Needs two identities. For each operation with path parameters whose baseline (sent as the
    primary identity, with the ids of its own objects) answered 2xx, the same request is sent
    as each other identity in turn (at most 3) until one reads it, then once without
    credentials: at most 4 requests per operation.

    Reported when another identity gets 2xx with the same object (equal body, or the same
    shape and the same ids), and either the anonymous request is denied (otherwise the
    object is public, or it is an authentication problem) or the object names the primary.
    Confirmed, and critical, when the object names the primary identity: an owner field
    (``owner_id``, ``created_by``, ``user_id`` beside a record id), or the record's own id
    or e-mail (a user record); firm (high) otherwise. An answer that is the other identity's
    own object (the server ignored the id) is not reported.
    """
    primary = ctx.identities.primary
    if primary is None or not ctx.identities.others:
        return
    owners = Owners.of(ctx.identities)
    async for op, baseline in ctx.each(ctx.baseline.successful()):
        if not path_parameters(op) or not readable(baseline) or baseline.response is None:
            continue
        owner = _object_owner(owners, baseline)
        for other in [o for o in ctx.identities.others if o != owner][:_MAX_OTHERS]:
            theirs = await ctx.send(baseline.request.as_identity(other.name))
            if not _same(baseline, theirs):
                continue
            anonymous = await ctx.send(baseline.request.without_credentials())
            finding = _verdict(ctx, op, primary, other, owner, (baseline, theirs, anonymous))
            if finding is not None:
                yield finding
            break


@check(category="bola", emits={_CROSS}, mode="active", per_operation=_WRITERS + 1)
async def cross_identity_writes(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Whether another user can change the primary identity's objects (active mode only).

    Needs two identities. For each ``PATCH`` operation whose path has a readable ``GET``
    twin in the baseline (the primary's own object), it sends a no-op ``PATCH`` as each other
    identity (at most 2) until one is accepted, then once without credentials: at most 3
    requests per operation. The body re-sends one field of the object with its current value
    (a property the request schema declares, of the declared type, profile fields such as
    ``name`` or ``email`` last; else ``title``, ``description``, ``status``…), so an accepted
    write changes nothing; operations where no such field exists are skipped. ``PUT`` is never
    sent (a partial body would replace the object) and ``DELETE`` never. The journal reads the
    object before and checks it after, and restores it if the write changed anything.

    Reported when another identity's ``PATCH`` answers 2xx (with the same object, or no
    content) while the anonymous one is denied, or the object names the primary. Confirmed,
    and critical, when the object names the primary identity; firm (high) otherwise.
    """
    primary = ctx.identities.primary
    if primary is None or not ctx.identities.others:
        return
    owners = Owners.of(ctx.identities)
    async for op in ctx.each(ctx.surface.operations):
        read = ctx.baseline.get(f"GET {op.path}")
        if op.method != "PATCH" or not path_parameters(op) or read is None or not readable(read):
            continue
        current = read.response.json if read.response is not None else None
        body = _no_op_body(op, current)
        if body is None:
            continue
        write = Request(
            "PATCH",
            read.request.url,
            headers=Headers.of({"Content-Type": "application/json"}),
            body=json.dumps(body).encode(),
        )
        owner = _object_owner(owners, read)
        for other in [o for o in ctx.identities.others if o != owner][:_WRITERS]:
            theirs = await ctx.send(write.as_identity(other.name))
            if not _wrote(read, theirs):
                continue
            anonymous = await ctx.send(write.without_credentials())
            field = next(iter(body))
            finding = _verdict(
                ctx,
                op,
                primary,
                other,
                owner,
                (read, theirs, anonymous),
                write_note=f"the PATCH body re-sent `{field}` with its current value, so "
                "nothing changed",
            )
            if finding is not None:
                yield finding
            break


@check(category="bola", emits={_FOREIGN})
async def foreign_records(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Collections that hand the primary identity records of other owners.

    Sends no requests: it reads every baseline answer (made as the primary identity) that
    holds a list of at least two records, and their owner fields (``owner_id``, ``owner``,
    ``created_by``, and ``user_id``/``account_id``… beside a record id of their own;
    DynamoDB AttributeValues are read too). Reported when one owner field holds, besides
    values naming the primary, values naming someone else, or names another verified
    identity outright. Confirmed, and critical, when a value names another identity of the
    scan (its token subject, e-mail, /me id); firm when the list mixes the primary's records
    with records of owners the scan does not know.
    """
    primary = ctx.identities.primary
    if primary is None:
        return
    owners = Owners.of(ctx.identities)
    mine = {value for value, who in owners.by_value.items() if who.name == primary.name}
    async for op, exchange in ctx.each(ctx.baseline.successful()):
        body = exchange.response.json if exchange.response is not None else None
        if not readable(exchange) or not is_collection(body):
            continue
        rows = records(body)
        if len(rows) < 2:
            continue
        finding = _mixed(ctx, op, exchange, rows, owners, mine, primary)
        if finding is not None:
            yield finding


def _mixed(
    ctx: CheckContext,
    op: Operation,
    exchange: Exchange,
    rows: list[dict[str, Any]],
    owners: Owners,
    mine: set[str],
    primary: Identity,
) -> Finding | None:
    """The finding for a list whose owner field names the primary and others, if it does."""
    columns: dict[str, list[str]] = {}
    for row in rows:
        for key, value in owner_fields(row).items():
            columns.setdefault(key, []).append(value)
    for key, values in columns.items():
        own = [v for v in values if v in mine]
        foreign = [v for v in values if v not in mine]
        known = list(
            dict.fromkeys(owners.by_value[v].name for v in foreign if v in owners.by_value)
        )
        if not foreign or not (own or known):
            continue
        confirmed = bool(known)
        who = (
            "identit" + ("y " if len(known) == 1 else "ies ") + ", ".join(repr(k) for k in known)
            if confirmed
            else f"{len(set(foreign))} owner(s) the scan does not know"
        )
        return ctx.finding(
            _FOREIGN,
            op,
            parameter=key,
            detail=f"`{op.key}` answered identity {primary.name!r} with {len(rows)} records: "
            f"{len(own)} of them its own by `{key}`, {len(foreign)} whose `{key}` names "
            f"{who}; the list is not filtered by the caller",
            evidence=[(f"as {primary.name}", exchange)],
            confidence=Confidence.confirmed if confirmed else Confidence.firm,
            severity=Severity.critical if confirmed else None,
        )
    return None


def _object_owner(owners: Owners, exchange: Exchange) -> Identity | None:
    body = exchange.response.json if exchange.response is not None else None
    rows = records(body) if not is_collection(body) else []
    return owners.subject(rows[0]) if rows else None


def _same(baseline: Exchange, theirs: Exchange) -> bool:
    return (
        readable(theirs)
        and baseline.response is not None
        and theirs.response is not None
        and same_object(baseline.response, theirs.response)
    )


def _wrote(read: Exchange, theirs: Exchange) -> bool:
    """True when a write as another identity was accepted on the object ``read`` fetched."""
    if not readable(theirs) or theirs.response is None or read.response is None:
        return False
    if theirs.response.status == 204 or not theirs.response.body.strip():
        return True
    ids = record_ids(read.response.json)
    return bool(ids) and bool(ids & record_ids(theirs.response.json))


def _verdict(
    ctx: CheckContext,
    op: Operation,
    primary: Identity,
    other: Identity,
    owner: Identity | None,
    exchanges: tuple[Exchange, Exchange, Exchange],
    *,
    write_note: str = "",
) -> Finding | None:
    """The cross-identity finding, unless the object is public (anonymous reads it too)."""
    baseline, theirs, anonymous = exchanges
    owned = owner is not None and owner.name == primary.name
    anonymous_too = readable(anonymous)
    if anonymous_too and not owned:
        return None
    status = theirs.response.status if theirs.response is not None else "?"
    anon_status = anonymous.response.status if anonymous.response is not None else "no answer"
    verb = "was allowed to write" if write_note else "read"
    ids = ", ".join(f"{k}={v}" for k, v in sorted(record_ids(_json(baseline)))[:3]) or "the object"
    body = theirs.response.body.strip() if theirs.response is not None else b""
    answer = "with the same object" if body else "(no content)"
    parts = [
        f"identity {other.name!r} {verb} the object of {primary.name!r} ({ids}) through "
        f"`{op.method} {_path(baseline)}`: {status} {answer}",
        f"its owner (or own id) field names {primary.name!r}" if owned else "",
        write_note,
        f"the same request without credentials {'was also answered' if anonymous_too else 'got'} "
        f"{anon_status}",
    ]
    return ctx.finding(
        _CROSS,
        op,
        detail="; ".join(p for p in parts if p),
        evidence=[
            (f"as {primary.name}", baseline),
            (f"as {other.name}", theirs),
            ("anonymous", anonymous),
        ],
        confidence=Confidence.confirmed if owned else Confidence.firm,
        severity=None if owned else Severity.high,
    )


def _no_op_body(op: Operation, current: Any) -> dict[str, Any] | None:
    """One field of the object with its current value, or ``None`` when none is safe to send."""
    if not isinstance(current, dict) or is_collection(current):
        return None
    record = records(current)[0] if records(current) else {}
    skip = set(owner_fields(record))
    schema = op.request_body.schema if op.request_body is not None else {}
    declared = schema.get("properties") if isinstance(schema, Mapping) else None
    if isinstance(declared, Mapping) and declared:
        personal = {flat(name) for name in safety_words().identity_fields}
        for name, prop in sorted(declared.items(), key=lambda item: flat(item[0]) in personal):
            usable = name in record and name not in skip and not is_id_key(name)
            if usable and _fits(prop, record[name]):
                return {name: record[name]}
        return None
    for name in _PREFERRED:
        if isinstance(record.get(name), str) and name not in skip:
            return {name: record[name]}
    return None


def _fits(prop: Any, value: Any) -> bool:
    """True when ``value`` is valid for the property schema ``prop`` (type, enum, anyOf)."""
    if not isinstance(prop, Mapping) or prop.get("readOnly"):
        return False
    branches = prop.get("anyOf") or prop.get("oneOf")
    if isinstance(branches, list):
        return any(_fits(branch, value) for branch in branches)
    enum = prop.get("enum")
    if isinstance(enum, list) and value not in enum:
        return False
    kind = prop.get("type")
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return False


def _json(exchange: Exchange) -> Any:
    return exchange.response.json if exchange.response is not None else None


def _path(exchange: Exchange) -> str:
    url = exchange.request.url
    rest = url.split("://", 1)[-1]
    return "/" + rest.split("/", 1)[1] if "/" in rest else "/"
