"""Realistic example values for parameters and bodies, and IDs harvested from responses.

Everything here is deterministic: the same schema gives the same value on every run, so a scan
sends the same requests and finds the same things.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection, Mapping
from typing import Any

from middlebrick.spec._scalars import name_hint, natural, number_for, string_for
from middlebrick.spec.model import Parameter

__all__ = ["harvest_ids", "is_plain", "serialize", "value_for_parameter", "value_for_schema"]

MAX_DEPTH = 6
"""How deep nested (possibly cyclic) schemas are followed."""

_ID_SUFFIXES = ("_id", "Id", "ID", "_key", "Key", "_uuid", "Uuid", "_slug")
_ID_NAMES = frozenset({"id", "uuid", "guid", "key", "slug", "name", "pk", "sk"})
_OBJECT_KEYS = ("properties", "additionalProperties", "required")
_STRING_KEYS = ("pattern", "minLength", "maxLength", "format")
_NUMBER_KEYS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
_FEW = 8  # properties: all of them when no more than this and none are required
_MAX_PARTS = 2000


def value_for_schema(schema: Any, *, name: str = "", depth: int = 0) -> Any:
    """A plausible value for a JSON schema (and a parameter or property ``name``).

    Uses, in order: ``example``/``examples``, ``default``, ``const``, the first ``enum`` value,
    then the type with its format, bounds and pattern; ``name`` refines guesses (``email``,
    ``*_id``, ``limit``, ``page``…). Nested schemas are followed ``MAX_DEPTH`` levels deep, and
    a value has at most a couple of thousand parts however wide (or hostile) the schema is.
    """
    return _Builder().value(schema, name, depth)


def value_for_parameter(parameter: Parameter) -> Any:
    """A plausible value for one parameter: its first example, else one from its schema."""
    for example in parameter.examples:
        if example is not None and is_plain(example):
            return example
    return value_for_schema(parameter.schema, name=parameter.name)


def is_plain(value: Any, *, max_parts: int = 10_000) -> bool:
    """True when ``value`` is a JSON-like tree: no cycles, no shared parts, not huge.

    Examples in a document can hold ``$ref``s, which resolution turns into shared or cyclic
    structures; such a value cannot be sent as-is.
    """
    seen: set[int] = set()
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping | list | tuple):
            if id(node) in seen or len(seen) >= max_parts:
                return False
            seen.add(id(node))
            stack.extend(node.values() if isinstance(node, Mapping) else node)
    return True


def serialize(value: Any) -> str:
    """A value as it goes in a path or query string (``true``, ``a,b``, ``k,v``)."""
    return _serialize(value, 0)


def _serialize(value: Any, depth: int) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or (depth > 3 and isinstance(value, Mapping | list | tuple)):
        return ""  # nested that deep (or cyclic, as a $ref'd example can be): nothing sensible
    if isinstance(value, list | tuple):
        return ",".join(_serialize(item, depth + 1) for item in value[:100])
    if isinstance(value, Mapping):
        pairs = list(value.items())[:100]
        return ",".join(f"{key},{_serialize(item, depth + 1)}" for key, item in pairs)
    return str(value)


def harvest_ids(
    data: Any,
    *,
    max_nodes: int = 5000,
    per_key: int = 5,
    owned_by: Collection[str] | None = None,
) -> dict[str, list[str]]:
    """Id-like values in a parsed JSON response, by key, in document order (breadth first).

    Keys ``id``, ``*_id``/``*Id``/``*ID``, ``uuid``, ``key``, ``slug``, ``name`` (and a few
    alike); string and integer values only; the first ``per_key`` distinct values of each.
    With ``owned_by`` (the values naming one identity), only records that mention one of them
    count: the identity's own objects.
    """
    if owned_by is None:
        return _harvest(data, max_nodes, per_key, lambda _node: True)
    wanted = set(owned_by)
    return _harvest(data, max_nodes, per_key, lambda node: _mentions(node, wanted))


def _harvest(
    data: Any, max_nodes: int, per_key: int, keep: Callable[[dict[Any, Any]], bool]
) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    queue: deque[Any] = deque([data])
    visited = 0
    while queue and visited < max_nodes:
        node = queue.popleft()
        visited += 1
        if isinstance(node, list):
            queue.extend(node[:50])
            continue
        if not isinstance(node, dict):
            continue
        kept = keep(node)
        for key, value in node.items():
            if isinstance(value, dict | list):
                queue.append(value)
            elif kept and isinstance(key, str) and _is_id_key(key) and _is_id_value(value):
                values = found.setdefault(key, [])
                text = str(value)
                if text not in values and len(values) < per_key:
                    values.append(text)
    return found


def _mentions(node: dict[Any, Any], wanted: set[str]) -> bool:
    return any(
        isinstance(v, str | int) and not isinstance(v, bool) and str(v) in wanted
        for v in node.values()
    )


def _declared(schema: Mapping[str, Any]) -> list[tuple[bool, Any]]:
    """(present, value) for what the schema itself offers, in priority order."""
    examples = schema.get("examples")
    first_example: tuple[bool, Any] = (False, None)
    if isinstance(examples, list) and examples:
        first_example = (True, examples[0])
    elif isinstance(examples, dict) and examples:
        item = next(iter(examples.values()))
        first_example = (
            True,
            item["value"] if isinstance(item, dict) and "value" in item else item,
        )
    enum = schema.get("enum")
    non_null = [v for v in enum if v is not None] if isinstance(enum, list) else []
    return [
        ("example" in schema, schema.get("example")),
        first_example,
        ("default" in schema, schema.get("default")),
        ("const" in schema, schema.get("const")),
        (bool(non_null), non_null[0] if non_null else None),
    ]


def _type(schema: Mapping[str, Any], name: str) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null" if kind else None)
    if isinstance(kind, str):
        return kind
    if any(key in schema for key in _OBJECT_KEYS):
        return "object"
    if "items" in schema:
        return "array"
    fmt = schema.get("format")
    if fmt in ("int32", "int64"):
        return "integer"
    if fmt in ("float", "double"):
        return "number"
    if any(key in schema for key in _STRING_KEYS):
        return "string"
    if any(key in schema for key in _NUMBER_KEYS):
        return "number"
    suggested = name_hint(name)
    if isinstance(suggested, bool):
        return "boolean"
    if isinstance(suggested, int):
        return "integer"
    if isinstance(suggested, float):
        return "number"
    return "string"


def _is_null(schema: Any) -> bool:
    return isinstance(schema, Mapping) and schema.get("type") in ("null", ["null"])


class _Builder:
    """Builds one value; ``remaining`` bounds the work on wide or diamond-shaped schemas."""

    def __init__(self) -> None:
        self.remaining = _MAX_PARTS

    def value(self, schema: Any, name: str, depth: int) -> Any:
        if not isinstance(schema, Mapping):
            schema = {}
        self.remaining -= 1
        if self.remaining <= 0:
            depth = max(depth, MAX_DEPTH)
        for found, value in _declared(schema):
            if found and is_plain(value):
                return value
        if depth < MAX_DEPTH and isinstance(schema.get("allOf"), list):
            return self.value(self.merge_all_of(schema, depth), name, depth + 1)
        for key in ("oneOf", "anyOf"):
            branches = schema.get(key)
            if depth < MAX_DEPTH and isinstance(branches, list) and branches:
                branch = next((b for b in branches if not _is_null(b)), branches[0])
                rest = {k: v for k, v in schema.items() if k not in ("oneOf", "anyOf")}
                merged = self.merge_all_of({"allOf": [rest, branch]}, depth)
                return self.value(merged, name, depth + 1)
        kind = _type(schema, name)
        if kind == "object":
            return self.object(schema, depth) if depth < MAX_DEPTH else {}
        if kind == "array":
            return self.array(schema, name, depth) if depth < MAX_DEPTH else []
        if kind in ("integer", "number"):
            return number_for(schema, name, integer=kind == "integer")
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        return string_for(schema, name)

    def merge_all_of(
        self, schema: Mapping[str, Any], depth: int, active: frozenset[int] = frozenset()
    ) -> dict[str, Any]:
        """One schema from ``allOf``: properties and ``required`` united, other keys first-wins."""
        active = active | {id(schema)}
        merged = {key: value for key, value in schema.items() if key != "allOf"}
        own_properties, own_required = merged.get("properties"), merged.get("required")
        properties = dict(own_properties) if isinstance(own_properties, Mapping) else {}
        required = _strings(own_required)
        subs = [
            s for s in schema.get("allOf") or [] if isinstance(s, Mapping) and id(s) not in active
        ]
        for sub in subs:
            self.remaining -= 1
            if isinstance(sub.get("allOf"), list) and depth < MAX_DEPTH and self.remaining > 0:
                sub = self.merge_all_of(sub, depth + 1, active)
            for key, value in sub.items():
                if key == "properties" and isinstance(value, Mapping):
                    for prop, prop_schema in value.items():
                        properties.setdefault(prop, prop_schema)
                elif key == "required":
                    required.extend(r for r in _strings(value) if r not in required)
                elif key in ("example", "examples", "default") and len(subs) > 1:
                    continue  # one part's example is not an example of the whole
                elif key != "allOf":
                    merged.setdefault(key, value)
        if properties:
            merged["properties"] = properties
        if required:
            merged["required"] = required
        return merged

    def object(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties")
        if not isinstance(properties, Mapping):
            return {}
        wanted = _strings(schema.get("required")) or [str(k) for k in list(properties)[:_FEW]]
        value: dict[str, Any] = {}
        for key in wanted:
            prop = properties.get(key, {})
            if isinstance(prop, Mapping) and prop.get("readOnly") is True:
                continue
            value[key] = self.value(prop, key, depth + 1)
        return value

    def array(self, schema: Mapping[str, Any], name: str, depth: int) -> list[Any]:
        items = schema.get("items")
        if isinstance(items, list):  # tuple form (draft 4)
            return [self.value(item, "", depth + 1) for item in items[:5]]
        item = self.value(items, _singular(name), depth + 1)
        count = max(1, min(natural(schema.get("minItems")) or 1, 5))
        if count > 1 and schema.get("uniqueItems") is True and isinstance(item, int | str):
            return [item + i if isinstance(item, int) else f"{item}{i}" for i in range(count)]
        return [item] * count


def _singular(name: str) -> str:
    if name.endswith("ies"):
        return name[:-3] + "y"
    return name[:-1] if name.endswith("s") and not name.endswith("ss") else name


def _strings(value: Any) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _is_id_key(key: str) -> bool:
    return key.lower() in _ID_NAMES or key.endswith(_ID_SUFFIXES)


def _is_id_value(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and 0 < len(value) <= 200 and "\n" not in value
