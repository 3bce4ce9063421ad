"""Build the surface to scan: from a spec, from a spec the target serves, or by crawling.

::

    surface = await discover(client, "https://api.example.com", spec=None)

With a spec the operations are the spec's. Without one, the usual spec locations are tried
below the target URL and its origin (and docs pages' links to a spec are followed); the first
document that parses wins. Failing that, the target is crawled: its JSON answers' same-origin
links become GET operations, and the crawled surface is expanded (``expand``: usual routes
under usual prefixes, their query parameters, the item routes of the collections found, the
routes a debug page lists). Then likely paths the surface lacks are probed (a bounded number
of GETs, ``undocumented``); those that answer with real content join it as ``probed``
operations, so every check examines them too. docs/discovery.md gives the request bounds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from urllib.parse import urlsplit

from middlebrick.discovery.bases import base_url_for, resolve_base
from middlebrick.discovery.crawl import crawl
from middlebrick.discovery.expand import DEFAULT_MAX_REQUESTS as DEFAULT_EXPAND
from middlebrick.discovery.expand import expand_surface, with_operations
from middlebrick.discovery.undocumented import DEFAULT_MAX_REQUESTS, probe_undocumented
from middlebrick.discovery.wellknown import WELL_KNOWN, Search, fetch_spec, find_spec
from middlebrick.http.exchange import Exchange, Sender
from middlebrick.spec.load import DEFAULT_MAX_BYTES
from middlebrick.spec.model import ApiSpec, Surface
from middlebrick.spec.postman import rebased

__all__ = ["WELL_KNOWN", "base_url_for", "discover", "fetch_spec"]


async def discover(
    client: Sender,
    target: str,
    *,
    spec: ApiSpec | None = None,
    max_operations: int = 200,
    probe: int = DEFAULT_MAX_REQUESTS,
    find_served: bool = True,
    expand: int = DEFAULT_EXPAND,
    max_spec_bytes: int = DEFAULT_MAX_BYTES,
    time_left: Callable[[], float] | None = None,
) -> Surface:
    """The surface of ``target``: the spec's operations, a served spec's, or crawled ones.

    Plus the operations that probing likely paths found live (at most ``probe`` requests; 0
    turns probing off, expansion included). A crawled surface is first expanded (at most
    ``expand`` requests). Every request goes through ``client``; budget and scope exceptions
    propagate, except during probing and expansion, which stop with what they found.
    ``find_served=False`` skips the search for a served spec: the surface is what crawling and
    probing find. A served document is read up to ``max_spec_bytes`` and parsed within
    ``time_left()`` seconds. The notes carry the spec's own warnings (references it could not
    resolve) and the served documents refused.
    """
    surface, pages = await _listed(
        client, target, spec, max_operations, find_served, max_spec_bytes, time_left
    )
    if probe <= 0:
        return surface
    if surface.origin == "crawl" and expand > 0:
        expanded = await expand_surface(client, surface, pages, max_requests=expand)
        surface = with_operations(surface, expanded)
    probed = await probe_undocumented(client, surface, max_requests=probe)
    return replace(
        surface,
        operations=(*surface.operations, *probed.operations),
        notes=(*surface.notes, probed.note()),
    )


async def _listed(
    client: Sender,
    target: str,
    spec: ApiSpec | None,
    max_operations: int,
    find_served: bool,
    max_spec_bytes: int,
    time_left: Callable[[], float] | None,
) -> tuple[Surface, dict[str, Exchange]]:
    """The surface as the spec, a served spec or the crawl lists it, and the crawl's pages."""
    if spec is not None:
        base, why = await resolve_base(client, target, spec)
        surface = Surface(
            base_url=base,
            operations=rebased(spec, base),
            spec=spec,
            origin="spec file",
            notes=(
                f"{_count(len(spec.operations))} from the API description {spec.source}",
                *([why] if why else []),
                *spec.warnings,
            ),
        )
        return surface, {}
    search = (
        await find_spec(client, target, max_bytes=max_spec_bytes, time_left=time_left)
        if find_served
        else Search()
    )
    found, tried = search.found, search.tried
    if found is not None:
        served = found.spec
        base, why = await resolve_base(client, target, served, spec_url=found.url)
        surface = Surface(
            base_url=base,
            operations=rebased(served, base),
            spec=served,
            origin=f"spec served at {found.url}",
            notes=(
                f"found an API description at {found.url} with {_count(len(served.operations))}",
                *([why] if why else []),
                *served.warnings,
                *search.notes(),
            ),
        )
        return surface, {}
    crawled = await crawl(client, target, max_operations=max_operations)
    operations, pages = crawled.operations, crawled.fetched
    parts = urlsplit(target)
    surface = Surface(
        base_url=f"{parts.scheme}://{parts.netloc}",
        operations=operations,
        origin="crawl",
        notes=(
            (
                f"no OpenAPI document found at {tried} usual locations; "
                if find_served
                else "no API description was looked for (--no-spec-discovery); "
            )
            + f"crawled {_count(len(operations))} from {pages} "
            + ("page" if pages == 1 else "pages"),
            *search.notes(),
        ),
    )
    return surface, dict(crawled.pages)


def _count(n: int) -> str:
    return f"{n} operation" if n == 1 else f"{n} operations"
