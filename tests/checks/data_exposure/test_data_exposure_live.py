"""End to end on loopback: a tiny API whose vulnerable and fixed twins differ by one flag."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from middlebrick.config import ScanRequest
from middlebrick.engine import scan
from middlebrick.testing import LiveApp

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "people", "version": "1", "contact": {"email": "jane.doe@people.example"}},
    "paths": {
        "/people": {"get": {"responses": {"200": {"description": "people"}}}},
        "/people/{person_id}": {
            "get": {
                "parameters": [
                    {
                        "name": "person_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    }
                ],
                "responses": {"200": {"description": "one person"}},
            }
        },
        "/health": {"get": {"responses": {"200": {"description": "ok"}}}},
    },
}
PEOPLE = [
    {"id": 1, "name": "Ann", "email": "ann@people.example", "ssn": "332-28-5358"},
    {"id": 2, "name": "Ben", "email": "ben@people.example", "ssn": "445-39-6695"},
]
BOTOCORE = (
    "An error occurred (ValidationException) when calling the GetItem operation: "
    "The provided key element does not match the schema"
)


def _app(*, vulnerable: bool) -> web.Application:
    async def people(request: web.Request) -> web.Response:
        if vulnerable:
            return web.json_response(PEOPLE)
        return web.json_response([{"id": p["id"], "name": p["name"]} for p in PEOPLE])

    async def person(request: web.Request) -> web.Response:
        raw = request.match_info["person_id"]
        if not raw.isdigit():
            if vulnerable:  # the handler passes the raw value on and relays DynamoDB's words
                return web.json_response({"error": BOTOCORE}, status=500)
            return web.json_response({"error": "person_id must be a number"}, status=400)
        found = next((p for p in PEOPLE if p["id"] == int(raw)), None)
        if found is None:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response({"id": found["id"], "name": found["name"]})

    async def health(request: web.Request) -> web.Response:
        body: dict[str, Any] = {"status": "ok"}
        if vulnerable:
            body["node"] = "ip-10-0-12-34.ec2.internal"
        return web.json_response(body)

    async def openapi(request: web.Request) -> web.Response:
        return web.Response(text=json.dumps(SPEC), content_type="application/json")

    app = web.Application()
    app.router.add_get("/people", people)
    app.router.add_get("/people/{person_id}", person)
    app.router.add_get("/health", health)
    app.router.add_get("/openapi.json", openapi)
    return app


async def _exposures(*, vulnerable: bool) -> set[tuple[str, str, str | None]]:
    async with LiveApp(_app(vulnerable=vulnerable)) as url:
        report = await scan(ScanRequest(target=url, spec=f"{url}/openapi.json"))
    return {
        (f.type_id, f.operation, f.parameter)
        for f in report.findings
        if f.category == "data_exposure"
    }


async def test_data_exposure_checks_report_every_leak_of_the_vulnerable_twin() -> None:
    found = await _exposures(vulnerable=True)

    assert found == {
        ("data_exposure.email-address", "GET /people", "email"),
        ("data_exposure.ssn", "GET /people", "ssn"),
        ("data_exposure.dynamodb-error-text", "GET /people/{person_id}", "person_id"),
        ("data_exposure.internal-address", "GET /health", "node"),
    }


async def test_data_exposure_checks_stay_quiet_on_the_fixed_twin() -> None:
    assert await _exposures(vulnerable=False) == set()
