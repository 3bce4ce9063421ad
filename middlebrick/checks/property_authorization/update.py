"""Mass assignment on updates: privileged or server-owned properties a PUT or PATCH takes (active).

Works only on objects the scan creates itself (``_created``), one per update operation: a
control update with the request schema's fields alone, then the same update with the
properties added in the body, then (if the body's were not taken) in the query string, each
read back; the journal deletes the object after the check.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from middlebrick.checks._assignable import (
    answer_envelope,
    as_json,
    candidates,
    envelope,
    into_body,
    into_query,
    same,
    severity,
    stuck,
)
from middlebrick.checks._created import Created, Resource, create, resources
from middlebrick.checks._writes import fresh, json_media, record_of
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Exchange, Headers, Request
from middlebrick.spec.model import Operation
from middlebrick.spec.values import value_for_schema

_CONFIRMED = "property_authorization.mass-assignment-confirmed"
_UPDATES = ("PATCH", "PUT")


@check(category="property_authorization", emits={_CONFIRMED}, mode="active", per_operation=10)
async def mass_assignment_on_update(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Privileged or server-owned properties a ``PUT`` or ``PATCH`` accepts, read back (active).

    For each collection the scan may create in (a JSON ``POST`` beside a documented ``GET``
    and ``DELETE`` by id) and each documented ``PATCH`` and ``PUT`` of one of its objects
    that takes a JSON body, it creates one object as the scan's identity and reads it
    (two requests). From the object as read it picks at most three properties a client must
    not set (``_assignable.candidates``): a false privilege flag (``is_admin``) set to true, a
    role that is not an administrator's set to ``"admin"``, and properties the server owns
    that the update's request schema does not list (a false ``verified`` / ``is_featured``
    set to true, an amount such as ``price`` or ``balance`` set to another number, a status
    set to another value of its documented enum). Owner and tenant fields are never written.

    Then, each followed by a read (GET): a control update carrying only the request schema's
    fields with the object's current values; the same update with the properties added (inside
    the body's envelope, ``{"user": {...}}``, when the request schema is one); when they were
    not taken and the request schema has no envelope but the API answers its objects in one,
    the whole body with the properties inside that envelope; and, for those still not taken,
    the control's body with the properties in the query string. At most ten requests per
    update operation, besides the journal's deletion of the object.

    Confirmed when a read-back shows a written value that the control's read-back did not have;
    a property the control update itself moved (a fee recomputed on every edit) is left out. A
    property the server ignores, or echoes in the update's answer without storing it, is not a
    finding: the answer of a write never confirms, only the read-back does.
    """
    primary = ctx.identities.primary
    if primary is None:
        return
    by_key = {op.key: op for op in ctx.surface.operations}
    async for resource in ctx.each(resources(ctx)):
        for method in _UPDATES:
            update = by_key.get(f"{method} {resource.read.path}")
            body = update.request_body if update is not None else None
            if update is None or body is None or "json" not in body.content_type:
                continue
            made = await create(ctx, resource)
            if made is None:
                break  # the collection takes no object from the schema's values
            wanted = candidates(made.record, update, resource.read)
            if not wanted:
                continue
            found = await _probe(ctx, update, made, wanted)
            if found is not None:
                yield _finding(ctx, update, resource, primary.name, made, found)


class _Probe:
    """What the control update and the raised one did, for the finding."""

    def __init__(self, sent: Mapping[str, Any], before: Mapping[str, Any]) -> None:
        self.where = "the body"  # where the properties were sent
        self.sent = dict(sent)  # the properties written, with their values
        self.hit: list[str] = []  # those read back as written
        self.before = before
        self.exchanges: list[tuple[str, Exchange]] = []


async def _probe(
    ctx: CheckContext, update: Operation, made: Created, wanted: Mapping[str, Any]
) -> _Probe | None:
    """The control update, then the raised one in the body, in the answer's envelope (when the
    request schema has none but the API answers in one), then in the query string."""
    base = _base(update, made.record)
    if base is None:
        return None
    schema = update.request_body.schema if update.request_body is not None else {}
    control, before = await _write(ctx, update, made.url, base, "control update")
    if before is None:
        return None
    # What the control update itself moved (a fee recomputed on every edit) is not attributable.
    rest = {k: v for k, v in wanted.items() if same(before.get(k), made.record.get(k))}
    wrapper = answer_envelope(made.mine) if envelope(schema) is None else None
    for where in ("the body", "the answer's envelope", "the query string"):
        if not rest or (where == "the answer's envelope" and wrapper is None):
            continue
        url, body = made.url, into_body(base, schema, rest)
        if where == "the answer's envelope":
            body = {str(wrapper): {**base, **rest}}
        elif where == "the query string":
            url, body = into_query(made.url, rest), base
        sent, after = await _write(ctx, update, url, body, f"fields in {where}")
        hit = stuck(rest, before, after)
        if hit:
            probe = _Probe(rest, before)
            probe.where, probe.hit = where, hit
            probe.exchanges = control + sent
            return probe
        if after is not None:
            rest = {k: v for k, v in rest.items() if same(after.get(k), before.get(k))}
    return None


async def _write(
    ctx: CheckContext, update: Operation, url: str, body: Mapping[str, Any], label: str
) -> tuple[list[tuple[str, Exchange]], dict[str, Any] | None]:
    """One update and its read-back (``None`` when the update was refused or not sent)."""
    if not ctx.may_send(update.method, url):
        return [], None
    headers = Headers.of({"Content-Type": json_media(update)})
    data = json.dumps(dict(body)).encode()
    sent = await ctx.send(Request(update.method, url, headers=headers, body=data))
    if not sent.ok:
        return [(label, sent)], None
    read = await ctx.send(fresh(Request("GET", url.split("?", 1)[0]), 1))
    return [(label, sent), (f"read after the {label}", read)], record_of(read)


def _base(update: Operation, record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The update's body from its request schema, with the object's current values where it
    has them (a no-op update, which ``PUT`` needs whole)."""
    schema = update.request_body.schema if update.request_body is not None else {}
    body = value_for_schema(schema)
    if not isinstance(body, dict) or not body:
        return None
    wrapper = envelope(schema)
    inner = body.get(wrapper) if wrapper is not None else body
    if not isinstance(inner, dict):
        return None
    kept = {k: record[k] if _fits(record.get(k), v) else v for k, v in inner.items()}
    return {**body, wrapper: kept} if wrapper is not None else kept


def _fits(current: Any, example: Any) -> bool:
    """True when the object's current value can stand for the schema's example."""
    if current is None or isinstance(current, dict | list):
        return False
    return isinstance(current, bool) == isinstance(example, bool) and (
        isinstance(current, str) == isinstance(example, str)
    )


def _finding(
    ctx: CheckContext,
    update: Operation,
    resource: Resource,
    who: str,
    made: Created,
    probe: _Probe,
) -> Finding:
    written = ", ".join(f"{k}={as_json(v)}" for k, v in probe.sent.items())
    hit = ", ".join(f"`{k}`" for k in probe.hit)
    was = ", ".join(f"{k}={as_json(probe.before.get(k))}" for k in probe.hit)
    return ctx.finding(
        _CONFIRMED,
        update,
        detail=f"as {who}, on an object the scan created with `{resource.create.key}` "
        f"({made.url}), `{update.key}` with {written} added to {probe.where} answered 2xx and "
        f"a GET read {hit} back as written, while a control `{update.method}` with the "
        f"request schema's fields alone left {was}; the object is deleted after the check",
        evidence=[("created", made.made), ("read", made.mine), *probe.exchanges],
        confidence=Confidence.confirmed,
        severity=severity(probe.hit, made.record),
    )
