"""Whether an object is shared with an identity: its own listing of the collection shows it.

A BOLA verdict needs the other identity *not* to be shown the object where it lists its own
objects: a team's projects, a member directory, a catalogue are listed to every member, so a
member reading one of them by id is the API's sharing model, not a flaw. ``listing_of`` finds
the collection an object belongs to (``/api/projects/`` for ``/api/projects/{id}/…``), as the
baseline requested it or, when the surface does not list it, by cutting the object's URL there;
``shows`` says whether a listing holds the object's id.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from middlebrick.checks._owners import readable, records, scalar
from middlebrick.checks.context import CheckContext
from middlebrick.http.exchange import Exchange, Request
from middlebrick.identities import Identity
from middlebrick.spec.model import Operation


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


def shows(listing: Exchange, value: str) -> bool:
    """True when a readable listing holds a record whose id field equals ``value``."""
    if not readable(listing) or listing.response is None or not listing.response.is_json:
        return False
    for record in records(listing.response.json):
        for key, raw in record.items():
            if scalar(raw) == value and _identifying(key):
                return True
    return False


async def listed_to(
    ctx: CheckContext, identity: Identity | None, op: Operation, url: str
) -> Exchange | None:
    """The listing in which ``identity`` (``None``: the primary) is shown the object, if any."""
    found = collection_request(ctx, op, url)
    if found is None:
        return None
    request, value = found
    if not ctx.in_scope(request.url):
        return None
    if identity is not None:
        request = request.as_identity(identity.name)
    listing = await ctx.send(request)
    return listing if shows(listing, value) else None


def _identifying(key: str) -> bool:
    """An id-like key (``id``, ``slug``, ``item_id``, ``itemId``) or the record's ``name``."""
    return key.lower() in {"id", "pk", "uuid", "slug", "key", "name"} or key.endswith(
        ("_id", "Id", "ID", "_uuid", "_key", "_slug")
    )
