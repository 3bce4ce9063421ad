"""Inventory: whether what runs matches what is documented, versioned and maintained.

The checks read the surface and the baseline. Undocumented operations were found by
discovery (``discovery/undocumented.py``), which added them to the surface as ``probed``
operations so that every check examines them; here they are reported, with the control that
discovery compared them with, and so are deprecated operations that still answer. The version
checks live in ``inventory.versions``, the pagination check in ``inventory.pagination``, the
documentation-page and schema checks in ``inventory.docs`` and ``inventory.schema``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from middlebrick.checks._compare import looks_like_denial
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.discovery.undocumented import DEFAULT_MAX_REQUESTS, control_path, control_token
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Exchange

_UNDOCUMENTED = "inventory.undocumented-operation"
_DEPRECATED = "inventory.deprecated-operation-live"


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
            f"answered {resp.status} with {size_text(resp.body)} of {resp.content_type or 'data'} "
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
            f"{exchange.request.url} answered {resp.status} with {size_text(resp.body)} of "
            f"{resp.content_type or 'data'}: deprecated is not retired (a deprecated operation "
            "keeps working until it is removed), so this is inventory to plan its retirement",
            evidence=[exchange],
            confidence=Confidence.confirmed,
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


def size_text(body: bytes) -> str:
    """The size of a body for a detail: ``512 bytes``, ``3.2 KB``."""
    size = len(body)
    return f"{size} bytes" if size < 1024 else f"{size / 1024:.1f} KB"
