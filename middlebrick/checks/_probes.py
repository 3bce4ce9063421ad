"""Building probes from baseline requests: one parameter's value replaced, the rest kept."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from middlebrick.http.exchange import Request
from middlebrick.spec.model import Operation, Parameter

BREAKER = "'\")("
"""A value that breaks naive parsing: quotes for SQL/PartiQL, parentheses for expressions."""

_PAGE_SIZE = re.compile(
    r"(?i)limit|size|page_?size|per_?page|page_?limit|max_?(?:results|items|keys)|count|top|take"
)


def probe_parameters(operation: Operation, limit: int) -> list[Parameter]:
    """The operation's path then query parameters, at most ``limit`` of them."""
    return [*operation.params("path"), *operation.params("query")][:limit]


def current_value(request: Request, operation: Operation, parameter: Parameter) -> str | None:
    """The value ``request`` sends for ``parameter`` (path segment or query item), if any."""
    parts = urlsplit(request.url)
    if parameter.location == "query":
        return next(
            (v for k, v in parse_qsl(parts.query, keep_blank_values=True) if k == parameter.name),
            None,
        )
    index = path_index(parts.path, operation.path, parameter.name)
    return None if index is None else parts.path.split("/")[index]


def broken_value(parameter: Parameter, current: str | None) -> str:
    """The value most likely to break what ``parameter`` feeds, without changing data.

    ``0`` for a page-size parameter (``limit``, ``page_size`` …: a database rejects a page of
    nothing), the same JSON with every string replaced by ``BREAKER`` for a JSON-valued
    parameter, else ``BREAKER``.
    """
    if _PAGE_SIZE.fullmatch(parameter.name):
        return "0"
    if current and current.lstrip()[:1] in ("{", "["):
        try:
            document = json.loads(current)
        except ValueError:
            return BREAKER
        return json.dumps(_break_strings(document), separators=(",", ":"))
    return BREAKER


def with_parameter(
    request: Request, operation: Operation, parameter: Parameter, value: str
) -> Request | None:
    """``request`` with ``parameter`` set to ``value``; ``None`` when it cannot be placed."""
    parts = urlsplit(request.url)
    if parameter.location == "query":
        items = parse_qsl(parts.query, keep_blank_values=True)
        if any(k == parameter.name for k, _ in items):
            items = [(k, value if k == parameter.name else v) for k, v in items]
        else:
            items.append((parameter.name, value))
        return request.with_url(parts._replace(query=urlencode(items)).geturl())
    if parameter.location == "path":
        index = path_index(parts.path, operation.path, parameter.name)
        if index is None:
            return None
        segments = parts.path.split("/")
        segments[index] = quote(value, safe="")
        return request.with_url(parts._replace(path="/".join(segments)).geturl())
    return None


def path_index(actual: str, template: str, name: str) -> int | None:
    """Where ``{name}`` of ``template`` sits among the ``/``-separated segments of ``actual``.

    The template is a suffix of the actual path (the API may live below a base path).
    """
    actual_segments, template_segments = actual.split("/"), template.split("/")
    if len(template_segments) > len(actual_segments):
        return None
    offset = len(actual_segments) - len(template_segments)
    for index, segment in enumerate(template_segments):
        if segment == "{" + name + "}":
            return offset + index
    return None


def _break_strings(value: Any) -> Any:
    if isinstance(value, str):
        return BREAKER
    if isinstance(value, list):
        return [_break_strings(v) for v in value]
    if isinstance(value, dict):
        return {k: _break_strings(v) for k, v in value.items()}
    return value
