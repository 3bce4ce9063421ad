"""Negative quantities and amounts a write accepts and stores (active, the scan's own objects).

Works only on objects the scan creates itself (``_created``): a control object with positive
values in the fields that count things or hold money, then, per field, one more with the value
negated; when the creation refuses it, the same negative value written to the control object
by its documented ``PATCH`` (or ``PUT``). The journal deletes every object after the check.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from middlebrick.checks._assignable import as_json, envelope, into_body, same
from middlebrick.checks._created import Created, Resource, body_for, create, resources
from middlebrick.checks._field_names import key_tokens
from middlebrick.checks._owners import is_id_key
from middlebrick.checks._schemas import shape
from middlebrick.checks._writes import fresh, json_media, json_write, record_of
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Exchange, Request
from middlebrick.knowledge import quantity_words
from middlebrick.spec.model import Operation

__all__ = ["Field", "fields_of", "negative_quantity_accepted"]

_NEGATIVE = "input_validation.negative-quantity-accepted"
_MAX_FIELDS = 3
"""Fields probed per collection: a control, then two requests (write, read) per field, and a
write and a read more when the creation refused it."""


@dataclass(frozen=True)
class Field:
    """A numeric request field to probe: its name, the positive value of the control object,
    and whether the API's own schema bounds it at zero or above."""

    name: str
    value: int | float
    bounded: bool

    @property
    def negative(self) -> int | float:
        """The control's value negated."""
        return -self.value


@check(category="input_validation", emits={_NEGATIVE}, mode="active", per_operation=14)
async def negative_quantity_accepted(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Negative quantities or amounts a creation (or an update) accepts and stores (active).

    For each collection whose ``POST`` takes a JSON body and whose objects have a documented
    ``GET`` and ``DELETE`` by id, it picks at most three numeric fields of the request body
    (schema type ``integer`` / ``number``, or a number in its example) that either count
    things or hold money by their name (``knowledge/quantities.yaml``: ``quantity``, ``qty``,
    ``amount``, ``price``, ``total``, ``balance``, ``discount``, ``fee``…) or that the API's
    own schema bounds at zero or above (``minimum >= 0``, ``exclusiveMinimum``). A field
    whose name says it may be negative by design (``delta``, ``adjustment``, ``offset``,
    ``latitude``, ``temperature``…, or a ``max_…`` / ``…_limit`` that may hold -1 for no
    limit), whose schema allows a negative ``minimum``, or that holds
    an id is never tried unless the schema bounds it. It creates a control object with each
    field positive (the schema's example, else 1) and reads it, then, per field, an object with
    that value negated (``-1500`` for ``1500``, ``-1`` for ``1``), and reads it. When the
    creation refuses it and the collection's objects have a ``PATCH`` (or ``PUT``), it writes
    the negative value to the control object and reads that again. Every object is new and the
    scan's own; the journal deletes them after the check. Operations the safety policy refuses
    (payments, transfers, refunds, orders…) are never called.

    Reported (medium for a named quantity or amount, low for a field only the schema bounds;
    firm) when the negative write is accepted (2xx) and the read-back shows the negative value
    stored, or a total the control showed at zero or above turned negative. A 4xx for the
    negative value, a value clamped or made positive, or a field the read-back does not show
    stays quiet. Firm, not confirmed: a field may be signed by design under a name the lists do
    not know; the schema's ``minimum`` is the API's own word when it declares one.
    """
    async for resource in ctx.each(resources(ctx)):
        fields = fields_of(resource)
        if not fields:
            continue
        control = await create(ctx, resource, {f.name: f.value for f in fields})
        if control is None:
            continue
        totals = _totals(control.record)
        for field in fields:
            if not same(control.record.get(field.name), field.value) and not totals:
                continue  # the read-back shows nothing this field decides
            negative = await create(ctx, resource, {field.name: field.negative})
            shown = _negative_in(negative.record, field, totals) if negative else []
            if negative is not None and shown:
                yield _finding(ctx, resource.create, field, shown, control, negative)
                continue
            write = resource.write or resource.replace
            if negative is None and write is not None:
                changed = await _update(ctx, write, control, field)
                record = record_of(changed[1]) if changed is not None else None
                shown = _negative_in(record, field, totals) if record is not None else []
                if changed is not None and shown:
                    yield _finding(ctx, write, field, shown, control, changed)


def fields_of(resource: Resource) -> list[Field]:
    """The numeric fields of the creation's body to try negative (at most ``_MAX_FIELDS``)."""
    schema = resource.create.request_body.schema if resource.create.request_body else {}
    body = body_for(resource) or {}
    wrapper = envelope(schema)
    props = shape(schema).properties
    if wrapper is not None:
        props = shape(props[wrapper]).properties
        inner = body.get(wrapper)
        body = inner if isinstance(inner, dict) else {}
    words = quantity_words()
    named = set(words.quantities) | set(words.money)
    found = []
    for name in dict.fromkeys([*props, *body]):
        prop = props.get(name, {})
        example = _number(body.get(name))
        numeric = example is not None or _types(prop) & {"integer", "number"}
        if not numeric or prop.get("readOnly") or is_id_key(name):
            continue
        low = _minimum(prop)
        bounded = low is not None and low >= 0
        tokens = key_tokens(name)
        if not bounded and (low is not None or not tokens & named or tokens & set(words.signed)):
            continue
        value = example if example is not None and example > 0 else max(1, math.ceil(low or 0))
        found.append(Field(name, value, bounded))
    return found[:_MAX_FIELDS]


def _number(value: Any) -> int | float | None:
    """``value`` when it is a JSON number (never a flag), else ``None``."""
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _parts(prop: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """``prop`` and the alternatives it composes (``anyOf: [{type: integer}, {type: null}]``)."""
    yield prop
    for key in ("anyOf", "oneOf", "allOf"):
        for part in prop.get(key) or ():
            if isinstance(part, Mapping):
                yield part


def _types(prop: Mapping[str, Any]) -> set[str]:
    found: set[str] = set()
    for part in _parts(prop):
        kind = part.get("type")
        found |= {kind} if isinstance(kind, str) else set(kind) if isinstance(kind, list) else set()
    return found


def _minimum(prop: Mapping[str, Any]) -> float | None:
    """The lowest value the schema allows (``exclusiveMinimum`` as a number or, OpenAPI 3.0,
    a flag on ``minimum``), ``None`` when it declares none."""
    for part in _parts(prop):
        exclusive = _number(part.get("exclusiveMinimum"))
        low = _number(part.get("minimum"))
        if exclusive is not None:
            return float(exclusive)
        if low is not None:
            return float(low)
    return None


def _totals(record: Mapping[str, Any]) -> list[str]:
    """The read-back's numeric fields named as a quantity or an amount, at zero or above."""
    words = quantity_words()
    named = set(words.quantities) | set(words.money)
    return [
        key
        for key, value in record.items()
        if (number := _number(value)) is not None
        and number >= 0
        and key_tokens(key) & named
        and not is_id_key(key)
    ]


def _negative_in(record: Mapping[str, Any] | None, field: Field, totals: list[str]) -> list[str]:
    """The fields of ``record`` that show the negative write: the field itself as written, or
    a total that the control showed at zero or above and that is now negative."""
    if record is None:
        return []
    shown = [field.name] if same(record.get(field.name), field.negative) else []
    return shown + [
        key
        for key in totals
        if key != field.name and (number := _number(record.get(key))) is not None and number < 0
    ]


async def _update(
    ctx: CheckContext, write: Operation, control: Created, field: Field
) -> tuple[Exchange, Exchange] | None:
    """The control object written with the field negative (``PATCH``: that field alone; ``PUT``:
    the creation's body with it) and read again; ``None`` when refused or not allowed."""
    if not ctx.may_send(write.method, control.url):
        return None
    schema = write.request_body.schema if write.request_body is not None else {}
    wrapper = envelope(schema)
    if write.method == "PATCH":
        body = into_body({wrapper: {}} if wrapper else {}, schema, {field.name: field.negative})
    else:
        body = into_body(control.body, schema, {field.name: field.negative})
    read = control.mine.request
    made = await ctx.send(json_write(read, write.method, body, json_media(write)))
    if not made.ok:
        return None
    again = await ctx.send(fresh(Request("GET", control.url, identity=read.identity), 1))
    return made, again


def _finding(
    ctx: CheckContext,
    operation: Operation,
    field: Field,
    shown: list[str],
    control: Created,
    negative: Created | tuple[Exchange, Exchange],
) -> Finding:
    made, read = (negative.made, negative.mine) if isinstance(negative, Created) else negative
    how = "created an object" if isinstance(negative, Created) else "changed the control object"
    bound = " although the API's schema bounds it at zero or above" if field.bounded else ""
    was = ", ".join(f"{k}={as_json(control.record.get(k))}" for k in shown)
    named = quantity_words()
    tokens = key_tokens(field.name)
    by_name = bool(tokens & (set(named.quantities) | set(named.money)))
    return ctx.finding(
        _NEGATIVE,
        operation,
        parameter=f"body.{field.name}",
        detail=f"`{operation.key}` with {field.name}={as_json(field.negative)}{bound} {how} "
        f"that reads back {', '.join(f'`{k}`' for k in shown)} negative, while the control "
        f"object, created with {field.name}={as_json(field.value)}, has {was}; every object was "
        "the scan's own, deleted after the check",
        evidence=[
            ("control: created", control.made),
            ("control: read", control.mine),
            (f"written with {field.name}={as_json(field.negative)}", made),
            ("read back", read),
        ],
        confidence=Confidence.firm,
        severity=None if by_name else Severity.low,
    )
