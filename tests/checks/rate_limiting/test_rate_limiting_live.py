"""End to end on loopback: a small list API whose vulnerable and fixed twins differ by one flag.

The fixed twin limits rates (and says so in RateLimit-* headers), clamps ``limit`` at its
declared maximum and paginates its export; the vulnerable twin does none of it.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from middlebrick.config import ScanRequest
from middlebrick.engine import scan
from middlebrick.testing import LiveApp

MAX_PAGE = 20
RECORDS = [{"id": n, "name": f"record {n}"} for n in range(70)]
SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "records", "version": "1"},
    "paths": {
        "/records": {
            "get": {
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
                    }
                ],
                "responses": {"200": {"description": "a page of records"}},
            }
        },
        "/export": {"get": {"responses": {"200": {"description": "every record, padded"}}}},
    },
}


def _app(*, vulnerable: bool) -> web.Application:
    @web.middleware
    async def rate_limit_headers(request: web.Request, handler: Any) -> web.StreamResponse:
        response: web.StreamResponse = await handler(request)
        if not vulnerable:
            response.headers["RateLimit-Limit"] = "600"
            response.headers["RateLimit-Remaining"] = "599"
        return response

    async def records(request: web.Request) -> web.Response:
        limit = int(request.query.get("limit", "10"))
        if not vulnerable:
            limit = max(1, min(limit, MAX_PAGE))
        page = RECORDS[: max(limit, 0)]
        more = len(page) < len(RECORDS)
        return web.json_response({"records": page, "next": "opaque" if more else None})

    async def export(request: web.Request) -> web.Response:
        rows = RECORDS * (200 if vulnerable else 1)
        return web.json_response([{**row, "padding": "x" * 64} for row in rows])

    async def openapi(request: web.Request) -> web.Response:
        return web.Response(text=json.dumps(SPEC), content_type="application/json")

    app = web.Application(middlewares=[rate_limit_headers])
    app.router.add_get("/records", records)
    app.router.add_get("/export", export)
    app.router.add_get("/openapi.json", openapi)
    return app


async def _rate_limiting(*, vulnerable: bool) -> set[tuple[str, str, str | None]]:
    async with LiveApp(_app(vulnerable=vulnerable)) as url:
        report = await scan(ScanRequest(target=url, spec=f"{url}/openapi.json"))
    return {
        (f.type_id, f.operation, f.parameter)
        for f in report.findings
        if f.category == "rate_limiting"
    }


async def test_rate_limiting_checks_report_every_flaw_of_the_vulnerable_twin() -> None:
    found = await _rate_limiting(vulnerable=True)

    assert found == {
        ("rate_limiting.no-rate-limit", "*", None),
        ("rate_limiting.unbounded-page-size", "GET /records", "limit"),
        ("rate_limiting.oversized-response", "GET /export", None),
    }


async def test_rate_limiting_checks_stay_quiet_on_the_fixed_twin() -> None:
    assert await _rate_limiting(vulnerable=False) == set()
