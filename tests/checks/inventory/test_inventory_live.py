"""End to end on loopback: a small shop API whose two variants differ by one flag.

The vulnerable variant serves an export missing from its spec, keeps its deprecated v1 read
alive beside v2, lists every item without pagination and with prices as strings, serves Swagger
UI and names its server version; the fixed variant documents and pages, retires v1 with 410,
and discloses nothing.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from middlebrick.config import ScanRequest
from middlebrick.engine import scan
from middlebrick.findings import Finding, Severity
from middlebrick.testing import LiveApp

ITEMS = [
    {"id": f"it-{n:03d}", "name": f"item {n}", "price": 1.5 + n, "owner": f"user{n}@example.org"}
    for n in range(120)
]
ITEM = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "price": {"type": "number"},
    },
}
SWAGGER = (
    "<!doctype html><html><body><div id='swagger-ui'></div>"
    "<script>SwaggerUIBundle({url: '/openapi.json'})</script></body></html>"
)


def _ok(schema: dict[str, Any]) -> dict[str, Any]:
    return {"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}}


def _spec(*, vulnerable: bool) -> dict[str, Any]:
    item_id = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    limit = {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 25}}
    page = {"type": "object", "properties": {"items": {"type": "array", "items": ITEM}}}
    paths: dict[str, Any] = {
        "/v2/items": {"get": {"parameters": [] if vulnerable else [limit], "responses": _ok(page)}},
        "/v2/items/{id}": {"get": {"parameters": [item_id], "responses": _ok(ITEM)}},
        "/v1/items/{id}": {
            "get": {"deprecated": True, "parameters": [item_id], "responses": _ok(ITEM)}
        },
    }
    if not vulnerable:
        paths["/export"] = {"get": {"parameters": [limit], "responses": _ok(page)}}
    return {"openapi": "3.0.3", "info": {"title": "shop", "version": "2.0.0"}, "paths": paths}


def _app(*, vulnerable: bool) -> web.Application:
    def shown(item: dict[str, Any]) -> dict[str, Any]:
        price: Any = str(item["price"]) if vulnerable else item["price"]
        return {"id": item["id"], "name": item["name"], "price": price}

    async def items(request: web.Request) -> web.Response:
        limit = request.query.get("limit", "25")
        if not limit.isdigit():
            return web.json_response({"detail": "limit must be a number"}, status=400)
        chosen = ITEMS if vulnerable else ITEMS[: min(int(limit), 25)]
        return web.json_response({"items": [shown(i) for i in chosen]})

    async def item(request: web.Request) -> web.Response:
        found = next((i for i in ITEMS if i["id"] == request.match_info["id"]), None)
        if found is None:
            return web.json_response({"detail": "not found"}, status=404)
        return web.json_response(shown(found))

    async def item_v1(request: web.Request) -> web.Response:
        if not vulnerable:
            return web.json_response({"detail": "retired; use /v2"}, status=410)
        return await item(request)

    async def export(request: web.Request) -> web.Response:
        if vulnerable:  # every field of every item, owners' e-mail addresses included
            return web.json_response({"items": ITEMS})
        return await items(request)

    async def docs(request: web.Request) -> web.Response:
        if vulnerable:
            return web.Response(text=SWAGGER, content_type="text/html")
        return web.json_response({"detail": "not found"}, status=404)

    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(_spec(vulnerable=vulnerable))

    @web.middleware
    async def server_header(request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            answer: web.StreamResponse = await handler(request)
        except web.HTTPException as exc:
            answer = web.json_response({"detail": exc.reason}, status=exc.status)
        answer.headers["Server"] = "shop/2.4.1 (CPython 3.11)" if vulnerable else "shop"
        return answer

    app = web.Application(middlewares=[server_header])
    app.router.add_get("/v2/items", items)
    app.router.add_get("/v2/items/{id}", item)
    app.router.add_get("/v1/items/{id}", item_v1)
    app.router.add_get("/export", export)
    app.router.add_get("/docs", docs)
    app.router.add_get("/openapi.json", openapi)
    return app


async def _scan(*, vulnerable: bool) -> list[Finding]:
    async with LiveApp(_app(vulnerable=vulnerable)) as url:
        report = await scan(ScanRequest(target=url, spec=f"{url}/openapi.json"))
    return list(report.findings)


async def test_inventory_checks_report_every_flaw_of_the_vulnerable_twin() -> None:
    findings = await _scan(vulnerable=True)

    found = {(f.type_id, f.operation) for f in findings if f.category == "inventory"}
    assert found == {
        ("inventory.undocumented-operation", "GET /export"),
        ("inventory.deprecated-operation-live", "GET /v1/items/{id}"),
        ("inventory.older-version-live", "GET /v1/items/{id}"),
        ("inventory.docs-exposed", "*"),
        ("inventory.missing-pagination", "GET /v2/items"),
        ("inventory.response-schema-mismatch", "GET /v2/items"),
        ("inventory.response-schema-mismatch", "GET /v2/items/{id}"),
        ("inventory.response-schema-mismatch", "GET /v1/items/{id}"),
        ("inventory.server-version-disclosed", "*"),
    }
    # the undocumented export joined the surface, so the other checks read it too
    assert ("data_exposure.email-address", "GET /export") in {
        (f.type_id, f.operation) for f in findings
    }


async def test_inventory_checks_stay_quiet_on_the_fixed_twin() -> None:
    findings = await _scan(vulnerable=False)

    loud = [
        (f.type_id, f.operation)
        for f in findings
        if f.category == "inventory" and f.severity != Severity.info
    ]
    assert loud == []
