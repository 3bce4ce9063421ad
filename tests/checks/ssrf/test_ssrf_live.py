"""End to end on loopback: an image-preview API that fetches any URL, and its allow-listed twin.

Like the lab, the vulnerable twin only ever connects to loopback: any other host is refused
before a connection is made.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from middlebrick.config import ScanRequest
from middlebrick.engine import scan
from middlebrick.findings import Severity
from middlebrick.testing import LiveApp

ALLOWED_HOSTS = frozenset({"images.example.test"})
SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "previews", "version": "1"},
    "paths": {
        "/preview": {
            "get": {
                "parameters": [
                    {
                        "name": "image_url",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string"},
                        "example": "https://images.example.test/cat.png",
                    }
                ],
                "responses": {"200": {"description": "the image's size"}},
            }
        }
    },
}


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _app(*, vulnerable: bool) -> web.Application:
    async def preview(request: web.Request) -> web.Response:
        url = request.query.get("image_url", "")
        host = urlsplit(url).hostname or ""
        if not vulnerable and host not in ALLOWED_HOSTS:
            return web.json_response({"error": "image host not allowed"}, status=400)
        if not _is_loopback(host):  # the test never lets anything leave loopback
            return web.json_response({"error": "unreachable in tests"}, status=502)
        async with aiohttp.ClientSession() as session, session.get(url) as fetched:
            size = len(await fetched.read())
        return web.json_response({"bytes": size})

    async def openapi(request: web.Request) -> web.Response:
        return web.Response(text=json.dumps(SPEC), content_type="application/json")

    app = web.Application()
    app.router.add_get("/preview", preview)
    app.router.add_get("/openapi.json", openapi)
    return app


async def _ssrf(*, vulnerable: bool) -> set[tuple[str, str, str | None, Severity]]:
    async with LiveApp(_app(vulnerable=vulnerable)) as url:
        report = await scan(ScanRequest(target=url, spec=f"{url}/openapi.json"))
    return {
        (f.type_id, f.operation, f.parameter, f.severity)
        for f in report.findings
        if f.category == "ssrf"
    }


async def test_ssrf_check_confirms_the_blind_fetch_of_the_vulnerable_twin() -> None:
    assert await _ssrf(vulnerable=True) == {
        ("ssrf.confirmed-fetch", "GET /preview", "image_url", Severity.high),
        ("ssrf.url-parameter", "GET /preview", "image_url", Severity.medium),
    }


async def test_ssrf_check_only_notes_the_url_parameter_of_the_fixed_twin() -> None:
    assert await _ssrf(vulnerable=False) == {
        ("ssrf.url-parameter", "GET /preview", "image_url", Severity.info)
    }
