"""Objects the scan creates for itself: collections it may create in, and one object created.

Active checks create objects so that they never read another identity's data or write what
existed before the scan. ``resources`` finds the collections whose ``POST`` takes a JSON body
and whose objects have a documented ``GET`` and ``DELETE`` by id (``/addresses`` with
``/addresses/{address_id}``): the journal records what the ``POST`` created (its id under the
documented ``DELETE``) and deletes it after the check. ``create`` makes one, as the primary
identity (or another one), from the request schema (examples first), optionally with extra
fields, and reads it; ``attempt`` sends the creation alone and says what it made.
``ordinary_field`` picks the field a probe may set to a marker on such an object; ``answer_of``
and ``path_of`` name what another identity got for it.

What ``create`` made goes into the scan's value pool with its URL (its id, resource and
creator; the values the creation's response links name, too), so later requests of the check
fill parameters with it; the journal tells the pool when it is deleted. A collection under a
parent object (``POST /orders/{order_id}/items``) is created in only under a parent the scan
created as the same identity and still holds; when there is none, ``create`` makes the parent
first (through its own documented collection), never writing under an object that existed
before the scan.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from middlebrick.baseline import answer_of as link_answer
from middlebrick.checks._assignable import into_body, into_query
from middlebrick.checks._owners import readable, records, row_id
from middlebrick.checks._properties import flat, is_privileged_input, is_role
from middlebrick.checks._schemas import shape
from middlebrick.checks._writes import fresh, json_media, record_of
from middlebrick.checks.context import CheckContext
from middlebrick.http.exchange import Exchange, Headers, Request
from middlebrick.http.wording import removable_creation
from middlebrick.identities import Identity, primary_name
from middlebrick.knowledge import safety_words
from middlebrick.spec.model import Operation, Parameter
from middlebrick.spec.values import value_for_schema

__all__ = [
    "Created",
    "Resource",
    "answer_of",
    "attempt",
    "body_for",
    "create",
    "ordinary_field",
    "path_of",
    "resources",
]


@dataclass(frozen=True)
class Resource:
    """A collection the scan may create in, and the operations on one of its objects."""

    create: Operation  # POST /addresses (or PUT /addresses: creation by PUT)
    read: Operation  # GET /addresses/{address_id}
    write: Operation | None  # PATCH /addresses/{address_id}
    delete: Operation  # DELETE /addresses/{address_id}
    parameter: str  # address_id
    replace: Operation | None = None  # PUT /addresses/{address_id}


@dataclass
class Created:
    """One object the primary created: its URL and how it read as the primary."""

    url: str
    mine: Exchange  # the read as the primary, right after the creation
    record: dict[str, Any]
    made: Exchange  # the POST that created it
    body: dict[str, Any]  # what the POST sent


def resources(ctx: CheckContext) -> list[Resource]:
    """The collections with a JSON ``POST`` and a documented ``GET`` and ``DELETE`` by id."""
    by_key = {op.key: op for op in ctx.surface.operations}
    found = []
    for op in ctx.surface.operations:
        body = op.request_body
        if op.method not in ("POST", "PUT") or body is None or "json" not in body.content_type:
            continue
        if op.method == "PUT" and not removable_creation(op, ctx.surface.operations):
            continue  # creation by PUT /collection only (``http.wording.removable_creation``)
        if op.path.rstrip("/").endswith("}"):
            continue
        base = op.path.rstrip("/")
        for item in ctx.surface.operations:
            path = item.path.rstrip("/")
            if (
                item.method != "GET"
                or not path.startswith(base + "/{")
                or "/" in path[len(base) + 1 :]
            ):
                continue
            delete = by_key.get(f"DELETE {item.path}")
            if delete is None:
                continue
            found.append(
                Resource(
                    op,
                    item,
                    by_key.get(f"PATCH {item.path}"),
                    delete,
                    path[len(base) + 2 : -1],
                    by_key.get(f"PUT {item.path}"),
                )
            )
            break
    return found


def body_for(
    resource: Resource, extra: Mapping[str, Any] | None = None, *, wrap: str | None = None
) -> dict[str, Any] | None:
    """The creation body built from the request schema (examples first), plus ``extra`` fields
    (inside the body's envelope when it has one), or the whole body wrapped in ``wrap``."""
    schema = resource.create.request_body.schema if resource.create.request_body else {}
    body = value_for_schema(schema)
    if not isinstance(body, dict) or not body:
        return None
    body = into_body(body, schema, extra or {})
    return {wrap: body} if wrap is not None else body


async def attempt(
    ctx: CheckContext,
    resource: Resource,
    body: Mapping[str, Any],
    who: Identity | None = None,
    *,
    query: Mapping[str, Any] | None = None,
    collection: str | None = None,
) -> tuple[Exchange, str | None]:
    """The creating ``POST`` as ``who`` (``None``: the primary; ``query`` fields in the query
    string) to ``collection`` (default: the collection's path as documented) and the new
    object's URL, ``None`` when it created nothing the journal holds as the scan's (so never
    touched)."""
    url = collection or ctx.url(resource.create.path)
    headers = Headers.of({"Content-Type": json_media(resource.create)})
    target = into_query(url, query) if query else url
    method = resource.create.method  # POST, or PUT to the collection
    request = Request(method, target, headers=headers, body=json.dumps(dict(body)).encode())
    made = await ctx.send(request if who is None else request.as_identity(who.name))
    record = record_of(made)
    rows = records(record) if record is not None else []
    value = row_id(rows[0], resource.parameter) if rows else None
    if not made.ok or value is None:
        return made, None
    item = url.rstrip("/") + "/" + quote(value, safe="")
    if resource.read.path.endswith("/"):
        item += "/"
    return made, item if ctx.may_send("DELETE", item) else None


async def create(
    ctx: CheckContext,
    resource: Resource,
    extra: Mapping[str, Any] | None = None,
    who: Identity | None = None,
    *,
    query: Mapping[str, Any] | None = None,
    wrap: str | None = None,
    depth: int = 0,
) -> Created | None:
    """Create one object as ``who`` (``None``: the primary; the schema's body, plus ``extra``
    fields inside the body's envelope when it has one, or the whole body wrapped in ``wrap``;
    ``query`` fields in the query string) and read it as its creator; ``None`` when either
    fails. Its values join the pool until the journal deletes it (see the module docstring);
    ``depth`` counts the parents being made for it."""
    body = body_for(resource, extra, wrap=wrap)
    if body is None:
        return None
    collection = await _collection(ctx, resource, who, depth)
    if collection is None or not ctx.may_send(resource.create.method, collection):
        return None
    made, item = await attempt(ctx, resource, body, who, query=query, collection=collection)
    if item is None:
        return None  # the journal did not record it as the scan's: never touch it further
    read = fresh(Request("GET", item), 0)
    mine = await ctx.send(read if who is None else read.as_identity(who.name))
    again = record_of(mine)
    if not readable(mine) or again is None:
        return None
    creator = who.name if who is not None else primary_name(ctx.scan)
    pool = ctx.baseline.pool
    pool.add(again, operation=resource.read, identity=creator, created=item)
    pool.follow(resource.create, link_answer(resource.create, made), identity=creator, created=item)
    return Created(item, mine, again, made, body)


_PARENTS = 2  # parent objects ``create`` makes first, at most, for one object
_VARIABLE = re.compile(r"\{([^{}/]+)\}")


async def _collection(
    ctx: CheckContext, resource: Resource, who: Identity | None, depth: int
) -> str | None:
    """The URL to create in: the collection's path, each parent id in it one of an object the
    scan created as ``who`` and still holds (made first when there is none); ``None`` when a
    parent cannot be had."""
    op = resource.create
    path = op.path
    creator = who.name if who is not None else primary_name(ctx.scan)
    for name in _VARIABLE.findall(op.path):
        param = next(
            (p for p in op.params("path") if p.name == name), Parameter(name, "path", True)
        )
        value = _made_by(ctx, op, param, creator)
        parent = _parent(ctx, op, name) if value is None and depth < _PARENTS else None
        if parent is not None and await create(ctx, parent, who=who, depth=depth + 1):
            value = _made_by(ctx, op, param, creator)
        if value is None:
            return None
        path = path.replace("{" + name + "}", quote(value, safe=""))
    return ctx.url(path)


def _made_by(ctx: CheckContext, op: Operation, param: Parameter, creator: str | None) -> str | None:
    """The best value for ``param`` among the objects the scan created as ``creator``."""
    pool = ctx.baseline.pool
    found = pool.candidates(op, param, created_only=True)
    return next((value for value in found if creator in pool.seen_by(value)), None)


def _parent(ctx: CheckContext, op: Operation, name: str) -> Resource | None:
    """The collection whose objects are the parents ``{name}`` in ``op``'s path names: its read
    is the path up to that parameter (``/orders/{id}`` for ``/orders/{order_id}/items``)."""
    prefix = op.path.split("{" + name + "}", 1)[0] + "{}"
    return next(
        (r for r in resources(ctx) if _VARIABLE.sub("{}", r.read.path.rstrip("/")) == prefix),
        None,
    )


def ordinary_field(write: Operation, record: Mapping[str, Any]) -> str | None:
    """A string property the write declares and the object shows, safe to set to a marker:
    never a role, flag, owner, id, enum, formatted or personal field."""
    schema = write.request_body.schema if write.request_body is not None else {}
    declared = shape(schema).properties
    personal = {flat(name) for name in safety_words().identity_fields}
    for name, prop in declared.items():
        value = record.get(name)
        if not isinstance(value, str) or prop.get("readOnly") or "enum" in prop:
            continue
        if prop.get("format") or prop.get("pattern") or _too_short(prop):
            continue
        if is_privileged_input(name) or is_role(name, value, record) or flat(name) in personal:
            continue
        if flat(name) in {"id", "uuid", "slug", "key"} or name.endswith(("_id", "Id")):
            continue
        return name
    return None


def _too_short(prop: Mapping[str, Any]) -> bool:
    limit = prop.get("maxLength")
    return isinstance(limit, int) and limit < 11


def answer_of(exchange: Exchange) -> str:
    """The status of an exchange for a finding's words, or its error when nothing answered."""
    return str(exchange.response.status) if exchange.response is not None else str(exchange.error)


def path_of(url: str) -> str:
    """The path (and query) of an absolute URL, as a finding names the request sent."""
    rest = url.split("://", 1)[-1]
    return "/" + rest.split("/", 1)[1] if "/" in rest else "/"
