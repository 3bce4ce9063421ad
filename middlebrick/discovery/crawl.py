"""A surface without a spec: the target URL, plus the same-origin links its JSON answers hold.

Links are followed breadth first and bounded (operations, pages, depth, pages of one shape);
numeric and UUID path segments become templates (``/items/42`` -> ``/items/{id}``) when several
siblings differ only there. The answers fetched are kept: crawl mode reads them again to find
collections, their item routes, and the routes a debug page lists.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from middlebrick.discovery.wellknown import same_origin
from middlebrick.http.exchange import Exchange, Headers, Request, Response, Sender
from middlebrick.spec.model import Operation, Parameter

ACCEPT_JSON = Headers.of({"Accept": "application/json, */*;q=0.5"})

_ID_SEGMENT = re.compile(
    r"^(?:\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-f]{24})$"
)
_PATH_LIKE = re.compile(r"^/(?!/)[\w\-.~%!$&'()*+,;=:@/{}]*(?:\?[^\s#]*)?$")
_URI_TEMPLATE_QUERY = re.compile(r"\{[?&#][^}]*\}")
_TEMPLATE_PARAM = re.compile(r"\{([^{}/]+)\}")
_NOT_FOLLOWED = re.compile(r"(?i)(?:^|/)(?:logout|log-out|signout|sign-out)(?:/|$)")
_ASSETS = (
    ".png", ".jpg", ".jpeg", ".gif", ".svg", ".ico", ".css", ".js", ".map",
    ".woff", ".woff2", ".ttf", ".pdf", ".zip", ".gz", ".mp4", ".mp3",
)  # fmt: skip
_MAX_NODES = 5000
_MAX_LINK_CHARS = 300
_MAX_PAGES_PER_SHAPE = 2
_LINK_HEADER = re.compile(r"<([^>]*)>")
_WILD = "\0"


DEFAULT_MAX_PAGES = 16
"""The most pages one crawl fetches."""


@dataclass(frozen=True)
class Crawled:
    """What a crawl found: GET operations, how many pages it fetched, and their answers."""

    operations: tuple[Operation, ...]
    fetched: int
    pages: Mapping[str, Exchange] = field(default_factory=dict)  # path fetched -> its exchange


@dataclass(frozen=True)
class _Link:
    path: str
    query: tuple[tuple[str, str], ...]
    depth: int


async def crawl(
    client: Sender,
    target: str,
    *,
    max_operations: int = 200,
    max_depth: int = 2,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> Crawled:
    """The operations found from the target URL, with the pages fetched to find them."""
    parts = urlsplit(target)
    origin = f"{parts.scheme}://{parts.netloc}"
    start = _Link(parts.path or "/", tuple(parse_qsl(parts.query, keep_blank_values=True)), 0)
    links: dict[str, _Link] = {start.path: start}
    queue: deque[_Link] = deque([start])
    pages: Counter[tuple[str, ...]] = Counter()
    answers: dict[str, Exchange] = {}
    fetched = 0
    while queue and fetched < max_pages:
        link = queue.popleft()
        shape = _shape(link.path)
        if link.depth >= max_depth or "{" in link.path or _NOT_FOLLOWED.search(link.path):
            continue
        if pages[shape] >= _MAX_PAGES_PER_SHAPE:
            continue
        pages[shape] += 1
        query = f"?{urlencode(link.query)}" if link.query else ""
        exchange = await client.send(
            Request("GET", origin + link.path + query, headers=ACCEPT_JSON)
        )
        fetched += 1
        if exchange.response is None:
            continue
        answers.setdefault(link.path, exchange)
        for path, params in _links_in(exchange.response, origin):
            if len(links) >= max_operations:
                break
            if path not in links:
                links[path] = _Link(path, params, link.depth + 1)
                queue.append(links[path])
    return Crawled(_operations(list(links.values())), fetched, answers)


def _links_in(response: Response, origin: str) -> Iterator[tuple[str, tuple[tuple[str, str], ...]]]:
    """Same-origin paths (and their query) in a response's ``Link`` header and JSON strings."""
    base = response.url or origin + "/"
    for header in response.headers.get_all("link"):
        for match in _LINK_HEADER.finditer(header):
            found = _as_link(urljoin(base, match.group(1).strip()), origin)
            if found is not None:
                yield found
    for text in _strings(response.json):
        found = _as_link(text, origin)
        if found is not None:
            yield found


def _strings(data: Any) -> Iterator[str]:
    """String values of a parsed JSON document, breadth first, bounded."""
    queue: deque[Any] = deque([data])
    seen = 0
    while queue and seen < _MAX_NODES:
        node = queue.popleft()
        seen += 1
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            queue.extend(node.values())
        elif isinstance(node, list):
            queue.extend(node[:100])


def _as_link(text: str, origin: str) -> tuple[str, tuple[tuple[str, str], ...]] | None:
    if len(text) > _MAX_LINK_CHARS:
        return None
    if text.startswith(("http://", "https://")):
        if not same_origin(text, origin):
            return None
        parts = urlsplit(text)
        text = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    text = _URI_TEMPLATE_QUERY.sub("", text)
    if not _PATH_LIKE.match(text):
        return None
    path, _, query = text.partition("?")
    if path.lower().endswith(_ASSETS):
        return None
    return path, tuple(parse_qsl(query, keep_blank_values=True))


def _shape(path: str) -> tuple[str, ...]:
    return tuple(_WILD if _ID_SEGMENT.match(seg) else seg for seg in path.split("/"))


def _operations(links: list[_Link]) -> tuple[Operation, ...]:
    """One GET operation per path; siblings differing only in id segments share a template."""
    groups: dict[tuple[str, ...], list[_Link]] = {}
    for link in links:
        groups.setdefault(_shape(link.path), []).append(link)
    operations: list[Operation] = []
    for shape, members in groups.items():
        if len(members) == 1:
            operations.append(_concrete(members[0]))
        else:
            operations.append(_template(shape, members))
    return tuple(operations)


def _concrete(link: _Link) -> Operation:
    params = [
        Parameter(name=name, location="path", required=True)
        for name in dict.fromkeys(_TEMPLATE_PARAM.findall(link.path))
    ]
    return Operation(
        method="GET",
        path=link.path,
        parameters=(*params, *_query_params(link)),
        source="discovered",
    )


def _template(shape: tuple[str, ...], members: list[_Link]) -> Operation:
    rows = [member.path.split("/") for member in members]
    first = rows[0]
    varying = [
        i for i, seg in enumerate(shape) if seg == _WILD and len({row[i] for row in rows}) > 1
    ]
    segments = list(first)
    params: list[Parameter] = []
    used: set[str] = set()
    for position, index in enumerate(varying):
        name = "id" if position == len(varying) - 1 else _name_before(first, index, position)
        while name in used:
            name += "_"
        used.add(name)
        example = first[index]
        schema = {"type": "integer"} if example.isdigit() else {"type": "string"}
        if "-" in example:
            schema = {"type": "string", "format": "uuid"}
        segments[index] = "{" + name + "}"
        params.append(
            Parameter(name=name, location="path", required=True, schema=schema, examples=(example,))
        )
    return Operation(
        method="GET",
        path="/".join(segments),
        parameters=(*params, *_query_params(members[0])),
        source="discovered",
    )


def _name_before(segments: list[str], index: int, position: int) -> str:
    previous = re.sub(r"[^a-z0-9]+", "_", segments[index - 1].lower()).strip("_") if index else ""
    if not previous or _ID_SEGMENT.match(previous):
        return f"id{position + 1}"
    singular = previous[:-1] if previous.endswith("s") and not previous.endswith("ss") else previous
    return f"{singular}_id"


def _query_params(link: _Link) -> list[Parameter]:
    seen: dict[str, str] = {}
    for name, value in link.query:
        seen.setdefault(name, value)
    return [
        Parameter(name=name, location="query", examples=(value,) if value else ())
        for name, value in seen.items()
    ]
