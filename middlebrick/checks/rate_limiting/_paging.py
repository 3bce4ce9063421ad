"""Pages of a list response: page-size parameters, how many records came back, what comes next.

A page is the longest list in a JSON answer (the answer itself, or one of its top-level fields);
its *continuation* is the field that points at the next page (``next_cursor``, ``nextToken``,
``LastEvaluatedKey``, ``has_more`` …) when it holds a value.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from middlebrick.spec.model import Parameter, Schema

_PAGE_SIZE = re.compile(
    r"(?i)\$?(?:limit|size|page_?size|per_?page|page_?limit|max_?(?:results|items|keys|records)|"
    r"top|take|first|count)"
)
_NOT_SIZE_TYPES = frozenset({"boolean", "array", "object"})
_CONTINUATION = re.compile(
    r"(?i)(?:next|next_?(?:cursor|token|page|page_?token|key|link|url|marker)|cursor|"
    r"continuation(?:_?token)?|page_?token|last_?evaluated_?key|marker|has_?more|more)"
)
_DYNAMO_KEY_FIELDS = re.compile(r"(?i)last_?evaluated_?key|exclusive_?start_?key")
_MAX_CURSOR = 4096  # characters of a cursor worth decoding
_ATTRIBUTE_TYPES = frozenset({"S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS", "L", "M"})


@dataclass(frozen=True)
class Page:
    """The records of one answer: where the list sits, its length, and what comes next."""

    field: str | None  # the top-level field holding the list; None when the answer is the list
    count: int
    continuation: tuple[str, Any] | None  # (field, value) when a next page is announced


def is_page_size(parameter: Parameter) -> bool:
    """True for a query parameter that sets how many records a page holds (``limit`` …)."""
    if parameter.location != "query" or not _PAGE_SIZE.fullmatch(parameter.name):
        return False
    schemas = [parameter.schema, *_parts(parameter.schema)]
    for schema in schemas:
        kind = schema.get("type")
        if "enum" in schema or (isinstance(kind, str) and kind in _NOT_SIZE_TYPES):
            return False
    return True


def declared_maximum(parameter: Parameter) -> float | None:
    """The ``maximum`` the parameter's schema declares, if any."""
    for schema in (parameter.schema, *_parts(parameter.schema)):
        maximum = schema.get("maximum")
        if isinstance(maximum, int | float) and not isinstance(maximum, bool):
            return float(maximum)
    return None


def page_of(document: Any, field: str | None = None) -> Page | None:
    """The page of a parsed JSON answer (``field``: read that field's list), if it has one."""
    if isinstance(document, list):
        return Page(None, len(document), None) if field is None else None
    if not isinstance(document, dict):
        return None
    if field is None:
        lists = [(k, v) for k, v in document.items() if isinstance(v, list)]
        if not lists:
            return None
        field = max(lists, key=lambda pair: len(pair[1]))[0]
    records = document.get(field)
    if not isinstance(records, list):
        return None
    return Page(field, len(records), _continuation(document))


def is_dynamodb_key(name: str, value: Any) -> bool:
    """True when a continuation is DynamoDB's ``LastEvaluatedKey``, named or as a raw cursor.

    A raw cursor is the key itself, as JSON or base64-encoded JSON: an object of one to four
    attributes whose values are scalars or AttributeValues (``{"S": "…"}``).
    """
    if _DYNAMO_KEY_FIELDS.fullmatch(name):
        return True
    if isinstance(value, str):
        value = _decoded(value)
    if not isinstance(value, dict) or not 1 <= len(value) <= 4:
        return False
    return all(_key_attribute(v) for v in value.values())


def _continuation(document: dict[str, Any]) -> tuple[str, Any] | None:
    for name, value in document.items():
        filled = value not in (None, "", False, 0, [], {})
        if filled and isinstance(name, str) and _CONTINUATION.fullmatch(name):
            return name, value
    return None


def _key_attribute(value: Any) -> bool:
    if isinstance(value, dict):
        return len(value) == 1 and next(iter(value)) in _ATTRIBUTE_TYPES
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _decoded(text: str) -> Any:
    text = text.strip()
    if len(text) > _MAX_CURSOR:
        return None
    if text.startswith("{"):
        candidates = [text.encode()]
    else:
        padded = text + "=" * (-len(text) % 4)
        candidates = []
        for decode in (base64.urlsafe_b64decode, base64.b64decode):
            try:
                candidates.append(decode(padded.encode()))
            except (binascii.Error, ValueError):
                continue
    for raw in candidates:
        try:
            return json.loads(raw)
        except (UnicodeDecodeError, ValueError):
            continue
    return None


def _parts(schema: Schema) -> list[Schema]:
    parts: list[Schema] = []
    for key in ("allOf", "anyOf", "oneOf"):
        value = schema.get(key)
        if isinstance(value, list):
            parts += [p for p in value[:10] if isinstance(p, Mapping) and p.get("type") != "null"]
    return parts
