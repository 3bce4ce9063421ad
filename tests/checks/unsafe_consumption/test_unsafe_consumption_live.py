"""End to end on loopback: redirects, a relay and webhooks, vulnerable and fixed one flag apart.

The vulnerable twin redirects anywhere, relays what it fetches with the upstream content type
and calls any webhook URL at once; the fixed twin keeps redirects relative, refuses hosts off
its allow-list and calls nothing it has not verified. Both only ever connect to loopback.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from middlebrick.config import Mode, ScanRequest
from middlebrick.engine import scan
from middlebrick.findings import Severity
from middlebrick.testing import LiveApp

PARTNERS = frozenset({"partner.example.test"})
SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "portal", "version": "1"},
    "paths": {
        "/go": {
            "get": {
                "parameters": [{"name": "next", "in": "query", "schema": {"type": "string"}}],
                "responses": {"302": {"description": "onwards"}},
            }
        },
        "/partner-page": {
            "get": {
                "parameters": [
                    {"name": "src", "in": "query", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {"200": {"description": "the partner's page"}},
            }
        },
        "/hooks": {
            "post": {
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["callback_url"],
                                "properties": {"callback_url": {"type": "string"}},
                            }
                        }
                    }
                },
                "responses": {"201": {"description": "subscribed"}},
            }
        },
        "/hooks/{hook_id}": {
            "delete": {
                "parameters": [
                    {
                        "name": "hook_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {"204": {"description": "unsubscribed"}},
            }
        },
    },
}


def _loopback(url: str) -> bool:
    try:
        return ipaddress.ip_address(urlsplit(url).hostname or "").is_loopback
    except ValueError:
        return False


def _app(*, vulnerable: bool, subscribed: dict[str, str]) -> web.Application:
    async def go(request: web.Request) -> web.Response:
        target = request.query.get("next", "/")
        if not vulnerable and (not target.startswith("/") or target.startswith(("//", "/\\"))):
            target = "/"
        raise web.HTTPFound(target)

    async def partner_page(request: web.Request) -> web.Response:
        src = request.query.get("src", "")
        if not vulnerable and urlsplit(src).hostname not in PARTNERS:
            return web.json_response({"error": "unknown partner"}, status=400)
        if not _loopback(src):  # nothing leaves loopback in tests
            return web.json_response({"error": "unreachable"}, status=502)
        async with aiohttp.ClientSession() as session, session.get(src) as fetched:
            body, kind = await fetched.read(), fetched.headers["Content-Type"]
        return web.Response(body=body, headers={"Content-Type": kind})

    async def hooks(request: web.Request) -> web.Response:
        callback = str((await request.json()).get("callback_url", ""))
        if not vulnerable:
            return web.json_response({"error": "verify the callback host first"}, status=400)
        if _loopback(callback):
            async with (
                aiohttp.ClientSession() as session,
                session.post(callback, json={"event": "ping"}) as delivered,
            ):
                await delivered.read()
        hook_id = f"h-{len(subscribed) + 1}"
        subscribed[hook_id] = callback
        return web.json_response({"id": hook_id}, status=201)

    async def unsubscribe(request: web.Request) -> web.Response:
        if subscribed.pop(request.match_info["hook_id"], None) is None:
            return web.json_response({"error": "no such hook"}, status=404)
        return web.Response(status=204)

    async def openapi(request: web.Request) -> web.Response:
        return web.Response(text=json.dumps(SPEC), content_type="application/json")

    app = web.Application()
    app.router.add_get("/go", go)
    app.router.add_get("/partner-page", partner_page)
    app.router.add_post("/hooks", hooks)
    app.router.add_delete("/hooks/{hook_id}", unsubscribe)
    app.router.add_get("/openapi.json", openapi)
    return app


async def _unsafe(
    *, vulnerable: bool, mode: Mode, subscribed: dict[str, str] | None = None
) -> set[tuple[str, str, str | None, Severity]]:
    app = _app(vulnerable=vulnerable, subscribed={} if subscribed is None else subscribed)
    async with LiveApp(app) as url:
        report = await scan(ScanRequest(target=url, spec=f"{url}/openapi.json", mode=mode))
    return {
        (f.type_id, f.operation, f.parameter, f.severity)
        for f in report.findings
        if f.category == "unsafe_consumption"
    }


async def test_unsafe_consumption_checks_report_the_vulnerable_twin_in_safe_mode() -> None:
    assert await _unsafe(vulnerable=True, mode="safe") == {
        ("unsafe_consumption.open-redirect", "GET /go", "next", Severity.medium),
        ("unsafe_consumption.unsanitised-relay", "GET /partner-page", "src", Severity.high),
        ("unsafe_consumption.callback-url-parameter", "POST /hooks", "callback_url", Severity.info),
    }


async def test_unsafe_consumption_checks_confirm_the_callback_in_active_mode() -> None:
    subscribed: dict[str, str] = {}
    found = await _unsafe(vulnerable=True, mode="active", subscribed=subscribed)

    assert (
        "unsafe_consumption.callback-url-parameter",
        "POST /hooks",
        "callback_url",
        Severity.medium,
    ) in found
    assert subscribed == {}, "the journal deletes every hook the scan subscribed"


async def test_unsafe_consumption_checks_only_note_the_callback_of_the_fixed_twin() -> None:
    for mode in ("safe", "active"):
        assert await _unsafe(vulnerable=False, mode=mode) == {
            (
                "unsafe_consumption.callback-url-parameter",
                "POST /hooks",
                "callback_url",
                Severity.info,
            )
        }
