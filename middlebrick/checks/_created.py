"""Objects the scan creates for itself: collections it may create in, and one object created.

Active checks create objects so that they never read another identity's data or write what
existed before the scan. ``resources`` finds the collections whose ``POST`` takes a JSON body
and whose objects have a documented ``GET`` and ``DELETE`` by id (``/addresses`` with
``/addresses/{address_id}``): the journal records what the ``POST`` created (its id under the
documented ``DELETE``) and deletes it after the check. ``create`` makes one, as the primary
identity, from the request schema (examples first), optionally with extra fields, and reads it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from middlebrick.checks._owners import readable, records, row_id
from middlebrick.checks._writes import fresh, json_media, record_of
from middlebrick.checks.context import CheckContext
from middlebrick.http.exchange import Exchange, Headers, Request
from middlebrick.http.policy import removable_creation
from middlebrick.spec.model import Operation
from middlebrick.spec.values import value_for_schema

__all__ = ["Created", "Resource", "create", "resources"]


@dataclass(frozen=True)
class Resource:
    """A collection the scan may create in, and the operations on one of its objects."""

    create: Operation  # POST /addresses (or PUT /addresses: creation by PUT)
    read: Operation  # GET /addresses/{address_id}
    write: Operation | None  # PATCH /addresses/{address_id}
    delete: Operation  # DELETE /addresses/{address_id}
    parameter: str  # address_id


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
            continue  # creation by PUT /collection only (``http.policy.removable_creation``)
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
                    op, item, by_key.get(f"PATCH {item.path}"), delete, path[len(base) + 2 : -1]
                )
            )
            break
    return found


async def create(
    ctx: CheckContext, resource: Resource, extra: Mapping[str, Any] | None = None
) -> Created | None:
    """Create one object as the primary (the schema's body, plus ``extra`` fields) and read
    it; ``None`` when either fails."""
    url = ctx.url(resource.create.path)
    method = resource.create.method  # POST, or PUT to the collection
    if not ctx.may_send(method, url):
        return None
    schema = resource.create.request_body.schema if resource.create.request_body else {}
    body = value_for_schema(schema)
    if not isinstance(body, dict) or not body:
        return None
    body = {**body, **(extra or {})}
    headers = Headers.of({"Content-Type": json_media(resource.create)})
    made = await ctx.send(Request(method, url, headers=headers, body=json.dumps(body).encode()))
    record = record_of(made)
    rows = records(record) if record is not None else []
    value = row_id(rows[0], resource.parameter) if rows else None
    if not made.ok or value is None:
        return None
    item = url.rstrip("/") + "/" + quote(value, safe="")
    if resource.read.path.endswith("/"):
        item += "/"
    if not ctx.may_send("DELETE", item):
        return None  # the journal did not record it as the scan's: never touch it further
    mine = await ctx.send(fresh(Request("GET", item), 0))
    again = record_of(mine)
    if not readable(mine) or again is None:
        return None
    return Created(item, mine, again, made, body)
