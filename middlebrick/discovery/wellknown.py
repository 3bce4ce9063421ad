"""Find an OpenAPI document the target serves: usual locations, and links in docs pages."""

from __future__ import annotations

import asyncio
import html
import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from middlebrick.errors import SpecError
from middlebrick.http.exchange import Headers, Request, Response, Sender
from middlebrick.knowledge import discovery_paths
from middlebrick.spec.load import parse_spec
from middlebrick.spec.model import ApiSpec

WELL_KNOWN = tuple("/" + location.path for location in discovery_paths().spec_locations)
"""Paths tried, relative to the target URL, the folder it redirected to and its origin, in this
order (``spec_locations`` of ``knowledge/discovery_paths.yaml``, which says who serves each)."""

ACCEPT = Headers.of(
    {"Accept": "application/json, application/yaml;q=0.9, text/yaml;q=0.9, */*;q=0.5"}
)

_MAX_LINKS_PER_PAGE = 3
_MAX_REF_ROUNDS = 5
_MAX_REF_FILES = 50
_SPEC_LINKS = (
    # Swagger UI's `url: "/openapi.json"` and `urls: [{"url": …}]` (drf-yasg and flasgger write
    # JSON settings: quoted keys), ReDoc's and RapiDoc's `spec-url`, Stoplight Elements'
    # `apiDescriptionUrl`, Scalar's `data-url`, Swagger UI's `configUrl`
    re.compile(
        r"""["']?\b(?:url|spec-url|specUrl|apiDescriptionUrl|configUrl|data-url)["']?"""
        r"""\s*[:=]\s*["']([^"'\s<>]+)["']"""
    ),
    re.compile(r"""\bRedoc\.init\(\s*["']([^"'\s<>]+)["']"""),
    re.compile(  # any quoted link to a .json/.yaml file named like a spec (`fetch("/spec.json")`)
        r"""["']([^"'\s<>]*(?:openapi|swagger|api-docs|schema|spec)[^"'\s<>]*"""
        r"""\.(?:json|ya?ml)(?:\?[^"'\s<>]*)?)["']"""
    ),
)
_NOT_SPECS = (".js", ".css", ".png", ".svg", ".ico", ".html", ".map")
_DRF_YASG = re.compile(r"drf-yasg|id=[\"']swagger-settings[\"']")  # its UI page


@dataclass(frozen=True)
class Found:
    """An API description served by the target, and where."""

    spec: ApiSpec
    url: str


def candidate_urls(target: str, landed: str | None = None) -> list[str]:
    """The usual spec locations below the folder the target redirected to (``landed``, when it
    ends in ``/``), the target URL and its origin, then the versioned ones; without repeats."""
    parts = urlsplit(target)
    origin = f"{parts.scheme}://{parts.netloc}"
    folder = urlsplit(landed).path if landed and same_origin(landed, target) else ""
    landed_folder = folder.rstrip("/") if folder.endswith("/") else ""
    prefixes = [p for p in (landed_folder, parts.path.rstrip("/")) if p] + [""]
    knowledge = discovery_paths()
    urls = [origin + prefix + path for prefix in dict.fromkeys(prefixes) for path in WELL_KNOWN]
    urls += [
        f"{origin}/{prefix}/{location.path}"
        for prefix in knowledge.version_prefixes
        for location in knowledge.spec_locations
        if location.versioned
    ]
    return list(dict.fromkeys(urls))


def spec_links(page: str, page_url: str) -> list[str]:
    """Same-origin links to an API description in an HTML docs page (Swagger UI, Redoc, …).

    drf-yasg's Swagger UI names none: it asks its own URL with ``?format=openapi``.
    """
    links: list[str] = []
    for pattern in _SPEC_LINKS:
        for match in pattern.finditer(page):
            url = urljoin(page_url, html.unescape(match.group(1)))
            if same_origin(url, page_url) and not urlsplit(url).path.lower().endswith(_NOT_SPECS):
                links.append(url.partition("#")[0])
    if _DRF_YASG.search(page):
        links.append(urlsplit(page_url)._replace(query="format=openapi", fragment="").geturl())
    return list(dict.fromkeys(links))[:_MAX_LINKS_PER_PAGE]


def same_origin(url: str, other: str) -> bool:
    """True when both URLs have the same scheme, host and port."""
    a, b = urlsplit(url), urlsplit(other)
    return (a.scheme.lower(), a.netloc.lower()) == (b.scheme.lower(), b.netloc.lower())


async def find_spec(client: Sender, target: str) -> tuple[Found | None, int]:
    """The first usual location that serves an API description, and how many were tried.

    The target itself comes first: it may be the document, or a docs page naming it. A target
    that redirects to a folder of its origin (``/`` -> ``/v1/``) adds that folder to the places
    looked below. Every HTML answer is read for the spec links it names (at most three each).
    """
    tried = {target}
    start = await _get(client, target)
    if start is not None:
        found = await _read(client, target, start, tried)
        if found is not None:
            return found, 1
    locations = candidate_urls(target, start.url if start is not None else None)
    for url in locations:
        if url in tried:
            continue
        tried.add(url)
        response = await _get(client, url)
        if response is None:
            continue
        found = await _read(client, url, response, tried)
        if found is not None:
            return found, len(locations)
    return None, len(locations)


async def _read(client: Sender, url: str, response: Response, tried: set[str]) -> Found | None:
    """The document ``response`` is, or the first one the docs page it is links to."""
    if not _is_html(response):
        return await _try_parse(client, url, response)
    for link in spec_links(response.text, response.url or url):
        if link in tried:
            continue
        tried.add(link)
        linked = await _get(client, link)
        found = await _try_parse(client, link, linked) if linked is not None else None
        if found is not None:
            return found
    return None


async def fetch_spec(client: Sender, url: str) -> ApiSpec:
    """Fetch and parse the API description at ``url``, its same-origin references included."""
    exchange = await client.send(Request("GET", url, headers=ACCEPT))
    response = exchange.response
    if response is None:
        raise SpecError(
            f"cannot fetch the API description {url}: {exchange.error or 'no response'}"
        )
    if not response.ok:
        raise SpecError(
            f"cannot fetch the API description {url}: it answered HTTP {response.status}"
        )
    if response.truncated:
        raise SpecError(
            f"cannot fetch the API description {url}: {response.note or 'the body was cut'}"
        )
    return await parse_served(client, url, response.body)


async def parse_served(client: Sender, url: str, body: bytes) -> ApiSpec:
    """Parse a served document, fetching its relative references through the client first.

    ``parse_spec`` wants a synchronous ``fetch``; the client is asynchronous. So the document is
    parsed, the same-origin references it asked for are fetched, and it is parsed again, for a
    few bounded rounds.
    """
    cache: dict[str, bytes | str] = {}  # url -> body, or why it could not be had
    spec = None
    for _ in range(_MAX_REF_ROUNDS):
        missing: list[str] = []

        def fetch(ref_url: str, missing: list[str] = missing) -> bytes:
            if not same_origin(ref_url, url):
                raise LookupError("it is on another host")
            known = cache.get(ref_url)
            if isinstance(known, bytes):
                return known
            if known is None and len(cache) < _MAX_REF_FILES:
                missing.append(ref_url)
            raise LookupError(known or "too many files are referenced")

        spec = await asyncio.to_thread(parse_spec, body, source=url, base_dir=None, fetch=fetch)
        if not missing:
            return spec
        for ref_url in dict.fromkeys(missing):
            cache[ref_url] = await _referenced(client, ref_url)
    assert spec is not None
    return spec


async def _try_parse(client: Sender, url: str, response: Response) -> Found | None:
    """The document at ``url``; ``None`` unless it parses and lists operations (an API root
    such as ``{"openapi": "/openapi.json"}`` is not one)."""
    if _is_html(response):
        return None
    try:
        spec = await parse_served(client, url, response.body)
    except SpecError:
        return None
    return Found(spec=spec, url=url) if spec.operations else None


async def _get(client: Sender, url: str) -> Response | None:
    """The 2xx, complete response to a GET, or ``None``."""
    exchange = await client.send(Request("GET", url, headers=ACCEPT))
    response = exchange.response
    if response is None or not response.ok or response.truncated or not response.body:
        return None
    return response


async def _referenced(client: Sender, url: str) -> bytes | str:
    """The body of a referenced file, or why it could not be had (shown after "it could not be
    fetched")."""
    exchange = await client.send(Request("GET", url, headers=ACCEPT))
    response = exchange.response
    if response is None:
        return exchange.error or "no response"
    if not response.ok:
        return f"it answered HTTP {response.status}"
    if response.truncated:
        return response.note or "the body was cut"
    return response.body if response.body else "its body is empty"


def _is_html(response: Response) -> bool:
    return "html" in response.content_type or response.body.lstrip()[:1] == b"<"
