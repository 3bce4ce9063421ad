"""BOLA on objects the scan creates: one identity creates, another reads, changes, deletes.

Active mode only. Every object this check touches is one it created itself a moment before, as
the primary identity, through a collection's documented ``POST``; the journal records it and
deletes it after the check, so nothing that existed before the scan is ever read as the
other identity or written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator

from middlebrick.checks._created import (
    Created,
    Resource,
    answer_of,
    create,
    ordinary_field,
    path_of,
    resources,
)
from middlebrick.checks._owners import read_same, readable
from middlebrick.checks._sharing import listed_to
from middlebrick.checks._writes import fresh, json_media, record_of
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Exchange, Headers, Request
from middlebrick.identities import Identity
from middlebrick.spec.model import Operation

_CROSS = "bola.cross-identity-access"
_COST = 11  # create, read, read as other, anonymous, listing, write, read back, delete, read ×2
_GONE = frozenset({404, 410})


@check(category="bola", emits={_CROSS}, mode="active", per_operation=_COST)
async def created_object_access(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Whether another user reads, changes or deletes an object the primary just created.

    Active mode and two identities. For each collection whose ``POST`` (or ``PUT`` on the
    collection itself, documenting 201) takes a JSON body and
    whose objects have a documented ``GET`` and ``DELETE`` (``/addresses`` with
    ``/addresses/{address_id}``), it creates one object as the primary identity with a body
    built from the request schema (the journal records it and deletes it after the check),
    reads it as the primary, then as the other identity:

    1. reads it (GET), once without credentials, and lists the collection as the other
       identity;
    2. when a ``PATCH`` is documented, changes one ordinary string field the schema declares
       and the object shows (never a role, flag, owner, id or personal field) to a marker
       value, and reads the object back as the primary;
    3. deletes it (DELETE), and reads it back as the primary.

    At most 11 requests per collection. Ownership is proven by construction: the primary
    created the object. Confirmed, and critical, for each operation the other identity got
    through: the same object read, the marker read back by the primary, the object gone for the
    primary. When the other identity's own listing of the collection shows the new object, it
    is shared with it by the API's design (a team workspace): each is ``info``. A collection
    whose objects anyone reads without credentials is public: no finding.
    """
    primary = ctx.identities.primary
    if primary is None or not ctx.identities.others:
        return
    other = ctx.identities.others[0]
    async for resource in ctx.each(resources(ctx)):
        created = await create(ctx, resource)
        if created is None:
            continue
        async for finding in _probe(ctx, resource, created, primary, other):
            yield finding


async def _probe(
    ctx: CheckContext, resource: Resource, created: Created, primary: Identity, other: Identity
) -> AsyncIterator[Finding]:
    read = Request("GET", created.url)
    theirs = await ctx.send(fresh(read, 1).as_identity(other.name))
    anonymous = await ctx.send(fresh(read, 2).without_credentials())
    if readable(anonymous):
        return  # public objects
    base = [(f"created and read as {primary.name}", created.mine)]
    listing = await listed_to(ctx, other, resource.read, created.url)
    shared = (
        f"; but {other.name!r}'s own listing shows it: shared with {other.name!r} by design"
        if listing is not None
        else ""
    )
    shown = [(f"listing as {other.name}", listing)] if listing is not None else []
    if read_same(created.mine, theirs):
        yield _finding(
            ctx,
            resource.read,
            f"identity {other.name!r} read the object {primary.name!r} had just created "
            f"(`GET {path_of(created.url)}`): {answer_of(theirs)} with the same object; without "
            f"credentials it got {answer_of(anonymous)}{shared}",
            [*base, (f"as {other.name}", theirs), ("anonymous", anonymous), *shown],
            proven=listing is None,
        )
    if resource.write is not None:
        finding = await _try_write(ctx, resource.write, created, (primary, other), shared)
        if finding is not None:
            yield finding
    gone = await ctx.send(Request("DELETE", created.url).as_identity(other.name))
    after = await ctx.send(fresh(read, 3))
    if gone.ok and after.response is not None and after.response.status in _GONE:
        yield _finding(
            ctx,
            resource.delete,
            f"identity {other.name!r} deleted the object {primary.name!r} had just created "
            f"(`DELETE {path_of(created.url)}` answered {answer_of(gone)}); read as "
            f"{primary.name!r} afterwards it answers {answer_of(after)}{shared}",
            [*base, (f"delete as {other.name}", gone), (f"read as {primary.name}", after), *shown],
            proven=listing is None,
        )


async def _try_write(
    ctx: CheckContext,
    write: Operation,
    created: Created,
    who: tuple[Identity, Identity],
    shared: str,
) -> Finding | None:
    """Change one ordinary field as ``other``; the finding when the primary reads it back."""
    primary, other = who
    field = ordinary_field(write, created.record)
    if field is None:
        return None
    marker = "mb-" + hashlib.sha256(created.url.encode()).hexdigest()[:8]
    headers = Headers.of({"Content-Type": json_media(write)})
    body = json.dumps({field: marker}).encode()
    sent = await ctx.send(Request(write.method, created.url, headers, body, other.name))
    back = await ctx.send(fresh(Request("GET", created.url), 4))
    after = record_of(back)
    if not sent.ok or after is None or after.get(field) != marker:
        return None
    return _finding(
        ctx,
        write,
        f"identity {other.name!r} changed `{field}` of the object {primary.name!r} had just "
        f"created (`{write.method} {path_of(created.url)}` answered {answer_of(sent)}); read as "
        f"{primary.name!r} it now holds the marker {marker!r}{shared}",
        [
            (f"created and read as {primary.name}", created.mine),
            (f"{write.method} as {other.name}", sent),
            (f"read back as {primary.name}", back),
        ],
        proven=not shared,
    )


def _finding(
    ctx: CheckContext,
    operation: Operation,
    detail: str,
    evidence: list[tuple[str, Exchange]],
    *,
    proven: bool,
) -> Finding:
    return ctx.finding(
        _CROSS,
        operation,
        detail=detail,
        evidence=evidence,
        confidence=Confidence.confirmed if proven else Confidence.tentative,
        severity=None if proven else Severity.info,
    )
