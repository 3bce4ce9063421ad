"""Where a spec's operations answer: relative, empty, templated and foreign servers URLs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import web

from middlebrick.config import ScanRequest
from middlebrick.discovery import discover
from middlebrick.discovery.bases import resolve_base
from middlebrick.http.client import HttpClient
from middlebrick.spec.load import parse_spec
from middlebrick.testing import BASE, FakeSender, LiveApp, response


def _doc(servers: list[str] | None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": "Shop", "version": "2"},
        "paths": {
            "/products": {"get": {}},
            "/orders": {"get": {}},
            "/orders/{order_id}": {"get": {}},
            "/session/logout": {"get": {}},
        },
    }
    if servers is not None:
        doc["servers"] = [{"url": url} for url in servers]
    return doc


def _api(
    mount: str,
    doc_at: str,
    doc: dict[str, Any],
    *,
    catch_all: bool = False,
    seen: list[str] | None = None,
) -> web.Application:
    """Products and orders answering below ``mount``, the document at ``doc_at``."""
    log = seen if seen is not None else []

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        log.append(request.path)
        return await handler(request)  # type: ignore[no-any-return]

    async def products(request: web.Request) -> web.Response:
        return web.json_response([{"id": 1, "title": "Pencil"}])

    async def orders(request: web.Request) -> web.Response:
        return web.json_response([{"id": 7, "total": 3}])

    async def order(request: web.Request) -> web.Response:
        return web.json_response({"id": 7, "total": 3})

    async def document(request: web.Request) -> web.Response:
        return web.json_response(doc)

    async def anything(request: web.Request) -> web.Response:
        return web.Response(text="<html><div id=root></div></html>", content_type="text/html")

    app = web.Application(middlewares=[record])
    app.router.add_get(doc_at, document)
    app.router.add_get(f"{mount}/products", products)
    app.router.add_get(f"{mount}/orders", orders)
    app.router.add_get(mount + "/orders/{order_id}", order)
    if catch_all:
        app.router.add_get("/{tail:.*}", anything)
    return app


@pytest.mark.parametrize(
    ("servers", "doc_at"),
    [
        ([""], "/api/v2/openapi.json"),  # empty: OpenAPI says "/", the API says otherwise
        (["./"], "/api/v2/openapi.json"),
        ([".."], "/api/v2/docs/openapi.json"),
        (None, "/api/v2/openapi.json"),  # absent
        (["/"], "/api/v2/openapi.json"),  # behind a proxy that mounted it below /api/v2
        (["{scheme}://{host}/api/v2"], "/openapi.json"),  # templated, no defaults
    ],
)
async def test_served_spec_base_is_where_the_operations_answer(
    servers: list[str] | None, doc_at: str
) -> None:
    seen: list[str] = []
    app = _api("/api/v2", doc_at, _doc(servers), seen=seen)

    async with LiveApp(app) as url, HttpClient(ScanRequest(target=url)) as client:
        surface = await discover(client, url + doc_at.rsplit("/", 1)[0] + "/", probe=0)

    assert surface.base_url == url + "/api/v2"
    assert any("its operations answer below " + url + "/api/v2 (" in n for n in surface.notes)
    assert not any("logout" in path for path in seen)  # only reads are tried


async def test_relative_servers_url_is_dropped_when_the_operations_answer_at_the_root() -> None:
    # a gateway strips /api/v2 before the app, which still writes it in its document
    app = _api("", "/openapi.json", _doc(["/api/v2"]))

    async with LiveApp(app) as url, HttpClient(ScanRequest(target=url)) as client:
        surface = await discover(client, url, probe=0)

    assert surface.base_url == url
    assert any(
        n.startswith(
            f"the API description's servers URL is `/api/v2`; its operations answer below {url} ("
        )
        for n in surface.notes
    )


async def test_base_stays_the_default_when_a_catch_all_answers_everywhere() -> None:
    # every path answers the same page: no candidate is confirmed, the servers URL is kept
    app = _api("/nowhere", "/openapi.json", _doc(["/api/v2"]), catch_all=True)

    async with LiveApp(app) as url, HttpClient(ScanRequest(target=url)) as client:
        surface = await discover(client, url, probe=0)

    assert surface.base_url == url + "/api/v2"
    note = next(n for n in surface.notes if n.startswith("the API description's servers"))
    assert ": 0 of 3 GET operations tried answered there" in note


async def test_spec_file_naming_another_host_is_scanned_on_the_targets_origin() -> None:
    spec = parse_spec(json.dumps(_doc(["https://api.example.com/v2"])), source="shop.json")
    sender = FakeSender(
        {
            ("GET", "/products"): response(200, [{"id": 1}]),
            ("GET", "/orders"): response(200, [{"id": 7}]),
        }
    )

    surface = await discover(sender, BASE, spec=spec, probe=0)

    assert surface.base_url == BASE  # the app answers at the root, not below /v2
    assert all(r.url.startswith(BASE + "/") for r in sender.sent)  # never api.example.com
    assert not any("logout" in r.url for r in sender.sent)  # only reads are tried


async def test_spec_file_naming_another_host_keeps_its_path_when_the_api_answers_there() -> None:
    spec = parse_spec(json.dumps(_doc(["https://api.example.com/v2"])), source="shop.json")
    sender = FakeSender(
        {
            ("GET", "/v2/products"): response(200, [{"id": 1}]),
            ("GET", "/v2/orders"): response(200, [{"id": 7}]),
        }
    )

    base, note = await resolve_base(sender, BASE, spec)

    assert base == BASE + "/v2"
    assert note is not None and "below http://127.0.0.1:8000/v2 (the default): 2 of 3" in note


async def test_resolve_base_sends_nothing_when_there_is_no_doubt() -> None:
    spec = parse_spec(json.dumps(_doc([BASE + "/api"])), source="shop.json")
    sender = FakeSender()

    base, note = await resolve_base(sender, BASE, spec)

    assert (base, note, sender.sent) == (BASE + "/api", None, [])


async def test_versioned_schema_found_from_the_origin_resolves_its_empty_servers_url() -> None:
    # drf-spectacular at /api/v2/schema/ would say the same: the target is just the host
    app = _api("/api/v2", "/api/v2/openapi.json", _doc([""]))

    async with LiveApp(app) as url, HttpClient(ScanRequest(target=url)) as client:
        surface = await discover(client, url, probe=0)

    assert surface.origin == f"spec served at {url}/api/v2/openapi.json"
    assert surface.base_url == url + "/api/v2"
    note = next(n for n in surface.notes if n.startswith("the API description's servers"))
    assert f"below {url}/api/v2 (the folder of the document): 3 of 3" in note
