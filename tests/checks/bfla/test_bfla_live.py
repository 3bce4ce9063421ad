"""End to end on loopback: a members portal whose two variants differ by one flag.

The vulnerable variant serves an admin directory to any logged-in user, returns roles in every
member record, and lets any member change any other member's record; the fixed variant checks
the caller's role and ownership and returns names only.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from middlebrick.config import Credential, ScanRequest
from middlebrick.engine import scan
from middlebrick.findings import Finding, Severity
from middlebrick.testing import LiveApp
from middlebrick.tokens import b64url

USERS = {
    "alice": {"member_id": 1, "user_id": "u-alice", "name": "Alice", "role": "user"},
    "bob": {"member_id": 2, "user_id": "u-bob", "name": "Bob", "role": "user"},
    "dave": {"member_id": 3, "user_id": "u-dave", "name": "Dave", "role": "admin"},
}
MEMBER_ID = {"name": "member_id", "in": "path", "required": True, "example": 1,
             "schema": {"type": "integer"}}  # fmt: skip
SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "members", "version": "1"},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "security": [{"bearer": []}],
    "paths": {
        "/api/members": {"get": {"responses": {"200": {"description": "members"}}}},
        "/api/members/{member_id}": {
            "parameters": [MEMBER_ID],
            "get": {"responses": {"200": {"description": "one member"}}},
            "patch": {
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "status": {"type": "string", "enum": ["active", "away"]}
                                },
                            }
                        }
                    }
                },
                "responses": {"200": {"description": "changed"}},
            },
        },
    },
}


def _token(name: str) -> str:
    head = b64url(json.dumps({"alg": "HS256"}).encode())
    claims = {"sub": USERS[name]["user_id"], "role": USERS[name]["role"]}
    return f"{head}.{b64url(json.dumps(claims).encode())}.c2ln"


def _app(*, vulnerable: bool) -> tuple[web.Application, dict[str, dict[str, Any]]]:
    """The portal and its member rows (which a test reads after an active scan)."""
    rows = {str(u["member_id"]): {**u, "status": "active"} for u in USERS.values()}
    app = web.Application()

    def caller(request: web.Request) -> dict[str, Any]:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        for name in USERS:
            if scheme == "Bearer" and token == _token(name):
                return rows[str(USERS[name]["member_id"])]
        raise web.HTTPUnauthorized(
            text='{"error": "authentication required"}', content_type="application/json"
        )

    def shown(row: dict[str, Any]) -> dict[str, Any]:
        return row if vulnerable else {"member_id": row["member_id"], "name": row["name"]}

    async def members(request: web.Request) -> web.Response:
        caller(request)
        listed = [shown(r) for r in rows.values()] if vulnerable else [{"name": "(hidden)"}]
        return web.json_response({"members": listed})

    async def member(request: web.Request) -> web.Response:
        me = caller(request)
        row = rows.get(request.match_info["member_id"])
        if row is None or (not vulnerable and row is not me):
            return web.json_response({"error": "not found"}, status=404)
        if request.method == "PATCH":
            changes = await request.json()
            if not vulnerable and set(changes) - {"status"}:
                return web.json_response({"error": "bad request"}, status=400)
            row.update(changes)
        return web.json_response(shown(row))

    async def admin(request: web.Request) -> web.Response:
        me = caller(request)
        if not vulnerable and me["role"] != "admin":
            return web.json_response({"error": "forbidden"}, status=403)
        return web.json_response({"members": list(rows.values()), "version": "admin-1"})

    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(SPEC)

    app.router.add_get("/api/members", members)
    app.router.add_route("*", "/api/members/{member_id}", member)
    app.router.add_get("/admin", admin)
    app.router.add_get("/openapi.json", openapi)
    return app, rows


async def _scan(
    *, vulnerable: bool, mode: str, include: tuple[str, ...] = ()
) -> tuple[list[Finding], dict[str, Any]]:
    app, rows = _app(vulnerable=vulnerable)
    async with LiveApp(app) as url:
        request = ScanRequest(
            target=url,
            spec=f"{url}/openapi.json",
            mode=mode,  # type: ignore[arg-type]
            identities={
                name: Credential(headers=(("Authorization", f"Bearer {_token(name)}"),))
                for name in ("alice", "bob", "dave")
            },
            include=include,
        )
        report = await scan(request)
    return [f for f in report.findings if f.category == "bfla"], rows


def _shown(found: list[Finding]) -> set[tuple[str, str]]:
    return {(f.type_id, f.operation) for f in found if f.severity is not Severity.info}


async def test_bfla_live_reports_the_vulnerable_portal_in_safe_mode():
    found, _ = await _scan(vulnerable=True, mode="safe")

    assert _shown(found) == {
        ("bfla.admin-path-exposed", "GET /admin"),
        ("bfla.role-field-leaked", "GET /api/members"),
        ("bfla.role-field-leaked", "GET /admin"),
    }
    # the baseline read alice's own member record: her own role is no leak
    own = [f for f in found if f.operation == "GET /api/members/{member_id}"]
    assert [(f.type_id, f.severity) for f in own] == [("bfla.role-field-leaked", Severity.info)]


async def test_bfla_live_never_writes_other_members_in_active_mode_unless_included():
    found, rows = await _scan(vulnerable=True, mode="active")

    assert ("bfla.privileged-method-allowed", "PATCH /api/members/{member_id}") not in _shown(found)
    assert rows["2"]["status"] == "active"


async def test_bfla_live_reports_a_privileged_write_to_an_included_operation_and_restores_it():
    included = ("PATCH /api/members/{member_id}",)
    found, rows = await _scan(vulnerable=True, mode="active", include=included)

    assert ("bfla.privileged-method-allowed", "PATCH /api/members/{member_id}") in _shown(found)
    assert rows["2"]["status"] == "active"  # bob's record, changed and written back


async def test_bfla_live_stays_quiet_on_the_fixed_portal():
    safe, _ = await _scan(vulnerable=False, mode="safe")
    active, rows = await _scan(
        vulnerable=False, mode="active", include=("PATCH /api/members/{member_id}",)
    )

    assert _shown(safe) == set() and _shown(active) == set()
    assert rows["2"]["status"] == "active"
