"""OpenAPI response links: read from the document, evaluated on an answer, fed to the pool."""

from __future__ import annotations

import json

from middlebrick.baseline import build_baseline
from middlebrick.http.exchange import Request, Response
from middlebrick.spec.links import Answer, evaluate, path_values
from middlebrick.spec.load import parse_spec
from middlebrick.spec.model import Surface
from middlebrick.spec.pool import ValuePool
from middlebrick.testing import BASE, FakeSender, response

ME_BODY = {"id": "u-alice", "name": "Alice", "wallet": {"ref": "w-9"}, "tags": ["a", "b"]}


def _doc(links: object, *, target_path: str = "/wallets/{holder}") -> str:
    return json.dumps(
        {
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "paths": {
                "/me": {
                    "get": {
                        "operationId": "getMe",
                        "responses": {"200": {"description": "me", "links": links}},
                    }
                },
                target_path: {
                    "get": {
                        "operationId": "getWallet",
                        "parameters": [
                            {"name": "holder", "in": "path", "required": True},
                            {"name": "holder", "in": "query"},
                        ],
                        "responses": {"200": {"description": "wallet"}},
                    }
                },
            },
        }
    )


def _answer(**overrides: object) -> Answer:
    fields: dict[str, object] = {
        "method": "GET",
        "url": BASE + "/users/u-1?view=full",
        "status": 200,
        "path": {"id": "u-1"},
        "request_headers": {"x-trace": "t-1"}.get,
        "response_headers": lambda name: {"location": "/wallets/w-9"}.get(name.lower()),
        "body": ME_BODY,
    }
    fields.update(overrides)
    return Answer(**fields)  # type: ignore[arg-type]


def test_links_are_read_with_their_target_and_qualified_parameters() -> None:
    # Given a link by operationId and one by operationRef (a pointer with ~1 escapes)
    spec = parse_spec(
        _doc(
            {
                "byId": {
                    "operationId": "getWallet",
                    "parameters": {"path.holder": "$response.body#/id"},
                },
                "byRef": {
                    "operationRef": "#/paths/~1wallets~1{holder}/get",
                    "parameters": {"holder": "$response.body#/wallet/ref"},
                },
            }
        ),
        source="t.json",
    )
    me = next(op for op in spec.operations if op.path == "/me")

    # Then both resolve to the linked operation, the location kept when it is given
    assert [(link.name, link.target) for link in me.links] == [
        ("byId", "GET /wallets/{holder}"),
        ("byRef", "GET /wallets/{holder}"),
    ]
    assert [(p.name, p.location) for p in me.links[0].parameters] == [("holder", "path")]
    assert [(p.name, p.location) for p in me.links[1].parameters] == [("holder", None)]


def test_runtime_expressions_read_the_request_and_the_answer() -> None:
    answer = _answer()
    assert evaluate("$response.body#/id", answer) == "u-alice"
    assert evaluate("$response.body#/wallet/ref", answer) == "w-9"
    assert evaluate("$response.body#/tags/1", answer) == "b"
    assert evaluate("$response.header.Location", answer) == "/wallets/w-9"
    assert evaluate("$request.path.id", answer) == "u-1"
    assert evaluate("$request.query.view", answer) == "full"
    assert evaluate("$request.header.x-trace", answer) == "t-1"
    assert evaluate("$statusCode", answer) == "200"
    assert evaluate("$method", answer) == "GET"
    assert evaluate("w-{$response.body#/id}", answer) == "w-u-alice"
    assert evaluate("constant-7", answer) == "constant-7"


def test_runtime_expressions_without_a_value_give_none() -> None:
    answer = _answer()
    for expression in (
        "$response.body#/missing",
        "$response.body#/wallet",  # an object is no parameter value
        "$response.body#/tags/9",
        "$response.body#id",  # not a JSON pointer
        "$request.path.nope",
        "$request.body#/id",  # a GET has no body
        "$nonsense",
        "$response.",
        "$response.cookie.x",
        "x-{$response.body#/missing}",
    ):
        assert evaluate(expression, answer) is None, expression


def test_json_pointer_escapes_are_followed() -> None:
    answer = _answer(body={"a/b": {"c~d": "v"}})
    assert evaluate("$response.body#/a~1b/c~0d", answer) == "v"


def test_path_values_are_read_from_the_request_url() -> None:
    assert path_values("/orders/{order_id}/items/{n}", BASE + "/v1/orders/o%201/items/3") == {
        "order_id": "o 1",
        "n": "3",
    }
    assert path_values("/orders/{order_id}", BASE + "/other") == {}


def test_pool_fills_exactly_the_linked_parameter_before_any_name_match() -> None:
    # Given a link naming /me's id for {holder}, and a field named holder elsewhere
    spec = parse_spec(
        _doc({"w": {"operationId": "getWallet", "parameters": {"holder": "$response.body#/id"}}}),
        source="t.json",
    )
    me, wallet = spec.operations[0], spec.operations[1]
    pool = ValuePool()
    pool.add({"holder": "h-by-name"}, operation=me)
    pool.add(ME_BODY, operation=me, identity="alice")

    # When the answer of /me is followed
    pool.follow(me, _answer(), identity="alice")

    # Then the linked value comes first for the path parameter
    (holder,) = wallet.params("path")
    assert pool.candidates(wallet, holder)[:2] == ["u-alice", "h-by-name"]
    assert "u-alice" in pool.seen_as("alice")


def test_pool_ignores_a_link_of_another_status_or_an_unfit_value() -> None:
    spec = parse_spec(
        _doc({"w": {"operationId": "getWallet", "parameters": {"holder": "$response.body#/id"}}}),
        source="t.json",
    )
    me, wallet = spec.operations[0], spec.operations[1]
    (holder,) = wallet.params("path")
    pool = ValuePool()
    pool.follow(me, _answer(status=201))
    assert pool.candidates(wallet, holder) == []
    pool.follow(me, _answer(body={"id": {"nested": 1}}))
    assert pool.candidates(wallet, holder) == []


async def test_baseline_requests_a_link_target_with_the_linked_value() -> None:
    # Given /me linking its id to /wallets/{holder}, a name nothing else fills
    spec = parse_spec(
        _doc({"w": {"operationId": "getWallet", "parameters": {"holder": "$response.body#/id"}}}),
        source="t.json",
    )

    def wallet(request: Request) -> Response:
        found = request.url.endswith("/wallets/u-alice")
        return response(200, {"card": "4242"}) if found else response(404, {"error": "no"})

    sender = FakeSender(
        {("GET", "/me"): response(200, ME_BODY), ("GET", "/wallets/u-alice"): wallet}
    )
    surface = Surface(base_url=BASE, operations=spec.operations, spec=spec)

    baseline = await build_baseline(sender, surface, root=None)

    exchange = baseline.exchanges["GET /wallets/{holder}"]
    assert exchange.request.url == BASE + "/wallets/u-alice" and exchange.ok


async def test_baseline_requests_a_link_target_after_its_source_in_the_same_wave() -> None:
    # Given a link between two operations with one path parameter each
    doc = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/accounts/{acct}": {
                "get": {
                    "operationId": "getAccount",
                    "parameters": [
                        {"name": "acct", "in": "path", "required": True, "example": "a1"}
                    ],
                    "responses": {
                        "200": {
                            "description": "ok",
                            "links": {
                                "owner": {
                                    "operationId": "getPerson",
                                    "parameters": {"who": "$response.body#/owner_ref"},
                                }
                            },
                        }
                    },
                }
            },
            "/people/{who}": {
                "get": {
                    "operationId": "getPerson",
                    "parameters": [{"name": "who", "in": "path", "required": True}],
                    "responses": {"200": {"description": "ok"}},
                }
            },
        },
    }
    spec = parse_spec(json.dumps(doc), source="t.json")
    sender = FakeSender(
        {
            ("GET", "/accounts/a1"): response(200, {"id": "a1", "owner_ref": "p-5"}),
            ("GET", "/people/p-5"): response(200, {"id": "p-5"}),
        }
    )
    surface = Surface(base_url=BASE, operations=spec.operations[::-1], spec=spec)

    baseline = await build_baseline(sender, surface, root=None)

    assert baseline.exchanges["GET /people/{who}"].request.url == BASE + "/people/p-5"


async def test_baseline_sends_a_query_parameter_a_link_names_with_its_value() -> None:
    # Given /me linking its id to the optional query parameter ?holder= of /wallets/{holder}
    link = {"operationId": "getWallet", "parameters": {"query.holder": "$response.body#/name"}}
    spec = parse_spec(_doc({"w": link}), source="t.json")
    sender = FakeSender({("GET", "/me"): response(200, ME_BODY)})
    surface = Surface(base_url=BASE, operations=spec.operations, spec=spec)

    baseline = await build_baseline(sender, surface, root=None)

    url = baseline.exchanges["GET /wallets/{holder}"].request.url
    assert url.endswith("?holder=Alice") and "/wallets/Alice" not in url
