"""Property authorization on writes: the mass-assignment surface, and mass assignment confirmed.

``mass_assignment_surface`` reads request schemas and the baseline; the active
``mass_assignment`` writes a privileged property on an object the scan's identity owns, reads
it back and writes the original value back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from middlebrick.checks._owners import is_id_key
from middlebrick.checks._privilege import escalation
from middlebrick.checks._properties import (
    flat,
    is_privileged_input,
    is_role,
    owner_values,
    plain,
    principal_values,
    records,
    shown,
)
from middlebrick.checks._schemas import shape
from middlebrick.checks._writes import Change, json_media, read_twin, record_of
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Exchange
from middlebrick.spec.model import Operation

_SURFACE = "property_authorization.mass-assignment-surface"
_CONFIRMED = "property_authorization.mass-assignment-confirmed"

_WRITES = ("POST", "PUT", "PATCH")
_PREFERENCE = ("PATCH", "PUT", "POST")
_PERSONAL = {"email", "username", "password", "firstname", "lastname", "phone"}
_ORDINARY = ("title", "description", "label", "name", "display_name", "status", "priority")


@check(category="property_authorization", emits={_SURFACE})
async def mass_assignment_surface(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Request schemas that let a write set privileged properties: inventory, ``info``.

    Reads the request-body schemas of POST, PUT and PATCH operations (from the spec) and the
    baseline of the GET operation on the same path (the record the write changes, or the list
    a POST adds to); sends no requests. ``allOf`` / ``oneOf`` / ``anyOf`` are merged.

    A schema is a surface when it declares a privileged property that is not ``readOnly`` (a
    role, permission or flag: ``role``, ``is_admin``, ``permissions``, ``scopes``, ``groups``;
    or an owner: ``owner_id``, ``user_id``, ``tenant_id``, ``account_id``), when it is an open
    object and the records as read carry privileged properties, or when it lists other
    properties only but the record it writes, as read back, carries privileged ones.

    What a spec makes writable is not a flaw: servers refuse or ignore such fields (a sharing
    model's ``permissions`` checked on every write, a ``created_by`` the server sets itself),
    so this is ``info``, one finding per schema (the operations sharing it named in the
    detail, reported on the first PATCH, else PUT, else POST). Only the active
    mass-assignment check, writing the field and reading it back, reports above ``info``.
    """
    schemas: dict[tuple[str, ...], list[tuple[Operation, str]]] = {}
    for operation in ctx.surface.operations:
        if operation.method not in _WRITES or operation.request_body is None:
            continue
        if "json" not in operation.request_body.content_type:
            continue
        surface = _surface(ctx, operation)
        if surface is None:
            continue
        key, detail = surface
        schemas.setdefault(key, []).append((operation, detail))
    for group in schemas.values():
        ranked = sorted(group, key=lambda pair: _PREFERENCE.index(pair[0].method))
        operation, detail = ranked[0]
        others = [op.key for op, _ in group if op is not operation]
        if others:
            shown_others = ", ".join(f"`{key}`" for key in others[:6])
            more = f" and {len(others) - 6} more" if len(others) > 6 else ""
            detail += f"; the same schema is written by {shown_others}{more}"
        detail += (
            "; whether the server accepts them needs a write read back (active mode, on an "
            "object the scan created)"
        )
        yield ctx.finding(
            _SURFACE,
            operation,
            detail=detail,
            evidence=_read_evidence(ctx, operation),
            confidence=Confidence.tentative,
            severity=Severity.info,
        )


def _surface(ctx: CheckContext, operation: Operation) -> tuple[tuple[str, ...], str] | None:
    """The schema's key (its properties) and the sentence saying what it makes writable."""
    assert operation.request_body is not None
    body = shape(operation.request_body.schema)
    declared = [
        name
        for name, prop in body.properties.items()
        if is_privileged_input(name) and prop.get("readOnly") is not True
    ]
    key = (operation.path.rstrip("/").rsplit("/{", 1)[0], *sorted(body.properties))
    if declared:
        return key, f"the request body of `{operation.key}` declares {_names(declared)} as writable"
    seen_in, read_fields = _read_privileged(ctx, operation)
    if read_fields and body.free_form:
        return key, (
            f"the request body of `{operation.key}` is an open object (any property is "
            f"accepted by the schema) and the records it writes, as `{seen_in}` returns "
            f"them, carry {_names(read_fields)}"
        )
    if read_fields and operation.method != "POST":
        listed = _names(list(body.properties)) if body.properties else "nothing"
        return key, (
            f"the request body of `{operation.key}` lists {listed}, but the record it "
            f"writes, as `{seen_in}` returns it, carries {_names(read_fields)}: the server "
            "must refuse those in a write"
        )
    return None


@check(
    category="property_authorization",
    emits={_CONFIRMED},
    mode="active",
    per_operation=8,
)
async def mass_assignment(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Privileged properties written on an object the scan's identity owns, read back, restored.

    For each PATCH operation whose GET twin (same path) answered the baseline with an object the
    scan's identity owns (an owner or identity field names it: ``owner_id``, ``user_id``,
    ``email`` …, or its id is one the identity declared with ``--owns``) and that object shows a
    privileged property it can be raised on, sends one PATCH of at most two such properties:
    a false flag (``is_admin``, ``is_superuser``, ``is_staff``) set to true, and a role that is
    not an administrator's (``role``, ``user_role`` …) set to ``"admin"``. Owner and tenant
    fields are never written (the object would change hands). Then it reads the object back
    (GET), and whenever anything changed, PATCHes the original values back and reads once more.
    Before it, a control: a no-op PATCH of one ordinary field of the object (its current value)
    and a read back, which must leave the privileged properties as they were. At most eight
    requests per operation.

    Confirmed when a written value is read back and the control write left it unchanged (any
    write that changes it is not mass assignment of that field); without an ordinary field to
    send as a control, there is no finding. The detail names the object, the values written
    and read, the control, and whether the journal's restore was confirmed; a write answered
    with an error, or whose values did not stick, is not a finding. Objects of other users are never
    written by this check, and neither is a record that is one of the scan's identities (an
    identity field such as ``user_id``, ``email`` or ``username`` names one of them): the scan
    never raises its own privileges.
    """
    primary = ctx.identities.primary
    if primary is None:
        return
    mine = set(primary.self_ids)
    owned = set(primary.owns)
    everyone = {value for who in (primary, *ctx.identities.others) for value in who.self_ids}
    async for operation in ctx.each(ctx.surface.operations):
        if operation.method != "PATCH":
            continue
        twin = read_twin(ctx, operation)
        if twin is None:
            continue
        _, read = twin
        record = record_of(read)
        if record is None or not _owned(record, mine, owned) or principal_values(record) & everyone:
            continue
        wanted = escalation(record)
        if not wanted:
            continue
        control_field = _control_field(operation, record, wanted)
        if control_field is None:
            continue
        control = Change(
            read.request,
            json_media(operation),
            original={key: record[key] for key in wanted},
            wanted={control_field: record[control_field]},
        )
        if not await control.apply(ctx) or not _unchanged(control, record, wanted):
            continue
        change = Change(
            read.request,
            json_media(operation),
            original={key: record[key] for key in wanted},
            wanted=wanted,
        )
        if not await change.apply(ctx) or not change.stuck:
            continue
        written = ", ".join(f"{k}={shown(v)}" for k, v in wanted.items())
        stuck = ", ".join(f"`{k}`" for k in change.stuck)
        yield ctx.finding(
            _CONFIRMED,
            operation,
            detail=f"as {primary.name}, `PATCH {read.request.url}` (an object it owns) with "
            f"{written} answered 2xx and a GET read {stuck} back with the written value, while "
            f"a control PATCH of `{control_field}` alone left them unchanged; "
            f"{change.restore_sentence()}",
            evidence=[
                *((f"control {label}", exchange) for label, exchange in control.exchanges[:2]),
                *change.exchanges,
            ],
            confidence=Confidence.confirmed,
        )


def _read_privileged(ctx: CheckContext, write: Operation) -> tuple[str, list[str]]:
    """The GET a write's records are read through, and the privileged fields they carry (the
    record's own key, ``user_id`` of ``/users/me``, is not one: it names the record itself)."""
    own = {flat(segment.removesuffix("s")) + "id" for segment in write.path.split("/") if segment}
    for key in _read_keys(write):
        exchange = ctx.baseline.get(key)
        if exchange is None or not exchange.ok or exchange.response is None:
            continue
        fields: dict[str, None] = {}
        for record in records(plain(exchange.response.json)):
            for name, value in record.items():
                if flat(name) in own:
                    continue
                if is_role(name, value, record) or is_privileged_input(name):
                    fields.setdefault(name)
        if fields:
            return key, list(fields)
    return "", []


def _read_keys(write: Operation) -> list[str]:
    """GET operations that read what ``write`` writes: the same path, then its parent list."""
    keys = [f"GET {write.path}"]
    if write.path.endswith("}"):
        keys.append(f"GET {write.path.rsplit('/', 1)[0] or '/'}")
    return keys


def _read_evidence(ctx: CheckContext, write: Operation) -> list[tuple[str, Exchange]]:
    for key in _read_keys(write):
        exchange = ctx.baseline.get(key)
        if exchange is not None and exchange.ok:
            return [("read", exchange)]
    return []


def _owned(record: Mapping[str, Any], mine: set[str], owned: set[str]) -> bool:
    """True when an owner or identity field of ``record`` names the identity, or it is owned."""
    if owner_values(record) & mine:
        return True
    scalars = {str(v) for v in record.values() if isinstance(v, str | int)}
    return bool(scalars & owned)


def _control_field(
    operation: Operation, record: Mapping[str, Any], wanted: Mapping[str, Any]
) -> str | None:
    """An ordinary string field of ``record`` to re-send as the control write: one the request
    schema declares, else a descriptive one (``title``, ``description``, ``name`` …)."""
    schema = operation.request_body.schema if operation.request_body is not None else {}
    declared = [n for n, p in shape(schema).properties.items() if p.get("readOnly") is not True]
    for key in [*declared, *_ORDINARY]:
        value = record.get(key)
        if key in wanted or not isinstance(value, str) or not value:
            continue
        if is_privileged_input(key) or is_role(key, value, record) or is_id_key(key):
            continue
        if flat(key) in _PERSONAL:
            continue
        return key
    return None


def _unchanged(control: Change, record: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """True when the control write's read-back shows the privileged fields as they were."""
    after = next((record_of(ex) for label, ex in control.exchanges if label == "read back"), None)
    return after is not None and all(after.get(key) == record.get(key) for key in wanted)


def _names(names: list[str]) -> str:
    shown_names = ", ".join(f"`{name}`" for name in names[:8])
    return shown_names + (f" and {len(names) - 8} more" if len(names) > 8 else "")
