"""BOLA across identities: another user reads or changes the primary's objects.

Lists that mix owners are judged in ``bola_lists``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from middlebrick.checks._owners import (
    Owners,
    is_collection,
    is_empty,
    is_id_key,
    is_person,
    owner_fields,
    path_parameters,
    readable,
    record_ids,
    records,
    same_object,
)
from middlebrick.checks._properties import flat
from middlebrick.checks._sharing import listed_to, per_user_object, scoped_listings
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Exchange, Headers, Request
from middlebrick.identities import Identity
from middlebrick.knowledge import safety_words
from middlebrick.spec.model import Operation

_CROSS = "bola.cross-identity-access"
_MAX_OTHERS = 3  # other identities tried per operation
_WRITERS = 2  # other identities tried per write operation
_PREFERRED = ("title", "description", "status", "label", "priority", "display_name", "name")


@check(category="bola", emits={_CROSS}, per_operation=_MAX_OTHERS + 6)
async def cross_identity_access(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Whether another user reads the objects the primary identity fetched.

    Needs two identities. For each operation with path parameters whose baseline (sent as the
    primary identity) answered 2xx with something (an empty list, object or page is never
    evidence), the object is first made a per-user one when it can be: when the first other
    identity's own listing of the collection (one request per collection) shows the baseline's
    object and the value pool holds an object of the primary's that it does not show, that one
    is read as the primary (one request) and taken instead. Then the same request is sent as
    each other identity in turn (at most 3) until one reads it, then once without credentials,
    then the collection the object belongs to (``/projects/`` for ``/projects/{id}``) as that
    other identity, or, when no owner field names the primary, as both: at most 9 requests per
    operation.

    A BOLA needs three facts, and the detail says which decided: the anonymous request is
    denied or answers less (an object anyone reads whole is public, whoever it names); the object is
    proven the primary's, by an owner field equal to one of its own stable identifiers (token
    subject, ``/me`` record; ``created_by.email`` in an owner object counts), by an id given
    with ``--owns``, as its own user record (its e-mail or user name, or an own id that is
    not a bare number), or, for a record with an owner field holding a value none of these
    name (an internal ``user_id``), by the collection listing each caller its own records: the
    primary's listing shows the object, the other's shows others, none in common; and the
    other identity's own listing of the collection does not show it. Then it is confirmed
    and critical. Without proven ownership it is ``info`` (another
    identity reads it, whose it is is unknown); when the other identity's listing shows it,
    ``info`` too (shared with that identity by design). An answer that is the other
    identity's own object (the server ignored the id) is not reported.
    """
    primary = ctx.identities.primary
    if primary is None or not ctx.identities.others:
        return
    owners = Owners.of(ctx.identities)
    seen: dict[str, set[str]] = {}  # the first other identity's listing values, by URL
    async for op, baseline in ctx.each(ctx.baseline.successful()):
        if not path_parameters(op) or not readable(baseline) or baseline.response is None:
            continue
        first = ctx.identities.others[0]
        baseline = await per_user_object(ctx, op, baseline, primary, first, seen)
        if baseline.response is None or (
            baseline.response.is_json and is_empty(baseline.response.json)
        ):
            continue
        owner = _object_owner(owners, baseline)
        for other in [o for o in ctx.identities.others if o != owner][:_MAX_OTHERS]:
            theirs = await ctx.send(baseline.request.as_identity(other.name))
            if not _same(baseline, theirs):
                continue
            anonymous = await ctx.send(baseline.request.without_credentials())
            owned = owner is not None and owner.name == primary.name
            listing = None
            scoped = None
            if owner is None and not readable(anonymous) and _owned_by_someone(baseline):
                scoped = await scoped_listings(ctx, other, op, baseline.request.url)
            if owned and not readable(anonymous):
                detail = _json(baseline)
                listing = await listed_to(
                    ctx,
                    other,
                    op,
                    baseline.request.url,
                    detail=detail if isinstance(detail, dict) else None,
                )
            finding = _verdict(
                ctx,
                op,
                primary,
                other,
                owner,
                (baseline, theirs, anonymous),
                listing=listing,
                scoped=scoped,
            )
            if finding is not None:
                yield finding
            break


@check(category="bola", emits={_CROSS}, mode="active", per_operation=_WRITERS + 2)
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
    and critical, when the object is proven the primary's (as for reads) and the other
    identity's own listing does not show it, or the object is the primary's own user record
    (no owner field, or a member record naming its user by ``user_id`` beside an e-mail or
    user name: a member directory shows every member, but no member may rewrite another's
    profile);
    ``info`` otherwise (ownership not proven, or an object shared with that identity).
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
            listing = None
            if owner is not None and owner.name == primary.name and not _account(owners, read):
                listing = await listed_to(ctx, other, op, read.request.url)
            finding = _verdict(
                ctx,
                op,
                primary,
                other,
                owner,
                (read, theirs, anonymous),
                listing=listing,
                write_note=f"the PATCH body re-sent `{field}` with its current value, so "
                "nothing changed",
            )
            if finding is not None:
                yield finding
            break


def _object_owner(owners: Owners, exchange: Exchange) -> Identity | None:
    """Whose object one read returned: its record, or the only record of a wrapper list
    (``{"customers": [{"id": 2, …}]}``, one object answered as a list of one)."""
    body = exchange.response.json if exchange.response is not None else None
    rows = records(body)
    if is_collection(body) and len(rows) != 1:
        return None
    return owners.subject(rows[0]) if rows else None


def _owned_by_someone(exchange: Exchange) -> bool:
    """True when the one record ``exchange`` read carries an owner field (``user_id`` …)."""
    body = _json(exchange)
    rows = records(body)
    return (
        len(rows) == 1
        and not (is_collection(body) and len(rows) != 1)
        and bool(owner_fields(rows[0]))
    )


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
    listing: Exchange | None = None,
    scoped: tuple[Exchange, Exchange] | None = None,
    write_note: str = "",
) -> Finding | None:
    """The cross-identity finding: critical when the object is proven the primary's and not
    shared with the other identity, ``info`` when either is not shown; ``None`` when the
    object is public (anonymous reads it too, whole, or it names nobody). ``scoped``: the
    primary's and the other's listings proving the object the primary's (``scoped_listings``)."""
    baseline, theirs, anonymous = exchanges
    owned = scoped is not None or (owner is not None and owner.name == primary.name)
    anonymous_too = readable(anonymous)
    if anonymous_too and (not owned or (not write_note and _same(baseline, anonymous))):
        return None  # public: anyone reads it whole, so another user reading it is no BOLA
    status = theirs.response.status if theirs.response is not None else "?"
    anon_status: object = anonymous.response.status if anonymous.response else "no answer"
    if anonymous.response is not None and anonymous.response.refused_in_body:
        anon_status = f"{anon_status} with an error envelope (refused)"
    verb = "was allowed to write" if write_note else "read"
    ids = ", ".join(f"{k}={v}" for k, v in sorted(record_ids(_json(baseline)))[:3]) or "the object"
    body = theirs.response.body.strip() if theirs.response is not None else b""
    answer = "with the same object" if body else "(no content)"
    if not owned:
        whose = (
            f"nothing proves the object is {primary.name!r}'s (no owner field names one of its "
            "own identifiers, no --owns id, not its own record), so this is not a BOLA verdict"
        )
    elif scoped is not None:
        whose = (
            f"{primary.name!r}'s own listing `GET {_path(scoped[0])}` shows it and "
            f"{other.name!r}'s own listing of the same URL shows only other records: the "
            f"collection lists each caller its own, so the object is {primary.name!r}'s"
        )
    elif listing is not None:
        whose = (
            f"its owner (or own id) field names {primary.name!r}, but {other.name!r}'s own "
            f"listing `GET {_path(listing)}` shows it: shared with {other.name!r} by design"
        )
    else:
        whose = f"its owner (or own id) field names {primary.name!r}"
    parts = [
        f"identity {other.name!r} {verb} the object of {primary.name!r} ({ids}) through "
        f"`{op.method} {_path(baseline)}`: {status} {answer}",
        whose,
        write_note,
        f"the same request without credentials {'was also answered' if anonymous_too else 'got'} "
        f"{anon_status}",
    ]
    evidence = [
        (f"as {primary.name}", baseline),
        (f"as {other.name}", theirs),
        ("anonymous", anonymous),
    ]
    if listing is not None:
        evidence.append((f"listing as {other.name}", listing))
    if scoped is not None:
        evidence.append((f"listing as {primary.name}", scoped[0]))
        evidence.append((f"listing as {other.name}", scoped[1]))
    proven = owned and listing is None
    return ctx.finding(
        _CROSS,
        op,
        detail="; ".join(p for p in parts if p),
        evidence=evidence,
        confidence=Confidence.confirmed if proven else Confidence.tentative,
        severity=None if proven else Severity.info,
    )


def _account(owners: Owners, exchange: Exchange) -> bool:
    """True when the object is a user's or member's record itself: no owner field and its own
    fields name the identity, or a person's record (e-mail, user name) naming its user by
    ``user_id``."""
    rows = records(_json(exchange))
    if len(rows) != 1 or owners.subject(rows[0]) is None:
        return False
    return owners.whose(rows[0]) is None or is_person(rows[0])


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
