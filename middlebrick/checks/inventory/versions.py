"""Inventory: whether the API carries versions, and which versions still answer.

Older versions beside newer ones (``older_versions``), no version anywhere (``versioning``) and
software versions in response headers (``server_versions``).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from middlebrick.checks._compare import looks_like_denial
from middlebrick.checks._exposure import sources
from middlebrick.checks._signatures import ScanEnv, scan_exchange, signatures_for
from middlebrick.checks.context import CheckContext
from middlebrick.checks.inventory._versions import MAX_REQUESTS as OLDER_REQUESTS
from middlebrick.checks.inventory._versions import older_bases, same_kind
from middlebrick.checks.inventory.core import size_text
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Exchange
from middlebrick.spec.model import Operation

_OLDER = "inventory.older-version-live"
_VERSIONING = "inventory.versioning-absent"
_SERVER = "inventory.server-version-disclosed"

_VERSION = re.compile(r"^v(\d{1,2})(?:\.\d{1,2})?$", re.I)
_DATE_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_VERSION_PARAM = re.compile(r"^(?:x-)?api-?version$|^version$|^v$", re.I)
_VERSION_HEADERS = ("api-version", "x-api-version", "x-version", "accept-version")
_VERSION_MEDIA = re.compile(r"version=|vnd\.[\w.-]+\.v\d", re.I)
_MIN_OPERATIONS = 3  # fewer known operations than this: too little to judge versioning


@check(category="inventory", emits={_OLDER}, max_requests=OLDER_REQUESTS)
async def older_versions(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Operations that still answer under an older version beside a newer one.

    Groups GET operations whose paths differ only in a version segment (``/v1/users/{id}``,
    ``/v2/users/{id}``; documented ones and those discovery found by probing) and reports each
    older version whose baseline answered 2xx with data (not a login page or "unauthorized"
    message), citing the newest version's exchange beside it; one discovery found by probing
    must also answer JSON of the newer one's shape. Confidence is confirmed.

    When the version is in the base URL (``/api/v2``), no path shows it: up to four GET
    operations that answered 2xx JSON are requested again below the two older versions
    (``/api/v1``) and once below a version that cannot exist (the control, which a catch-all
    answers alike); at most 11 requests. An older version that answers JSON of the same shape,
    unlike the control, is one finding for the API (operation ``*``, parameter the older base
    path) listing the operations that answered there. A version carried only in a header is
    not compared.
    """
    groups: dict[tuple[str, ...], dict[int, tuple[Operation, Exchange]]] = {}
    async for operation, exchange in ctx.each(ctx.baseline.items()):
        found = _versioned(operation.path)
        if found is not None:
            shape, number = found
            groups.setdefault(shape, {})[number] = (operation, exchange)
    for versions in groups.values():
        if len(versions) < 2:
            continue
        newest = max(versions)
        new_op, new_ex = versions[newest]
        for number in sorted(versions)[:-1]:
            operation, exchange = versions[number]
            resp = exchange.response
            if resp is None or not resp.ok or looks_like_denial(resp):
                continue
            if operation.source == "probed" and not same_kind(exchange, new_ex):
                continue  # found by probing: only an answer shaped like the newer one counts
            new_said = new_ex.response.status if new_ex.response else "no answer"
            yield ctx.finding(
                _OLDER,
                operation,
                detail=f"`{operation.key}` (version {number}) answered {resp.status} with "
                f"{size_text(resp.body)} of {resp.content_type or 'data'} beside its newer version "
                f"`{new_op.key}` (which answered {new_said})",
                evidence=[("older", exchange), ("newer", new_ex)],
                confidence=Confidence.confirmed,
            )
    for older in await older_bases(ctx):
        keys = ", ".join(f"`{op.key}`" for op, _, _ in older.answers)
        _, current, answer = older.answers[0]
        control = older.control.response
        yield ctx.finding(
            _OLDER,
            "*",
            parameter=older.base,
            detail=f"the API answers below {older.base} beside its base {older.current}: "
            f"{keys} answered JSON of the same shape there (e.g. GET {answer.request.url}), "
            f"while a version that cannot exist answered "
            f"{control.status if control else 'nothing'}",
            evidence=[("older", answer), ("newer", current), ("control", older.control)],
            confidence=Confidence.confirmed,
        )


@check(category="inventory", emits={_VERSIONING})
async def versioning(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Whether the API carries a version anywhere: base URL, paths, parameters or headers.

    Reads the surface and the baseline; sends no requests. Quiet when the base URL or any
    operation's path has a version segment (``v1``, ``v2.1``, ``2024-01-01``), an operation
    takes a version parameter (``api-version``, ``version``), or a response carries a version
    header (``API-Version``, ``X-API-Version``…) or a versioned media type. Otherwise one
    informational finding for the target. Needs an API description or at least three known
    operations: a crawl that found one page says too little.
    """
    surface = ctx.surface
    if surface.spec is None and len(surface.operations) < _MIN_OPERATIONS:
        return
    paths = [urlsplit(ctx.base_url).path, *(op.path for op in surface.operations)]
    if any(_has_version(path) for path in paths):
        return
    if any(_VERSION_PARAM.match(p.name) for op in surface.operations for p in op.parameters):
        return
    answers = [s.exchange for s in sources(ctx)]
    if any(_version_header(exchange) for exchange in answers):
        return
    yield ctx.finding(
        _VERSIONING,
        "*",
        detail=f"no version in the base URL {ctx.base_url}, in the paths of "
        f"{len(surface.operations)} operations, in their parameters, or in the headers of "
        f"{len(answers)} responses",
        evidence=answers[:1],
        confidence=Confidence.firm,
    )


@check(category="inventory", emits={_SERVER})
async def server_versions(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Software and version numbers in ``Server``, ``X-Powered-By`` and similar headers.

    Reads the headers of every baseline response (the root included); sends no requests.
    Reports product tokens with a version (``uvicorn/0.54.0``, ``PHP/8.1.2``,
    ``X-AspNet-Version: 4.0.30319``), in any header also a known product or runtime with a
    version in free text (``X-Powered-By: Django REST framework 3.18, Python 3.11``); a bare
    product name (``Server: nginx``) is not a version. One finding for the target listing
    each distinct header value and how many responses carried it, and the framework the scan
    recognised (which picks the remediation shown with every finding). Confidence is
    confirmed.
    """
    sigs = signatures_for({_SERVER})
    env = ScanEnv.of(ctx.scan, ctx.base_url)
    seen: dict[str, tuple[int, str, Exchange]] = {}  # "Name: value" -> (count, first key, ex)
    async for source in ctx.each(sources(ctx)):
        hits = scan_exchange(source.exchange, sigs, env)
        for text in dict.fromkeys(f"{hit.where}: {hit.value}" for hit in hits):  # one per header
            count, key, exchange = seen.get(text, (0, source.key, source.exchange))
            seen[text] = (count + 1, key, exchange)
    if not seen:
        return
    listed = "; ".join(
        f"`{text}` on {count} response{'s' if count > 1 else ''} (e.g. `{key}`)"
        for text, (count, key, _) in seen.items()
    )
    first = next(iter(seen.values()))[2]
    framework = f" (framework recognised: {ctx.framework})" if ctx.framework else ""
    yield ctx.finding(
        _SERVER,
        "*",
        detail=f"response headers name the software and its version: {listed}{framework}",
        evidence=[first],
        confidence=Confidence.confirmed,
    )


def _versioned(path: str) -> tuple[tuple[str, ...], int] | None:
    """The path's shape with its version segment blanked, and the version's major number."""
    segments = path.split("/")
    for index, segment in enumerate(segments):
        match = _VERSION.match(segment)
        if match is not None:
            shape = tuple("{v}" if i == index else _blank(s) for i, s in enumerate(segments))
            return shape, int(match.group(1))
    return None


def _blank(segment: str) -> str:
    return "{}" if segment.startswith("{") and segment.endswith("}") else segment


def _has_version(path: str) -> bool:
    return any(_VERSION.match(s) or _DATE_VERSION.match(s) for s in path.split("/"))


def _version_header(exchange: Exchange) -> bool:
    resp = exchange.response
    if resp is None:
        return False
    if any(resp.headers.get(name) for name in _VERSION_HEADERS):
        return True
    return bool(_VERSION_MEDIA.search(resp.headers.get("content-type") or ""))
