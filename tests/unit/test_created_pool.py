"""Objects the scan creates join the value pool while they exist; sub-collections use them."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from middlebrick.baseline import Baseline
from middlebrick.checks._created import create, resources
from middlebrick.checks.context import CheckContext
from middlebrick.config import ScanRequest
from middlebrick.http.exchange import Exchange, Request, Response
from middlebrick.spec.links import Link, LinkParameter
from middlebrick.spec.model import Operation, Parameter, RequestBody, Surface
from middlebrick.spec.pool import ValuePool
from middlebrick.testing import BASE, FakeSender, response

BODY = RequestBody(
    "application/json",
    {"type": "object", "properties": {"label": {"type": "string", "example": "x"}}},
)
ORDER_ID = (Parameter("order_id", "path", required=True),)
ITEM_ID = (*ORDER_ID, Parameter("item_id", "path", required=True))
OPS = (
    Operation("GET", "/orders"),
    Operation("POST", "/orders", request_body=BODY),
    Operation("GET", "/orders/{order_id}", parameters=ORDER_ID),
    Operation("DELETE", "/orders/{order_id}", parameters=ORDER_ID),
    Operation("POST", "/orders/{order_id}/items", parameters=ORDER_ID, request_body=BODY),
    Operation("GET", "/orders/{order_id}/items/{item_id}", parameters=ITEM_ID),
    Operation("DELETE", "/orders/{order_id}/items/{item_id}", parameters=ITEM_ID),
)
SURFACE = Surface(BASE, OPS)


class _Shop(FakeSender):
    """Orders (order 1 existed before the scan) and their items."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, Any]] = {"/orders/1": {"id": "1", "label": "theirs"}}
        self.next = 100

    async def _answer(self, request: Request) -> Exchange:
        self.sent.append(request)
        return Exchange(request, self._respond(request))

    def _respond(self, request: Request) -> Response:
        path = request.url.removeprefix(BASE)
        if request.method == "POST":
            if path != "/orders" and path.rsplit("/", 1)[0] not in self.rows:
                return response(404, {"detail": "no such order"})
            self.next += 1
            row = {"id": str(self.next), **json.loads(request.body or b"{}")}
            self.rows[f"{path}/{self.next}"] = row
            return response(201, row)
        if request.method == "DELETE":
            return response(204) if self.rows.pop(path, None) else response(404, {})
        row = self.rows.get(path)
        return response(200, row) if row else response(404, {"detail": "not found"})


def _context(shop: _Shop) -> CheckContext:
    pool = ValuePool()
    pool.add({"orders": [{"id": "1", "label": "theirs"}]}, operation=OPS[0])  # the baseline's
    shop.journal.learn(OPS)
    return CheckContext(ScanRequest(target=BASE, mode="active"), SURFACE, Baseline(pool=pool), shop)


async def test_create_makes_the_parent_first_and_never_writes_under_an_existing_object() -> None:
    # Given a listing that showed order 1 (not the scan's), and a sub-collection of items
    shop = _Shop()
    ctx = _context(shop)
    items = next(r for r in resources(ctx) if r.create.path == "/orders/{order_id}/items")

    # When an item is created
    created = await create(ctx, items)

    # Then the scan created an order of its own first and the item under it
    assert created is not None and created.url == BASE + "/orders/101/items/102"
    posts = [r.url.removeprefix(BASE) for r in shop.sent if r.method == "POST"]
    assert posts == ["/orders", "/orders/101/items"]


async def test_a_created_object_fills_parameters_until_the_journal_deletes_it() -> None:
    shop = _Shop()
    ctx = _context(shop)
    orders, items = resources(ctx)[:2]
    order = await create(ctx, orders)
    assert order is not None
    read = OPS[2]
    (param,) = read.params("path")

    # While it exists, the scan's own order comes first, and a sub-collection is made under it
    assert ctx.baseline.pool.candidates(read, param)[0] == "101"
    assert ctx.baseline.pool.candidates(read, param, created_only=True) == ["101"]
    item = await create(ctx, items)
    assert item is not None and item.url.startswith(BASE + "/orders/101/items/")

    # Once the journal deleted them, their ids are gone from the pool
    shop.journal.watch(ctx.baseline.pool.forget)
    await shop.journal.undo()
    assert ctx.baseline.pool.candidates(read, param) == ["1"]
    assert ctx.baseline.pool.candidates(read, param, created_only=True) == []
    assert set(shop.rows) == {"/orders/1"}


async def test_a_created_object_a_check_deletes_itself_leaves_the_pool() -> None:
    shop = _Shop()
    ctx = _context(shop)
    shop.journal.watch(ctx.baseline.pool.forget)
    order = await create(ctx, resources(ctx)[0])
    assert order is not None

    await shop.send(Request("DELETE", order.url))

    (param,) = OPS[2].params("path")
    assert ctx.baseline.pool.candidates(OPS[2], param, created_only=True) == []


def test_pool_forgets_only_the_object_deleted() -> None:
    pool = ValuePool()
    read = OPS[2]
    pool.add({"id": "7"}, operation=read, identity="alice", created=BASE + "/orders/7")
    pool.add({"id": "8"}, operation=read, identity="alice", created=BASE + "/orders/8/")
    pool.forget(BASE + "/orders/8")  # a trailing slash is the same object
    (param,) = read.params("path")
    assert pool.candidates(read, param) == ["7"]
    assert pool.seen_as("alice") == {"7"}


async def test_the_creation_s_response_links_name_values_for_the_scan_s_own_object() -> None:
    # Given a creation whose 201 links its id to the items of the new order
    link = Link(
        "201",
        "items",
        "POST /orders/{order_id}/items",
        (LinkParameter("order_id", "path", "R-{$response.body#/id}"),),
    )
    ops = tuple(replace(op, links=(link,)) if op.key == "POST /orders" else op for op in OPS)
    shop = _Shop()
    ctx = _context(shop)
    ctx.surface = Surface(BASE, ops)
    shop.journal.watch(ctx.baseline.pool.forget)

    order = await create(ctx, resources(ctx)[0])

    # Then the linked value is the first for the items' parameter, until the order is deleted
    assert order is not None
    target = ops[4]
    (param,) = target.params("path")
    assert ctx.baseline.pool.candidates(target, param, created_only=True) == ["R-101", "101"]
    await shop.journal.undo()
    assert ctx.baseline.pool.candidates(target, param, created_only=True) == []
