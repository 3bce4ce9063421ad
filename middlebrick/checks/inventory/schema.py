"""Inventory: response bodies that do not match the schema the API description declares.

The validator is deliberately small: it checks types (``type``, ``nullable``, OpenAPI 3.1 type
lists), ``enum`` / ``const``, ``required`` properties, ``properties``, ``items``, map values
(``additionalProperties`` as a schema) and ``allOf`` / ``anyOf`` / ``oneOf``. It does not judge
formats, patterns or bounds (servers and documents disagree on those for harmless reasons), nor
undeclared properties, which ``property_authorization`` reports.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding
from middlebrick.spec.model import Operation, Schema

_MISMATCH = "inventory.response-schema-mismatch"

MAX_DEPTH = 12
"""How deep a (possibly cyclic) schema is followed."""

_ITEMS_CHECKED = 20  # elements of each array validated
_LIMIT = 20  # mismatches collected per body
_SHOWN = 3  # mismatches named in the detail
_ABSENT = object()  # the value of a required property that is not there
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "number": (int, float),
    "integer": (int, float),
}


_Found = dict[tuple[str, str, str], "Mismatch"]


@dataclass(frozen=True)
class Mismatch:
    """One place where a value breaks its schema."""

    where: str  # JSON path with list indexes blanked: items[].price
    expected: str  # "number", "one of ['open', 'shipped']", "a required property"
    got: str  # the value's JSON type, or "nothing"
    example: str  # the first offending value, shortened


@check(category="inventory", emits={_MISMATCH})
async def response_schema(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Baseline responses whose JSON body does not validate against the declared schema.

    Reads the baseline; sends no requests. For each operation from the API description whose
    baseline answered 2xx with a complete JSON body, the schema declared for that status (or
    its ``2XX`` range, or ``default``) and a JSON media type is checked: types (a number sent
    as a string, a list sent as text, ``null`` where the schema is not nullable), ``enum`` and
    ``const``, ``required`` properties, nested ``properties`` and ``items`` (the first 20
    elements of each array), maps and ``allOf`` / ``anyOf`` / ``oneOf``. Formats, patterns,
    bounds and undeclared properties are not judged.

    One finding per operation naming up to three mismatched places (list indexes folded, so
    ``items[].price`` stands for every record). Confidence is confirmed: the body and the
    schema are both in the evidence.
    """
    async for operation, exchange in ctx.each(ctx.baseline.items()):
        resp = exchange.response
        if operation.source != "spec" or resp is None or not resp.ok or resp.truncated:
            continue
        schema = _declared(operation, resp.status)
        if not schema or not resp.is_json:
            continue
        found = mismatches(resp.json, schema)
        if not found:
            continue
        shown = "; ".join(
            f"`{m.where}`: expected {m.expected}, got {m.got} ({m.example})" for m in found[:_SHOWN]
        )
        more = f" and {len(found) - _SHOWN} more" if len(found) > _SHOWN else ""
        yield ctx.finding(
            _MISMATCH,
            operation,
            detail=f"the {resp.status} answer to GET {exchange.request.url} does not match the "
            f"documented schema: {shown}{more}",
            evidence=[exchange],
            confidence=Confidence.confirmed,
        )


def mismatches(value: Any, schema: Schema) -> list[Mismatch]:
    """Where ``value`` breaks ``schema``: distinct places, in document order, at most 20."""
    found: _Found = {}
    _check(value, schema, "", 0, found)
    return list(found.values())


def _declared(operation: Operation, status: int) -> Schema | None:
    """The JSON schema declared for ``status``: its own entry, its range, or ``default``."""
    for key in (str(status), f"{status // 100}XX", f"{status // 100}xx", "default"):
        content = operation.responses.get(key)
        if content is None:
            continue
        for media, schema in content.items():
            if "json" in media.lower():  # */* or text: the schema describes raw bytes
                return schema
        return None
    return None


def _check(value: Any, schema: Any, where: str, depth: int, found: _Found) -> None:
    if depth > MAX_DEPTH or len(found) >= _LIMIT or not isinstance(schema, Mapping):
        return
    for part in schema.get("allOf") or ():
        _check(value, part, where, depth + 1, found)
    for key in ("anyOf", "oneOf"):
        options = [o for o in schema.get(key) or () if isinstance(o, Mapping)]
        if options and not any(_valid(value, o, where, depth + 1) for o in options):
            expected = " or ".join(dict.fromkeys(_describe(o) for o in options))
            _add(found, where, expected, value)
            return
    types = _types(schema)
    if value is None:
        if types and "null" not in types and schema.get("nullable") is not True:
            _add(found, where, " or ".join(types), value)
        return
    if types and not any(_is(value, kind) for kind in types):
        _add(found, where, " or ".join(types), value)
        return
    if "enum" in schema and isinstance(schema["enum"], list) and not _in(value, schema["enum"]):
        _add(found, where, f"one of {schema['enum'][:6]!r}", value)
    if "const" in schema and not _in(value, [schema["const"]]):
        _add(found, where, f"{schema['const']!r}", value)
    if isinstance(value, dict):
        _check_object(value, schema, where, depth, found)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for element in value[:_ITEMS_CHECKED]:
            _check(element, schema["items"], f"{where}[]", depth + 1, found)


def _check_object(
    value: dict[str, Any],
    schema: Mapping[str, Any],
    where: str,
    depth: int,
    found: _Found,
) -> None:
    properties = schema.get("properties")
    properties = properties if isinstance(properties, Mapping) else {}
    for name in schema.get("required") or ():
        if isinstance(name, str) and name not in value:
            _add(found, f"{where}.{name}" if where else name, "a required property", _ABSENT)
    extra = schema.get("additionalProperties")
    for name, item in value.items():
        key = f"{where}.{name}" if where else str(name)
        if name in properties:
            _check(item, properties[name], key, depth + 1, found)
        elif isinstance(extra, Mapping):
            _check(item, extra, key, depth + 1, found)


def _valid(value: Any, schema: Mapping[str, Any], where: str, depth: int) -> bool:
    trial: _Found = {}
    _check(value, schema, where, depth, trial)
    return not trial


def _types(schema: Mapping[str, Any]) -> list[str]:
    kind = schema.get("type")
    if isinstance(kind, str):
        return [kind]
    if isinstance(kind, list):
        return [k for k in kind if isinstance(k, str)]
    return []


def _is(value: Any, kind: str) -> bool:
    if kind == "null":
        return value is None
    if isinstance(value, bool):
        return kind == "boolean"
    if kind == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    return isinstance(value, _TYPES.get(kind, (object,)))


def _in(value: Any, allowed: list[Any]) -> bool:
    return any(value == option and type(value) is type(option) for option in allowed) or any(
        _is(value, "number") and _is(option, "number") and value == option for option in allowed
    )


def _describe(schema: Mapping[str, Any]) -> str:
    types = _types(schema)
    if types:
        return " or ".join(types)
    if "enum" in schema:
        return f"one of {schema['enum'][:6]!r}"
    return "object" if "properties" in schema else "another shape"


def _add(found: _Found, where: str, expected: str, value: Any) -> None:
    got = "nothing" if value is _ABSENT else _json_type(value)
    key = (where or "(body)", expected, got)
    if key not in found and len(found) < _LIMIT:
        example = "absent" if value is _ABSENT else _short(value)
        found[key] = Mismatch(key[0], expected, got, example)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:39] + "…"
