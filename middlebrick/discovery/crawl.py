"""A surface without a spec: the target URL, plus the same-origin links its answers hold.

JSON answers give every string that is a same-origin URL or path (HAL's and JSON:API's links
among them; a HAL ``href`` may also be relative), and the ``Link`` header. HTML pages give their
``<a href>`` links, followed as pages, and their JSON alternates (``<link rel="alternate"
type="application/json…">``, links to ``….json`` or ``?format=json``: Datasette's, Django REST
framework's browsable API), which stand for the page's data: an alternate of a page already
fetched as HTML is fetched too. A page link becomes an operation only when it answered with
something other than HTML; every other link (JSON, alternate) becomes one as found.

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

from middlebrick.discovery.pages import page_links
from middlebrick.discovery.undocumented import is_html
from middlebrick.discovery.wellknown import same_origin
from middlebrick.http.exchange import Exchange, Headers, Request, Response, Sender
from middlebrick.spec.model import Operation, Parameter

ACCEPT_JSON = Headers.of({"Accept": "application/json, */*;q=0.5"})

_ID_SEGMENT = re.compile(
    r"^(?:\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-f]{24})$"
)
_FORMAT_SUFFIX = re.compile(r"\.(?:json|csv|xml|ya?ml)$", re.I)  # /rows/1.json: an id, as JSON
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
    page: bool = False  # from an HTML page's <a href>: an operation only if it answers non-HTML
    alternate: bool = False  # the JSON of a page (<link rel="alternate">, .json, ?format=json)


async def crawl(
    client: Sender,
    target: str,
    *,
    max_operations: int = 200,
    max_depth: int = 3,
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
        if pages[shape] >= _MAX_PAGES_PER_SHAPE and not link.alternate:
            continue
        pages[shape] += 1
        query = f"?{urlencode(link.query)}" if link.query else ""
        exchange = await client.send(
            Request("GET", origin + link.path + query, headers=ACCEPT_JSON)
        )
        fetched += 1
        if exchange.response is None:
            continue
        if link.path not in answers or not is_html(exchange.response):
            answers[link.path] = exchange
        for found in _links_in(exchange.response, origin, link.depth):
            known = links.get(found.path)
            if known is None and len(links) < max_operations:
                links[found.path] = found
                queue.append(found)
            elif known is not None and _better(found, known, answers):
                links[found.path] = found  # the JSON of a page fetched as HTML
                queue.append(found)
    listed = [link for link in links.values() if not link.page or _answered_data(link, answers)]
    return Crawled(_operations(listed), fetched, answers)


def _links_in(response: Response, origin: str, depth: int) -> Iterator[_Link]:
    """The links of an answer: its ``Link`` header, and its JSON strings or HTML links."""
    base = response.url or origin + "/"
    for header in response.headers.get_all("link"):
        for match in _LINK_HEADER.finditer(header):
            found = _as_link(urljoin(base, match.group(1).strip()), origin)
            if found is not None:
                yield _Link(*found, depth + 1)
    if is_html(response):
        for link in page_links(response.text, base):
            found = _as_link(link.url, origin)
            if found is not None:
                yield _Link(
                    *found,
                    depth if link.alternate else depth + 1,
                    page=not link.alternate,
                    alternate=link.alternate,
                )
        return
    for key, text in _strings(response.json):
        if key == "href" and not text.startswith(("/", "http://", "https://")):
            text = urljoin(base, text)  # HAL: an href may be relative to the answer's URL
        found = _as_link(text, origin)
        if found is not None:
            yield _Link(*found, depth + 1)


def _better(found: _Link, known: _Link, answers: Mapping[str, Exchange]) -> bool:
    """True when ``found`` is the JSON alternate of a page ``known`` got as HTML (same path)."""
    if not found.alternate or known.alternate or found.query == known.query:
        return False
    answer = answers.get(known.path)
    return answer is not None and answer.response is not None and is_html(answer.response)


def _answered_data(link: _Link, answers: Mapping[str, Exchange]) -> bool:
    answer = answers.get(link.path)
    return answer is not None and answer.response is not None and not is_html(answer.response)


def _strings(data: Any) -> Iterator[tuple[str | None, str]]:
    """String values of a parsed JSON document with their keys, breadth first, bounded."""
    queue: deque[tuple[str | None, Any]] = deque([(None, data)])
    seen = 0
    while queue and seen < _MAX_NODES:
        key, node = queue.popleft()
        seen += 1
        if isinstance(node, str):
            yield key, node
        elif isinstance(node, dict):
            queue.extend((str(k), v) for k, v in node.items())
        elif isinstance(node, list):
            queue.extend((key, v) for v in node[:100])


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
    return tuple(_wild(seg) for seg in path.split("/"))


def _wild(segment: str) -> str:
    """``_WILD`` for an id segment (with its format suffix: ``_WILD + ".json"``), else itself."""
    stem, suffix = _split_suffix(segment)
    return _WILD + suffix if _ID_SEGMENT.match(stem) else segment


def _split_suffix(segment: str) -> tuple[str, str]:
    match = _FORMAT_SUFFIX.search(segment)
    return (segment[: match.start()], match.group(0)) if match else (segment, "")


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
        i
        for i, seg in enumerate(shape)
        if seg.startswith(_WILD) and len({row[i] for row in rows}) > 1
    ]
    segments = list(first)
    params: list[Parameter] = []
    used: set[str] = set()
    for position, index in enumerate(varying):
        name = "id" if position == len(varying) - 1 else _name_before(first, index, position)
        while name in used:
            name += "_"
        used.add(name)
        example, suffix = _split_suffix(first[index])
        schema = {"type": "integer"} if example.isdigit() else {"type": "string"}
        if "-" in example:
            schema = {"type": "string", "format": "uuid"}
        segments[index] = "{" + name + "}" + suffix
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
