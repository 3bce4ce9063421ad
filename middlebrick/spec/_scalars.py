"""Scalar example values: formats, name hints, numeric bounds, and strings for simple patterns.

A pattern (``^[a-z]{3}-\\d+$``) is followed only through literals, classes, categories, groups,
alternation and bounded repeats; anything else gives ``None``, and every result is checked
against the pattern.
"""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

__all__ = ["example_for_pattern", "name_hint", "natural", "number_for", "string_for"]

_parser: Any
try:  # the standard library's own regex parser (public as sre_parse until 3.11, deprecated)
    _parser = importlib.import_module("re._parser")
except ImportError:  # pragma: no cover - layout of other Python versions
    _parser = None

_MAX_PATTERN = 300
_MAX_OUTPUT = 256
_MAX_REPEAT = 64
_CATEGORY = {
    "CATEGORY_DIGIT": "1",
    "CATEGORY_NOT_DIGIT": "a",
    "CATEGORY_WORD": "a",
    "CATEGORY_NOT_WORD": "-",
    "CATEGORY_SPACE": " ",
    "CATEGORY_NOT_SPACE": "a",
}
_UUID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
_FORMATS: dict[str, Any] = {
    "uuid": _UUID,
    "guid": _UUID,
    "date": "2024-01-15",
    "date-time": "2024-01-15T10:30:00Z",
    "time": "10:30:00Z",
    "duration": "P1D",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "iri": "https://example.com/",
    "uri-reference": "/example",
    "iri-reference": "/example",
    "uri-template": "https://example.com/{id}",
    "hostname": "example.com",
    "idn-hostname": "example.com",
    "ipv4": "192.0.2.10",
    "ipv6": "2001:db8::10",
    "byte": "ZXhhbXBsZQ==",
    "binary": "example",
    "base64": "ZXhhbXBsZQ==",
    "password": "Example-Passw0rd!",
    "json-pointer": "/example",
    "regex": "^example$",
    "phone": "+15555550100",
    "int32": 1,
    "int64": 1,
}
# name hints: (names, suffixes) -> value; checked in order, on the snake_case name
_NAME_HINTS: tuple[tuple[frozenset[str], tuple[str, ...], Any], ...] = (
    (frozenset({"email", "email_address", "mail"}), ("_email",), "user@example.com"),
    (frozenset({"uuid", "guid"}), ("_uuid", "_guid"), _UUID),
    (
        frozenset({"limit", "per_page", "page_size", "pagesize", "size", "count", "max_results"}),
        (),
        10,
    ),
    (frozenset({"top", "first", "max_items", "maxitems", "max_keys"}), (), 10),
    (frozenset({"page", "page_number", "pagenumber"}), (), 1),
    (frozenset({"offset", "skip", "start"}), (), 0),
    (frozenset({"id", "pk"}), ("_id",), 1),
    (
        frozenset({"url", "uri", "href", "link", "callback", "webhook", "redirect"}),
        ("_url", "_uri"),
        "https://example.com/",
    ),
    (frozenset({"phone", "phone_number", "mobile", "telephone"}), ("_phone",), "+15555550100"),
    (frozenset({"date", "birthday", "birth_date", "dob"}), ("_date",), "2024-01-15"),
    (
        frozenset({"timestamp", "datetime", "since", "until"}),
        ("_at", "_time"),
        "2024-01-15T10:30:00Z",
    ),
    (frozenset({"password", "passwd", "secret"}), ("_password",), "Example-Passw0rd!"),
    (frozenset({"q", "query", "search", "term", "keyword", "keywords", "filter"}), (), "test"),
    (frozenset({"lang", "language", "locale"}), (), "en"),
    (frozenset({"country", "country_code"}), (), "US"),
    (frozenset({"currency", "currency_code"}), (), "USD"),
    (frozenset({"lat", "latitude"}), (), 51.5),
    (frozenset({"lon", "lng", "longitude"}), (), -0.12),
    (frozenset({"amount", "price", "total", "cost"}), ("_amount", "_price"), 9.99),
    (frozenset({"name", "username", "first_name", "last_name", "title"}), ("_name",), "example"),
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def number_for(schema: Mapping[str, Any], name: str, *, integer: bool) -> int | float:
    """A number within the schema's bounds (3.0 boolean or 3.1 numeric exclusive ones)."""
    suggested = name_hint(name)
    preferred: float = (
        suggested
        if isinstance(suggested, int | float) and not isinstance(suggested, bool)
        else (1 if integer else 1.5)
    )
    low, high = _num(schema.get("minimum")), _num(schema.get("maximum"))
    low_open = schema.get("exclusiveMinimum") is True
    high_open = schema.get("exclusiveMaximum") is True
    ex_low, ex_high = _num(schema.get("exclusiveMinimum")), _num(schema.get("exclusiveMaximum"))
    if ex_low is not None and (low is None or ex_low >= low):
        low, low_open = ex_low, True
    if ex_high is not None and (high is None or ex_high <= high):
        high, high_open = ex_high, True
    step = _num(schema.get("multipleOf"))
    if integer:
        lo = None if low is None else math.floor(low) + 1 if low_open else math.ceil(low)
        hi = None if high is None else math.ceil(high) - 1 if high_open else math.floor(high)
        number = int(_clamp(round(preferred), lo, hi))
        if step and step >= 1 and step == int(step) and number % int(step):
            multiple = math.ceil(number / step) * int(step)
            if hi is not None and multiple > hi:
                multiple = math.floor(hi / step) * int(step)
            if lo is None or multiple >= lo:  # else no multiple fits: the bounds win
                number = multiple
        return number
    gap = 1.0 if low is None or high is None else (high - low) / 2
    floor = None if low is None else low + gap if low_open else low
    ceiling = None if high is None else high - gap if high_open else high
    value: float = _clamp(preferred, floor, ceiling)
    if step and step > 0:
        near: float = math.ceil(value / step) * step
        if ceiling is not None and near > ceiling:
            near = math.floor(ceiling / step) * step
        if floor is None or near >= floor:
            value = round(near, 10)
    return value


def _clamp(value: float, low: float | None, high: float | None) -> float:
    if low is not None and value < low:
        value = low
    if high is not None and value > high:
        value = high
    return value


def string_for(schema: Mapping[str, Any], name: str) -> Any:
    """A string for the schema's pattern, else its format, else the name's hint, sized to fit."""
    fmt = schema.get("format")
    value: Any = None
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        value = example_for_pattern(pattern)
    if value is None and isinstance(fmt, str) and fmt.lower() in _FORMATS:
        value = str(_FORMATS[fmt.lower()])
    if value is None:
        suggested = name_hint(name)
        value = str(suggested) if suggested is not None else "example"
    low, high = natural(schema.get("minLength")), natural(schema.get("maxLength"))
    if low is not None and len(value) < low:
        value += "x" * (min(low, 10_000) - len(value))
    if high is not None and len(value) > high:
        value = value[: max(high, 0)]
    return value


def name_hint(name: str) -> Any:
    """The value a parameter or property name suggests, if any."""
    if not name:
        return None
    snake = _CAMEL.sub("_", name).replace("-", "_").replace(".", "_").lower()
    for names, suffixes, value in _NAME_HINTS:
        if snake in names or (suffixes and snake.endswith(suffixes)):
            return value
    return None


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value if math.isfinite(value) else None


def natural(value: Any) -> int | None:
    """``value`` when it is a non-negative integer (a length or count keyword), else ``None``."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


class _GiveUp(Exception):
    pass


@lru_cache(maxsize=512)
def example_for_pattern(pattern: str) -> str | None:
    """A short string that ``re.search(pattern, ...)`` accepts, or ``None``."""
    if _parser is None or len(pattern) > _MAX_PATTERN:
        return None
    try:
        compiled = re.compile(pattern)
        out: list[str] = []
        _emit(_parser.parse(pattern), out)
    except (_GiveUp, re.error, RecursionError, ValueError, OverflowError):
        return None
    text = "".join(out)
    return text if compiled.search(text) else None


def _emit(items: Any, out: list[str]) -> None:
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name == "NOT_LITERAL":
            out.append("b" if chr(arg) == "a" else "a")
        elif name == "ANY":
            out.append("a")
        elif name == "IN":
            out.append(_one_of(arg))
        elif name == "CATEGORY":
            out.append(_CATEGORY.get(str(arg), "a"))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, sub = arg
            count = low if low > 0 else min(1, high)
            if count > _MAX_REPEAT:
                raise _GiveUp
            for _ in range(count):
                _emit(sub, out)
        elif name == "SUBPATTERN":
            _emit(arg[-1], out)
        elif name == "ATOMIC_GROUP":
            _emit(arg, out)
        elif name == "BRANCH":
            _emit(arg[1][0], out)
        elif name in ("AT", "ASSERT", "ASSERT_NOT"):
            continue  # anchors and look-arounds: the final check decides
        else:
            raise _GiveUp
        if sum(len(part) for part in out) > _MAX_OUTPUT:
            raise _GiveUp


def _one_of(items: Any) -> str:
    """One character of a class ``[...]``; negated classes get a common character."""
    if items and str(items[0][0]) == "NEGATE":
        raise _GiveUp
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            return chr(arg)
        if name == "RANGE":
            low, high = arg
            for preferred in "a1A":
                if low <= ord(preferred) <= high:
                    return preferred
            return chr(low)
        if name == "CATEGORY":
            return _CATEGORY.get(str(arg), "a")
    raise _GiveUp
