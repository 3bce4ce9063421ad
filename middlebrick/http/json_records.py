"""The JSON objects writes send and answers carry, as the write journal reads them.

``record_of`` finds the object a 2xx JSON answer is about (itself, or the one object it wraps);
``json_object`` parses a request body; ``json_keys`` lists every key of an object, nested ones
included; ``created_id`` finds a new object's id in a ``POST``'s answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from middlebrick.http.exchange import Exchange

__all__ = ["created_id", "flat", "json_keys", "json_object", "record_of", "scalar"]

_ENVELOPES = ("data", "item", "result", "record")
_MAX_DEPTH = 4


def record_of(
    exchange: Exchange | None, unwrap: Callable[[Any], Any] = lambda value: value
) -> dict[str, Any] | None:
    """The object a 2xx JSON answer is about: itself, or the one object it wraps (``Item``).

    ``unwrap`` turns the parsed body into plain values first (checks unwrap DynamoDB's
    AttributeValues; the journal compares what the API answers, as it answers it).
    """
    if exchange is None or exchange.response is None or not exchange.ok:
        return None
    value = unwrap(exchange.response.json)
    if not isinstance(value, dict):
        return None
    if len(value) == 1:
        inner = next(iter(value.values()))
        if isinstance(inner, dict):
            return inner
    return value


def json_object(body: bytes | None) -> dict[str, Any] | None:
    """A request body parsed as a JSON object, else ``None``."""
    if not body:
        return None
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def json_keys(value: Any, depth: int = 0) -> set[str]:
    """Every key of a JSON object, nested objects included (``{"user": {"role": …}}``)."""
    if depth > _MAX_DEPTH or not isinstance(value, dict):
        return set()
    found = {str(key) for key in value}
    for item in value.values():
        found |= json_keys(item, depth + 1)
    return found


def created_id(record: Mapping[str, Any] | None, param: str) -> str | None:
    """The new object's id in a POST's answer: its ``param``, ``id``, or the same inside a
    ``data`` / ``item`` / ``result`` envelope (``{"data": {"id": …}, "permissions": …}``)."""
    if not record:
        return None
    found = [record.get(key) for key in (param, "id", flat(param))]
    for wrapper in _ENVELOPES:
        inner = record.get(wrapper)
        if isinstance(inner, Mapping):
            found += [inner.get(key) for key in (param, "id", flat(param))]
    return next((str(value) for value in found if scalar(value) and str(value)), None)


def scalar(value: Any) -> bool:
    """True for a string or an integer (not a boolean): a value an id can be."""
    return isinstance(value, str | int) and not isinstance(value, bool)


def flat(name: str) -> str:
    """A field name without ``_`` and ``-``, lower-cased: ``user_id`` and ``userId`` meet."""
    return name.replace("_", "").replace("-", "").lower()
