"""Older versions beside a versioned base URL: /api/v1 still live beside the documented /api/v2."""

from __future__ import annotations

from typing import Literal

from aiohttp import web

from middlebrick.config import ScanRequest
from middlebrick.engine import scan
from middlebrick.findings import Finding
from middlebrick.testing import LiveApp

Old = Literal["live", "retired", "catch-all", "notice"]

USERS = [{"id": 1, "name": "Ada", "email": "ada@example.org"}, {"id": 2, "name": "Grace"}]
DOC = {
    "openapi": "3.0.3",
    "info": {"title": "Users", "version": "2"},
    "servers": [{"url": "/api/v2"}],
    "paths": {
        "/users": {"get": {"responses": {"200": {"description": "the users"}}}},
        "/users/{id}": {
            "get": {
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
                ],
                "responses": {"200": {"description": "a user"}},
            }
        },
    },
}


def _app(old: Old) -> web.Application:
    """Users below /api/v2; what /api/v1 does depends on ``old``."""

    async def users(request: web.Request) -> web.Response:
        return web.json_response(USERS)

    async def user(request: web.Request) -> web.Response:
        wanted = int(request.match_info["id"]) if request.match_info["id"].isdigit() else 0
        found = [u for u in USERS if u["id"] == wanted]
        if not found:
            raise web.HTTPNotFound()
        return web.json_response(found[0])

    async def v1_users(request: web.Request) -> web.Response:
        if old == "retired":
            raise web.HTTPGone()
        if old == "notice":  # answers 200, but only to say where the API went
            return web.json_response({"message": "API v1 was retired; use /api/v2"})
        return web.json_response([{**u, "password_hash": "x"} for u in USERS])

    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(DOC)

    async def anything(request: web.Request) -> web.Response:
        return web.json_response(USERS)  # a gateway's catch-all answering one canned list

    app = web.Application()
    app.router.add_get("/openapi.json", openapi)
    app.router.add_get("/api/v2/users", users)
    app.router.add_get("/api/v2/users/{id}", user)
    if old == "catch-all":
        app.router.add_get("/api/{tail:.*}", anything)
    else:
        app.router.add_get("/api/v1/users", v1_users)
    return app


async def _older(old: Old) -> list[Finding]:
    async with LiveApp(_app(old)) as url:
        report = await scan(ScanRequest(target=url))
    return [f for f in report.findings if f.type_id == "inventory.older-version-live"]


async def test_older_versions_reports_an_older_base_answering_like_the_documented_one() -> None:
    found = await _older("live")

    assert [(f.operation, f.parameter) for f in found] == [("*", "/api/v1")]
    assert "`GET /users` answered JSON of the same shape there" in found[0].detail
    assert [e.label for e in found[0].evidence] == ["older", "newer", "control"]


async def test_older_versions_stays_quiet_when_the_older_base_is_retired() -> None:
    assert await _older("retired") == []


async def test_older_versions_stays_quiet_when_a_catch_all_answers_every_version() -> None:
    assert await _older("catch-all") == []


async def test_older_versions_stays_quiet_when_the_older_base_only_says_it_moved() -> None:
    assert await _older("notice") == []
