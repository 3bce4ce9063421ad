"""OpenAPI 3.x response ``links``: which value of an answer fills which parameter of another one.

A Response Object's ``links`` name an operation (``operationId``, or ``operationRef``: a JSON
pointer such as ``#/paths/~1users~1{id}/get`` into the same document) and the values of its
parameters, each a constant or a runtime expression (OpenAPI 3.1, "Runtime Expressions")::

    $url | $method | $statusCode
    $request.path.NAME | $request.query.NAME | $request.header.NAME | $request.body#/POINTER
    $response.header.NAME | $response.body#/POINTER

also embedded in a string between braces (``"{$response.body#/id}"``, ``"o-{$request.path.id}"``).
A parameter name may be qualified by its location (``path.id``). ``parse_links`` reads them when
the document is normalised (bounded, never failing on a malformed entry); ``evaluate`` computes
an expression against one exchange of the source operation (see ``Answer``). A value a link
names fills exactly the linked operation's parameter: it goes before any value matched by name
(``ValuePool.candidates``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

if TYPE_CHECKING:
    from middlebrick.spec.model import Operation

__all__ = [
    "Answer",
    "Link",
    "LinkParameter",
    "evaluate",
    "parse_links",
    "path_values",
    "raw_links",
    "resolve_links",
]

MAX_LINKS = 64
"""Links read per operation (all its responses together)."""
MAX_PARAMETERS = 16
"""Parameters read per link."""
MAX_EXPRESSION = 512
"""The longest expression (or constant) read."""
_POINTER_DEPTH = 32  # JSON pointer tokens followed
_LOCATIONS = frozenset({"path", "query", "header", "cookie"})
_EMBEDDED = re.compile(r"\{(\$[^{}]{1,512})\}")  # MAX_EXPRESSION


@dataclass(frozen=True)
class LinkParameter:
    """One parameter a link sets: its name, location (``None``: any) and value expression."""

    name: str
    location: str | None
    expression: str  # a runtime expression, a string embedding some, or a constant as text


@dataclass(frozen=True)
class Link:
    """One link of an operation's response to another operation."""

    status: str  # the response it belongs to: "200", "2XX", "default"
    name: str
    target: str  # the linked operation's key ("GET /users/{id}")
    parameters: tuple[LinkParameter, ...] = ()

    def applies_to(self, status: int, declared: frozenset[str] = frozenset()) -> bool:
        """True when an answer with ``status`` is this link's response (``declared``: the
        statuses the operation documents, so ``default`` counts only for the others)."""
        code = str(status)
        if self.status == code:
            return True
        if self.status.upper() == code[0] + "XX":
            return code not in declared
        if self.status == "default":
            return code not in declared and code[0] + "XX" not in {s.upper() for s in declared}
        return False


@dataclass(frozen=True)
class Answer:
    """What runtime expressions read: one request of the source operation and its answer."""

    method: str
    url: str
    status: int
    path: Mapping[str, str] = field(default_factory=dict)  # the path parameters' values
    request_headers: Callable[[str], str | None] = lambda _name: None
    response_headers: Callable[[str], str | None] = lambda _name: None
    body: Any = None  # the parsed JSON answer
    request_body: Any = None  # the parsed JSON request body


@dataclass(frozen=True)
class RawLink:
    """A link as the document states it, before its target is resolved."""

    status: str
    name: str
    operation_id: str | None
    operation_ref: str | None
    parameters: tuple[LinkParameter, ...]


def raw_links(responses: Any) -> list[RawLink]:
    """The links of an Operation Object's ``responses`` (at most ``MAX_LINKS``), as stated."""
    found: list[RawLink] = []
    if not isinstance(responses, dict):
        return found
    for status, response in islice(responses.items(), MAX_LINKS):
        if not isinstance(response, dict) or not isinstance(response.get("links"), dict):
            continue
        for name, link in islice(response["links"].items(), MAX_LINKS - len(found)):
            if not isinstance(link, dict):
                continue
            op_id, op_ref = link.get("operationId"), link.get("operationRef")
            found.append(
                RawLink(
                    str(status),
                    str(name)[:MAX_EXPRESSION],
                    op_id if isinstance(op_id, str) else None,
                    op_ref if isinstance(op_ref, str) else None,
                    _parameters(link.get("parameters")),
                )
            )
        if len(found) >= MAX_LINKS:
            break
    return found


def resolve_links(
    operations: list[Operation], raw: Mapping[int, list[RawLink]]
) -> tuple[list[Operation], int]:
    """The operations with their response links resolved (``raw``: id of an operation -> its
    links as stated), and how many links named no operation of the document."""
    if not raw:
        return operations, 0
    by_id: dict[str, str] = {}
    for op in operations:
        if op.operation_id is not None:
            by_id.setdefault(op.operation_id, op.key)
    keys = frozenset(op.key for op in operations)
    unknown = 0
    resolved = []
    for op in operations:
        if id(op) in raw:
            links, missed = parse_links(raw[id(op)], by_id, keys)
            unknown += missed
            op = replace(op, links=links) if links else op
        resolved.append(op)
    return resolved, unknown


def parse_links(
    raw: list[RawLink], by_id: Mapping[str, str], keys: frozenset[str]
) -> tuple[tuple[Link, ...], int]:
    """The links whose target resolves (``by_id``: operationId -> key; ``keys``: every
    operation key), and how many name no operation of the document."""
    links: list[Link] = []
    unknown = 0
    for item in raw:
        target: str | None = None
        if item.operation_id is not None:
            target = by_id.get(item.operation_id)
        elif item.operation_ref is not None:
            target = _ref_target(item.operation_ref)
            target = target if target in keys else None
        if target is None or not item.parameters:
            unknown += target is None
            continue
        links.append(Link(item.status, item.name, target, item.parameters))
    return tuple(links), unknown


def evaluate(expression: str, answer: Answer) -> str | None:
    """The value of a link parameter for one answer, as text; ``None`` when it has none.

    A whole runtime expression, a string embedding some (``{$…}``, each must have a value), or
    a constant (any other text). Objects and lists are no parameter values: ``None``.
    """
    if expression.startswith("$"):
        return _expression(expression, answer)
    if "{$" not in expression:
        return expression
    missing = False

    def value(match: re.Match[str]) -> str:
        nonlocal missing
        found = _expression(match.group(1), answer)
        missing |= found is None
        return found or ""

    text = _EMBEDDED.sub(value, expression)
    return None if missing else text


def path_values(template: str, url: str) -> dict[str, str]:
    """The values of ``template``'s path parameters in ``url`` (``{}`` when it does not match)."""
    names = re.findall(r"\{([^{}/]+)\}", template)
    if not names:
        return {}
    parts = re.split(r"\{[^{}/]+\}", template)
    pattern = "([^/]+)".join(re.escape(part) for part in parts) + "/?$"
    match = re.search(pattern, urlsplit(url).path)
    if match is None:
        return {}
    return {name: unquote(value) for name, value in zip(names, match.groups(), strict=True)}


def _parameters(raw: Any) -> tuple[LinkParameter, ...]:
    if not isinstance(raw, dict):
        return ()
    params: list[LinkParameter] = []
    for key, value in islice(raw.items(), MAX_PARAMETERS):
        if not isinstance(key, str) or isinstance(value, dict | list) or value is None:
            continue
        text = _scalar(value)
        if not text or len(text) > MAX_EXPRESSION:
            continue
        location, _, name = key.partition(".")
        if name and location in _LOCATIONS:
            params.append(LinkParameter(name, location, text))
        else:
            params.append(LinkParameter(key, None, text))
    return tuple(params)


def _ref_target(ref: str) -> str | None:
    """``GET /users/{id}`` for ``#/paths/~1users~1{id}/get`` (a pointer into this document)."""
    _, hash_, pointer = ref.partition("#")
    if not hash_ or ref.split("#", 1)[0] not in ("", "."):
        return None  # another document: not followed
    tokens = [_unescape(t) for t in unquote(pointer).split("/")[1:]]
    if len(tokens) != 3 or tokens[0] != "paths":
        return None
    return f"{tokens[2].upper()} {tokens[1]}"


def _expression(expression: str, answer: Answer) -> str | None:
    if expression == "$url":
        return answer.url
    if expression == "$method":
        return answer.method
    if expression == "$statusCode":
        return str(answer.status)
    side, _, source = expression.partition(".")
    if side not in ("$request", "$response"):
        return None
    request = side == "$request"
    if source == "body" or source.startswith("body#"):
        body = answer.request_body if request else answer.body
        return _scalar(_pointer(body, source[5:]))
    kind, _, name = source.partition(".")
    if not name:
        return None
    if kind == "header":
        headers = answer.request_headers if request else answer.response_headers
        return headers(name)
    if request and kind == "path":
        return answer.path.get(name)
    if request and kind == "query":
        return dict(parse_qsl(urlsplit(answer.url).query)).get(name)
    return None


def _pointer(document: Any, pointer: str) -> Any:
    """The node of ``document`` at a JSON pointer (RFC 6901; ``""``: the whole document)."""
    if pointer == "":
        return document
    if not pointer.startswith("/"):
        return None
    node = document
    for token in islice(pointer[1:].split("/"), _POINTER_DEPTH + 1):
        token = _unescape(token)
        if isinstance(node, dict):
            if token not in node:
                return None
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return None
    return node if pointer.count("/") <= _POINTER_DEPTH else None


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None
