"""Properties an active mass-assignment check may try to write, and where a write puts them.

``candidates`` picks, from an object the scan created (as read back), the properties a client
must not set: privilege flags and roles (``_privilege.escalation``), then properties the server
owns (``knowledge/server_owned.yaml``: a granted flag such as ``verified``, an amount such as
``price_cents``, a workflow state with a documented enum) that the write's request schema does
not list. Owner, tenant and id properties are never among them. ``into_body`` puts them in a
request body (inside its envelope, ``{"offer": {...}}``, when the request schema is one), and
``into_query`` in the query string (APIs that read write fields from it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from middlebrick.checks._field_names import key_tokens
from middlebrick.checks._owners import is_id_key
from middlebrick.checks._privilege import escalation
from middlebrick.checks._properties import flat, is_ownership, is_privileged_input
from middlebrick.checks._schemas import shape
from middlebrick.findings import Severity
from middlebrick.http.exchange import Exchange
from middlebrick.knowledge import server_owned_words
from middlebrick.spec.model import Operation

__all__ = [
    "MAX_FIELDS", "answer_envelope", "as_json", "candidates", "envelope", "into_body",
    "into_query", "same", "severity", "stuck", "writable",
]  # fmt: skip

MAX_FIELDS = 3
"""Properties written at once."""


def envelope(schema: Any) -> str | None:
    """The wrapping property of a request schema that is an envelope (``{"user": {...}}``:
    one property, itself an object with properties), else ``None``."""
    outer = shape(schema).properties
    if len(outer) != 1:
        return None
    ((name, inner),) = outer.items()
    return name if shape(inner).properties else None


def answer_envelope(exchange: Exchange) -> str | None:
    """The wrapping property of a JSON answer that is one object in an envelope
    (``{"user": {...}}``), else ``None``."""
    resp = exchange.response
    value = resp.json if resp is not None and resp.is_json else None
    if isinstance(value, dict) and len(value) == 1:
        ((name, inner),) = value.items()
        if isinstance(name, str) and isinstance(inner, dict):
            return name
    return None


def writable(operation: Operation) -> set[str]:
    """The flattened property names the operation's request schema lists (inside an envelope)."""
    schema = operation.request_body.schema if operation.request_body is not None else {}
    wrapper = envelope(schema)
    body = shape(schema).properties
    if wrapper is not None:
        body = shape(body[wrapper]).properties
    return {flat(name) for name in body}


def candidates(
    record: Mapping[str, Any], write: Operation, read: Operation | None = None
) -> dict[str, Any]:
    """At most ``MAX_FIELDS`` properties of ``record`` to write, with the value to write.

    Privilege flags and roles first (whatever the request schema says), then properties the
    server owns that ``write``'s request schema does not list: a false granted flag set to
    true, an amount set to another number, a state set to another value of the enum that
    ``read``'s response schema documents (none without one).
    """
    wanted = dict(escalation(record))
    listed = writable(write)
    words = server_owned_words()
    states = _enums(read) if read is not None else {}
    for key, value in record.items():
        if len(wanted) >= MAX_FIELDS:
            break
        if key in wanted or flat(key) in listed or is_id_key(key) or is_ownership(key):
            continue
        if is_privileged_input(key):
            continue
        tokens = key_tokens(key)
        if isinstance(value, bool):
            if value is False and tokens & set(words.granted_flags):
                wanted[key] = True
        elif isinstance(value, int | float) and tokens & set(words.amounts):
            wanted[key] = 1 if value != 1 else 2
        elif isinstance(value, str) and tokens & set(words.states):
            other = next((v for v in states.get(key, ()) if v != value), None)
            if other is not None:
                wanted[key] = other
    return wanted


def into_body(body: Mapping[str, Any], schema: Any, extra: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` with ``extra`` added: inside its envelope when the request schema is one."""
    wrapper = envelope(schema)
    inner = body.get(wrapper) if wrapper is not None else None
    if wrapper is not None and isinstance(inner, Mapping):
        return {**body, wrapper: {**inner, **extra}}
    return {**body, **extra}


def into_query(url: str, extra: Mapping[str, Any]) -> str:
    """``url`` with ``extra`` as query parameters (``true``/``false`` for flags)."""
    pairs = [(k, _text(v)) for k, v in extra.items()]
    return url + ("&" if "?" in url else "?") + urlencode(pairs)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def stuck(
    wanted: Mapping[str, Any], before: Mapping[str, Any], after: Mapping[str, Any] | None
) -> list[str]:
    """The written properties ``after`` reads back with the written value, which ``before``
    (the control's read-back) did not have."""
    if after is None:
        return []
    return [
        key
        for key, value in wanted.items()
        if same(after.get(key), value) and not same(before.get(key), value)
    ]


def same(read: Any, written: Any) -> bool:
    """Equal values, a flag never equal to a number (``True`` is not ``1``)."""
    return isinstance(read, bool) == isinstance(written, bool) and read == written


def _enums(read: Operation) -> dict[str, tuple[Any, ...]]:
    """The string enums of the properties of ``read``'s success schema (inside an envelope)."""
    schema = read.success_schema()
    if schema is None:
        return {}
    props = shape(schema).properties
    wrapper = envelope(schema)
    if wrapper is not None:
        props = shape(props[wrapper]).properties
    found: dict[str, tuple[Any, ...]] = {}
    for name, prop in props.items():
        values = prop.get("enum")
        if isinstance(values, list) and all(isinstance(v, str) for v in values):
            found[name] = tuple(values[:20])
    return found


def as_json(value: Any) -> str:
    """A written or read value as JSON, short, for a detail sentence."""
    text = json.dumps(value, default=str)
    return text if len(text) <= 24 else text[:23] + "…"


def severity(hit: list[str], record: Mapping[str, Any]) -> Severity | None:
    """How bad the properties taken are: ``None`` (the catalogue's, critical) for a privilege
    flag or role; high for an amount (money, credit); medium for a granted flag (``verified``,
    ``featured``); low for a workflow state alone (a sync job's ``status``)."""
    raised = escalation(record)
    if any(key in raised for key in hit):
        return None
    words = server_owned_words()
    tokens = set().union(*(key_tokens(key) for key in hit)) if hit else set()
    if tokens & set(words.amounts):
        return Severity.high
    if tokens & set(words.granted_flags):
        return Severity.medium
    return Severity.low
