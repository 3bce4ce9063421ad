"""Declared schemas as the property checks read them: composed schemas merged, extras found.

Schemas come from ``spec`` with every ``$ref`` replaced (a recursive schema is a cyclic
structure), so every walk here is depth-bounded. ``allOf`` / ``oneOf`` / ``anyOf`` are read as
the union of their parts: a property declared by any part is declared, and the object is open
to extra properties when any part says so.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from middlebrick.spec.model import Operation, Schema

MAX_DEPTH = 8
"""How deep schemas (and the answers walked against them) are followed."""

_LIST_SAMPLE = 20  # elements of an array checked against its item schema
_MAX_PARTS = 200  # composed parts read per schema (allOf / oneOf / anyOf, followed)
_COMPOSED = ("allOf", "oneOf", "anyOf")

Openness = Literal["open", "closed", "unspecified"]


@dataclass(frozen=True)
class ObjectShape:
    """What an object schema declares: its properties and whether it admits others."""

    properties: Mapping[str, Schema] = field(default_factory=dict)
    extra: Openness = "unspecified"  # additionalProperties: true/schema, false, or absent
    extra_schema: Schema | None = None  # additionalProperties as a schema, when it is one

    @property
    def free_form(self) -> bool:
        """True when the schema constrains no property names at all (``{"type": "object"}``)."""
        return not self.properties and self.extra != "closed"


def shape(schema: Any) -> ObjectShape:
    """The object shape of ``schema``, composed parts merged."""
    parts = _parts(schema)
    properties: dict[str, Schema] = {}
    extra: Openness = "unspecified"
    extra_schema: Schema | None = None
    for index, part in enumerate(parts):
        raw = part.get("properties")
        if isinstance(raw, Mapping):
            for name, prop in raw.items():
                if isinstance(prop, Mapping):
                    properties.setdefault(str(name), prop)
        inner, inner_schema = _openness(part)
        if index == 0 or inner == "open" or (inner == "closed" and extra == "unspecified"):
            extra, extra_schema = inner, extra_schema or inner_schema
        if "patternProperties" in part:
            extra = "open"
    return ObjectShape(properties, extra, extra_schema)


def _parts(schema: Any) -> list[Mapping[str, Any]]:
    """``schema`` and the parts it composes, each once, breadth first, at most ``_MAX_PARTS``.

    Composition can be cyclic (``$ref`` resolved into a loop) or wide; both stay bounded.
    """
    found: list[Mapping[str, Any]] = []
    seen: set[int] = set()
    queue: deque[tuple[Any, int]] = deque([(schema, 0)])
    while queue and len(found) < _MAX_PARTS:
        node, depth = queue.popleft()
        if not isinstance(node, Mapping) or id(node) in seen or depth > MAX_DEPTH:
            continue
        seen.add(id(node))
        found.append(node)
        for key in _COMPOSED:
            composed = node.get(key)
            if isinstance(composed, list):
                queue.extend((part, depth + 1) for part in composed[:_MAX_PARTS])
    return found


def _openness(schema: Mapping[str, Any]) -> tuple[Openness, Schema | None]:
    value = schema.get("additionalProperties")
    if value is False:
        return "closed", None
    if value is True:
        return "open", None
    if isinstance(value, Mapping):
        return "open", value if value else None
    return "unspecified", None


def _items(schema: Any) -> Any:
    """The item schema of an array schema (composed parts searched too)."""
    for part in _parts(schema):
        items = part.get("items")
        if isinstance(items, Mapping):
            return items
    return None


def response_schema(operation: Operation, status: int) -> Schema | None:
    """The JSON schema an operation declares for ``status`` (``2XX`` and ``default`` too)."""
    for key in (str(status), f"{str(status)[0]}XX", f"{str(status)[0]}xx", "default"):
        media = operation.responses.get(key)
        if not media:
            continue
        for name, schema in media.items():
            if "json" in name or name == "*/*":
                return schema
        return None
    return None


def undeclared(value: Any, schema: Any) -> list[str]:
    """Paths of properties in ``value`` that ``schema`` does not declare, in document order.

    A property counts when its object's schema lists properties and does not admit others
    (``additionalProperties`` false or absent), or when the schema marks it ``writeOnly``.
    Free-form objects (no properties listed) and ``additionalProperties: true`` admit anything.
    """
    found: list[str] = []
    _walk(value, schema, "", 0, found)
    return list(dict.fromkeys(found))


def _walk(value: Any, schema: Any, path: str, depth: int, found: list[str]) -> None:
    if depth > MAX_DEPTH or not isinstance(schema, Mapping) or not schema:
        return
    if isinstance(value, list):
        items = _items(schema)
        for element in value[:_LIST_SAMPLE]:
            _walk(element, items, f"{path}[]", depth + 1, found)
        return
    if not isinstance(value, dict):
        return
    declared = shape(schema)
    if declared.free_form:
        return
    for key, item in value.items():
        where = f"{path}.{key}" if path else str(key)
        prop = declared.properties.get(str(key))
        if prop is not None:
            if prop.get("writeOnly") is True:
                found.append(f"{where} (writeOnly)")
            _walk(item, prop, where, depth + 1, found)
        elif declared.extra == "open":
            _walk(item, declared.extra_schema, where, depth + 1, found)
        else:
            found.append(where)
