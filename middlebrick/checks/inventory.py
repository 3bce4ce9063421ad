"""Inventory: whether what runs matches what is documented, versioned and maintained.

The checks read the surface and the baseline. Undocumented operations were found by
discovery (``discovery/undocumented.py``), which added them to the surface as ``probed``
operations so that every check examines them; here they are reported, with the control that
discovery compared them with. The documentation-page and schema checks live in
``inventory_docs`` and ``inventory_schema``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from middlebrick.checks._compare import looks_like_denial
from middlebrick.checks._exposure import sources
from middlebrick.checks._signatures import ScanEnv, scan_exchange, signatures_for
from middlebrick.checks._versions import MAX_REQUESTS as OLDER_REQUESTS
from middlebrick.checks._versions import older_bases, same_kind
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.discovery.undocumented import DEFAULT_MAX_REQUESTS, control_path, control_token
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Exchange
from middlebrick.spec.model import Operation, Schema

_UNDOCUMENTED = "inventory.undocumented-operation"
_DEPRECATED = "inventory.deprecated-operation-live"
_OLDER = "inventory.older-version-live"
_VERSIONING = "inventory.versioning-absent"
_SERVER = "inventory.server-version-disclosed"
_PAGINATION = "inventory.missing-pagination"

LARGE_COLLECTION = 100
"""Records in one answer that show a collection without pagination is already a cost."""

_VERSION = re.compile(r"^v(\d{1,2})(?:\.\d{1,2})?$", re.I)
_DATE_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_VERSION_PARAM = re.compile(r"^(?:x-)?api-?version$|^version$|^v$", re.I)
_VERSION_HEADERS = ("api-version", "x-api-version", "x-version", "accept-version")
_VERSION_MEDIA = re.compile(r"version=|vnd\.[\w.-]+\.v\d", re.I)
_PAGING = re.compile(
    r"^(?:limit|page|pages?_?(?:size|number|no|num|index|token)|per_?page|size|offset|cursor|"
    r"after|before|starting_?after|ending_?before|start|from|skip|top|take|first|last|"
    r"max_?(?:results|items|count|keys)|next(?:_?(?:token|cursor|page))?|continuation(?:_?token)?|"
    r"marker|since_?id|max_?id|range|exclusive_?start_?key)$",
    re.I,
)
_MIN_OPERATIONS = 3  # fewer known operations than this: too little to judge versioning


@check(category="inventory", emits={_UNDOCUMENTED}, max_requests=2 * DEFAULT_MAX_REQUESTS)
async def undocumented_operations(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Operations that answer with real content but are missing from the API description.

    Discovery probes a bounded list of likely paths (at most 40 GETs with the scan's
    credentials): the words of ``knowledge/discovery_paths.yaml`` (export, admin, debug,
    internal, all, dump, backup …) at the API's base and beside documented paths, and other
    versions of versioned GET paths (``/v1/…`` beside ``/v2/…``). What answers 2xx at the URL
    asked for, with a body that is not HTML, not empty JSON, not the root's body and unlike
    what a control path that cannot exist answers, joins the surface, so every other check
    examines it.

    This check reports those operations when the scan has an API description (given or
    served). It re-sends the control (answered from the scan's cache: one request per
    operation at most) so that the finding shows both exchanges. Confidence is confirmed: the
    control is the differential. Without an API description nothing is documented, so
    nothing is reported (the operations still join the surface).

    An undocumented route is inventory (``info``) unless it is reachable without the
    authentication the rest of the API requires: when the scan has credentials, the request
    is sent once more without them, and a 2xx answer with content (not a login page or an
    "unauthorized" message) keeps the default severity; when the scan has none, the route
    keeps it when it answered while most documented operations refused the anonymous scan
    (401/403). A route that refuses anonymous callers as the rest does (Jupyter's
    ``/metrics``) is informational.
    """
    spec = ctx.surface.spec
    if spec is None:
        return
    documented = [op.path for op in ctx.surface.operations if op.source != "probed"]
    token = control_token(ctx.base_url)
    base_path = urlsplit(ctx.base_url).path.rstrip("/")
    credentialed = bool(ctx.scan.headers or ctx.scan.identities)
    refused_rest = _most_refused(ctx)
    async for operation, exchange in ctx.each(ctx.baseline.items()):
        resp = exchange.response
        if operation.source != "probed" or resp is None or not resp.ok:
            continue
        path = urlsplit(exchange.request.url).path.removeprefix(base_path) or "/"
        control = await ctx.send(ctx.get(control_path(operation.path, path, documented, token)))
        said = f"{control.response.status}" if control.response else f"no answer ({control.error})"
        evidence: list[tuple[str, Exchange]] = [("probe", exchange), ("control", control)]
        if credentialed:
            anonymous = await ctx.send(exchange.request.without_credentials())
            evidence.append(("anonymous", anonymous))
            open_ = _answers_with_content(anonymous)
            how = (
                f"without credentials it answered {_status_of(anonymous)} too: reachable "
                "without the authentication the rest of the API requires"
                if open_
                else f"without credentials it answered {_status_of(anonymous)}: it enforces "
                "authentication like the rest, so this is inventory"
            )
        else:
            open_ = refused_rest
            how = (
                "the scan sent no credentials and most documented operations refused it: "
                "reachable without the authentication the rest of the API requires"
                if open_
                else "the scan sent no credentials, and the documented operations answered "
                "it too: this is inventory"
            )
        yield ctx.finding(
            _UNDOCUMENTED,
            operation,
            detail=f"`{operation.key}` is not in the API description ({spec.source}) but "
            f"answered {resp.status} with {_size(resp.body)} of {resp.content_type or 'data'} "
            f"to GET {exchange.request.url}; the control GET {control.request.url}, a path "
            f"that cannot exist, answered {said}; {how}",
            evidence=evidence,
            confidence=Confidence.confirmed,
            severity=None if open_ else Severity.info,
        )


@check(category="inventory", emits={_DEPRECATED})
async def deprecated_operations(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Operations the API description marks deprecated that still answer with data.

    Reads the baseline; sends no requests. Reports every operation with ``deprecated: true``
    whose baseline answered 2xx with a body that is not a login page or an "unauthorized"
    message. 410 Gone, 404 and every other non-2xx answer count as retired. Informational: a
    deprecated operation is expected to keep working until it is removed. Confidence is
    confirmed: the answer is the proof.
    """
    async for operation, exchange in ctx.each(ctx.baseline.items()):
        resp = exchange.response
        if not operation.deprecated or resp is None or not resp.ok or looks_like_denial(resp):
            continue
        yield ctx.finding(
            _DEPRECATED,
            operation,
            detail=f"the API description marks `{operation.key}` deprecated, yet GET "
            f"{exchange.request.url} answered {resp.status} with {_size(resp.body)} of "
            f"{resp.content_type or 'data'}: deprecated is not retired (a deprecated operation "
            "keeps working until it is removed), so this is inventory to plan its retirement",
            evidence=[exchange],
            confidence=Confidence.confirmed,
        )


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
                f"{_size(resp.body)} of {resp.content_type or 'data'} beside its newer version "
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


@check(category="inventory", emits={_PAGINATION})
async def pagination(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Collection operations in the API description that take no pagination parameter.

    Reads the surface and the baseline; sends no requests. A collection is a GET operation
    whose documented 2xx JSON response is an array, or an object with an array property (the
    first one is the list). It lacks pagination when none of its query or header parameters
    is a page size, page, offset or cursor (``limit``, ``page``, ``per_page``, ``cursor``,
    ``offset``, ``next_token``, ``marker`` …).

    When its baseline answer holds at least 100 records in that list, the cost is already
    real: default severity, confirmed. Otherwise (fewer records, or no usable answer) the
    finding is informational and tentative: nothing bounds the list, but it is small today.
    """
    async for operation in ctx.each(ctx.surface.operations):
        if operation.method != "GET" or operation.source != "spec":
            continue
        location = _list_location(operation.success_schema())
        if location is None or any(
            _PAGING.match(p.name) for p in operation.parameters if p.location in ("query", "header")
        ):
            continue
        exchange = ctx.baseline.get(operation.key)
        records = _records(exchange, location)
        where = f"property `{location}`" if location else "top-level array"
        if records is not None and records >= LARGE_COLLECTION:
            yield ctx.finding(
                _PAGINATION,
                operation,
                detail=f"`{operation.key}` documents a list ({where}) but no limit, page or "
                f"cursor parameter, and its answer returned {records} records at once",
                evidence=[exchange] if exchange is not None else [],
                confidence=Confidence.confirmed,
            )
            continue
        now = (
            f"its answer held {records} records"
            if records is not None
            else "its answer could not be read"
        )
        yield ctx.finding(
            _PAGINATION,
            operation,
            detail=f"`{operation.key}` documents a list ({where}) but no limit, page or cursor "
            f"parameter; {now}, so nothing bounds it as the data grows",
            evidence=[exchange] if exchange is not None and exchange.response else [],
            confidence=Confidence.tentative,
            severity=Severity.info,
        )


def _answers_with_content(exchange: Exchange) -> bool:
    resp = exchange.response
    return resp is not None and resp.ok and bool(resp.body.strip()) and not looks_like_denial(resp)


def _status_of(exchange: Exchange) -> str:
    return str(exchange.response.status) if exchange.response else f"nothing ({exchange.error})"


def _most_refused(ctx: CheckContext) -> bool:
    """Whether most documented operations' baseline answers refused the caller (401/403)."""
    statuses = [
        exchange.response.status
        for operation, exchange in ctx.baseline.items()
        if operation.source != "probed" and exchange.response is not None
    ]
    refused = sum(status in (401, 403) for status in statuses)
    return bool(statuses) and refused * 2 > len(statuses)


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


def _list_location(schema: Schema | None) -> str | None:
    """Where a response schema keeps its list: "" for an array body, else the property name."""
    if not schema:
        return None
    if _is_array(schema):
        return ""
    properties = schema.get("properties")
    if isinstance(properties, dict):
        for name, prop in properties.items():
            if isinstance(prop, dict) and _is_array(prop) and _of_objects(prop):
                return str(name)
    return None


def _is_array(schema: Schema) -> bool:
    kind = schema.get("type")
    return kind == "array" or (isinstance(kind, list) and "array" in kind)


def _of_objects(schema: Schema) -> bool:
    items = schema.get("items")
    if not isinstance(items, dict):
        return False
    kind = items.get("type")
    return kind == "object" or "properties" in items or "allOf" in items or kind is None


def _records(exchange: Exchange | None, location: str) -> int | None:
    """How many records the answer's list holds, when it answered 2xx with that list."""
    if exchange is None or exchange.response is None or not exchange.ok:
        return None
    body: Any = exchange.response.json
    if location and isinstance(body, dict):
        body = body.get(location)
    return len(body) if isinstance(body, list) else None


def _size(body: bytes) -> str:
    size = len(body)
    return f"{size} bytes" if size < 1024 else f"{size / 1024:.1f} KB"
