"""BOLA through a reference: a write that names another user's object by its id (active).

Only objects the scan creates itself are written (``_created``): the primary creates one whose
body names, in a reference field, an object only the other identity's listing shows.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from middlebrick.checks._created import Resource, create, resources
from middlebrick.checks._owners import Owners, readable, records, scalar
from middlebrick.checks._schemas import shape
from middlebrick.checks._writes import fresh
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Exchange, Request
from middlebrick.spec.model import Operation

_REFERENCE = "bola.foreign-reference-accepted"
_FIELD = re.compile(r"^(?P<name>[a-z][a-z0-9]*?)(?:_id|Id)$")
_NOT_REFERENCES = {"user", "owner", "account", "tenant", "org", "organization", "customer"}


@dataclass(frozen=True)
class _Reference:
    """A reference field of a creating body and the collection it points into."""

    field: str  # address_id
    integer: bool  # the schema types it as an integer
    listing: Operation  # GET /addresses
    read: Operation | None  # GET /addresses/{address_id}


@check(category="bola", emits={_REFERENCE}, mode="active", per_operation=6)
async def foreign_references(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Writes that accept a reference to an object only another identity may use (active).

    Active mode and two identities. For each collection the scan may create in (a JSON ``POST``
    and a documented ``GET`` and ``DELETE`` by id, see ``created_object_access``), each body
    field named like a reference (``address_id``, ``paymentMethodId``; not ``user_id``,
    ``owner_id``, ``account_id`` or tenant fields, which are mass assignment's) whose collection
    the surface lists (``GET /addresses``): the collection is listed as the other identity, and
    an id its listing shows and the primary's does not is taken. It must be the other
    identity's: its owner field names that identity, or the primary's own read of it by id
    (when documented) is refused; a listing without owner fields is completed by the other
    identity's own read of the object. Then the primary creates an object with the
    schema's body and that id, and reads it (the journal deletes it after the check). At most
    six requests per collection.

    Confirmed (high) when the new object reads back holding the other identity's id: the API
    stored a reference to an object the caller may not read.
    """
    primary = ctx.identities.primary
    if primary is None or not ctx.identities.others:
        return
    other = ctx.identities.others[0]
    async for resource in ctx.each(resources(ctx)):
        for reference in _references(ctx, resource):
            foreign = await _foreign_id(ctx, reference, other.name)
            if foreign is None:
                continue
            value, theirs, refused = foreign
            sent: str | int = int(value) if reference.integer and value.isdigit() else value
            made = await create(ctx, resource, extra={reference.field: sent})
            if made is None or scalar(made.record.get(reference.field)) != value:
                continue
            yield ctx.finding(
                _REFERENCE,
                resource.create,
                parameter=reference.field,
                detail=f"as {primary.name}, `{resource.create.key}` with `{reference.field}` = "
                f"{value!r} (an object only {other.name!r}'s `GET {reference.listing.path}` "
                f"shows, {_whose(refused)}) created an "
                f"object that reads back holding that reference; it was the scan's own object, "
                "deleted after the check",
                evidence=[
                    (f"listing as {other.name}", theirs),
                    *([(f"read by id as {primary.name}", refused)] if refused else []),
                    ("created", made.made),
                    ("read back", made.mine),
                ],
                confidence=Confidence.confirmed,
            )
            break


def _references(ctx: CheckContext, resource: Resource) -> list[_Reference]:
    """The reference fields of the creating body whose collection the surface lists."""
    body = resource.create.request_body
    if body is None:
        return []
    lists = {
        op.path.rstrip("/").rsplit("/", 1)[-1].lower(): op
        for op in ctx.surface.operations
        if op.method == "GET" and "{" not in op.path
    }
    found = []
    for field, prop in shape(body.schema).properties.items():
        match = _FIELD.match(field)
        if match is None or prop.get("readOnly"):
            continue
        name = match.group("name").lower()
        if name in _NOT_REFERENCES:
            continue
        listing = lists.get(name + "s") or lists.get(name + "es") or lists.get(name)
        if listing is None or listing.path == resource.create.path:
            continue
        read = next(
            (
                op
                for op in ctx.surface.operations
                if op.method == "GET"
                and op.path.rstrip("/").startswith(listing.path.rstrip("/") + "/{")
                and op.path.rstrip("/").count("/") == listing.path.rstrip("/").count("/") + 1
            ),
            None,
        )
        found.append(_Reference(field, prop.get("type") == "integer", listing, read))
    return found


async def _foreign_id(
    ctx: CheckContext, reference: _Reference, other: str
) -> tuple[str, Exchange, Exchange | None] | None:
    """An id the other identity's listing shows and the primary's does not, with the evidence;
    ``None`` when there is none or the primary may read it by id."""
    mine = ctx.baseline.get(reference.listing.key)
    if mine is None or not readable(mine) or mine.response is None:
        return None
    request = Request("GET", mine.request.url, headers=mine.request.headers)
    theirs = await ctx.send(request.as_identity(other))
    if not readable(theirs) or theirs.response is None:
        return None
    own = {scalar(r.get("id")) for r in records(mine.response.json)}
    candidates = [r for r in records(theirs.response.json) if scalar(r.get("id")) not in own]
    if not candidates:
        return None
    value = scalar(candidates[0].get("id"))
    if value is None:
        return None
    owners = Owners.of(ctx.identities)
    owner = owners.whose(candidates[0])
    if reference.read is None:
        return (value, theirs, None) if owner is not None and owner.name == other else None
    base = urlsplit(mine.request.url)
    path = base.path.rstrip("/") + "/" + value + ("/" if reference.read.path.endswith("/") else "")
    url = base._replace(path=path, query="").geturl()
    if owner is None:  # the listing has no owner field: the object as its owner reads it
        detail = await ctx.send(fresh(Request("GET", url), 3).as_identity(other))
        rows = records(detail.response.json) if readable(detail) and detail.response else []
        owner = owners.whose(rows[0]) if rows else None
    named = owner is not None and owner.name == other
    refused = await ctx.send(fresh(Request("GET", url), 2))
    if readable(refused) and not named:
        return None  # the primary may use it and nothing says whose it is: shared
    return value, theirs, refused


def _whose(refused: Exchange | None) -> str:
    if refused is None or refused.response is None:
        return "its owner field names that identity"
    if readable(refused):
        return (
            f"its owner field names that identity; the primary may read it by id too "
            f"({refused.response.status}), a BOLA of its own"
        )
    return f"the primary reading it by id got {refused.response.status}"
