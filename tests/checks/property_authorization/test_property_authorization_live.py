"""End to end on loopback: a user directory whose two variants differ by one flag.

The vulnerable variant returns whole user records (password hash, SSN, admin flag) beyond its
documented schema, copies ``?fields=`` into its projection, and copies every field of a PATCH
body into the record; the fixed variant returns the documented fields, allow-lists ``fields``
and accepts only ``name`` in a PATCH.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from middlebrick.config import Credential, ScanRequest
from middlebrick.engine import scan
from middlebrick.findings import Finding, Severity
from middlebrick.report import Report
from middlebrick.testing import LiveApp
from middlebrick.tokens import b64url

PUBLIC = ("id", "name")
USERS = {
    "u-alice": {
        "id": "u-alice",
        "name": "Alice",
        "is_admin": False,
        "password_hash": "$2b$12$" + "A" * 53,
        "ssn": "219-28-5358",
    },
    "u-bob": {
        "id": "u-bob",
        "name": "Bob",
        "is_admin": False,
        "password_hash": "$2b$12$" + "B" * 53,
        "ssn": "332-39-6695",
    },
}
USER = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
}
USER_ID = {"name": "user_id", "in": "path", "required": True, "example": "u-alice",
           "schema": {"type": "string"}}  # fmt: skip


def _spec(*, vulnerable: bool) -> dict[str, Any]:
    body = (
        {"type": "object", "additionalProperties": True}
        if vulnerable
        else {**USER, "properties": {"name": {"type": "string"}}}
    )
    fields = {"name": "fields", "in": "query", "schema": {"type": "string"}, "example": "name"}
    ok = {"200": {"description": "ok", "content": {"application/json": {"schema": USER}}}}
    page = {"type": "object", "properties": {"users": {"type": "array", "items": USER}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "directory", "version": "1"},
        "paths": {
            "/api/users": {
                "get": {
                    "parameters": [fields],
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {"application/json": {"schema": page}},
                        }
                    },
                }
            },
            "/api/users/{user_id}": {
                "parameters": [USER_ID],
                "get": {"responses": ok},
                "patch": {
                    "requestBody": {"content": {"application/json": {"schema": body}}},
                    "responses": ok,
                },
            },
        },
    }


def _token(sub: str) -> str:
    head = b64url(json.dumps({"alg": "HS256"}).encode())
    return f"{head}.{b64url(json.dumps({'sub': sub, 'role': 'user'}).encode())}.c2ln"


def _app(*, vulnerable: bool) -> tuple[web.Application, dict[str, dict[str, Any]]]:
    """The directory and its records (which a test reads after an active scan)."""
    rows = {key: dict(row) for key, row in USERS.items()}

    def caller(request: web.Request) -> str:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        for sub in rows:
            if token == _token(sub):
                return sub
        raise web.HTTPUnauthorized(text='{"error": "login"}', content_type="application/json")

    def shown(row: dict[str, Any]) -> dict[str, Any]:
        return row if vulnerable else {k: row[k] for k in PUBLIC}

    async def users(request: web.Request) -> web.Response:
        caller(request)
        wanted = request.query.get("fields", "name").split(",")
        if not vulnerable and set(wanted) - set(PUBLIC):
            return web.json_response({"error": "bad fields"}, status=400)
        listed = [{k: row[k] for k in wanted if k in row} for row in rows.values()]
        return web.json_response({"users": listed})

    async def user(request: web.Request) -> web.Response:
        me = caller(request)
        row = rows.get(request.match_info["user_id"])
        if row is None or row["id"] != me:
            return web.json_response({"error": "not found"}, status=404)
        if request.method == "PATCH":
            changes = await request.json()
            allowed = isinstance(changes, dict) and (
                vulnerable or (set(changes) == {"name"} and isinstance(changes["name"], str))
            )
            if not allowed:
                return web.json_response({"error": "bad request"}, status=422)
            row.update(changes)
        return web.json_response(shown(row))

    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(_spec(vulnerable=vulnerable))

    app = web.Application()
    app.router.add_get("/api/users", users)
    app.router.add_route("*", "/api/users/{user_id}", user)
    app.router.add_get("/openapi.json", openapi)
    return app, rows


async def _scan(
    *, vulnerable: bool, mode: str
) -> tuple[set[tuple[str, str]], dict[str, Any], Report]:
    app, rows = _app(vulnerable=vulnerable)
    async with LiveApp(app) as url:
        request = ScanRequest(
            target=url,
            spec=f"{url}/openapi.json",
            mode=mode,  # type: ignore[arg-type]
            identities={
                name: Credential(headers=(("Authorization", f"Bearer {_token(sub)}"),))
                for name, sub in (("alice", "u-alice"), ("bob", "u-bob"))
            },
        )
        report = await scan(request)
    return _shown(report.findings), rows, report


def _shown(found: list[Finding]) -> set[tuple[str, str]]:
    return {
        (f.type_id, f.operation)
        for f in found
        if f.category == "property_authorization" and f.severity is not Severity.info
    }


async def test_property_authorization_live_reports_the_vulnerable_directory():
    found, _, report = await _scan(vulnerable=True, mode="safe")

    assert found == {
        ("property_authorization.sensitive-property", "GET /api/users/{user_id}"),
        ("property_authorization.undeclared-property", "GET /api/users/{user_id}"),
        ("property_authorization.client-chosen-projection", "GET /api/users"),
    }
    surface = [f for f in report.findings if f.type_id.endswith("mass-assignment-surface")]
    assert [(f.operation, f.severity) for f in surface] == [
        ("PATCH /api/users/{user_id}", Severity.info)
    ]


async def test_property_authorization_live_never_writes_the_scanning_users_own_record():
    found, rows, report = await _scan(vulnerable=True, mode="active")

    assert not any(type_id.startswith("property_authorization.mass-") for type_id, _ in found)
    assert rows == USERS
    assert "PATCH /api/users/{user_id}" in {s.operation for s in report.skipped}


async def test_property_authorization_live_stays_quiet_on_the_fixed_directory():
    safe, _, _ = await _scan(vulnerable=False, mode="safe")
    active, rows, _ = await _scan(vulnerable=False, mode="active")

    assert safe == set() and active == set()
    assert rows["u-alice"]["is_admin"] is False
