"""URL-accepting inputs of an operation, found by name, declared format and value, and classed.

An input is a query or path parameter, or a top-level field of a JSON or form request body.
It is *URL-accepting* when its name says so (``url``, ``image_url``, ``href``, ``feed`` …), its
schema declares ``format: uri`` (or url, iri, uri-reference), or its example or baseline value
is an absolute http(s) URL. Each is classed by what the server is likely to do with the URL:

- ``redirect``: send the client there (``next``, ``return_to``, ``redirect_uri`` …);
- ``callback``: call it later (``callback_url``, ``webhook``, ``notify_url`` …);
- ``fetch``: request it itself, now (everything else).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal
from urllib.parse import urlencode

from middlebrick.baseline import build_request
from middlebrick.checks._probe import current_value, with_parameter
from middlebrick.http.exchange import Request
from middlebrick.spec.model import Operation, Parameter, Schema
from middlebrick.spec.values import is_plain, value_for_schema

Kind = Literal["fetch", "redirect", "callback"]
Where = Literal["query", "path", "body"]

URI_FORMATS = frozenset({"uri", "url", "iri", "uri-reference", "iri-reference"})
"""Schema formats that declare a URL."""

_URL_WORDS = frozenset({"url", "urls", "uri", "uris", "href", "link", "src", "feed", "proxy"})
_REDIRECT_WORDS = frozenset(
    {"next", "redirect", "redir", "return", "returnto", "continue", "goto", "forward", "dest"}
    | {"destination", "back"}
)
_REDIRECT_EXTRAS = frozenset({"to", "after", "login", "path", "target", "success", "failure"})
_CALLBACK_WORDS = frozenset({"callback", "webhook", "hook", "notify", "notification", "postback"})
_NOT_URL_TYPES = frozenset({"integer", "number", "boolean", "array", "object"})
_ID_WORDS = frozenset({"id", "ids", "uuid", "pk", "key"})
_ABSOLUTE = re.compile(r"^https?://[^\s/?#]+", re.I)
_TOKEN = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


@dataclass(frozen=True)
class UrlInput:
    """One URL-accepting input of an operation."""

    operation: Operation
    name: str
    where: Where
    kind: Kind
    reason: str  # why it was recognised, for a detail sentence: "named like a URL"
    parameter: Parameter | None = None  # for query and path inputs

    @property
    def label(self) -> str:
        """``query parameter `url``` or ``body field `callback_url```, for a detail sentence."""
        kind = "body field" if self.where == "body" else f"{self.where} parameter"
        return f"{kind} `{self.name}`"


def url_inputs(operation: Operation, request: Request | None = None) -> list[UrlInput]:
    """The URL-accepting inputs of ``operation`` (``request``: its baseline, for values)."""
    found: list[UrlInput] = []
    for parameter in (*operation.params("query"), *operation.params("path")):
        value = current_value(request, operation, parameter) if request is not None else None
        if value is None and parameter.examples:
            value = parameter.examples[0]
        classed = classify(parameter.name, parameter.schema, value)
        if classed is not None:
            kind, reason = classed
            where: Where = "query" if parameter.location == "query" else "path"
            found.append(UrlInput(operation, parameter.name, where, kind, reason, parameter))
    for name, schema in _body_fields(operation):
        classed = classify(name, schema, _example(schema))
        if classed is not None:
            found.append(UrlInput(operation, name, "body", *classed))
    return found


def classify(name: str, schema: Schema, value: Any) -> tuple[Kind, str] | None:
    """``(kind, reason)`` when an input of this name, schema and value takes a URL."""
    schemas = list(_branches(schema))
    if any(_declared_types(s) & _NOT_URL_TYPES or "enum" in s for s in schemas):
        return None
    tokens = [word.lower() for word in _TOKEN.findall(name)]
    if tokens and tokens[-1] in _ID_WORDS:
        return None  # ``hook_id``, ``callback_uuid``: it names an object, not a URL
    words = set(tokens)
    if words & _REDIRECT_WORDS and words <= _REDIRECT_WORDS | _REDIRECT_EXTRAS | _URL_WORDS:
        return "redirect", "named like a redirect target"
    if words & _URL_WORDS:
        reason = "named like a URL"
    elif any(str(s.get("format")) in URI_FORMATS for s in schemas):
        reason = "declared with format uri"
    elif isinstance(value, str) and _ABSOLUTE.match(value):
        reason = f"its value is a URL ({value[:80]})"
    elif words & {"webhook", "hook"}:
        reason = "named like a webhook"
    else:
        return None
    if words & _CALLBACK_WORDS:
        return "callback", reason
    return "fetch", reason


def with_input(request: Request, item: UrlInput, value: str) -> Request | None:
    """``request`` with the input ``item`` set to ``value``: a query or path parameter, or a
    field of the request's JSON object body (added when the body lacks it)."""
    if item.where == "body":
        try:
            document = json.loads(request.body or b"")
        except ValueError:
            return None
        if not isinstance(document, dict):
            return None
        return replace(request, body=json.dumps({**document, item.name: value}).encode())
    if item.parameter is None:
        return None
    return with_parameter(request, item.operation, item.parameter, value)


def body_request(item: UrlInput, base_url: str, value: str) -> Request | None:
    """The operation's request with a realistic body whose field ``item.name`` is ``value``."""
    body = item.operation.request_body
    if body is None or item.where != "body":
        return None
    document = next((e for e in body.examples if isinstance(e, dict) and is_plain(e)), None)
    if document is None:
        document = value_for_schema(body.schema)
    if not isinstance(document, dict):
        return None
    document = {**document, item.name: value}
    if "json" in body.content_type:
        raw = json.dumps(document)
    elif body.content_type == "application/x-www-form-urlencoded":
        raw = urlencode({k: v for k, v in document.items() if isinstance(v, str | int | float)})
    else:
        return None
    request = build_request(item.operation, base_url)
    return replace(
        request,
        method=item.operation.method,
        body=raw.encode(),
        headers=request.headers.set("Content-Type", body.content_type),
    )


def _body_fields(operation: Operation) -> Iterator[tuple[str, Schema]]:
    body = operation.request_body
    if body is None:
        return
    if "json" not in body.content_type and "x-www-form-urlencoded" not in body.content_type:
        return
    for schema in _branches(body.schema):
        properties = schema.get("properties")
        if isinstance(properties, Mapping):
            for name, prop in list(properties.items())[:100]:
                if isinstance(name, str) and isinstance(prop, Mapping):
                    yield name, prop


def _branches(schema: Schema) -> Iterator[Schema]:
    """The schema and its direct ``allOf`` / ``anyOf`` / ``oneOf`` parts (nulls left out)."""
    yield schema
    for key in ("allOf", "anyOf", "oneOf"):
        parts = schema.get(key)
        if isinstance(parts, list):
            for part in parts[:10]:
                if isinstance(part, Mapping) and part.get("type") != "null":
                    yield part


def _declared_types(schema: Schema) -> set[str]:
    kind = schema.get("type")
    if isinstance(kind, str):
        return {kind}
    return {k for k in kind if isinstance(k, str)} - {"null"} if isinstance(kind, list) else set()


def _example(schema: Schema) -> Any:
    if "example" in schema:
        return schema["example"]
    examples = schema.get("examples")
    if isinstance(examples, list) and examples:
        return examples[0]
    return schema.get("default")
