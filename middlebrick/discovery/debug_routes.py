"""Routes a framework's debug page lists: Django's technical 404 names every URL pattern.

A target running with ``DEBUG = True`` answers an unknown path with a page that says "Django
tried these URL patterns, in this order" and lists them. Crawl mode reads that list from the
pages the crawl fetched, so no extra request is sent: ``api/members/<str:member_id>`` becomes
the GET operation ``/api/members/{member_id}``. Regex patterns (``re_path``) are kept only when
they are plain text once their anchors are dropped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from middlebrick.http.exchange import Exchange
from middlebrick.spec.model import Operation, Parameter

__all__ = ["listed_routes"]

_DJANGO_LIST = re.compile(r"Django tried these URL patterns.*?<ol>(.*?)</ol>", re.S | re.I)
_ITEM = re.compile(r"<li>(.*?)</li>", re.S | re.I)
_CODE = re.compile(r"<code>(.*?)</code>", re.S | re.I)
_NAME = re.compile(r"\[name=[^\]]*\]")
_CONVERTER = re.compile(r"<(?:[A-Za-z_][\w]*:)?([A-Za-z_]\w*)>")
_PLAIN = re.compile(r"^[A-Za-z0-9._~\-/{}]*$")
_MAX_ROUTES = 40


def listed_routes(pages: Iterable[Exchange]) -> list[Operation]:
    """The GET operations the debug pages among ``pages`` list, in their order, no repeats."""
    found: dict[str, Operation] = {}
    for exchange in pages:
        response = exchange.response
        if response is None or "html" not in response.content_type:
            continue
        listing = _DJANGO_LIST.search(response.text)
        if listing is None:
            continue
        for item in _ITEM.findall(listing.group(1)):
            path = _path(item)
            if path is not None and path not in found and len(found) < _MAX_ROUTES:
                found[path] = _operation(path)
    return list(found.values())


def _path(item: str) -> str | None:
    """One ``<li>`` of the list as a path template, or ``None`` when it is a regex."""
    parts = [_NAME.sub("", html.unescape(code)).strip() for code in _CODE.findall(item)]
    text = "".join(part.removeprefix("^").removesuffix("$") for part in parts)
    text = _CONVERTER.sub(r"{\1}", text)
    if not text or not _PLAIN.match(text) or "//" in text:
        return None
    return "/" + text.lstrip("/")


def _operation(path: str) -> Operation:
    names = dict.fromkeys(re.findall(r"\{([^{}/]+)\}", path))
    return Operation(
        method="GET",
        path=path,
        parameters=tuple(Parameter(name=n, location="path", required=True) for n in names),
        source="discovered",
    )
