"""BOLA through ``../`` in an identifier: the check sees one object, the router serves another."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

from middlebrick.checks._compare import same_shape
from middlebrick.checks._owners import Owners, parent_of, readable, record_ids
from middlebrick.checks._probe import current_value, with_parameter
from middlebrick.checks.bola._foreign import Foreign, foreign_object
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Exchange, Request
from middlebrick.spec.model import Operation, Parameter

_TRAVERSAL = "bola.identifier-traversal"
_SLOT = "middlebrick-traversal-slot"
_FORMS = (
    ("../", "{own}/../{foreign}"),
    ("%2F%2E%2E%2F", "{own}%2F%2E%2E%2F{foreign}"),
    ("double-encoded %252F..%252F", "{own}%252F%252E%252E%252F{foreign}"),
)


@check(category="bola", emits={_TRAVERSAL}, per_operation=2 + len(_FORMS))
async def identifier_traversal(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Whether ``../`` inside an object id reaches an object the caller cannot read directly.

    Needs two identities. For each operation whose path ends in an id (``/items/{item_id}``)
    and whose baseline answered 2xx, it finds another identity's object (from the parent
    collection, at most one request) and requests it plainly as the primary (the control,
    which must be denied). Then the id is replaced by the primary's own id, ``../`` and the
    other object's id, in three spellings sent byte-exact: ``own/../other``,
    ``own%2F%2E%2E%2Fother`` and the double-encoded ``own%252F%252E%252E%252Fother``.

    Reported, confirmed, when a spelling returns the other identity's object (the
    baseline's shape, its id and not the primary's): an authorization step reads the raw path
    (and sees the caller's own id) while the router or handler resolves the dot segments.
    At most 5 requests per operation.
    """
    if ctx.identities.primary is None or not ctx.identities.others:
        return
    owners = Owners.of(ctx.identities)
    async for op, baseline in ctx.each(ctx.baseline.successful()):
        found = parent_of(op.path)
        if found is None or not readable(baseline) or baseline.response is None:
            continue
        own = current_value(baseline.request, op, Parameter(found[1], "path"))
        foreign = await foreign_object(ctx, op, baseline, owners)
        if own is None or foreign is None or readable(foreign.control):
            continue
        finding = await _traverse(ctx, op, baseline, found[1], own, foreign)
        if finding is not None:
            yield finding


async def _traverse(
    ctx: CheckContext,
    op: Operation,
    baseline: Exchange,
    name: str,
    own: str,
    foreign: Foreign,
) -> Finding | None:
    base = baseline.response
    if base is None:
        return None
    for label, form in _FORMS:
        raw = form.format(own=quote(own, safe=""), foreign=quote(foreign.id, safe=""))
        request = _with_raw(baseline.request, op, name, raw)
        if request is None:
            return None
        probe = await ctx.send(request)
        got = probe.response
        if not readable(probe) or got is None or not same_shape(base.json, got.json):
            continue
        ids = {value for _, value in record_ids(got.json)}
        if foreign.id not in ids or own in ids:
            continue
        status = foreign.control.response.status if foreign.control.response else "no answer"
        primary = ctx.identities.primary
        who = primary.name if primary is not None else "the scan"
        return ctx.finding(
            _TRAVERSAL,
            op,
            parameter=name,
            detail=f"as {who!r}, the object {foreign.id} of {foreign.owner.name!r} was denied "
            f"({status}) when asked for directly, but `{name}` = own id + `{label}` + its id "
            f"returned it ({got.status}): the ownership check and the route read different "
            "paths",
            evidence=[("control: direct", foreign.control), (f"traversal {label}", probe)],
            confidence=Confidence.confirmed,
        )
    return None


def _with_raw(request: Request, op: Operation, name: str, raw: str) -> Request | None:
    """``request`` with the path parameter ``name`` set to ``raw``, sent without re-encoding."""
    marked = with_parameter(request, op, Parameter(name, "path"), _SLOT)
    if marked is None or marked.url.count(_SLOT) != 1:
        return None
    return marked.with_url(marked.url.replace(_SLOT, raw))
