"""Responses against their documented schema: the check, and the small validator behind it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from middlebrick.checks.inventory.schema import mismatches
from middlebrick.findings import Confidence
from middlebrick.spec.load import parse_spec
from middlebrick.spec.model import ApiSpec
from middlebrick.testing import exchange, make_baseline, response, run_check

ITEM = {
    "type": "object",
    "required": ["item_id", "price"],
    "properties": {
        "item_id": {"type": "string"},
        "price": {"type": "number"},
        "quantity": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "status": {"type": "string", "enum": ["open", "shipped"]},
        "next_cursor": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    },
}
PAGE = {"type": "object", "properties": {"items": {"type": "array", "items": ITEM}}}
GOOD = {"item_id": "a1", "price": 12.5, "quantity": 3.0, "tags": ["x"], "status": "open"}


def _spec(schema: dict[str, Any], media: str = "application/json") -> ApiSpec:
    content = {media: {"schema": schema}}
    paths = {"/items": {"get": {"responses": {"200": {"description": "ok", "content": content}}}}}
    return parse_spec(json.dumps({"openapi": "3.0.3", "paths": paths}), source="openapi.json")


async def _run(spec: ApiSpec, body: Any) -> list[Any]:
    pairs = [(spec.operations[0], exchange("GET", "/items", response(200, body)))]
    return await run_check("inventory.response_schema", baseline=make_baseline(pairs))


async def test_response_schema_reports_numbers_sent_as_strings_in_every_record() -> None:
    records = [{**GOOD, "price": "12.50", "quantity": "3", "tags": "{'x'}"} for _ in range(5)]

    found = await _run(_spec(PAGE), {"items": records})

    assert [(f.type_id, f.operation, f.confidence) for f in found] == [
        ("inventory.response-schema-mismatch", "GET /items", Confidence.confirmed)
    ]
    assert '`items[].price`: expected number, got string ("12.50")' in found[0].detail
    assert "`items[].quantity`: expected integer, got string" in found[0].detail
    assert "`items[].tags`: expected array, got string" in found[0].detail


async def test_response_schema_stays_quiet_when_the_body_matches() -> None:
    body = {"items": [GOOD, {**GOOD, "next_cursor": None, "extra": "undeclared is not mine"}]}

    assert await _run(_spec(PAGE), body) == []


async def test_response_schema_stays_quiet_when_the_media_type_is_not_json() -> None:
    assert await _run(_spec({"type": "string"}, media="*/*"), {"openapi": "3.0.3"}) == []


@pytest.mark.parametrize(
    ("value", "where", "expected", "got"),
    [
        ({"price": 1}, "item_id", "a required property", "nothing"),
        ({**GOOD, "status": "lost"}, "status", "one of ['open', 'shipped']", "string"),
        ({**GOOD, "quantity": 2.5}, "quantity", "integer", "number"),
        ({**GOOD, "item_id": None}, "item_id", "string", "null"),
        ({**GOOD, "next_cursor": 7}, "next_cursor", "string or null", "number"),
        ({**GOOD, "price": True}, "price", "number", "boolean"),
        ([GOOD], "(body)", "object", "array"),
    ],
)
def test_mismatches_name_the_place_the_expectation_and_the_fact(
    value: Any, where: str, expected: str, got: str
) -> None:
    found = mismatches(value, ITEM)

    assert [(m.where, m.expected, m.got) for m in found] == [(where, expected, got)]


def test_mismatches_accept_nullable_all_of_and_maps() -> None:
    named = {"type": "object", "properties": {"name": {"type": "string", "nullable": True}}}
    counts = {"type": "object", "additionalProperties": {"type": "integer"}}
    schema = {"allOf": [named, {"type": "object", "properties": {"counts": counts}}]}

    assert mismatches({"name": None, "counts": {"a": 1, "b": 2}}, schema) == []
    assert [m.where for m in mismatches({"name": "x", "counts": {"a": "1"}}, schema)] == [
        "counts.a"
    ]


def test_mismatches_end_on_a_cyclic_schema() -> None:
    node: dict[str, Any] = {"type": "object", "properties": {}}
    node["properties"]["child"] = node
    deep: dict[str, Any] = {"child": {}}
    cursor = deep
    for _ in range(50):
        cursor["child"] = {"child": {}}
        cursor = cursor["child"]

    assert mismatches(deep, node) == []
    assert mismatches({"child": {"child": 5}}, node)[0].where == "child.child"
