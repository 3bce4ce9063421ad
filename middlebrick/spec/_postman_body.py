"""A Postman request body as the model needs it: media type, schema inferred from the example,
and the example (raw JSON or text, urlencoded, formdata, GraphQL, file).

Bounded like the rest of ``postman``: raw bodies past 256 KiB are not parsed, inferred schemas
stop at 24 levels and 200 properties, and malformed bodies give a body without schema.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from middlebrick.spec._postman_parts import (
    VARIABLE,
    Variables,
    is_credential,
    text,
    unresolved,
)
from middlebrick.spec.values import value_for_schema

__all__ = ["Body", "infer_schema", "read_body"]

_MAX_BODY = 256 * 1024  # raw bodies longer than this are not parsed for a schema
_MAX_SCHEMA_DEPTH = 24
_MAX_PROPERTIES = 200


# --- bodies --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Body:
    """A request body: media type, schema inferred from the example, and the example."""

    content_type: str
    schema: Mapping[str, Any]
    example: Any = None


def read_body(raw: Any, content_type: str | None, variables: Variables) -> Body | None:
    """The body of a request (raw JSON or text, urlencoded, formdata, GraphQL), if it has one."""
    if not isinstance(raw, dict) or raw.get("disabled") is True:
        return None
    mode = text(raw.get("mode"))
    if mode == "raw":
        return _raw_body(raw, content_type, variables)
    if mode in ("urlencoded", "formdata"):
        form = _form(raw.get(mode), variables)
        if not form:
            return None
        media = "application/x-www-form-urlencoded" if mode == "urlencoded" else None
        media = media or "multipart/form-data"
        properties = {
            key: ({"type": "string", "format": "binary"} if file else {"type": "string"})
            for key, _, file in form
        }
        example = {key: value for key, value, file in form if not file}
        return Body(media, {"type": "object", "properties": properties}, example)
    if mode == "graphql" and isinstance(raw.get("graphql"), dict):
        query = text(raw["graphql"].get("query"))
        example = {"query": variables.resolve(query)} if query else {}
        return Body(content_type or "application/json", infer_schema(example), example)
    if mode == "file":
        return Body(content_type or "application/octet-stream", {"type": "string"}, None)
    return None


def _raw_body(raw: dict[str, Any], content_type: str | None, variables: Variables) -> Body | None:
    body = raw.get("raw")
    if not isinstance(body, str) or not body.strip():
        return None
    options = raw.get("options")
    language = ""
    if isinstance(options, dict) and isinstance(options.get("raw"), dict):
        language = text(options["raw"].get("language")).lower()
    media = content_type or _LANGUAGES.get(language)
    if media is None and body.lstrip()[:1] in ("{", "["):
        media = "application/json"
    media = media or "text/plain"
    if "json" not in media.lower() or len(body) > _MAX_BODY:
        return Body(media, {"type": "string"}, None)
    example = _json_example(body, variables)
    if example is None:
        return Body(media, {}, None)
    return Body(media, infer_schema(example), example)


_LANGUAGES = {
    "json": "application/json",
    "xml": "application/xml",
    "html": "text/html",
    "text": "text/plain",
    "javascript": "application/javascript",
}


def _json_example(body: str, variables: Variables) -> Any:
    """The JSON of a raw body, its strings' variables resolved; a bare ``{{x}}`` (outside a
    string) is read as a string, and one left unresolved gets a value for its property."""
    try:
        document = json.loads(_quote_bare_variables(body))
    except (ValueError, RecursionError):
        return None
    return _fill(document, "", 0, variables)


def _quote_bare_variables(body: str) -> str:
    """``body`` with each ``{{x}}`` outside a JSON string turned into the string ``"{{x}}"``."""
    if "{{" not in body:
        return body
    out: list[str] = []
    inside = escaped = False
    index = 0
    while index < len(body):
        char = body[index]
        if inside:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                inside = False
        elif char == '"':
            inside = True
        elif body.startswith("{{", index):
            match = VARIABLE.match(body, index)
            if match is not None:
                out.append(json.dumps(match.group(0)))
                index = match.end()
                continue
        out.append(char)
        index += 1
    return "".join(out)


def _fill(value: Any, name: str, depth: int, variables: Variables) -> Any:
    if depth > _MAX_SCHEMA_DEPTH:
        return None
    if isinstance(value, str) and name and is_credential(name):
        return value_for_schema({"type": "string"}, name=name)  # the collection's is not sent
    if isinstance(value, str) and "{{" in value:
        resolved = variables.resolve(value)
        if not unresolved(resolved):
            return resolved
        if VARIABLE.fullmatch(resolved):
            return value_for_schema({"type": "string"}, name=name or unresolved(resolved)[0])
        return resolved
    if isinstance(value, dict):
        return {
            key: _fill(item, key, depth + 1, variables)
            for key, item in list(value.items())[:_MAX_PROPERTIES]
        }
    if isinstance(value, list):
        return [_fill(item, name, depth + 1, variables) for item in value[:_MAX_PROPERTIES]]
    return value


def infer_schema(value: Any, depth: int = 0) -> dict[str, Any]:
    """A JSON schema from an example: the types of its values (``null`` says nothing)."""
    if depth > _MAX_SCHEMA_DEPTH or value is None:
        return {}
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        return {"type": "string"}
    if isinstance(value, list):
        return {"type": "array", "items": infer_schema(value[0], depth + 1) if value else {}}
    if isinstance(value, dict):
        properties = {
            str(key): infer_schema(item, depth + 1)
            for key, item in list(value.items())[:_MAX_PROPERTIES]
        }
        return {"type": "object", "properties": properties}
    return {}


def _form(raw: Any, variables: Variables) -> list[tuple[str, str, bool]]:
    """(key, example value, is a file) of the enabled fields of a form body."""
    fields: list[tuple[str, str, bool]] = []
    for entry in raw if isinstance(raw, list) else []:
        if not isinstance(entry, dict) or entry.get("disabled") is True:
            continue
        key = entry.get("key")
        if isinstance(key, str) and key:
            value = variables.resolve(text(entry.get("value")))
            value = "" if unresolved(value) or is_credential(key) else value
            fields.append((key[:200], value, entry.get("type") == "file"))
    return fields
