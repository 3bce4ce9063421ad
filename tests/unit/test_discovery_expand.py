"""Crawl mode: usual routes, their query parameters, item routes and debug-page route lists."""

from __future__ import annotations

from typing import Any

from middlebrick.discovery import discover
from middlebrick.discovery.debug_routes import listed_routes
from middlebrick.discovery.expand import expand_surface
from middlebrick.discovery.records import collections, record, record_id, singular
from middlebrick.discovery.undocumented import control_token
from middlebrick.http.exchange import Exchange, Request
from middlebrick.spec.model import Operation, Surface
from middlebrick.testing import BASE, FakeSender, response

MEMBERS = {"members": [{"member_id": 1, "name": "alice"}, {"member_id": 2, "name": "bob"}]}
TOKEN = control_token(BASE)


def _crawled(*paths: str) -> Surface:
    ops = tuple(Operation(method="GET", path=p, source="discovered") for p in paths)
    return Surface(base_url=BASE, operations=ops, origin="crawl")


def _keys(expanded: Any) -> list[str]:
    return [op.key for op in expanded.operations]


class AnswersEverything(FakeSender):
    """A catch-all API: every path answers 200 with the same JSON list of records."""

    async def send(self, request: Request, *, follow_redirects: bool = True) -> Exchange:
        self.sent.append(request)
        body = {"members": [{"member_id": 1, "name": "alice"}]}
        return Exchange(request, response(200, body, url=request.url))


async def test_expand_reports_a_collection_under_the_api_prefix_and_its_item_route() -> None:
    sender = FakeSender(
        {
            ("GET", "/api/members"): response(200, MEMBERS, url=BASE + "/api/members"),
            ("GET", "/api/members/1"): response(
                200,
                {"member_id": 1, "name": "alice", "email": "a@example.org"},
                url=BASE + "/api/members/1",
            ),
        }
    )

    expanded = await expand_surface(sender, _crawled("/"), {})

    assert _keys(expanded) == ["GET /api/members", "GET /api/members/{member_id}"]
    item = expanded.operations[1].parameters[0]
    assert (item.name, item.location, item.required, item.examples) == (
        "member_id",
        "path",
        True,
        ("1",),
    )
    asked = [r.url.removeprefix(BASE) for r in sender.sent]
    assert f"/api/{TOKEN}" in asked  # the route's control
    assert "/api/members/9999999" in asked  # the item route's control
    assert expanded.requests == len(sender.sent) <= 72


async def test_expand_stays_quiet_when_a_catch_all_answers_every_path() -> None:
    sender = AnswersEverything()

    expanded = await expand_surface(sender, _crawled("/"), {})

    assert expanded.operations == ()
    assert len(sender.sent) <= 72


async def test_expand_stays_quiet_when_the_item_control_answers_alike() -> None:
    def member(request: Request) -> Any:
        return response(200, {"member_id": 1, "name": "alice"}, url=request.url)

    sender = FakeSender(
        {
            ("GET", "/api/members"): response(200, MEMBERS, url=BASE + "/api/members"),
            ("GET", "/api/members/1"): member,
            ("GET", "/api/members/9999999"): member,
        }
    )

    expanded = await expand_surface(sender, _crawled("/"), {})

    assert _keys(expanded) == ["GET /api/members"]


async def test_expand_reports_a_refusing_route_and_the_parameter_that_changes_it() -> None:
    def relay(request: Request) -> Any:
        if "url=" in request.url:
            return response(200, "<html>upstream page</html>", {"Content-Type": "text/html"})
        return response(400, {"error": "url is required"}, url=request.url)

    sender = FakeSender({("GET", "/api/relay"): relay})

    expanded = await expand_surface(sender, _crawled("/"), {})

    assert _keys(expanded) == ["GET /api/relay"]
    param = expanded.operations[0].parameters[0]
    assert (param.name, param.location, param.examples) == ("url", "query", (BASE + "/",))


async def test_expand_stays_quiet_when_every_path_refuses() -> None:
    class RefusesAll(FakeSender):
        async def send(self, request: Request, *, follow_redirects: bool = True) -> Exchange:
            self.sent.append(request)
            return Exchange(request, response(401, {"error": "login"}, url=request.url))

    expanded = await expand_surface(RefusesAll(), _crawled("/"), {})

    assert expanded.operations == ()


async def test_expand_reads_missing_query_parameters_from_a_422() -> None:
    detail = {"detail": [{"loc": ["query", "url"], "msg": "field required"}]}
    sender = FakeSender({("GET", "/fetch"): response(422, detail, url=BASE + "/fetch")})

    expanded = await expand_surface(sender, _crawled("/"), {})

    assert _keys(expanded) == ["GET /fetch"]
    param = expanded.operations[0].parameters[0]
    assert (param.name, param.required, param.examples) == ("url", True, (BASE + "/",))


async def test_expand_tries_item_routes_under_other_prefixes() -> None:
    users = {"users": [{"id": "u-1", "name": "alice", "email": "a@example.org"}]}
    sender = FakeSender(
        {
            ("GET", "/api/users/search"): response(200, users, url=BASE + "/api/users/search"),
            ("GET", "/v1/users/u-1"): response(
                200, {"Item": {"id": {"S": "u-1"}}}, url=BASE + "/v1/users/u-1"
            ),
        }
    )

    expanded = await expand_surface(sender, _crawled("/"), {})

    assert _keys(expanded) == ["GET /api/users/search", "GET /v1/users/{user_id}"]
    assert f"/v1/users/{TOKEN}" in [r.url.removeprefix(BASE) for r in sender.sent]


async def test_expand_reports_an_item_route_whose_first_listed_record_is_not_readable() -> None:
    # a leaky listing shows another tenant's record first; the caller can read only its own
    listing = {"members": [{"member_id": 7, "name": "carol"}, {"member_id": 2, "name": "bob"}]}
    sender = FakeSender(
        {
            ("GET", "/api/members"): response(200, listing, url=BASE + "/api/members"),
            ("GET", "/api/members/7"): response(403, {"detail": "not yours"}),
            ("GET", "/api/members/2"): response(
                200, {"member_id": 2, "name": "bob"}, url=BASE + "/api/members/2"
            ),
        }
    )

    expanded = await expand_surface(sender, _crawled("/"), {})

    assert _keys(expanded) == ["GET /api/members", "GET /api/members/{member_id}"]
    assert expanded.operations[1].parameters[0].examples == ("2",)  # the id that answered


async def test_expand_sends_at_most_its_cap() -> None:
    sender = AnswersEverything()

    expanded = await expand_surface(sender, _crawled("/"), {}, max_requests=10)

    assert len(sender.sent) <= 10 and expanded.requests <= 10


def test_listed_routes_reads_a_django_technical_404() -> None:
    page = """<html><body><p>Using the URLconf defined in <code>app.urls</code>,
      Django tried these URL patterns, in this order:</p>
      <ol>
        <li><code>api/members</code></li>
        <li><code>api/members/&lt;str:member_id&gt; [name='member']</code></li>
        <li><code>^legacy/(?P&lt;pk&gt;[0-9]+)/$</code></li>
        <li><code>assets/&lt;path:name&gt;</code></li>
      </ol></body></html>"""
    exchange = Exchange(
        Request("GET", BASE + "/"), response(404, page, {"Content-Type": "text/html"})
    )

    operations = listed_routes([exchange])

    assert [op.key for op in operations] == [
        "GET /api/members",
        "GET /api/members/{member_id}",
        "GET /assets/{name}",
    ]
    assert [p.name for p in operations[1].parameters] == ["member_id"]


def test_listed_routes_ignores_pages_without_a_route_list() -> None:
    exchange = Exchange(
        Request("GET", BASE + "/"),
        response(
            404, "<html><ol><li><code>x</code></li></ol></html>", {"Content-Type": "text/html"}
        ),
    )

    assert listed_routes([exchange]) == []


def test_records_read_collections_envelopes_and_wire_format() -> None:
    found = collections({"users": [{"id": {"S": "u-1"}}], "count": 1})

    assert [(c.resource, c.records) for c in found] == [("users", ({"id": "u-1"},))]
    assert collections({"data": [{"id": 1}]})[0].resource is None
    assert record({"Item": {"id": {"S": "u-1"}, "name": {"S": "a"}}}) == {"id": "u-1", "name": "a"}
    assert record_id({"ticket_id": 7, "id": "x"}, "tickets") == ("ticket_id", "7")
    assert record_id({"name": "x"}, "tickets") is None
    assert [singular(w) for w in ("users", "categories", "status", "boxes")] == [
        "user",
        "category",
        "status",
        "box",
    ]


async def test_discover_expands_a_crawled_surface_only() -> None:
    sender = FakeSender(
        {
            ("GET", "/"): response(200, {"service": "x"}),
            ("GET", "/api/members"): response(200, MEMBERS, url=BASE + "/api/members"),
        }
    )

    surface = await discover(sender, BASE, find_served=False)

    assert "GET /api/members" in [op.key for op in surface.operations]
    assert any(note.startswith("looked for usual routes") for note in surface.notes)
    quiet = await discover(FakeSender(), BASE, find_served=False, expand=0)
    assert not any(note.startswith("looked for usual routes") for note in quiet.notes)
