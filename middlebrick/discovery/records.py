"""Reading JSON answers as records: the lists of objects a collection returns, and their ids.

::

    for found in collections(body):  # {"users": [{"id": "u-1", ...}]}
        found.resource, found.records[0]  # "users", {"id": "u-1", ...}

Values in DynamoDB's wire format (``{"S": "u-1"}``) and single-key envelopes
(``{"Item": {...}}``, ``{"data": {...}}``) are read through, so a raw item answers with the keys
of the record it holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_ENVELOPES = frozenset(
    {"data", "results", "result", "records", "content", "hits", "rows", "entries", "list", "values"}
)
_TYPED = frozenset({"S", "N", "B", "BOOL", "SS", "NS", "L", "M"})
_WORD = re.compile(r"^[a-z][a-z0-9_-]{1,40}$")
_MAX_RECORDS = 50


@dataclass(frozen=True)
class Collection:
    """A list of records a JSON answer holds, named after its resource when it can be."""

    resource: str | None  # "users" for {"users": [...]}; None for a bare list
    records: tuple[dict[str, Any], ...]


def collections(body: Any) -> list[Collection]:
    """The lists of records in ``body``: itself, or its values (one level, envelopes opened)."""
    if isinstance(body, list):
        records = _records(body)
        return [Collection(None, records)] if records else []
    if not isinstance(body, dict):
        return []
    found: list[Collection] = []
    for key, value in body.items():
        if not isinstance(key, str) or not isinstance(value, list):
            continue
        records = _records(value)
        if records:
            name = key.lower()
            resource = None if name in _ENVELOPES or not _WORD.match(name) else name
            found.append(Collection(resource, records))
    return found


def record(body: Any) -> dict[str, Any] | None:
    """The object ``body`` answers with, its single-key envelope opened and values read plain."""
    if isinstance(body, dict) and len(body) == 1:
        inner = next(iter(body.values()))
        if isinstance(inner, dict) and not _is_typed(inner):
            body = inner
    if not isinstance(body, dict) or not body:
        return None
    return {str(key): plain(value) for key, value in body.items()}


def plain(value: Any) -> Any:
    """A DynamoDB wire-format value (``{"S": "a1"}``) as its plain value; others unchanged."""
    if isinstance(value, dict) and _is_typed(value):
        return next(iter(value.values()))
    return value


def singular(word: str) -> str:
    """``users`` -> ``user``, ``categories`` -> ``category``, ``status`` -> ``status``."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def record_id(item: dict[str, Any], resource: str) -> tuple[str, str] | None:
    """The (key, value) that identifies a record of ``resource``: ``<singular>_id``, ``id`` …."""
    one = re.sub(r"[^a-z0-9]+", "_", singular(resource).lower()).strip("_")
    for key in (f"{one}_id", f"{one}Id", "id", "uuid", f"{one}_uuid", "key", "slug"):
        value = item.get(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, int | str) and str(value).strip() and len(str(value)) <= 80:
            text = str(value)
            if "/" not in text and not text.isspace():
                return key, text
    return None


def _records(values: list[Any]) -> tuple[dict[str, Any], ...]:
    found = tuple(r for r in (_as_record(v) for v in values[:_MAX_RECORDS]) if r is not None)
    return found if found and len(found) * 2 >= min(len(values), _MAX_RECORDS) else ()


def _as_record(value: Any) -> dict[str, Any] | None:
    """A list element as a record (values read plain), or ``None``."""
    if not isinstance(value, dict) or not value:
        return None
    return {str(key): plain(inner) for key, inner in value.items()}


def _is_typed(value: dict[Any, Any]) -> bool:
    return len(value) == 1 and next(iter(value)) in _TYPED
