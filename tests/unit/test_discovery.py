"""Discovery: the surface from a spec, from a spec the target serves, or from a crawl."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import web

from middlebrick.config import ScanRequest
from middlebrick.discovery import WELL_KNOWN, base_url_for, discover, fetch_spec
from middlebrick.discovery.wellknown import candidate_urls, spec_links
from middlebrick.errors import BudgetExhausted, SpecError
from middlebrick.http.client import HttpClient
from middlebrick.http.exchange import Exchange, Request
from middlebrick.spec.load import parse_spec
from middlebrick.spec.model import ApiSpec
from middlebrick.testing import BASE, FakeSender, LiveApp, response

OPENAPI = {
    "openapi": "3.0.0",
    "info": {"title": "Items", "version": "1"},
    "paths": {"/items": {"get": {}}, "/items/{id}": {"get": {}, "delete": {}}},
}


def _spec(servers: list[str] | None = None, paths: tuple[str, ...] = ("/items",)) -> ApiSpec:
    doc: dict[str, Any] = {"openapi": "3.0.0", "paths": {p: {"get": {}} for p in paths}}
    if servers is not None:
        doc["servers"] = [{"url": url} for url in servers]
    return parse_spec(json.dumps(doc), source="spec.json")


class CatchAll(FakeSender):
    """A single-page app: every unknown path answers 200 with the same HTML."""

    async def send(self, request: Request, *, follow_redirects: bool = True) -> Exchange:
        exchange = await super().send(request, follow_redirects=follow_redirects)
        if exchange.response is not None and exchange.response.status == 404:
            html = '<html><script src="/static/app.js"></script><div id="root"></div></html>'
            page = response(200, html, {"Content-Type": "text/html"}, url=request.url)
            return Exchange(request, page)
        return exchange


class Exhausted(FakeSender):
    """A sender whose budget is spent after a few requests."""

    async def send(self, request: Request, *, follow_redirects: bool = True) -> Exchange:
        if len(self.sent) >= 3:
            raise BudgetExhausted("the request budget of 3 is spent")
        return await super().send(request, follow_redirects=follow_redirects)


@pytest.mark.parametrize(
    ("target", "servers", "paths", "expected"),
    [
        ("http://h.test", ["https://prod.example.com/v1/"], ("/items",), "http://h.test/v1"),
        ("http://h.test/", ["/api"], ("/items",), "http://h.test/api"),
        ("http://h.test", None, ("/items",), "http://h.test"),
        ("http://h.test/base/", ["https://prod.example.com/v1"], ("/items",), "http://h.test/base"),
        ("http://h.test/api/v1", None, ("/api/v1/items", "/api/v1/users"), "http://h.test"),
        ("http://h.test/api/v1", ["/api"], ("/v1/items",), "http://h.test/api"),
        ("http://h.test/api/", ["v2"], ("/items",), "http://h.test/api/v2"),
        (
            "http://h.test/api/v1",
            ["https://prod.example.com/api/v1"],
            ("/users",),
            "http://h.test/api/v1",
        ),
    ],
)
def test_base_url_for_a_spec_file(
    target: str, servers: list[str] | None, paths: tuple[str, ...], expected: str
) -> None:
    assert base_url_for(target, _spec(servers, paths)) == expected


async def test_discover_with_a_spec_file_on_the_targets_host_uses_it_without_requests() -> None:
    sender = FakeSender()
    spec = _spec([BASE + "/v1"])

    surface = await discover(sender, BASE, spec=spec, probe=0)

    assert sender.sent == []
    assert surface.base_url == BASE + "/v1"
    assert surface.operations == spec.operations
    assert surface.spec is spec
    assert surface.origin == "spec file"


def test_candidate_urls_cover_the_target_path_and_the_origin_without_repeats() -> None:
    below_path = candidate_urls("http://h.test/api/v1/")
    at_root = candidate_urls("http://h.test")
    redirected = candidate_urls("http://h.test", "http://h.test/v1/")

    assert below_path[0] == "http://h.test/api/v1/openapi.json"
    assert below_path[len(WELL_KNOWN)] == "http://h.test/openapi.json"
    assert len(below_path) == len(set(below_path))
    assert at_root[: len(WELL_KNOWN)] == [f"http://h.test{path}" for path in WELL_KNOWN]
    versioned = at_root[len(WELL_KNOWN) :]  # drf-spectacular's /api/v2/schema/ and friends
    assert "http://h.test/api/v2/schema/" in versioned
    assert "http://h.test/v1/openapi.json" in versioned
    assert len(at_root) <= 40
    assert redirected[0] == "http://h.test/v1/openapi.json"  # where / redirected comes first


async def test_discover_finds_a_served_spec_and_stops_there() -> None:
    sender = FakeSender(
        {
            ("GET", "/swagger.json"): response(200, {**OPENAPI, "servers": [{"url": "/api"}]}),
            ("GET", "/v3/api-docs"): response(200, OPENAPI),
        }
    )

    surface = await discover(sender, BASE, probe=0)

    searched = [BASE, *(BASE + p for p in WELL_KNOWN[:2])]  # the target, then the usual places
    assert [r.url for r in sender.sent][:3] == searched
    assert BASE + "/v3/api-docs" not in [r.url for r in sender.sent]
    assert surface.origin == f"spec served at {BASE}/swagger.json"
    assert [op.key for op in surface.operations] == [
        "GET /items",
        "GET /items/{id}",
        "DELETE /items/{id}",
    ]
    assert surface.base_url == BASE + "/api"
    assert surface.spec is not None and surface.spec.source == f"{BASE}/swagger.json"
    assert surface.notes[0] == f"found an API description at {BASE}/swagger.json with 3 operations"
    # nothing answers below either base: the servers URL is kept, and the note says so
    assert surface.notes[1].startswith("the API description's servers URL is `/api`; its ")


async def test_discover_finds_a_spec_below_the_target_path_first() -> None:
    sender = FakeSender(
        {
            ("GET", "/api/v1/openapi.yaml"): response(
                200, "openapi: 3.0.0\npaths:\n  /users: {get: {}}\n"
            ),
            ("GET", "/openapi.json"): response(200, OPENAPI),
        }
    )

    surface = await discover(sender, BASE + "/api/v1")

    assert surface.origin == f"spec served at {BASE}/api/v1/openapi.yaml"
    assert surface.base_url == BASE + "/api/v1"
    assert [op.key for op in surface.operations] == ["GET /users"]


@pytest.mark.parametrize(
    "page",
    [
        """<script>SwaggerUIBundle({url: '/static/api.yaml', dom_id: '#ui'})</script>""",
        """<redoc spec-url="static/api.yaml"></redoc>""",
        """<script>Redoc.init("/static/api.yaml", {}, el)</script>""",
    ],
)
async def test_discover_follows_a_docs_page_to_its_spec(page: str) -> None:
    sender = FakeSender(
        {
            ("GET", "/docs"): response(
                200, page, {"Content-Type": "text/html"}, url=BASE + "/docs"
            ),
            ("GET", "/static/api.yaml"): response(
                200, "swagger: '2.0'\npaths:\n  /ping: {get: {}}\n"
            ),
        }
    )

    surface = await discover(sender, BASE)

    assert surface.origin == f"spec served at {BASE}/static/api.yaml"
    assert [op.key for op in surface.operations] == ["GET /ping"]


def test_spec_links_ignore_other_hosts_and_scripts() -> None:
    page = """
      <script src="/static/swagger-ui-bundle.js"></script>
      <script>SwaggerUIBundle({url: "https://petstore.swagger.io/v2/swagger.json"})</script>
      <a href="/files/openapi.yaml?v=2&amp;x=1">spec</a>
    """

    assert spec_links(page, "http://h.test/docs") == ["http://h.test/files/openapi.yaml?v=2&x=1"]


async def test_served_spec_with_relative_refs_fetches_them_through_the_client() -> None:
    doc = {
        "openapi": "3.0.0",
        "paths": {
            "/items": {"$ref": "paths/items.json"},
            "/remote": {"$ref": "https://elsewhere.test/p.json"},
        },
    }
    sender = FakeSender(
        {
            ("GET", "/openapi.json"): response(200, doc),
            ("GET", "/paths/items.json"): response(
                200, {"get": {"parameters": [{"$ref": "../common.json#/limit"}]}}
            ),
            ("GET", "/common.json"): response(200, {"limit": {"name": "limit", "in": "query"}}),
        }
    )

    surface = await discover(sender, BASE)

    assert surface.spec is not None
    assert [op.key for op in surface.operations] == ["GET /items"]
    assert surface.operations[0].parameters[0].name == "limit"
    warning = "could not resolve $ref 'https://elsewhere.test/p.json': it is on another host"
    assert surface.spec.warnings == (warning,)
    assert warning in surface.notes
    assert all(r.url.startswith(BASE) for r in sender.sent)


async def test_fetch_spec_raises_a_spec_error_for_a_failed_fetch() -> None:
    sender = FakeSender({("GET", "/spec.json"): response(200, OPENAPI)})

    spec = await fetch_spec(sender, BASE + "/spec.json")
    assert len(spec.operations) == 3
    with pytest.raises(
        SpecError, match=r"cannot fetch the API description .*/nope\.json: it answered HTTP 404"
    ):
        await fetch_spec(sender, BASE + "/nope.json")


async def test_html_catch_all_is_not_a_spec_and_the_target_is_crawled() -> None:
    sender = CatchAll()

    surface = await discover(sender, BASE)

    assert surface.origin == "crawl"
    assert [op.key for op in surface.operations] == ["GET /"]
    assert surface.operations[0].source == "discovered"
    assert surface.base_url == BASE
    assert surface.notes[0] == (
        f"no OpenAPI document found at {len(candidate_urls(BASE))} usual locations; "
        "crawled 1 operation from 1 page"
    )
    assert surface.notes[1].endswith("; none answered")  # the shell is no route
    assert surface.notes[2].endswith("none answered with content")  # nor content


async def test_crawl_follows_same_origin_links_and_templates_id_siblings() -> None:
    items = [{"id": n, "href": f"/api/items/{n}"} for n in (41, 42, 43)]
    sender = FakeSender(
        {
            ("GET", "/api"): response(
                200,
                {
                    "items": items,
                    "users": f"{BASE}/api/users?page=2",
                    "docs": "https://other.test/api/secret",
                    "logout": "/api/logout",
                    "logo": "/static/logo.png",
                    "text": "not / a path",
                },
                {"Link": '</api/orders?cursor=abc>; rel="next"'},
            ),
            ("GET", "/api/items/41"): response(
                200, {"owner": "/api/users/7/orders/1", "self": "/api/items/41"}
            ),
            ("GET", "/api/items/42"): response(200, {"owner": "/api/users/8/orders/2"}),
            ("GET", "/api/users?page=2"): response(200, {"next": "/api/users/deeper"}),
        }
    )

    surface = await discover(sender, BASE + "/api", probe=0)

    keys = [op.key for op in surface.operations]
    assert keys == [  # breadth first: Link header, then the JSON's strings level by level
        "GET /api",
        "GET /api/orders",
        "GET /api/users",
        "GET /api/logout",
        "GET /api/items/{id}",
        "GET /api/users/deeper",
        "GET /api/users/{user_id}/orders/{id}",
    ]
    template = surface.operations[4]
    assert [(p.name, p.location, p.schema, p.examples) for p in template.parameters] == [
        ("id", "path", {"type": "integer"}, ("41",))
    ]
    users = surface.operations[2]
    assert [(p.name, p.location, p.examples) for p in users.parameters] == [
        ("page", "query", ("2",))
    ]
    nested = surface.operations[6]
    assert [(p.name, p.examples) for p in nested.parameters] == [
        ("user_id", ("7",)),
        ("id", ("1",)),
    ]
    searched = 1 + len(candidate_urls(BASE + "/api"))  # the target, then the usual locations
    fetched = [r.url.removeprefix(BASE) for r in sender.sent[searched:]]
    # two pages of one shape at most; logout never fetched; depth-3 links listed, not fetched
    assert fetched == [
        "/api",
        "/api/orders?cursor=abc",
        "/api/users?page=2",
        "/api/items/41",
        "/api/items/42",
        "/api/users/deeper",
        "/api/users/7/orders/1",
        "/api/users/8/orders/2",
    ]


async def test_crawl_is_bounded_by_max_operations() -> None:
    links = [f"/things/{name}" for name in "abcdefghij"]
    sender = FakeSender({("GET", "/"): response(200, {"links": links})})

    surface = await discover(sender, BASE, max_operations=4)

    assert [op.key for op in surface.operations] == [
        "GET /",
        "GET /things/a",
        "GET /things/b",
        "GET /things/c",
    ]


async def test_budget_exhaustion_propagates() -> None:
    with pytest.raises(BudgetExhausted):
        await discover(Exhausted(), BASE)


async def test_discover_against_a_live_server_finds_its_openapi_json() -> None:
    async def openapi(request: web.Request) -> web.Response:
        return web.json_response({**OPENAPI, "servers": [{"url": "/"}]})

    app = web.Application()
    app.router.add_get("/openapi.json", openapi)

    async with LiveApp(app) as url, HttpClient(ScanRequest(target=url)) as client:
        surface = await discover(client, url)

    assert surface.origin == f"spec served at {url}/openapi.json"
    assert surface.base_url == url
    assert len(surface.operations) == 3
