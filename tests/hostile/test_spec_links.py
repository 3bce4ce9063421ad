"""Hostile response links: bad expressions, cycles, unknown targets and huge maps load quickly.

A link is read, never followed: a link map cannot recurse, a cyclic ``$ref`` among links ends in
the resolver's cycle handling, and every map is read only up to its bound.
"""

from __future__ import annotations

import json
import time

from middlebrick.baseline import build_baseline
from middlebrick.spec.links import MAX_LINKS, MAX_PARAMETERS, Answer, evaluate
from middlebrick.spec.load import parse_spec
from middlebrick.spec.model import Surface
from middlebrick.spec.pool import ValuePool
from middlebrick.testing import BASE, FakeSender, response


def _spec(links: object, *, components: object = None) -> str:
    doc: dict[str, object] = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/a": {
                "get": {
                    "operationId": "a",
                    "responses": {"200": {"description": "a", "links": links}},
                }
            },
            "/b/{id}": {
                "get": {
                    "operationId": "b",
                    "parameters": [{"name": "id", "in": "path", "required": True}],
                    "responses": {"200": {"description": "b"}},
                }
            },
        },
    }
    if components is not None:
        doc["components"] = components
    return json.dumps(doc)


def test_links_to_unknown_operations_are_ignored_with_a_warning() -> None:
    spec = parse_spec(
        _spec(
            {
                "ghost": {"operationId": "nope", "parameters": {"id": "$response.body#/id"}},
                "remote": {
                    "operationRef": "https://elsewhere.example/api.json#/paths/~1b~1{id}/get",
                    "parameters": {"id": "$response.body#/id"},
                },
                "badref": {"operationRef": "#/paths/~1zzz/get", "parameters": {"id": "1"}},
                "neither": {"parameters": {"id": "1"}},
            }
        ),
        source="t.json",
    )
    assert all(not op.links for op in spec.operations)
    assert any("4 response link(s) name no operation" in w for w in spec.warnings)


def test_malformed_links_and_parameters_are_skipped() -> None:
    spec = parse_spec(
        _spec(
            {
                "list": [1, 2],
                "string": "x",
                "ok": {
                    "operationId": "b",
                    "parameters": {
                        "id": "$response.body#/id",
                        "object": {"a": 1},
                        "list": [1],
                        "null": None,
                        "long": "$" + "x" * 10_000,
                    },
                },
                "params-list": {"operationId": "b", "parameters": ["id"]},
            }
        ),
        source="t.json",
    )
    (link,) = spec.operations[0].links
    assert [p.name for p in link.parameters] == ["id"]


def test_links_that_refer_to_each_other_in_a_cycle_load() -> None:
    # Given links defined in components whose parameters point back at the links themselves
    components = {
        "links": {
            "L": {
                "operationId": "b",
                "parameters": {"$ref": "#/components/links/L"},
            }
        }
    }
    spec = parse_spec(
        _spec({"L": {"$ref": "#/components/links/L"}}, components=components), source="t"
    )
    # Then it loads: the parameters are the link itself, whose cyclic mapping is no value
    (link,) = spec.operations[0].links
    assert [(p.name, p.expression) for p in link.parameters] == [("operationId", "b")]


def test_a_huge_link_map_is_read_only_up_to_its_bound_and_quickly() -> None:
    deep_pointer = "$response.body#/" + "a/" * 100 + "x"  # 101 levels
    params = {f"p{i}": deep_pointer if i == 0 else f"$response.body#/{i}" for i in range(100)}
    links = {f"l{i}": {"operationId": "b", "parameters": params} for i in range(1_000)}
    started = time.perf_counter()
    spec = parse_spec(_spec(links), source="t.json")
    assert len(spec.operations[0].links) == MAX_LINKS
    assert all(len(link.parameters) == MAX_PARAMETERS for link in spec.operations[0].links)
    # and following them on an answer stays bounded too
    pool = ValuePool()
    deep: object = {"x": "v"}  # where the deep pointer leads: beyond the bound
    for _ in range(100):
        deep = {"a": deep}
    answer = Answer(method="GET", url="http://127.0.0.1/a", status=200, body=deep)
    pool.follow(spec.operations[0], answer)
    assert time.perf_counter() - started < 10.0
    assert len(pool) == 0  # pointers deeper than the bound, or missing, give nothing


def test_bad_runtime_expressions_give_no_value() -> None:
    answer = Answer(method="GET", url="http://127.0.0.1/a?x=%ZZ", status=200, body=[1, 2])
    for expression in (
        "$",
        "$$",
        "$response.body#/-1",
        "$response.body#/99999999999999999999",
        "$request.query.",
        "{$response.body#/0",
        "$response.header.",
        "$request.path.",
        "{$" * 1_000,
    ):
        value = evaluate(expression, answer)
        assert value is None or value == expression, expression
    assert evaluate("$response.body#/1", answer) == "2"


async def test_operations_linking_each_other_in_a_cycle_are_each_requested_once() -> None:
    # Given /b/{id} linking to itself and /c/{id}, and /c/{id} linking back to /b/{id}
    item = {
        "get": {
            "parameters": [{"name": "id", "in": "path", "required": True, "example": "1"}],
            "responses": {
                "200": {
                    "description": "x",
                    "links": {
                        "self": {"operationId": "b", "parameters": {"id": "$response.body#/id"}},
                        "c": {"operationId": "c", "parameters": {"id": "$response.body#/id"}},
                    },
                }
            },
        }
    }
    doc = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/b/{id}": {"get": {**item["get"], "operationId": "b"}},
            "/c/{id}": {"get": {**item["get"], "operationId": "c"}},
        },
    }
    spec = parse_spec(json.dumps(doc), source="t.json")
    sender = FakeSender({("GET", "/b/1"): response(200, {"id": "2"})})

    baseline = await build_baseline(sender, Surface(BASE, spec.operations, spec), root=None)

    assert len(sender.sent) == 2
    assert baseline.exchanges["GET /c/{id}"].request.url == BASE + "/c/2"
