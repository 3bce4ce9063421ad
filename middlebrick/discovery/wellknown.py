"""Find an OpenAPI document the target serves (usual locations, links in docs pages) and fetch
the one ``--spec URL`` names. Either may be a Postman collection instead (``spec.postman``);
no usual location is tried for one, since no framework serves one by default.

Documents are read whole up to ``Limits.max_spec_bytes`` (32 MiB by default: real ones reach
15 MB), far above the 1 MiB cap of other answers. A document that looks like an API description
but is larger, or is refused (a YAML bomb, too deep), is said in a note rather than silently
replaced by a crawl.
"""

from __future__ import annotations

import asyncio
import functools
import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from middlebrick.config import ScanRequest
from middlebrick.errors import SpecError, TimeBudgetExhausted
from middlebrick.http.exchange import Headers, Request, Response, Sender
from middlebrick.knowledge import discovery_paths
from middlebrick.spec.background import off_loop
from middlebrick.spec.load import DEFAULT_MAX_BYTES, parse_spec
from middlebrick.spec.model import ApiSpec
from middlebrick.spec.refs import MAX_REFERENCED_BYTES

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
        r"""["']([^"'\s<>]*(?:openapi|swagger|api-docs|schema|spec|[Pp]ostman)[^"'\s<>]*"""
        r"""\.(?:json|ya?ml)(?:\?[^"'\s<>]*)?)["']"""
    ),
)
_NOT_SPECS = (".js", ".css", ".png", ".svg", ".ico", ".html", ".map")
_DRF_YASG = re.compile(r"drf-yasg|id=[\"']swagger-settings[\"']")  # its UI page
_LOOKS_LIKE_SPEC = re.compile(
    rb"""(?:^|[{\s,])["']?(?:openapi|swagger)["']?\s*:|postman\.com/json/collection/v2""",
    re.MULTILINE,
)
_HEAD = 4096  # bytes of a document looked at to tell whether it is an API description


@dataclass(frozen=True)
class Found:
    """An API description served by the target, and where."""

    spec: ApiSpec
    url: str


@dataclass
class Search:
    """What looking for a served description gave: the document, the locations tried, and
    a sentence for each document that looked like one but could not be used."""

    found: Found | None = None
    tried: int = 0
    refused: dict[str, str] = field(default_factory=dict)  # url -> why

    def notes(self) -> list[str]:
        """One plain sentence per refused document."""
        return [
            f"the API description served at {url} was not used: {why}"
            for url, why in self.refused.items()
        ]


def spec_fetcher(request: ScanRequest) -> ScanRequest:
    """What the client fetching ``--spec URL`` is built from: the document's host alone in
    scope; the target's headers and primary credentials only when the document is on the
    target's origin (credentials never go elsewhere); ``spec_headers`` wherever it is."""
    source = request.spec or ""
    if same_origin(source, request.target):
        headers = (*request.headers, *request.spec_headers)
        primary = request.primary_identity
        identities = {primary: request.identities[primary]} if primary else {}
    else:
        headers, identities = request.spec_headers, {}
    return ScanRequest(
        target=source,
        limits=request.limits,
        headers=headers,
        spec_headers=request.spec_headers,  # redacted in what this client says
        identities=identities,
        verify_tls=request.verify_tls,
    )


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


async def find_spec(
    client: Sender,
    target: str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    time_left: Callable[[], float] | None = None,
) -> Search:
    """The first usual location that serves an API description, and how many were tried.

    The target itself comes first: it may be the document, or a docs page naming it. A target
    that redirects to a folder of its origin (``/`` -> ``/v1/``) adds that folder to the places
    looked below. Every HTML answer is read for the spec links it names (at most three each).
    A document cut at the usual answer cap is asked again and read up to ``max_bytes``. A
    document still parsing when ``time_left()`` runs out raises ``TimeBudgetExhausted``.
    """
    search = _Searcher(client, max_bytes, time_left)
    search.tried.add(target)
    start = await search.get(target)
    if start is not None:
        found = await search.read(target, start)
        if found is not None:
            return Search(found, 1, search.refused)
    locations = candidate_urls(target, start.url if start is not None else None)
    for url in locations:
        if url in search.tried:
            continue
        search.tried.add(url)
        response = await search.get(url)
        if response is None:
            continue
        found = await search.read(url, response)
        if found is not None:
            return Search(found, len(locations), search.refused)
    return Search(None, len(locations), search.refused)


class _Searcher:
    """The requests of one search, and the documents it had to refuse."""

    def __init__(
        self, client: Sender, max_bytes: int, time_left: Callable[[], float] | None
    ) -> None:
        self.client = client
        self.max_bytes = max_bytes
        self.time_left = time_left
        self.tried: set[str] = set()
        self.refused: dict[str, str] = {}

    async def get(self, url: str) -> Response | None:
        """The 2xx, complete response to a GET, or ``None`` (a note if it was a cut document).

        Read at the usual answer cap first, so a hostile target costs no more than usual; an
        answer cut there that starts like an API description is asked again, read up to
        ``max_bytes``.
        """
        exchange = await self.client.send(Request("GET", url, headers=ACCEPT))
        response = exchange.response
        if response is not None and response.truncated and _looks_like_spec(response.body):
            exchange = await self.client.send(_document_request(url, self.max_bytes))
            response = exchange.response
            if response is not None and response.truncated:
                self.refused[url] = (
                    f"it is larger than the {_mib(self.max_bytes)} limit for an API "
                    "description (--spec-limit raises it)"
                )
                return None
        if response is None or not response.ok or response.truncated or not response.body:
            return None
        return response

    async def read(self, url: str, response: Response) -> Found | None:
        """The document ``response`` is, or the first one the docs page it is links to."""
        if not _is_html(response):
            return await self.parse(url, response)
        for link in spec_links(response.text, response.url or url):
            if link in self.tried:
                continue
            self.tried.add(link)
            linked = await self.get(link)
            found = await self.parse(link, linked) if linked is not None else None
            if found is not None:
                return found
        return None

    async def parse(self, url: str, response: Response) -> Found | None:
        """The document at ``url``; ``None`` unless it parses and lists operations (an API
        root such as ``{"openapi": "/openapi.json"}`` is not one)."""
        if _is_html(response):
            return None
        try:
            async with asyncio.timeout(self.time_left() if self.time_left else None):
                spec = await parse_served(self.client, url, response.body, max_bytes=self.max_bytes)
        except TimeoutError:
            raise TimeBudgetExhausted(
                f"the time budget ran out while the API description served at {url} was read"
            ) from None
        except SpecError as exc:
            if _looks_like_spec(response.body):
                why = str(exc)
                self.refused[url] = "it " + why[len(url) + 1 :] if why.startswith(url) else why
            return None
        return Found(spec=spec, url=url) if spec.operations else None


async def fetch_spec(client: Sender, url: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ApiSpec:
    """Fetch and parse the API description at ``url``, its same-origin references included."""
    exchange = await client.send(_document_request(url, max_bytes))
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
            f"the API description {url} is larger than the {_mib(max_bytes)} limit for an API "
            "description (--spec-limit raises it)"
        )
    return await parse_served(client, url, response.body, max_bytes=max_bytes)


async def parse_served(
    client: Sender, url: str, body: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> ApiSpec:
    """Parse a served document, fetching its relative references through the client first.

    ``parse_spec`` wants a synchronous ``fetch``; the client is asynchronous. So the document is
    parsed, the same-origin references it asked for are fetched, and it is parsed again, for a
    few bounded rounds.
    """
    cache: dict[str, bytes | str] = {}  # url -> body, or why it could not be had
    fetched = 0  # bytes of the bodies in the cache
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

        spec = await off_loop(
            functools.partial(
                parse_spec, body, source=url, base_dir=None, fetch=fetch, max_bytes=max_bytes
            )
        )
        if not missing:
            return spec
        for ref_url in dict.fromkeys(missing):
            left = MAX_REFERENCED_BYTES - fetched
            if left <= 0:
                cache[ref_url] = (
                    f"the files it references pass the limit of {_mib(MAX_REFERENCED_BYTES)} in all"
                )
                continue
            exchange = await client.send(_document_request(ref_url, min(max_bytes, left)))
            cache[ref_url] = got = _body_or_reason(exchange.response, exchange.error)
            fetched += len(got) if isinstance(got, bytes) else 0
    assert spec is not None
    return spec


def _body_or_reason(response: Response | None, error: str | None) -> bytes | str:
    """A referenced document's bytes, or why it could not be had (a plain clause)."""
    if response is None:
        return f"it could not be fetched ({error or 'no answer'})"
    if not response.ok:
        return f"it answered HTTP {response.status}"
    if response.truncated:
        return "it is larger than the limit for an API description"
    return response.body


def _document_request(url: str, max_bytes: int) -> Request:
    """A GET of a document, read up to ``max_bytes`` rather than the usual answer cap."""
    return Request("GET", url, headers=ACCEPT, max_body=max_bytes)


def _looks_like_spec(body: bytes) -> bool:
    """True when the start of ``body`` has an ``openapi`` or ``swagger`` key, or names the
    Postman collection schema."""
    return _LOOKS_LIKE_SPEC.search(body[:_HEAD]) is not None


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:g} MiB"


def _is_html(response: Response) -> bool:
    return "html" in response.content_type or response.body.lstrip()[:1] == b"<"
