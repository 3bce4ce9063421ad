"""End to end on loopback: data leaking through URLs, headers and served files, one flag apart.

The vulnerable twin redirects with an access token in the URL, names the caller's email in a
header and serves a Stripe secret in ``/env.js`` and a client secret in the script its home
page links; the fixed twin does none of it. Both answer unknown paths with their home page,
as single-page apps do, so the configuration probes meet a catch-all.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from middlebrick.config import ScanRequest
from middlebrick.engine import scan
from middlebrick.testing import LiveApp

STRIPE_SECRET = "sk_live_" + "9f8e7d6c5b4a39281706f5e4"
ACCESS_TOKEN = "ya29.a0AfH6SMBx3k9QeW1Z7pLmQ2rT"
HOME = '<!doctype html><title>people</title><script src="/static/js/app.3f9c.js"></script>'
SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "people", "version": "1"},
    "paths": {
        path: {"get": {"responses": {"200": {"description": "ok"}}}}
        for path in ("/me", "/login/callback", "/home")
    },
}


def _app(*, vulnerable: bool) -> web.Application:
    async def me(request: web.Request) -> web.Response:
        response = web.json_response({"id": 17, "name": "Ann"})
        if vulnerable:
            response.headers["X-User-Email"] = "ann.lee@people.example"
        else:
            response.headers["X-User-Id"] = "17"
        return response

    async def callback(request: web.Request) -> web.Response:
        query = f"access_token={ACCESS_TOKEN}&welcome=1" if vulnerable else "welcome=1"
        raise web.HTTPFound(f"/home?{query}")

    async def home(request: web.Request) -> web.Response:
        return web.json_response({"welcome": True})

    async def env_js(request: web.Request) -> web.Response:
        config = (
            f'{{ stripeSecret: "{STRIPE_SECRET}" }}'
            if vulnerable
            else '{ stripeKey: "pk_live_HA064GiIjHGb3CXlMaXZjl" }'
        )
        return web.Response(text=f"window.env = {config};", content_type="application/javascript")

    async def bundle(request: web.Request) -> web.Response:
        config = (
            'clientSecret: "bqnsGpWLuqIA1id6Vw5DQL05-x9zq"' if vulnerable else 'clientId: "web"'
        )
        return web.Response(text=f"const auth = {{ {config} }};", content_type="text/javascript")

    async def openapi(request: web.Request) -> web.Response:
        return web.Response(text=json.dumps(SPEC), content_type="application/json")

    async def spa(request: web.Request) -> web.Response:
        return web.Response(text=HOME, content_type="text/html")

    app = web.Application()
    app.router.add_get("/me", me)
    app.router.add_get("/login/callback", callback)
    app.router.add_get("/home", home)
    app.router.add_get("/env.js", env_js)
    app.router.add_get("/static/js/app.3f9c.js", bundle)
    app.router.add_get("/openapi.json", openapi)
    app.router.add_get("/{anything:.*}", spa)
    return app


async def _exposures(*, vulnerable: bool) -> set[tuple[str, str, str | None]]:
    async with LiveApp(_app(vulnerable=vulnerable)) as url:
        report = await scan(ScanRequest(target=url, spec=f"{url}/openapi.json"))
    return {
        (f.type_id, f.operation, f.parameter)
        for f in report.findings
        if f.category == "data_exposure" and f.severity != "info"
    }


async def test_data_exposure_checks_report_urls_headers_and_files_of_the_vulnerable_twin() -> None:
    found = await _exposures(vulnerable=True)

    assert found == {
        ("data_exposure.sensitive-data-in-url", "GET /login/callback", "access_token"),
        ("data_exposure.pii-in-header", "GET /me", "X-User-Email"),
        ("data_exposure.config-file-secret", "GET /env.js", "stripeSecret"),
        ("data_exposure.config-file-secret", "GET /static/js/app.3f9c.js", "clientSecret"),
    }


async def test_data_exposure_checks_stay_quiet_on_urls_headers_and_files_of_the_fixed_twin() -> (
    None
):
    assert await _exposures(vulnerable=False) == set()
