"""Realistic example values, serialisation, and ID harvesting."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest

from middlebrick.spec.model import Parameter
from middlebrick.spec.values import (
    harvest_ids,
    is_plain,
    serialize,
    value_for_parameter,
    value_for_schema,
)


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "integer", "example": 42, "default": 7}, 42),
        ({"type": "string", "examples": ["first", "second"], "default": "d"}, "first"),
        ({"type": "string", "default": "d", "enum": ["a", "b"]}, "d"),
        ({"const": "fixed", "enum": ["a"]}, "fixed"),
        ({"type": "string", "enum": [None, "active", "closed"]}, "active"),
        ({"type": "boolean"}, True),
        ({"type": "null"}, None),
        ({"type": ["null", "integer"]}, 1),
        ({"type": "string", "format": "date"}, "2024-01-15"),
        ({"type": "string", "format": "date-time"}, "2024-01-15T10:30:00Z"),
        ({"type": "string", "format": "email"}, "user@example.com"),
        ({"type": "string", "format": "ipv4"}, "192.0.2.10"),
        ({"type": "string", "format": "hostname"}, "example.com"),
        ({"type": "string", "format": "byte"}, "ZXhhbXBsZQ=="),
        ({"type": "string", "format": "uri"}, "https://example.com/"),
    ],
)
def test_value_for_schema_prefers_what_the_schema_declares(
    schema: dict[str, Any], expected: Any
) -> None:
    assert value_for_schema(schema) == expected


def test_uuid_format_gives_a_valid_uuid() -> None:
    assert uuid.UUID(value_for_schema({"type": "string", "format": "uuid"}))


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "integer", "minimum": 5}, 5),
        ({"type": "integer", "maximum": -3}, -3),
        ({"type": "integer", "minimum": 0, "exclusiveMinimum": True}, 1),  # 3.0 style
        ({"type": "integer", "exclusiveMinimum": 1, "maximum": 3}, 2),  # 3.1 style
        ({"type": "integer", "minimum": 11, "exclusiveMaximum": 12}, 11),
        ({"type": "integer", "minimum": 3, "multipleOf": 5}, 5),
        ({"type": "integer", "minimum": 101, "maximum": 120, "multipleOf": 50}, 101),
        ({"type": "number", "minimum": 2.5}, 2.5),
        ({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}, 0.5),
        ({"type": "number", "minimum": 0, "multipleOf": 0.25}, 1.5),
    ],
)
def test_numbers_respect_bounds_and_multiples(schema: dict[str, Any], expected: Any) -> None:
    assert value_for_schema(schema) == expected


def test_strings_respect_length_and_simple_patterns() -> None:
    assert value_for_schema({"type": "string", "minLength": 12}) == "examplexxxxx"
    assert value_for_schema({"type": "string", "maxLength": 3}) == "exa"
    pattern = r"^prd_[0-9a-z]{26}$"
    assert re.search(pattern, value_for_schema({"type": "string", "pattern": pattern}))
    assert value_for_schema({"type": "string", "pattern": r"^\d{3}-\d{4}$"}) == "111-1111"
    # a pattern too hard to follow still gives a string
    assert value_for_schema({"type": "string", "pattern": r"(a)\1"}) == "example"


@pytest.mark.parametrize(
    ("name", "schema", "expected"),
    [
        ("email", {"type": "string"}, "user@example.com"),
        ("contactEmail", {}, "user@example.com"),
        ("limit", {"type": "integer"}, 10),
        ("limit", {"type": "integer", "maximum": 5}, 5),
        ("page", {}, 1),
        ("offset", {"type": "integer"}, 0),
        ("user_id", {"type": "integer"}, 1),
        ("orderId", {"type": "string"}, "1"),
        ("id", {}, 1),
        ("callback_url", {"type": "string"}, "https://example.com/"),
        ("created_at", {"type": "string"}, "2024-01-15T10:30:00Z"),
    ],
)
def test_names_refine_guesses(name: str, schema: dict[str, Any], expected: Any) -> None:
    assert value_for_schema(schema, name=name) == expected


def test_objects_take_required_properties_or_all_when_few() -> None:
    schema = {
        "type": "object",
        "required": ["name", "age"],
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer", "minimum": 18},
            "nickname": {"type": "string"},
        },
    }
    assert value_for_schema(schema) == {"name": "example", "age": 18}
    few = {"properties": {"a": {"type": "boolean"}, "id": {"type": "string", "readOnly": True}}}
    assert value_for_schema(few) == {"a": True}


def test_arrays_honour_min_items_and_unique_items() -> None:
    assert value_for_schema({"type": "array", "items": {"type": "string", "format": "date"}}) == [
        "2024-01-15"
    ]
    assert value_for_schema(
        {"type": "array", "minItems": 2, "uniqueItems": True, "items": {"type": "integer"}}
    ) == [
        1,
        2,
    ]


def test_all_of_is_merged_and_one_of_takes_the_first_non_null_branch() -> None:
    schema = {
        "allOf": [
            {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}},
            {"required": ["tag"], "properties": {"tag": {"type": "string", "enum": ["x"]}}},
        ]
    }
    assert value_for_schema(schema) == {"id": 1, "tag": "x"}
    one_of = {"oneOf": [{"type": "null"}, {"type": "string", "format": "email"}]}
    assert value_for_schema(one_of) == "user@example.com"
    any_of = {
        "type": "object",
        "properties": {"kind": {"const": "a"}},
        "anyOf": [{"required": ["kind"]}],
    }
    assert value_for_schema(any_of) == {"kind": "a"}


def test_cyclic_schema_stops_at_the_depth_limit() -> None:
    node: dict[str, Any] = {"type": "object", "required": ["child", "items"], "properties": {}}
    node["properties"]["child"] = node
    node["properties"]["items"] = {"type": "array", "items": node}
    cycle: dict[str, Any] = {"allOf": []}
    cycle["allOf"].append(cycle)

    value = value_for_schema(node)

    depth = 0
    while value:
        value = value["child"]
        depth += 1
    assert depth == 6
    assert value_for_schema(cycle) == "example"


def test_value_for_parameter_prefers_its_examples() -> None:
    with_example = Parameter(
        name="q", location="query", schema={"type": "string"}, examples=(None, "shoes")
    )
    assert value_for_parameter(with_example) == "shoes"
    by_name = Parameter(name="limit", location="query", schema={"type": "integer", "maximum": 50})
    assert value_for_parameter(by_name) == 10


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "true"),
        (False, "false"),
        (None, ""),
        (3, "3"),
        (2.5, "2.5"),
        (["a", 1, True], "a,1,true"),
        ({"role": "admin", "n": 2}, "role,admin,n,2"),
    ],
)
def test_serialize_for_paths_and_queries(value: Any, text: str) -> None:
    assert serialize(value) == text


def test_harvest_ids_collects_id_like_fields_in_order() -> None:
    data = {
        "id": "top",
        "items": [
            {
                "id": 1,
                "userId": "u-1",
                "owner_id": 7,
                "slug": "first",
                "active": True,
                "isPaid": True,
            },
            {"id": 2, "userId": "u-1", "name": "second", "orderID": 99, "note": {"key": "k1"}},
            {"id": 1, "uuid": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "paid": 5},
        ],
    }

    ids = harvest_ids(data)

    assert ids == {
        "id": ["top", "1", "2"],
        "userId": ["u-1"],
        "owner_id": ["7"],
        "slug": ["first"],
        "name": ["second"],
        "orderID": ["99"],
        "uuid": ["3fa85f64-5717-4562-b3fc-2c963f66afa6"],
        "key": ["k1"],
    }


def test_harvest_ids_is_bounded_and_ignores_non_scalars() -> None:
    data = [{"id": i, "user_id": True, "other_id": {"x": 1}} for i in range(100)]

    ids = harvest_ids(data, per_key=3)

    assert ids == {"id": ["0", "1", "2"]}
    deep: Any = {"id": "bottom"}
    for _ in range(100_000):
        deep = {"next": deep}
    assert harvest_ids(deep) == {}  # beyond the node bound, and no recursion error


def test_wide_diamond_schema_is_bounded() -> None:
    # each level requires ten properties of the level below: 10**6 leaves if fully expanded
    level: dict[str, Any] = {"type": "string"}
    for depth in range(6):
        names = [f"p{depth}_{i}" for i in range(10)]
        level = {"type": "object", "required": names, "properties": dict.fromkeys(names, level)}

    value = value_for_schema(level)

    assert isinstance(value, dict) and len(value) == 10
    assert len(json.dumps(value)) < 200_000


def test_cyclic_or_shared_examples_are_skipped_for_generated_values() -> None:
    cyclic: dict[str, Any] = {"name": "loop"}
    cyclic["self"] = cyclic
    shared = {"a": 1}

    assert not is_plain(cyclic)
    assert not is_plain([shared, shared])
    assert is_plain({"a": [1, {"b": None}], "c": "d"})
    schema = {"type": "object", "example": cyclic, "required": ["n"], "properties": {"n": {}}}
    assert value_for_schema(schema) == {"n": "example"}
    param = Parameter(name="page", location="query", examples=(cyclic,))
    assert value_for_parameter(param) == 1
    assert serialize(cyclic) == "name,loop,self,name,loop,self,name,loop,self,name,loop,self,"
