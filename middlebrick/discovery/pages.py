"""Links of HTML pages: where a browsable API or a data site says its endpoints are.

::

    for link in page_links(response.text, response.url):
        link.url, link.alternate  # "http://h/shop/customers.json", True

Two kinds of link are read, with the standard library's HTML parser (bounded input):

- **alternates**, the page's own data in another format: ``<link rel="alternate"
  type="application/json…">`` (Datasette's ``application/json+datasette``, JSON:API and HAL
  media types), and ``<a href>`` links to ``….json`` or to ``?format=json`` (Datasette's "This
  data as json", Django REST framework's format links; the browsable API's JSON root is its
  own URL with ``?format=json``);
- **page links**, ``<a href>`` of the page (Django REST framework's browsable API urlizes the
  URLs of the JSON it shows, so an API root lists its collections this way).

Links keep their query and lose their fragment; ``javascript:``, ``mailto:`` and the like are
dropped. Whether a link is same-origin and worth fetching is the crawler's decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlsplit

__all__ = ["PageLink", "page_links"]

_MAX_CHARS = 512 * 1024  # of a page read for links
_MAX_LINKS = 200
_JSON_FORMATS = frozenset({"json", "api+json", "openapi"})


@dataclass(frozen=True)
class PageLink:
    """A link of an HTML page, absolute, and whether it is the page's data as JSON."""

    url: str
    alternate: bool


def page_links(page: str, page_url: str) -> list[PageLink]:
    """The ``<a href>`` and JSON ``<link rel="alternate">`` links of ``page``, in order."""
    parser = _Links()
    try:
        parser.feed(page[:_MAX_CHARS])
        parser.close()
    except AssertionError:  # pragma: no cover - html.parser on badly broken markup
        pass
    found: dict[str, PageLink] = {}
    for href, declared_json in parser.links[:_MAX_LINKS]:
        url = urljoin(page_url, href.strip()).partition("#")[0]
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            continue
        alternate = declared_json or _names_json(parts.path, parts.query)
        if url not in found or alternate:
            found[url] = PageLink(url, alternate)
    return list(found.values())


def _is_alternate_type(rel: str, media: str) -> bool:
    """``rel="alternate"`` with a JSON media type (``application/json+datasette`` …)."""
    return "alternate" in rel.lower().split() and "json" in media.lower()


def _names_json(path: str, query: str) -> bool:
    if path.lower().endswith(".json"):
        return True
    return any(
        key in ("format", "_format") and value.lower() in _JSON_FORMATS
        for key, value in parse_qsl(query)
    )


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if len(self.links) >= _MAX_LINKS or tag not in ("a", "link"):
            return
        values = {name.lower(): value or "" for name, value in attrs}
        href = values.get("href", "")
        if not href or href.startswith("#"):
            return
        if tag == "a":
            self.links.append((href, False))
        elif _is_alternate_type(values.get("rel", ""), values.get("type", "")):
            self.links.append((href, True))
