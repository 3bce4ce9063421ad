"""Write-side BOLA on objects that existed before the scan: another user's no-op PUT or PATCH.

Active mode only. ``bola_created`` proves write access on objects the scan creates itself; most
objects an attacker wants (another user's profile, order, wishlist, address) are not creatable
by the scan, so here the write is a *no-op*: it re-sends the object's own values, as the
primary identity read them. Nothing changes, so it is undoable by construction; the policy lets
such a write go to an object the scan did not create only because the journal checks, against
its own read, that every field sent holds that value already, and it still reads the object
before and after and restores what a write changed (``http.journal``). Protected resources
(accounts, memberships, settings) stay refused unless ``--include`` names them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from middlebrick.checks._compare import same_shape
from middlebrick.checks._owners import (
    Owners,
    is_collection,
    is_id_key,
    is_person,
    owner_fields,
    path_parameters,
    read_same,
    readable,
    record_ids,
    records,
    same_object,
)
from middlebrick.checks._properties import flat, is_privileged_input, is_role
from middlebrick.checks._schemas import shape
from middlebrick.checks._sharing import listed_to, per_user_object
from middlebrick.checks._writes import fresh, json_media
from middlebrick.checks.bola.access import _object_owner  # one home for whose object it is
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Exchange, Headers, Request
from middlebrick.identities import Identity
from middlebrick.knowledge import safety_words
from middlebrick.spec.model import Operation

_CROSS = "bola.cross-identity-access"
_WRITERS = 2  # other identities tried per write operation
_PREFERRED = ("title", "description", "status", "label", "priority", "display_name", "name")
_VALIDATORS = ("etag", "last-modified")
_MISSING = object()


@dataclass(frozen=True)
class _Target:
    """The object probed: the write, its GET twin, and the primary's read of it."""

    write: Operation
    read_op: Operation
    read: Exchange
    body: dict[str, Any]


@check(category="bola", emits={_CROSS}, mode="active", per_operation=2 + 6 * _WRITERS)
async def cross_identity_writes(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Whether another user's no-op write to the primary identity's object is accepted.

    Active mode and two identities. For each ``PUT`` or ``PATCH`` of one object whose ``GET``
    twin (same path) the baseline read as the primary identity, the object is first made a
    per-user one when it can be (as for reads: an object of the primary's that the other
    identity's own listing does not show). The write's body re-sends what the primary read:
    ``PATCH`` one field the request schema declares, with its current value (profile fields
    such as ``name`` last; without a schema ``title``, ``description``, ``status``…); ``PUT``
    the whole representation restricted to the fields the request schema declares, and only
    when the object shows every writable one (a field left out could be reset) and none is a
    role, flag or owner. Then, as each other identity (at most 2) until one is accepted: it
    reads the object (GET), sends the write, and when that is accepted, sends it once without
    credentials and has the primary read the object again; the journal reads it before,
    restores any field a write changed, and reads it back. At most 6 requests per other
    identity per operation, two more to find a per-user object.

    Only objects shown to belong to someone else are written: the object's owner field names
    the primary (or it is the primary's own user or member record), or the other identity is
    refused its read. An object neither is shown for (a catalogue entry every user reads) is
    left to ``bfla_created``; one the other identity's own listing shows (a team's object) is
    shared with it, so its write is allowed: not sent.

    Reported when the other identity's write answers 2xx (not a denial dressed as a success:
    the same object, or no content) while the same write without credentials is refused; an
    API that accepts it anonymously too shows nothing about authorization here. Critical. A
    no-op write cannot be told from an ignored one by its content, so the verdict rests on the
    status (2xx for the other identity against the anonymous refusal): firm, and the detail
    says so. Confirmed when the primary's read-back shows the server stored the write anyway:
    a field it did not send (``updated_at``, ``version``) or the ``ETag`` / ``Last-Modified``
    changed, where two reads before the write agreed.
    """
    primary = ctx.identities.primary
    if primary is None or not ctx.identities.others:
        return
    owners = Owners.of(ctx.identities)
    by_key = {op.key: op for op in ctx.surface.operations}
    seen: dict[str, set[str]] = {}
    async for op in ctx.each(ctx.surface.operations):
        read_op = by_key.get(f"GET {op.path}")
        read = ctx.baseline.get(f"GET {op.path}")
        if op.method not in ("PUT", "PATCH") or not path_parameters(op):
            continue
        if read_op is None or read is None or not readable(read):
            continue
        read = await per_user_object(ctx, read_op, read, primary, ctx.identities.others[0], seen)
        body = _no_op_body(op, _json(read))
        if body is None or not ctx.may_send(op.method, read.request.url):
            continue
        target = _Target(op, read_op, read, body)
        finding = await _probe(ctx, target, owners, primary)
        if finding is not None:
            yield finding


async def _probe(
    ctx: CheckContext, target: _Target, owners: Owners, primary: Identity
) -> Finding | None:
    """Try the no-op write as each other identity; the finding for the first accepted."""
    owner = _object_owner(owners, target.read)
    owned = owner is not None and owner.name == primary.name
    url = target.read.request.url
    for other in [o for o in ctx.identities.others if o != owner][:_WRITERS]:
        theirs = await ctx.send(fresh(Request("GET", url), 1).as_identity(other.name))
        sees = read_same(target.read, theirs)
        refused = theirs.response is not None and not readable(theirs)
        if not (owned or refused):
            continue  # shown neither the primary's nor private: maybe shared (BFLA's ground)
        shared = sees and not _account(owners, target.read)
        if shared and await listed_to(ctx, other, target.read_op, url) is not None:
            continue  # the other identity's own listing shows it: shared, its write allowed
        before = await ctx.send(fresh(Request("GET", url), 2))
        write = Request(
            target.write.method,
            url,
            Headers.of({"Content-Type": json_media(target.write)}),
            json.dumps(target.body).encode(),
            other.name,
            unchanged=True,
        )
        sent = await ctx.send(write)
        if not _wrote(target.read, sent, target.body):
            continue
        anonymous = await ctx.send(write.without_credentials())
        if anonymous.response is None or readable(anonymous):
            return None  # no refusal to set the 2xx against: nothing shown about authorization
        back = await ctx.send(fresh(Request("GET", url), 3))
        undone = [r for r in await ctx.undo() if r.url == url]
        said = "; ".join(r.detail for r in undone) or "the journal found nothing to restore"
        return _finding(
            ctx,
            target,
            (primary, other),
            (theirs, before, sent, anonymous, back),
            owned=owned,
            restored=said,
        )
    return None


def _finding(
    ctx: CheckContext,
    target: _Target,
    who: tuple[Identity, Identity],
    exchanges: tuple[Exchange, Exchange, Exchange, Exchange, Exchange],
    *,
    owned: bool,
    restored: str,
) -> Finding:
    primary, other = who
    theirs, before, sent, anonymous, back = exchanges
    method, path = target.write.method, _path(target.read.request.url)
    fields = ", ".join(f"`{name}`" for name in target.body)
    whose = (
        f"its owner (or own id) field names {primary.name!r}"
        if owned
        else f"{other.name!r} is refused its read (`GET` answered {_status(theirs)})"
    )
    stored = _stored(target.read, before, back, set(target.body))
    if stored:
        how = f"{primary.name!r}'s read-back shows the server stored the write ({stored})"
    else:
        how = (
            "a no-op write cannot be told from an ignored one by content, so the verdict rests "
            f"on the status ({_status(sent)} for {other.name!r}, {_status(anonymous)} without "
            "credentials)"
        )
    detail = (
        f"identity {other.name!r} was allowed to write the object of {primary.name!r} through "
        f"`{method} {path}`: {_status(sent)}; {whose}; the body re-sent {fields} with the "
        f"values {primary.name!r} read, so nothing changed; the same write without credentials "
        f"got {_status(anonymous)}; {how}; journal: {restored}"
    )
    return ctx.finding(
        _CROSS,
        target.write,
        detail=detail,
        evidence=[
            (f"as {primary.name}", target.read),
            (f"read as {other.name}", theirs),
            (f"{method} as {other.name}", sent),
            ("anonymous", anonymous),
            (f"read back as {primary.name}", back),
        ],
        confidence=Confidence.confirmed if stored else Confidence.firm,
    )


def _stored(first: Exchange, before: Exchange, back: Exchange, sent: set[str]) -> str:
    """What shows the server stored a write: a field not sent, or a validator header, that
    changed between ``before`` and ``back`` while ``first`` and ``before`` agreed on it."""
    a, b, c = (_record(x) for x in (first, before, back))
    changed = [
        f"`{key}` {json.dumps(b[key], default=str)} -> {json.dumps(c.get(key), default=str)}"
        for key in sorted(b)
        if key not in sent and key in a and a[key] == b[key] and c.get(key) != b[key]
    ]
    for name in _VALIDATORS:
        values = [_header(x, name) for x in (first, before, back)]
        if None not in values and values[0] == values[1] != values[2]:
            changed.append(f"`{name}` {values[1]} -> {values[2]}")
    return ", ".join(changed[:3]) if readable(back) and _record(back) else ""


def _no_op_body(op: Operation, current: Any) -> dict[str, Any] | None:
    """What re-sends the object's own values: one field (PATCH) or every declared one (PUT)."""
    if not isinstance(current, dict) or is_collection(current):
        return None
    rows = records(current)
    record = rows[0] if rows else {}
    schema = op.request_body.schema if op.request_body is not None else {}
    declared = shape(schema).properties if isinstance(schema, Mapping) else {}
    if op.method == "PUT":
        return _whole(record, declared)
    skip = set(owner_fields(record))
    if declared:
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


def _whole(record: Mapping[str, Any], declared: Mapping[str, Any]) -> dict[str, Any] | None:
    """The PUT body: every writable declared field as the object shows it; ``None`` when one
    is missing (the PUT could reset it) or is a role, flag or owner (never written)."""
    body: dict[str, Any] = {}
    for name, prop in declared.items():
        if isinstance(prop, Mapping) and prop.get("readOnly"):
            continue
        value = record.get(name)
        if name not in record or is_privileged_input(name) or is_role(name, value, record):
            return None
        if not _fits(prop, value, nested=True):
            return None
        body[name] = value
    return body or None


def _fits(prop: Any, value: Any, *, nested: bool = False) -> bool:
    """True when ``value`` is valid for the property schema ``prop`` (type, enum, anyOf);
    ``nested``: arrays, objects and ``null`` count too (a PUT's whole representation). A
    property without a declared type never fits: a value an API answers (a number as a string,
    a set as text) may not be what it stores."""
    if not isinstance(prop, Mapping) or prop.get("readOnly"):
        return False
    branches = prop.get("anyOf") or prop.get("oneOf")
    if isinstance(branches, list):
        return any(_fits(branch, value, nested=nested) for branch in branches)
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
    if kind == "null":
        return nested and value is None
    if kind == "array":
        return nested and isinstance(value, list)
    if kind == "object":
        return nested and isinstance(value, dict)
    return False  # an undeclared type: a value read back may not round-trip


def _account(owners: Owners, exchange: Exchange) -> bool:
    """True when the object is a user's or member's record itself: no owner field and its own
    fields name the identity, or a person's record (e-mail, user name) naming its user by
    ``user_id``: a member directory lists every member, but no member may rewrite another's."""
    rows = records(_json(exchange))
    if len(rows) != 1 or owners.subject(rows[0]) is None:
        return False
    return owners.whose(rows[0]) is None or is_person(rows[0])


def _wrote(read: Exchange, theirs: Exchange, body: Mapping[str, Any]) -> bool:
    """True when a write was accepted on the object ``read`` fetched: a 2xx that is not a
    denial, answering no content, the same object, a record with the same ids, or the object's
    shape holding every field sent (an object with no id field, its write stamped)."""
    if not readable(theirs) or theirs.response is None or read.response is None:
        return False
    if theirs.response.status == 204 or not theirs.response.body.strip():
        return True
    if same_object(read.response, theirs.response):
        return True
    ids = record_ids(read.response.json)
    if ids:
        return bool(ids & record_ids(theirs.response.json))
    echo = _record(theirs)
    shaped = same_shape(_json(read), _json(theirs))
    return shaped and bool(echo) and all(echo.get(k, _MISSING) == v for k, v in body.items())


def _record(exchange: Exchange) -> dict[str, Any]:
    rows = records(_json(exchange)) if readable(exchange) else []
    return rows[0] if len(rows) == 1 else {}


def _header(exchange: Exchange, name: str) -> str | None:
    return exchange.response.headers.get(name) if exchange.response is not None else None


def _json(exchange: Exchange) -> Any:
    return exchange.response.json if exchange.response is not None else None


def _status(exchange: Exchange) -> str:
    return str(exchange.response.status) if exchange.response is not None else str(exchange.error)


def _path(url: str) -> str:
    rest = url.split("://", 1)[-1]
    return "/" + rest.split("/", 1)[1] if "/" in rest else "/"
