"""JSON request bodies to probe (active mode): each sent once as its own baseline.

``body_baselines`` yields, for every writing operation with a JSON object body, the documented
example (or a value built from the schema) sent once, to the URL the GET baseline used for the
same path or one filled with identifiers the baseline harvested; its fields become ``Slot``s
with ``body_slots``. ``probeable`` tells the writes whose bodies the injection probes may use:
a POST that names a read (``/products/search``: it cannot change state), and a POST that creates
in a collection whose objects the API documents a ``DELETE`` for (``POST /reviews`` beside
``DELETE /reviews/{review_id}``): the write journal deletes each object such a probe creates
(``deleted`` is asked after every one), so nothing that existed before the scan is touched.
``created_updates`` gives the PUT and PATCH bodies of such a collection's objects, each sent to
an object the scan created first (and deletes after the check).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Collection
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from middlebrick.baseline import build_request
from middlebrick.checks._probe import Prober, deleted
from middlebrick.checks.context import CheckContext
from middlebrick.http.exchange import Exchange, Headers, Request
from middlebrick.http.wording import names_read, removable_creation
from middlebrick.spec.model import Operation
from middlebrick.spec.values import is_plain, value_for_schema

WRITES = ("POST", "PUT", "PATCH")


def reads_only(operation: Operation) -> bool:
    """True for a POST whose last literal path segment names a read (``/products/search``), as
    the safety policy decides (``http.wording.names_read``)."""
    return operation.method == "POST" and names_read(operation.path)


def creates(ctx: CheckContext, operation: Operation) -> bool:
    """True for a POST (or a PUT to the collection) whose objects the journal can delete
    (``http.wording.removable_creation``)."""
    return removable_creation(operation, ctx.surface.operations)


def probeable(ctx: CheckContext) -> Callable[[Operation], bool]:
    """The POSTs whose JSON bodies active probes may fill: reads, and removable creations."""
    return lambda operation: reads_only(operation) or creates(ctx, operation)


def json_body(operation: Operation) -> dict[str, Any] | None:
    """The JSON object to send: the first example that is one, else one built from the schema."""
    body = operation.request_body
    if body is None or "json" not in body.content_type:
        return None
    for example in body.examples:
        if isinstance(example, dict) and example and is_plain(example):
            return dict(example)
    value = value_for_schema(body.schema)
    return value if isinstance(value, dict) and value else None


async def body_baselines(
    ctx: CheckContext, methods: Collection[str] = WRITES, *, only: Any = None
) -> AsyncIterator[tuple[Operation, Exchange, dict[str, Any]]]:
    """(operation, its body baseline, the body) for each operation of ``methods`` with a JSON
    object body (and, when ``only`` is given, for which ``only(operation)`` is true)."""
    urls = {
        op.path: urlsplit(ex.request.url)._replace(query="").geturl()
        for op, ex in ctx.baseline.items()
        if ex.response is not None
    }
    async for operation in ctx.each(ctx.surface.operations):
        document = json_body(operation)
        if operation.method not in methods or document is None:
            continue
        if only is not None and not only(operation):
            continue
        url = (
            urls.get(operation.path)
            or build_request(operation, ctx.base_url, ctx.baseline.pool).url
        )
        headers = Headers().set("Content-Type", "application/json")
        body = json.dumps(document).encode()
        yield operation, await ctx.send(Request(operation.method, url, headers, body)), document


async def probed_bodies(
    ctx: CheckContext,
    probers: Collection[Prober],
    limit: int,
    *,
    only: Callable[[Operation], bool] = lambda operation: True,
) -> AsyncIterator[tuple[Operation, Exchange, dict[str, Any]]]:
    """(operation, body baseline, body) for up to ``limit`` ``probeable`` POSTs and creating
    PUTs (of ``only``).

    A creation is yielded only when its baseline created an object and the journal deleted it;
    while it is probed, ``probers`` undo each write at once (``Prober.undoing``).
    """
    sent = 0
    wanted = probeable(ctx)
    chosen = [op for op in ctx.surface.operations if wanted(op) and only(op)]
    async for operation, baseline, document in body_baselines(
        ctx, ("POST", "PUT"), only=lambda operation: operation in chosen
    ):
        creation = not reads_only(operation)
        if creation and not (baseline.ok and await _removed(ctx)):
            continue
        for prober in probers:
            prober.undoing = creation
        sent += 1
        yield operation, baseline, document
        for prober in probers:
            prober.undoing = False
        if sent >= limit:
            break


async def _removed(ctx: CheckContext) -> bool:
    """True when the journal deleted the object just created (and everything before it)."""
    done = await ctx.undo()
    return deleted(done) and any(result.state == "deleted" for result in done)


def of_created(ctx: CheckContext, operation: Operation) -> bool:
    """True for a PUT/PATCH on one object of a removable creation's collection: the updates
    ``created_updates`` sends to objects the scan created."""
    return operation.method in ("PUT", "PATCH") and any(
        _one_below(op.path.rstrip("/"), operation.path)
        for op in ctx.surface.operations
        if creates(ctx, op)
    )


async def created_updates(
    ctx: CheckContext,
    limit: int,
    *,
    only: Callable[[Operation], bool] = lambda operation: True,
) -> AsyncIterator[tuple[Operation, Exchange, dict[str, Any]]]:
    """(update, its body baseline, the body) for up to ``limit`` PUT/PATCH operations on one
    object of a removable creation's collection (``PATCH /reviews/{review_id}``).

    Each is sent to an object the scan creates first through the collection's POST; the write
    journal knows it as the scan's own (never read-and-restored) and deletes it once the
    caller has probed every update of it. Objects that existed before the scan are never
    written.
    """
    sent = 0
    operations = ctx.surface.operations
    for creation in [op for op in operations if creates(ctx, op)]:
        collection = creation.path.rstrip("/")
        updates = [
            op
            for op in operations
            if op.method in ("PUT", "PATCH")
            and _one_below(collection, op.path)
            and json_body(op) is not None
            and only(op)
        ]
        made_body = json_body(creation)
        if not updates or made_body is None or sent >= limit:
            continue
        url = ctx.url(creation.path)
        headers = Headers().set("Content-Type", "application/json")
        body = json.dumps(made_body).encode()
        made = await ctx.send(Request(creation.method, url, headers, body))  # POST, or PUT
        item = _created_url(made, url, updates[0].path)
        if item is None or not ctx.may_send(updates[0].method, item):
            await ctx.undo()
            continue
        for update in updates[: limit - sent]:
            document = json_body(update)
            assert document is not None
            body = json.dumps(document).encode()
            baseline = await ctx.send(Request(update.method, item, headers, body))
            sent += 1
            yield update, baseline, document
        await ctx.undo()


def _one_below(collection: str, path: str) -> bool:
    """True for ``<collection>/{param}``: one object of the collection."""
    rest = path.rstrip("/")[len(collection) + 1 :] if path.startswith(collection + "/") else ""
    return rest.startswith("{") and rest.endswith("}") and "/" not in rest


def _created_url(made: Exchange, url: str, template: str) -> str | None:
    """The URL of the object a 2xx POST created: its ``Location``, else the collection URL and
    the id the answer names (under the path parameter's name, or ``id``)."""
    if made.response is None or not made.ok:
        return None
    location = made.response.headers.get("location")
    if location:
        return urljoin(url, location).split("?", 1)[0]
    record = made.response.json if isinstance(made.response.json, dict) else {}
    param = template.rstrip("/").rsplit("/", 1)[-1].strip("{}")
    found = next((record[k] for k in (param, "id") if isinstance(record.get(k), str | int)), None)
    if found is None or isinstance(found, bool):
        return None
    return url.split("?", 1)[0].rstrip("/") + "/" + quote(str(found), safe="")


async def probed_writes(
    ctx: CheckContext,
    probers: Collection[Prober],
    limit: int,
    *,
    only: Callable[[Operation], bool] = lambda operation: True,
) -> AsyncIterator[tuple[Operation, Exchange, dict[str, Any]]]:
    """Every body the injection probes fill in active mode: ``probed_bodies`` (reads and
    removable creations), then ``created_updates`` (updates of objects the scan created)."""
    async for found in probed_bodies(ctx, probers, limit, only=only):
        yield found
    async for found in created_updates(ctx, limit, only=only):
        yield found
