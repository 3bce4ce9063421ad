"""End to end on loopback: declared security enforced or not, one flag apart."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from middlebrick.config import ScanRequest
from middlebrick.engine import scan
from middlebrick.testing import LiveApp

TOKEN = "live-test-token-0042"
SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "notes", "version": "1"},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "security": [{"bearer": []}],
    "paths": {
        "/notes": {"get": {"responses": {"200": {"description": "notes"}}}},
        "/status": {"get": {"security": [], "responses": {"200": {"description": "ok"}}}},
    },
}
NOTES = [{"id": "n-1", "text": "buy milk"}, {"id": "n-2", "text": "call Ann"}]


def _app(*, vulnerable: bool) -> web.Application:
    async def notes(request: web.Request) -> web.Response:
        if vulnerable or request.headers.get("Authorization") == f"Bearer {TOKEN}":
            return web.json_response(NOTES)
        return web.json_response(
            {"detail": "authentication required"},
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="notes"'},
        )

    async def status(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def openapi(request: web.Request) -> web.Response:
        return web.Response(text=json.dumps(SPEC), content_type="application/json")

    @web.middleware
    async def headers(request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = web.json_response({"detail": exc.reason}, status=exc.status)
        if not vulnerable:
            response.headers["X-Content-Type-Options"] = "nosniff"
            response.headers["X-Frame-Options"] = "DENY"
        return response

    app = web.Application(middlewares=[headers])
    app.router.add_get("/notes", notes)
    app.router.add_get("/status", status)
    app.router.add_get("/openapi.json", openapi)
    return app


async def _authentication(*, vulnerable: bool) -> set[tuple[str, str, str | None]]:
    async with LiveApp(_app(vulnerable=vulnerable)) as url:
        request = ScanRequest(
            target=url,
            spec=f"{url}/openapi.json",
            headers=(("Authorization", f"Bearer {TOKEN}"),),
        )
        report = await scan(request)
    return {
        (f.type_id, f.operation, f.parameter)
        for f in report.findings
        if f.type_id
        in {
            "authentication.declared-not-enforced",
            "inventory.declared-auth-not-required",
            "authentication.scheme-not-enforced",
            "authentication.missing-www-authenticate",
            "authentication.missing-security-headers",
        }
    }


async def test_authentication_checks_report_the_vulnerable_twin() -> None:
    # the notes hold nothing tied to the caller: the Filter reports the declared-but-not-enforced
    # requirement as the spec/runtime mismatch it is (public by design)
    assert await _authentication(vulnerable=True) == {
        ("inventory.declared-auth-not-required", "GET /notes", None),
        ("authentication.scheme-not-enforced", "*", "bearer"),
        ("authentication.missing-security-headers", "*", "X-Content-Type-Options"),
        ("authentication.missing-security-headers", "*", "X-Frame-Options"),
    }


async def test_authentication_checks_stay_quiet_on_the_fixed_twin() -> None:
    assert await _authentication(vulnerable=False) == set()
