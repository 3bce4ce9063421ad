"""Build the surface to scan: from a spec, from a spec the target serves, or by crawling.

::

    surface = await discover(client, "https://api.example.com", spec=None)

With a spec the operations are the spec's. Without one, the usual spec locations are tried
below the target URL and its origin (and docs pages' links to a spec are followed); the first
document that parses wins. Failing that, the target is crawled: its JSON answers' same-origin
links become GET operations. Then likely paths the surface lacks are probed (a bounded number
of GETs, ``undocumented``); those that answer with real content join it as ``probed``
operations, so every check examines them too.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urljoin, urlsplit

from middlebrick.discovery.crawl import crawl
from middlebrick.discovery.undocumented import DEFAULT_MAX_REQUESTS, probe_undocumented
from middlebrick.discovery.wellknown import WELL_KNOWN, fetch_spec, find_spec
from middlebrick.http.exchange import Sender
from middlebrick.spec.model import ApiSpec, Surface

__all__ = ["WELL_KNOWN", "base_url_for", "discover", "fetch_spec"]


async def discover(
    client: Sender,
    target: str,
    *,
    spec: ApiSpec | None = None,
    max_operations: int = 200,
    probe: int = DEFAULT_MAX_REQUESTS,
    find_served: bool = True,
) -> Surface:
    """The surface of ``target``: the spec's operations, a served spec's, or crawled ones.

    Plus the operations that probing likely paths found live (at most ``probe`` requests; 0
    turns probing off). Every request goes through ``client``; budget and scope exceptions
    propagate, except during probing, which stops with what it found. ``find_served=False``
    skips the search for a served spec: the surface is what crawling and probing find.
    """
    surface = await _listed(client, target, spec, max_operations, find_served)
    if probe <= 0:
        return surface
    probed = await probe_undocumented(client, surface, max_requests=probe)
    return replace(
        surface,
        operations=(*surface.operations, *probed.operations),
        notes=(*surface.notes, probed.note()),
    )


async def _listed(
    client: Sender, target: str, spec: ApiSpec | None, max_operations: int, find_served: bool
) -> Surface:
    """The surface as the spec, a served spec or the crawl lists it."""
    if spec is not None:
        return Surface(
            base_url=base_url_for(target, spec),
            operations=spec.operations,
            spec=spec,
            origin="spec file",
            notes=(f"{_count(len(spec.operations))} from the API description {spec.source}",),
        )
    found, tried = await find_spec(client, target) if find_served else (None, 0)
    if found is not None:
        served = found.spec
        return Surface(
            base_url=base_url_for(target, served, spec_url=found.url),
            operations=served.operations,
            spec=served,
            origin=f"spec served at {found.url}",
            notes=(
                f"found an API description at {found.url} with {_count(len(served.operations))}",
            ),
        )
    operations, pages = await crawl(client, target, max_operations=max_operations)
    parts = urlsplit(target)
    return Surface(
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
        ),
    )


def base_url_for(target: str, spec: ApiSpec, *, spec_url: str | None = None) -> str:
    """The base URL the spec's paths hang from on ``target`` (no trailing slash).

    A target with a path names the API's base itself, unless the spec's paths (after its first
    server's path) already start with that path. Otherwise the base is the target's origin plus
    the path of the spec's first server (a server on another host keeps only its path; relative
    servers resolve against the spec's URL when it was served, else against the target).
    """
    parts = urlsplit(target)
    origin = f"{parts.scheme}://{parts.netloc}"
    target_path = parts.path.rstrip("/")
    server_path = ""
    if spec.servers:
        server_path = urlsplit(urljoin(spec_url or target, spec.servers[0])).path.rstrip("/")
    if target_path and not _all_under(
        [server_path + op.path for op in spec.operations], target_path
    ):
        served_elsewhere = spec_url is not None and not spec_url.startswith(
            f"{origin}{target_path}/"
        )
        if not served_elsewhere and not _all_under(
            [op.path for op in spec.operations], target_path
        ):
            return origin + target_path
    return origin + server_path


def _all_under(paths: list[str], prefix: str) -> bool:
    return bool(paths) and all(path == prefix or path.startswith(prefix + "/") for path in paths)


def _count(n: int) -> str:
    return f"{n} operation" if n == 1 else f"{n} operations"
