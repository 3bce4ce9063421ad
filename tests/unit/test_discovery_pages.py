"""Crawling HTML pages and API roots: browsable APIs, JSON alternates, HAL links, SPA shells."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from middlebrick.config import ScanRequest
from middlebrick.discovery.crawl import crawl
from middlebrick.discovery.pages import page_links
from middlebrick.http.client import HttpClient
from middlebrick.testing import LiveApp

DRF_PAGE = """<!DOCTYPE html><html><head><title>Api Root – Django REST framework</title></head>
<body><div class="navbar"><a href="/api-auth/login/?next=/api/">Log in</a></div>
<form id="get-form"><a class="format-option" href="/api/?format=json" rel="nofollow">json</a>
<a class="format-option" href="/api/?format=api" rel="nofollow">api</a></form>
<div class="response-info"><pre class="prettyprint"><span class="meta nocode"><b>HTTP 200 OK</b>
</span>{
    &quot;users&quot;: &quot;<a href="{base}/api/users/">{base}/api/users/</a>&quot;,
    &quot;groups&quot;: &quot;<a href="{base}/api/groups/">{base}/api/groups/</a>&quot;
}</pre></div></body></html>"""


def _browsable_api(*, honours_accept: bool) -> web.Application:
    """A Django REST framework-like API: a root listing collections, HTML unless asked for JSON."""

    def root_json(base: str) -> dict[str, str]:
        return {"users": f"{base}/api/users/", "groups": f"{base}/api/groups/"}

    async def root(request: web.Request) -> web.Response:
        base = f"http://{request.host}"
        wants_json = request.query.get("format") == "json" or (
            honours_accept and "json" in request.headers.get("Accept", "")
        )
        if wants_json:
            return web.json_response(root_json(base))
        return web.Response(text=DRF_PAGE.replace("{base}", base), content_type="text/html")

    async def users(request: web.Request) -> web.Response:
        return web.json_response([{"id": 1, "username": "alice"}, {"id": 2, "username": "bob"}])

    async def groups(request: web.Request) -> web.Response:
        return web.json_response([{"id": 1, "name": "staff"}])

    async def login(request: web.Request) -> web.Response:
        return web.Response(text="<html><form method=post></form></html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/api/", root)
    app.router.add_get("/api/users/", users)
    app.router.add_get("/api/groups/", groups)
    app.router.add_get("/api-auth/login/", login)
    return app


DATA_PAGE = """<!DOCTYPE html><html><head><title>shop: customers</title>
<link rel="stylesheet" href="/-/static/app.css">
<link rel="alternate" type="application/json+datasette" href="{base}{path}.json"></head>
<body><a href="/">home</a> <a href="/shop">shop</a> <a href="https://datasette.io/">about</a>
{rows}<a href="mailto:ops@example.com">mail</a> <a href="#export">advanced</a></body></html>"""


def _data_site() -> web.Application:
    """A Datasette-like site: HTML pages, each with its JSON alternate, rows linked by id."""
    tables = {"customers": ["Ada", "Grace"], "products": ["Pencil", "Ruler"]}

    def page(request: web.Request, path: str, links: list[str]) -> web.Response:
        rows = " ".join(f'<a href="{link}">{link}</a>' for link in links)
        text = DATA_PAGE.format(base=f"http://{request.host}", path=path, rows=rows)
        return web.Response(text=text, content_type="text/html")

    async def home(request: web.Request) -> web.Response:
        return page(request, "/", [f"/shop/{t}" for t in tables])

    async def home_json(request: web.Request) -> web.Response:
        return web.json_response({"shop": {"path": "/shop", "tables": list(tables)}})

    async def shop(request: web.Request) -> web.Response:
        return page(request, "/shop", [f"/shop/{t}" for t in tables])

    async def table(request: web.Request) -> web.Response:
        name = request.match_info["table"]
        if name.endswith(".json"):
            rows = tables.get(name.removesuffix(".json"))
            if rows is None:
                raise web.HTTPNotFound()
            return web.json_response({"rows": [[i + 1, r] for i, r in enumerate(rows)]})
        if name not in tables:
            raise web.HTTPNotFound()
        return page(request, f"/shop/{name}", [f"/shop/{name}/{i + 1}" for i in range(2)])

    async def row(request: web.Request) -> web.Response:
        name, key = request.match_info["table"], request.match_info["key"]
        if key.endswith(".json"):
            index = int(key.removesuffix(".json")) - 1
            return web.json_response({"rows": [[index + 1, tables[name][index]]]})
        return page(request, f"/shop/{name}/{key}", [])

    app = web.Application()
    app.router.add_get("/", home)
    app.router.add_get("/.json", home_json)
    app.router.add_get("/shop", shop)
    app.router.add_get("/shop.json", home_json)
    app.router.add_get("/shop/{table}", table)
    app.router.add_get("/shop/{table}/{key}", row)
    return app


def _spa() -> web.Application:
    """A single-page app: every path answers the same shell, with a few navigation links."""
    shell = (
        '<!doctype html><html><head><link rel="alternate" type="application/rss+xml" '
        'href="/feed"></head><body><a href="/about">About</a><a href="/pricing">Pricing</a>'
        '<div id="root"></div><script src="/static/app.js"></script></body></html>'
    )

    async def anything(request: web.Request) -> web.Response:
        return web.Response(text=shell, content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", anything)
    return app


async def _crawl(app: web.Application, path: str = "/") -> tuple[list[str], Any]:
    async with LiveApp(app) as url, HttpClient(ScanRequest(target=url)) as client:
        crawled = await crawl(client, url + path)
    return [op.key for op in crawled.operations], crawled


async def test_crawl_reports_the_collections_a_browsable_api_page_lists() -> None:
    # the root answers HTML whatever the Accept header says: its links and ?format=json count
    keys, crawled = await _crawl(_browsable_api(honours_accept=False), "/api/")

    assert keys == ["GET /api/", "GET /api/users/", "GET /api/groups/"]
    root = crawled.pages["/api/"]
    assert root.request.url.endswith("/api/?format=json")  # the JSON root replaced the page
    assert "GET /api-auth/login/" not in keys  # an HTML page is followed, not an operation


async def test_crawl_reports_the_collections_of_a_json_api_root() -> None:
    keys, _ = await _crawl(_browsable_api(honours_accept=True), "/api/")

    assert keys == ["GET /api/", "GET /api/users/", "GET /api/groups/"]


async def test_crawl_reports_the_json_alternates_of_a_data_site() -> None:
    keys, _ = await _crawl(_data_site())

    assert keys == [
        "GET /",
        "GET /.json",
        "GET /shop.json",
        "GET /shop/customers.json",
        "GET /shop/products.json",
        "GET /shop/customers/{id}.json",
        "GET /shop/products/{id}.json",
    ]


async def test_crawl_stays_quiet_on_a_single_page_app_shell() -> None:
    keys, crawled = await _crawl(_spa())

    assert keys == ["GET /"]  # /about and /pricing answer the shell: pages, not operations
    assert crawled.fetched == 3


async def test_crawl_resolves_relative_hal_hrefs() -> None:
    async def root(request: web.Request) -> web.Response:
        links = {"self": {"href": "orders"}, "customers": {"href": "customers/"}}
        return web.json_response({"_links": links}, content_type="application/hal+json")

    async def listing(request: web.Request) -> web.Response:
        return web.json_response({"_embedded": {"items": []}})

    app = web.Application()
    app.router.add_get("/api/", root)
    app.router.add_get("/api/orders", listing)
    app.router.add_get("/api/customers/", listing)

    keys, _ = await _crawl(app, "/api/")

    assert keys == ["GET /api/", "GET /api/orders", "GET /api/customers/"]


def test_page_links_tell_alternates_from_navigation() -> None:
    page = (
        '<link rel="alternate" type="application/json" href="/a.json">'
        '<link rel="alternate" type="application/rss+xml" href="/feed">'
        '<link rel="stylesheet" href="/s.css"><a href="rows?format=json">json</a>'
        '<a href="javascript:void(0)">x</a><a href="/next#top">next</a>'
    )

    links = page_links(page, "http://h.test/t/")

    assert [(link.url, link.alternate) for link in links] == [
        ("http://h.test/a.json", True),
        ("http://h.test/t/rows?format=json", True),
        ("http://h.test/next", False),
    ]
