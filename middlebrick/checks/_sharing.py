"""Whether an object is shared with an identity: its own listing of the collection shows it.

A BOLA verdict needs the other identity *not* to be shown the object where it lists its own
objects: a team's projects, a member directory, a catalogue are listed to every member, so a
member reading one of them by id is the API's sharing model, not a flaw. ``listing_of`` finds
the collection an object belongs to (``/api/projects/`` for ``/api/projects/{id}/…``), as the
baseline requested it or, when the surface does not list it, by cutting the object's URL there;
``shows`` says whether a listing holds the object's id; ``scoped_listings`` whether the
collection lists each caller its own objects only, the primary's including this one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from middlebrick.checks._owners import owner_fields, readable, records, scalar
from middlebrick.checks._properties import sensitivity
from middlebrick.checks.context import CheckContext
from middlebrick.http.exchange import Exchange, Request
from middlebrick.identities import Identity
from middlebrick.spec.model import Operation, Parameter
from middlebrick.spec.pool import flat_name, values_in


def collection_request(ctx: CheckContext, op: Operation, url: str) -> tuple[Request, str] | None:
    """The GET of the collection holding the object ``url`` addresses, and the object's id.

    The collection is the path before the last path parameter of ``op`` (``/items`` for
    ``/items/{item_id}/comments``); the id is that parameter's value in ``url``.
    """
    start = op.path.rfind("/{")
    if start <= 0:
        return None
    template = op.path.strip("/").split("/")
    parts = urlsplit(url)
    segments = parts.path.strip("/").split("/")
    offset = len(segments) - len(template)
    prefix = op.path[:start].strip("/").split("/")
    index = offset + len(prefix)
    if offset < 0 or index >= len(segments):
        return None
    value = segments[index]
    for key in (f"GET {op.path[:start]}", f"GET {op.path[:start]}/"):
        listed = ctx.baseline.get(key)
        if listed is not None:
            return listed.request, value
    slash = "/" if op.path.endswith("/") else ""
    path = "/" + "/".join(segments[:index]) + slash
    return Request("GET", urlunsplit((parts.scheme, parts.netloc, path, "", ""))), value


def shows(
    listing: Exchange, value: str, *, field: str = "", detail: Mapping[str, Any] | None = None
) -> bool:
    """True when a readable listing holds a record whose id field equals ``value``.

    ``field``: the path parameter the object was read by (``title`` for
    ``/wishlists/{title}``); a field of that name (across conventions) counts as an id too.
    ``detail``: the object as its read answered it; then the listed record must also show its
    sensitive fields (``_covers``): a listing of titles shows that the object exists, not the
    secret or personal data it holds, so reading those is not covered by the sharing.
    """
    if not readable(listing) or listing.response is None or not listing.response.is_json:
        return False
    wanted = flat_name(field) if field else None
    for record in records(listing.response.json):
        for key, raw in record.items():
            if scalar(raw) == value and (_identifying(key) or flat_name(key) == wanted):
                return detail is None or _covers(record, detail)
    return False


_LINKS = frozenset({"url", "href", "links", "_links", "self", "link"})


def _covers(record: Mapping[str, Any], detail: Mapping[str, Any]) -> bool:
    """True unless the object's ``detail`` holds a field the listed ``record`` does not show and
    that is sensitive by its name (``_properties.sensitivity``: a secret, a credential, personal
    or internal data): a summary that leaves out only descriptions and counts still shares."""
    hidden = {k for k in detail if isinstance(k, str)} - set(record)
    return not any(
        k.lower() not in _LINKS and sensitivity(k, detail[k]) is not None for k in hidden
    )


async def listed_to(
    ctx: CheckContext,
    identity: Identity | None,
    op: Operation,
    url: str,
    *,
    detail: Mapping[str, Any] | None = None,
) -> Exchange | None:
    """The listing in which ``identity`` (``None``: the primary) is shown the object, if any
    (with every field of ``detail``, the object as read, when given: see ``shows``)."""
    found = collection_request(ctx, op, url)
    if found is None:
        return None
    request, value = found
    if not ctx.in_scope(request.url):
        return None
    if identity is not None:
        request = request.as_identity(identity.name)
    listing = await ctx.send(request)
    start = op.path.rfind("/{")
    field = op.path[start + 2 : op.path.find("}", start)]
    return listing if shows(listing, value, field=field, detail=detail) else None


async def scoped_listings(
    ctx: CheckContext, other: Identity, op: Operation, url: str
) -> tuple[Exchange, Exchange] | None:
    """The primary's and ``other``'s listings of the collection of the object ``url`` addresses,
    when they prove the object ``mine``'s: the same URL lists each caller other records (none
    in common, ``other``'s not empty; an owner field they carry holds one value in each, not
    the same), and the primary's shows the object. A collection listed
    per caller (``GET /orders``: "your orders") says whose each object is even when its owner
    field holds an internal number no token claim or ``/me`` answer names. Two requests.
    """
    found = collection_request(ctx, op, url)
    if found is None or not ctx.in_scope(found[0].url):
        return None
    request, value = found
    start = op.path.rfind("/{")
    field = op.path[start + 2 : op.path.find("}", start)]
    listings = (await ctx.send(request), await ctx.send(request.as_identity(other.name)))
    bodies = [e.response.json if readable(e) and e.response else None for e in listings]
    if any(not records(body) for body in bodies) or _own_ids(bodies[0], field) & _own_ids(
        bodies[1], field
    ):
        return None  # a listing is empty or unread, or both callers are shown a same record
    if not shows(listings[0], value, field=field) or shows(listings[1], value, field=field):
        return None
    if not _one_owner_each(bodies[0], bodies[1]):
        return None  # records of several owners: a feed or a selection, not "yours"
    return listings


def _one_owner_each(mine: Any, theirs: Any) -> bool:
    """False when an owner field the listings' records carry holds several values in one
    listing, or the same value in both (a feed of followed authors, a shared selection)."""
    keys = {k for body in (mine, theirs) for r in records(body) for k in owner_fields(r)}
    for key in keys:
        values = [{owner_fields(r).get(key) for r in records(body)} for body in (mine, theirs)]
        if any(len(v) != 1 or None in v for v in values) or values[0] == values[1]:
            return False
    return True


def _own_ids(body: Any, field: str) -> set[str]:
    """The records' own ids: ``id``-like keys and the key named like the path parameter."""
    wanted = flat_name(field)
    return {
        value
        for record in records(body)
        for key, raw in record.items()
        if (key.lower() in {"id", "pk", "uuid"} or flat_name(key) == wanted)
        and (value := scalar(raw)) is not None
    }


def _identifying(key: str) -> bool:
    """An id-like key (``id``, ``slug``, ``item_id``, ``itemId``) or the record's ``name``."""
    return key.lower() in {"id", "pk", "uuid", "slug", "key", "name"} or key.endswith(
        ("_id", "Id", "ID", "_uuid", "_key", "_slug")
    )


async def per_user_object(
    ctx: CheckContext,
    op: Operation,
    baseline: Exchange,
    mine: Identity,
    other: Identity,
    seen: dict[str, set[str]],
) -> Exchange:
    """The primary's read of a per-user object of ``op``, else ``baseline`` as it is.

    A per-user object is one ``mine``'s answers named and ``other``'s own listing of the
    collection does not (``ValuePool.per_user``): reading it as ``other`` tests access control,
    where a shared one (a catalogue entry, a team's project) only shows the sharing model. When
    ``other``'s listing shows the baseline's object and the pool holds a per-user value for
    the object's parameter, that object is read as ``mine`` once; its answer replaces the
    baseline when readable (an object given with ``--owns`` and not listed to ``other`` stays).
    ``seen`` caches ``other``'s listing values by collection URL (one request per collection).
    """
    found = collection_request(ctx, op, baseline.request.url)
    start = op.path.rfind("/{")
    if found is None or start < 0:
        return baseline
    request, value = found
    pool = ctx.baseline.pool
    name = op.path[start + 2 : op.path.find("}", start)]
    param = next((p for p in op.params("path") if p.name == name), Parameter(name, "path"))
    prefer = [*mine.self_ids, *mine.owns]
    seen_by_mine = pool.seen_as(mine.name)
    options = [
        c
        for c in pool.candidates(op, param, prefer=prefer)
        if c in seen_by_mine and c not in (value, unquote(value))
    ]
    if not options or not ctx.in_scope(request.url):
        return baseline  # no other object of ``mine``'s to try: no request
    if request.url not in seen:
        listing = await ctx.send(request.as_identity(other.name))
        body = listing.response.json if readable(listing) and listing.response else None
        seen[request.url] = values_in(body) if body is not None else set()
    theirs = seen[request.url]
    if value not in theirs and unquote(value) not in theirs:
        return baseline  # not shown to ``other``: already the best object to try
    wanted = next((c for c in options if c not in theirs), None)
    if wanted is None:
        return baseline
    parts = urlsplit(baseline.request.url)
    segments = parts.path.split("/")
    index = len(segments) - len(op.path.split("/")) + len(op.path[:start].split("/"))
    if not 0 <= index < len(segments) or segments[index] != value:
        return baseline
    segments[index] = quote(wanted, safe="")
    url = urlunsplit(parts._replace(path="/".join(segments)))
    again = await ctx.send(replace(baseline.request, url=url))
    return again if readable(again) else baseline
